"""OAuth2 client-credentials grants (RFC 6749 §4.4) for connections, with a shared token cache.

A token is fetched from the connection's `token_url` with a form POST
`grant_type=client_credentials` (and `scope` if set), the client authenticated with HTTP
Basic over the form-urlencoded id and secret (RFC 6749 §2.3.1). Tokens are cached per
connection and config version (a hash of the config: a new secret is a new entry) until
shortly before `expires_in`; concurrent callers of one connection share one grant (one
refresh at a time, under an asyncio.Lock). Errors never carry the secret or the token.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import json
import ssl
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import quote_plus

import httpx

from app.config import Settings
from app.connections.models import OAuth2Config
from app.connections.pinning import pinned
from app.errors import DomainError
from app.netguard import check_url

TIMEOUT_SECONDS = 10.0
# A token is used until this long before its expiry (a tenth of its life if that is shorter).
EXPIRY_MARGIN_SECONDS = 30.0
# Tokens answered without `expires_in` are kept this long (a 401 refreshes them anyway).
DEFAULT_LIFETIME_SECONDS = 300.0
_MAX_ANSWER_BYTES = 64 * 1024


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """Return the CA bundle once (loading it costs 30-300 ms per client otherwise)."""
    return httpx.create_ssl_context()


def client() -> httpx.AsyncClient:
    """Return a client for one outbound call: no redirects, the shared TLS context."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(TIMEOUT_SECONDS), follow_redirects=False, verify=ssl_context()
    )


class TokenFailure(Exception):
    """The token endpoint refused or could not be reached; `permanent` says not to retry."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class Token:
    access_token: str
    token_type: str
    expires_in: float | None

    def __repr__(self) -> str:  # never show the token in logs or tracebacks
        return f"Token(token_type={self.token_type!r}, expires_in={self.expires_in!r})"

    __str__ = __repr__


def client_authorization(cfg: OAuth2Config) -> str:
    """Return the Basic Authorization value of RFC 6749 §2.3.1 (id and secret form-encoded)."""
    pair = f"{quote_plus(cfg.client_id)}:{quote_plus(cfg.client_secret)}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def parse_retry_after(value: str | None) -> float | None:
    """Return a Retry-After header's delay in seconds (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


async def fetch_token(settings: Settings, cfg: OAuth2Config) -> Token:
    """Make one client-credentials grant; raise TokenFailure (permanent for 400/401)."""
    url = str(cfg.token_url)
    schemes = ("https", "http") if settings.allow_private_targets else ("https",)
    try:
        addresses = await check_url(
            url,
            field="config.token_url",
            schemes=schemes,
            allow_private=settings.allow_private_targets,
        )
    except DomainError as exc:
        raise TokenFailure(f"the token URL is refused: {exc.detail}", permanent=True) from None
    url, host, extensions = pinned(url, addresses)
    form = {"grant_type": "client_credentials"}
    if cfg.scope:
        form["scope"] = cfg.scope
    headers = {
        "Accept": "application/json",
        "Authorization": client_authorization(cfg),
        **host,
    }
    try:
        async with (
            asyncio.timeout(TIMEOUT_SECONDS),
            client() as http,
        ):
            response = await http.post(url, data=form, headers=headers, extensions=extensions)
    except TimeoutError:
        raise TokenFailure("the token endpoint timed out", permanent=False) from None
    except httpx.HTTPError as exc:
        raise TokenFailure(
            f"the token endpoint is unreachable: {type(exc).__name__}", permanent=False
        ) from None
    status = response.status_code
    if status != 200:
        error = _error_code(response)
        said = f" ({error})" if error else ""
        raise TokenFailure(
            f"the token endpoint answered {status}{said}",
            permanent=status in (400, 401),  # invalid_client, invalid_grant, invalid_scope
            status=status,
            retry_after=parse_retry_after(response.headers.get("retry-after")),
        )
    try:
        answer = json.loads(response.content[:_MAX_ANSWER_BYTES])
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or not isinstance(answer.get("access_token"), str):
        raise TokenFailure(
            "the token endpoint answered 200 without an access_token", permanent=True, status=200
        )
    token_type = str(answer.get("token_type") or "Bearer")
    if token_type.lower() != "bearer":
        raise TokenFailure(
            f"the token endpoint issued a {token_type[:40]!r} token, not a Bearer token",
            permanent=True,
            status=200,
        )
    expires = answer.get("expires_in")
    try:
        expires_in = float(expires) if expires is not None else None
    except (TypeError, ValueError):
        expires_in = None
    return Token(answer["access_token"], "Bearer", expires_in)


def _error_code(response: httpx.Response) -> str | None:
    """Return the RFC 6749 §5.2 `error` code of an error answer (a short code, never a secret)."""
    try:
        answer = json.loads(response.content[:_MAX_ANSWER_BYTES])
    except ValueError:
        return None
    error = answer.get("error") if isinstance(answer, dict) else None
    if isinstance(error, str) and error.replace("_", "").isalnum() and len(error) <= 40:
        return error
    return None


def config_version(cfg: OAuth2Config) -> str:
    """Return a hash naming this config (a changed secret, URL or scope is a new version)."""
    data = json.dumps(cfg.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(data.encode()).hexdigest()[:32]


@dataclass
class _Cached:
    token: Token
    good_until: float


class TokenCache:
    """Client-credentials tokens per (connection, config version), one refresh at a time."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._tokens: dict[str, _Cached] = {}
        # Locks belong to an event loop; keep them per loop.
        self._locks: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[str, asyncio.Lock]
        ] = weakref.WeakKeyDictionary()

    def clear(self) -> None:
        """Forget every token (tests)."""
        self._tokens.clear()

    def _lock(self, key: str) -> asyncio.Lock:
        locks = self._locks.setdefault(asyncio.get_running_loop(), {})
        return locks.setdefault(key, asyncio.Lock())

    def _fresh(self, key: str) -> Token | None:
        cached = self._tokens.get(key)
        if cached is not None and self.clock() < cached.good_until:
            return cached.token
        return None

    async def get(
        self, settings: Settings, key: str, cfg: OAuth2Config, *, stale: Token | None = None
    ) -> Token:
        """Return a cached token, or make one grant shared by everyone waiting for it.

        `stale` is a token the target refused (401): it is replaced unless someone else
        already replaced it meanwhile.
        """
        key = f"{key}:{config_version(cfg)}"
        token = self._fresh(key)
        if token is not None and token != stale:
            return token
        async with self._lock(key):
            token = self._fresh(key)
            if token is not None and token != stale:
                return token
            token = await fetch_token(settings, cfg)
            now = self.clock()
            lifetime = (
                token.expires_in if token.expires_in is not None else (DEFAULT_LIFETIME_SECONDS)
            )
            margin = min(EXPIRY_MARGIN_SECONDS, lifetime / 10)
            self._prune(now)
            self._tokens[key] = _Cached(token, now + lifetime - margin)
            return token

    def _prune(self, now: float) -> None:
        for old in [k for k, c in self._tokens.items() if c.good_until <= now]:
            del self._tokens[old]


TOKENS = TokenCache()
