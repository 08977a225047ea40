"""Connections: credentials for outside systems (Jira, Linear, OAuth2, HMAC, basic auth)."""
