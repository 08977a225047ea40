"""The responder web UI: server-rendered pages, their templates and static files."""
