"""Outbound webhook calls of automation steps: SSRF-checked, authenticated, idempotent.

`send_webhook` makes one HTTP call and either returns the target's 2xx answer or raises
`PermanentFailure` (do not retry: 4xx other than 408/429, a refused target, a bad config or
connection) or `TransientFailure` (retry: 5xx, 408, 429 with its Retry-After, timeouts,
connection errors). The caller (a Temporal activity) passes a connection *id*; its secrets are
read from the database here, used, and never logged, returned or put in an exception.

Every call carries `Idempotency-Key` (the caller's key, stable across retries) and our
`User-Agent`; user headers cannot override those, nor `Host`, `Content-Length`,
`Transfer-Encoding`, or the headers the connection's auth sets. Auth by connection type:
- `hmac`: `X-PageFree-Timestamp` (unix seconds) and `X-PageFree-Signature:
  sha256=<hex of HMAC-SHA256("{timestamp}.{body}")>`, exactly like generic webhooks and
  runbook calls (`app.ingest.signing`);
- `basic`: `Authorization: Basic …` (RFC 7617);
- `oauth2`: `Authorization: Bearer <token>` from a client-credentials grant, cached per
  connection and config version (`app.connections.oauth2.TOKENS`), refreshed once when the
  target answers 401.
The call goes to the address that was checked (`app.connections.pinning`: no second DNS
answer can point it elsewhere). No redirects are followed (a 3xx is a permanent failure);
each call is bounded to TIMEOUT_SECONDS and the answer read to at most EXCERPT_BYTES (plus
room to redact).
"""

from __future__ import annotations

import asyncio
import base64
import re
import time
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx
from pydantic import ValidationError

from app.config import Settings
from app.connections import oauth2
from app.connections.models import BasicConfig, Connection, HmacConfig, OAuth2Config
from app.connections.pinning import pinned
from app.connections.service import config_of
from app.db import SessionMaker
from app.errors import DomainError
from app.ingest.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from app.netguard import check_url

IDEMPOTENCY_HEADER = "Idempotency-Key"
USER_AGENT = "PageFree-Automation/1"
TIMEOUT_SECONDS = 10.0
EXCERPT_BYTES = 2048
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
# Headers PageFree sets itself (or the HTTP client must compute); user headers never win.
RESERVED_HEADERS = frozenset(
    h.lower()
    for h in (
        IDEMPOTENCY_HEADER,
        "Host",
        "Content-Length",
        "Transfer-Encoding",
        "Connection",
        "User-Agent",
        SIGNATURE_HEADER,
        TIMESTAMP_HEADER,
    )
)
REDACTED = "[redacted]"
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 field names


@dataclass(frozen=True)
class OutboundResult:
    status: int
    excerpt: str  # the answer's first EXCERPT_BYTES, decoded, with any secret redacted


