"""Signed, expiring, single-use action links (acknowledge / resolve) for e-mails and push.

A link is `base64url(claims).base64url(HMAC-SHA256(secret, claims))`. The signature and the
expiry are checked without the database; single use is enforced by inserting the link's
`jti` into `action_link_uses` when it is used (a second use finds it there).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Action = Literal["acknowledge", "resolve"]


class BadLink(Exception):
    """The link is forged, malformed or expired."""


@dataclass(frozen=True)
class LinkClaims:
    incident_id: str
    user_id: str
    action: Action
    expires: int  # unix seconds
    jti: str
    via: str = "email"  # the channel that carried the link, recorded as the actor's door


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, body: str) -> str:
    return _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())


def make_link_token(
    *,
    secret: str,
    incident_id: str,
    user_id: str,
    action: Action,
    now: datetime,
    ttl: timedelta,
    via: str = "email",
) -> str:
    """Return a new signed token for one action by one user on one incident."""
    claims: dict[str, object] = {
        "i": incident_id,
        "u": user_id,
        "a": action,
        "e": int((now + ttl).timestamp()),
        "j": secrets.token_urlsafe(16),
    }
    if via != "email":  # e-mail links stay as short as they were
        claims["v"] = via
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{body}.{_mac(secret, body)}"


def read_link_token(token: str, *, secret: str, now: datetime) -> LinkClaims:
    """Return the token's claims, or raise BadLink if it is forged, malformed or expired."""
    body, _, mac = token.partition(".")
    if not body or not mac or not hmac.compare_digest(mac, _mac(secret, body)):
        raise BadLink("this link is not valid")
    try:
        raw = json.loads(_unb64(body))
        claims = LinkClaims(
            incident_id=str(raw["i"]),
            user_id=str(raw["u"]),
            action=raw["a"],
            expires=int(raw["e"]),
            jti=str(raw["j"]),
            via=str(raw.get("v", "email")),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise BadLink("this link is not valid") from exc
    if claims.action not in ("acknowledge", "resolve") or claims.via not in ("email", "push"):
        raise BadLink("this link is not valid")
    if now.timestamp() >= claims.expires:
        raise BadLink("this link has expired")
    return claims
