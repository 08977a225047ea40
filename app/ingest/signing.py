"""Signed generic webhooks: HMAC-SHA256 of "{timestamp}.{body}" with the integration secret.

Headers: `X-PageFree-Timestamp` (unix seconds) and `X-PageFree-Signature: sha256=<hex>`.
The timestamp must be within WINDOW of now, both ways; signatures are compared in constant
time against the current secret and, during a rotation's overlap, the previous one. Pure.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

SIGNATURE_HEADER = "X-PageFree-Signature"
TIMESTAMP_HEADER = "X-PageFree-Timestamp"
WINDOW_SECONDS = 300
_PREFIX = "sha256="


class SignatureError(ValueError):
    """The request is not signed, or not signed by this integration, or not now."""


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """Return the signature header value for `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return _PREFIX + mac.hexdigest()


def verify(
    *,
    secrets: Iterable[str],
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: float,
) -> int:
    """Check a signed request; return its timestamp, or raise SignatureError saying why."""
    if not timestamp or not signature:
        raise SignatureError(f"send {TIMESTAMP_HEADER} and {SIGNATURE_HEADER}")
    stamp = timestamp.strip()
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        raise SignatureError(f"{TIMESTAMP_HEADER} must be unix seconds")
    ts = int(stamp)
    if abs(now - ts) > WINDOW_SECONDS:
        raise SignatureError(f"{TIMESTAMP_HEADER} is more than {WINDOW_SECONDS} s from now")
    given = signature.strip()
    if not given.startswith(_PREFIX):
        raise SignatureError(f"{SIGNATURE_HEADER} must be sha256=<hex>")
    matched = False
    for secret in secrets:
        # Compare every candidate: the time taken says nothing about which one matched.
        expected = sign(secret, stamp, body)
        matched |= hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))
    if not matched:
        raise SignatureError("the signature does not match")
    return ts
