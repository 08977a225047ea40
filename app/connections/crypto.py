"""Encryption at rest of connection secrets (Fernet: AES-128-CBC + HMAC-SHA256)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from app.config import Settings
from app.errors import Conflict

KEY_FILE = "secret.key"


def _fernet_key(secret: str) -> bytes:
    """Use a Fernet key as it is; derive one from any other (long, random) string."""
    raw = secret.encode()
    try:
        if len(base64.urlsafe_b64decode(raw)) == 32:
            return raw
    except ValueError:
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(raw).digest())


def _dev_key(data_dir: Path) -> bytes:
    """Return the key generated into the data dir (created once, readable by its owner only)."""
    path = data_dir / KEY_FILE
    if path.exists():
        return path.read_bytes().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


def fernet(settings: Settings) -> Fernet:
    """Return the cipher for connection secrets; production needs PAGEFREE_SECRET_KEY."""
    if settings.secret_key is not None:
        return Fernet(_fernet_key(settings.secret_key.get_secret_value()))
    if settings.environment == "production":
        raise Conflict("set PAGEFREE_SECRET_KEY to store connection secrets")
    return Fernet(_dev_key(settings.resolved_data_dir))


def seal(settings: Settings, secrets: dict[str, Any]) -> str:
    """Encrypt a dict of secrets."""
    return fernet(settings).encrypt(json.dumps(secrets).encode()).decode()


def unseal(settings: Settings, token: str) -> dict[str, Any]:
    """Decrypt secrets sealed with `seal`; a changed key is a clear error, not a crash."""
    try:
        data = json.loads(fernet(settings).decrypt(token.encode()))
    except InvalidToken:
        raise Conflict(
            "the connection's secrets cannot be decrypted (PAGEFREE_SECRET_KEY changed?);"
            " enter them again"
        ) from None
    return dict(data)