class PermanentFailure(Exception):
    """The call cannot succeed as configured: do not retry. The message names no secret."""

    def __init__(self, message: str, *, status: int | None = None, excerpt: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.excerpt = excerpt


class TransientFailure(Exception):
    """The call may succeed later: retry (after `retry_after` seconds if the target said)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        excerpt: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.excerpt = excerpt
        self.retry_after = retry_after


@dataclass(frozen=True)
class _Auth:
    """How to authenticate one call, and which strings must never leave this module."""

    kind: str | None
    cfg: Any = field(repr=False)
    connection_id: UUID | None
    secrets: tuple[str, ...] = field(repr=False)


async def _auth_of(
    settings: Settings, sessionmaker: SessionMaker, connection_id: UUID | None
) -> _Auth:
    if connection_id is None:
        return _Auth(None, None, None, ())
    async with sessionmaker() as session:
        connection = await session.get(Connection, connection_id)
        if connection is None:
            raise PermanentFailure(f"connection {connection_id} does not exist")
        try:
            cfg = config_of(settings, connection)
        except ValidationError:
            # Never the validation text: it may quote a secret.
            raise PermanentFailure(
                f"connection {connection_id}'s stored config is not valid"
            ) from None
        except DomainError as exc:  # e.g. the encryption key changed
            raise PermanentFailure(exc.detail) from None
    if isinstance(cfg, HmacConfig):
        return _Auth("hmac", cfg, connection_id, (cfg.secret,))
    if isinstance(cfg, BasicConfig):
        basic = base64.b64encode(f"{cfg.username}:{cfg.password}".encode()).decode()
        return _Auth("basic", cfg, connection_id, (cfg.password, basic))
    if isinstance(cfg, OAuth2Config):
        client = oauth2.client_authorization(cfg).removeprefix("Basic ")
        return _Auth("oauth2", cfg, connection_id, (cfg.client_secret, client))
    raise PermanentFailure(
        f"connection {connection_id} is a {connection.type} connection; a webhook authenticates "
        "with an hmac, basic or oauth2 connection"
    )


def _headers(
    auth: _Auth, headers: dict[str, str], body: bytes | None, idempotency_key: str
) -> dict[str, str]:
    """Return the user's headers less the reserved ones, then ours (auth, key) on top."""
    reserved = RESERVED_HEADERS | ({"authorization"} if auth.kind is not None else set())
    for name, value in headers.items():
        if not _TOKEN.fullmatch(name) or not _valid_value(value):
            raise PermanentFailure(f"header {name[:60]!r} is not a valid HTTP header")
    out = {k: v for k, v in headers.items() if k.lower() not in reserved}
    out["User-Agent"] = USER_AGENT
    if body is not None and not any(k.lower() == "content-type" for k in out):
        out["Content-Type"] = "application/json"
    if auth.kind == "hmac":
        timestamp = str(int(time.time()))
        out[TIMESTAMP_HEADER] = timestamp
        out[SIGNATURE_HEADER] = sign(auth.cfg.secret, timestamp, body or b"")
    elif auth.kind == "basic":
        out["Authorization"] = "Basic " + auth.secrets[1]
    out[IDEMPOTENCY_HEADER] = idempotency_key
    return out


def _valid_value(value: str) -> bool:
    return value.isascii() and not any(c in value for c in "\r\n\0")


def _redact(text: str, secrets: tuple[str, ...]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text


async def _read_excerpt(response: httpx.Response, secrets: tuple[str, ...]) -> str:
    room = max((len(s.encode()) for s in secrets), default=0)
    limit = EXCERPT_BYTES + room
    data = b""
    async for chunk in response.aiter_bytes():  # decoded (gzip), read no further than needed
        data += chunk
        if len(data) >= limit:
            break
    text = data[:limit].decode(response.encoding or "utf-8", errors="replace")
    return _redact(text, secrets)[:EXCERPT_BYTES]


async def _attempt(
    url: str,
    method: str,
    headers: dict[str, str],
    body: bytes | None,
    secrets: tuple[str, ...],
    extensions: dict[str, Any],
) -> tuple[int, str, str | None]:
    """Make the call; return status, redacted excerpt and Retry-After."""
    try:
        async with (
            asyncio.timeout(TIMEOUT_SECONDS),
            oauth2.client() as client,
            client.stream(
                method, url, headers=headers, content=body, extensions=extensions
            ) as response,
        ):
            excerpt = await _read_excerpt(response, secrets)
            return response.status_code, excerpt, response.headers.get("retry-after")
    except TimeoutError:
        raise TransientFailure(f"the target did not answer within {TIMEOUT_SECONDS:g} s") from None
    except httpx.TimeoutException:
        raise TransientFailure(f"the target did not answer within {TIMEOUT_SECONDS:g} s") from None
    except httpx.HTTPError as exc:
        # The class name only: an exception's text may quote the URL or a header.
        raise TransientFailure(f"the target is unreachable: {type(exc).__name__}") from None


async def _bearer(settings: Settings, auth: _Auth, stale: oauth2.Token | None) -> oauth2.Token:
    try:
        return await oauth2.TOKENS.get(settings, str(auth.connection_id), auth.cfg, stale=stale)
    except oauth2.TokenFailure as exc:
        if exc.permanent:
            raise PermanentFailure(exc.message, status=exc.status) from None
        raise TransientFailure(
            exc.message, status=exc.status, retry_after=exc.retry_after
        ) from None


def _verdict(status: int, excerpt: str, retry_after: str | None) -> OutboundResult:
    if 200 <= status < 300:
        return OutboundResult(status=status, excerpt=excerpt)
    said = f"the target answered {status}"
    short = excerpt[:300].replace("\n", " ")
    message = f"{said}: {short}" if short else said
    if status in (408, 429) or status >= 500:
        raise TransientFailure(
            message,
            status=status,
            excerpt=excerpt,
            retry_after=oauth2.parse_retry_after(retry_after),
        )
    if 300 <= status < 400:
        message = f"{said} (a redirect; redirects are not followed)"
    raise PermanentFailure(message, status=status, excerpt=excerpt)


async def send_webhook(
    settings: Settings,
    sessionmaker: SessionMaker,
    *,
    url: str,
    method: str,
    headers: dict[str, str],
    body: str | None,
    connection_id: UUID | None,
    idempotency_key: str,
) -> OutboundResult:
    """Make one webhook call; return the 2xx answer or raise Permanent/TransientFailure."""
    method = method.upper()
    if method not in METHODS:
        raise PermanentFailure(f"method {method[:20]!r} is not one of {', '.join(sorted(METHODS))}")
    if not idempotency_key or not _valid_value(idempotency_key):
        raise PermanentFailure("an outbound call needs an idempotency key (ASCII, one line)")
    schemes = ("https", "http") if settings.allow_private_targets else ("https",)
    try:
        addresses = await check_url(
            url, field="url", schemes=schemes, allow_private=settings.allow_private_targets
        )
    except DomainError as exc:
        raise PermanentFailure(f"the webhook URL is refused: {exc.detail}") from None
    url, host, extensions = pinned(url, addresses)
    auth = await _auth_of(settings, sessionmaker, connection_id)
    content = body.encode() if body is not None else None
    out = {**_headers(auth, headers, content, idempotency_key), **host}
    if auth.kind != "oauth2":
        return _verdict(*await _attempt(url, method, out, content, auth.secrets, extensions))
    token = await _bearer(settings, auth, None)
    secrets = (*auth.secrets, token.access_token)
    status, excerpt, retry_after = await _attempt(
        url,
        method,
        {**out, "Authorization": f"Bearer {token.access_token}"},
        content,
        secrets,
        extensions,
    )
    if status == 401:  # the token may have been revoked or expired early: one fresh grant
        token = await _bearer(settings, auth, token)
        secrets = (*secrets, token.access_token)
        status, excerpt, retry_after = await _attempt(
            url,
            method,
            {**out, "Authorization": f"Bearer {token.access_token}"},
            content,
            secrets,
            extensions,
        )
    return _verdict(status, excerpt, retry_after)
