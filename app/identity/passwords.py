"""Who may set a password, and what a new password ends.

With single sign-on configured, the identity provider decides who may sign in: a password
would let someone the provider has disabled keep signing in. So passwords are only for
accounts an admin flagged break-glass (for when the provider is down). Users changing their
own password give the current one (a stolen session cannot lock its owner out), and a new
password ends the user's other web sessions.
"""

from __future__ import annotations

import asyncio
from uuid import UUID

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import Actor
from app.errors import Forbidden, Invalid
from app.identity.models import User
from app.web.models import WebSession

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """Return the argon2id hash of `password`."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check `password` against an argon2 hash in constant time."""
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


async def check_change(
    *,
    user: User,
    actor: Actor,
    current_password: str | None,
    break_glass: bool,
    oidc_enabled: bool,
) -> None:
    """Refuse a new password for `user` that the rules above do not allow."""
    if oidc_enabled and not break_glass:
        raise Forbidden(
            "single sign-on is on: only break-glass accounts (flagged by an admin) have passwords"
        )
    own = actor.type == "user" and str(actor.id) == str(user.id)
    if own and user.password_hash:
        ok = current_password is not None and await asyncio.to_thread(
            verify_password, user.password_hash, current_password
        )
        if not ok:
            message = "give your current password to change it"
            raise Invalid(message, errors=[{"field": "current_password", "message": message}])


async def end_web_sessions(*, session: AsyncSession, user_id: UUID, keep: str | None) -> None:
    """End every web session of `user_id` but `keep` (an id hash)."""
    query = delete(WebSession).where(WebSession.user_id == user_id)  # type: ignore[arg-type]
    if keep is not None:
        query = query.where(WebSession.id_hash != keep)  # type: ignore[arg-type]
    await session.execute(query)
