"""Write and read the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit.models import Actor, AuditEvent

# Fields never copied into the audit log.
_SECRET_FIELDS = frozenset({"password", "password_hash", "token", "token_hash", "secret", "key"})


def snapshot(obj: BaseModel | dict[str, Any] | None) -> dict[str, Any] | None:
    """Return a JSON-safe copy of `obj` without secrets."""
    if obj is None:
        return None
    data = obj.model_dump(mode="json") if isinstance(obj, BaseModel) else dict(obj)
    return {k: ("[redacted]" if k in _SECRET_FIELDS else v) for k, v in data.items()}


async def record(
    *,
    session: AsyncSession,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: object,
    before: BaseModel | dict[str, Any] | None = None,
    after: BaseModel | dict[str, Any] | None = None,
    request_id: str | None = None,
) -> AuditEvent:
    """Add an audit event to the session, in the same transaction as the change it records."""
    event = AuditEvent(
        actor_type=actor.type,
        actor_id=None if actor.id is None else str(actor.id),
        via=actor.via,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        before=snapshot(before),
        after=snapshot(after),
        request_id=request_id,
    )
    session.add(event)
    return event


async def list_events(
    *,
    session: AsyncSession,
    entity_type: str | None = None,
    entity_id: str | None = None,
    actor_id: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AuditEvent]:
    """Return audit events, newest first; `action` ending in `.` matches a prefix."""
    query = select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(limit)
    if entity_type:
        query = query.where(col(AuditEvent.entity_type) == entity_type)
    if entity_id:
        query = query.where(col(AuditEvent.entity_id) == entity_id)
    if actor_id:
        query = query.where(col(AuditEvent.actor_id) == actor_id)
    if before_id is not None:
        query = query.where(col(AuditEvent.id) < before_id)
    if action:
        query = query.where(
            col(AuditEvent.action).startswith(action, autoescape=True)
            if action.endswith(".")
            else col(AuditEvent.action) == action
        )
    if since is not None:
        query = query.where(col(AuditEvent.at) >= since)
    if until is not None:
        query = query.where(col(AuditEvent.at) < until)
    return list((await session.scalars(query)).all())
