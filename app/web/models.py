"""Browser sessions of the web UI."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import ForeignKey
from sqlmodel import Field, SQLModel

from app.models_common import created_at_field, id_field, timestamp_field


class WebSession(SQLModel, table=True):
    """A signed-in browser: the cookie holds a random id, the table only its SHA-256."""

    __tablename__ = "web_sessions"

    id_hash: str = Field(primary_key=True, max_length=64)
    user_id: UUID = Field(sa_column_args=[ForeignKey("users.id", ondelete="CASCADE")], index=True)
    # Synchronizer token: every form and every fetch that changes something must echo it.
    csrf_token: str = Field(max_length=64)
    method: str = Field(max_length=16)  # password | oidc
    created_at: datetime | None = created_at_field()
    last_seen_at: datetime | None = timestamp_field()
    expires_at: datetime = timestamp_field(nullable=False)
    idle_expires_at: datetime = timestamp_field(nullable=False)


class UserInvite(SQLModel, table=True):
    """A single-use, expiring set-password link; the table holds only the token's SHA-256."""

    __tablename__ = "user_invites"

    id: UUID = id_field()
    user_id: UUID = Field(sa_column_args=[ForeignKey("users.id", ondelete="CASCADE")], index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_by: UUID | None = Field(
        default=None, sa_column_args=[ForeignKey("users.id", ondelete="SET NULL")]
    )
    created_at: datetime | None = created_at_field()
    expires_at: datetime = timestamp_field(nullable=False)
    used_at: datetime | None = timestamp_field()
