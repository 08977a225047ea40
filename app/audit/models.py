"""The append-only audit log: who changed what, when, from what, to what."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy import BigInteger, Column, Identity
from sqlmodel import Field, SQLModel

from app.models_common import created_at_field, jsonb_field


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    at: datetime | None = created_at_field()
    actor_type: str = Field(max_length=16)  # user | system | integration
    actor_id: str | None = Field(default=None, max_length=64, index=True)
    via: str | None = Field(default=None, max_length=16)  # api | web | slack | cli …
    action: str = Field(max_length=64, index=True)  # e.g. user.create
    entity_type: str = Field(max_length=32)
    entity_id: str = Field(max_length=64, index=True)
    before: dict[str, Any] | None = jsonb_field()
    after: dict[str, Any] | None = jsonb_field()
    request_id: str | None = Field(default=None, max_length=64)


class AuditEventPublic(BaseModel):
    id: int
    at: datetime
    actor_type: str
    actor_id: str | None
    via: str | None
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None


class Actor(BaseModel):
    """Who does something: a user, the system, or an integration, and through which door."""

    type: str = "user"
    id: UUID | str | None = None
    via: str | None = "api"

    @classmethod
    def system(cls, via: str | None = None) -> Actor:
        """Return the platform itself as actor."""
        return cls(type="system", id=None, via=via)
