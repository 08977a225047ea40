"""Heartbeat monitors: their rows, ping keys, and the workflow that watches each."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from app.audit import service as audit
from app.audit.models import Actor
from app.catalog import service as catalog
from app.config import Settings
from app.db import utcnow
from app.errors import Unavailable, invalid, not_found
from app.heartbeats.models import Heartbeat, HeartbeatCreate, HeartbeatPublic, HeartbeatUpdate
from workflows.heartbeat_types import (
    WORKFLOW_NAME,
    MonitorConfig,
    MonitorInput,
    workflow_id,
)

KEY_BYTES = 24  # 192-bit ping keys
PREFIX_CHARS = 8


def hash_key(key: str) -> str:
    """Return the stored form of a ping key."""
    return hashlib.sha256(key.encode()).hexdigest()


def ping_url(settings: Settings, key: str) -> str:
    return f"{settings.base_url}/heartbeat/{key}"


def public(hb: Heartbeat, url: str | None = None) -> HeartbeatPublic:
    return HeartbeatPublic(
        id=hb.id,
        service_id=hb.service_id,
        name=hb.name,
        interval=timedelta(seconds=hb.interval_seconds),
        grace=timedelta(seconds=hb.grace_seconds),
        key_prefix=hb.key_prefix,
        last_ping_at=hb.last_ping_at,
        url=url,
    )


def _config(hb: Heartbeat) -> MonitorConfig:
    return MonitorConfig(interval_seconds=hb.interval_seconds, grace_seconds=hb.grace_seconds)


async def list_heartbeats(*, session: AsyncSession, service_id: UUID) -> list[Heartbeat]:
    await catalog.get_service(session=session, service_id=service_id)
    rows = await session.scalars(
        select(Heartbeat)
        .where(col(Heartbeat.service_id) == service_id)
        .order_by(col(Heartbeat.name), col(Heartbeat.id))
    )
    return list(rows.all())


async def get_heartbeat(
    *, session: AsyncSession, service_id: UUID, heartbeat_id: UUID
) -> Heartbeat:
    hb = await session.get(Heartbeat, heartbeat_id)
    if hb is None or hb.service_id != service_id:
        raise not_found("heartbeat", heartbeat_id)
    return hb


async def _start(
    client: Client, settings: Settings, hb: Heartbeat, signal: str, *args: object
) -> None:
    """Signal the monitor's workflow, starting it when it is not running."""
    try:
        await client.start_workflow(
            WORKFLOW_NAME,
            MonitorInput(heartbeat_id=str(hb.id), config=_config(hb)),
            id=workflow_id(str(hb.id)),
            task_queue=settings.temporal_task_queue,
            start_signal=signal,
            start_signal_args=list(args),
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=f"heartbeat {hb.name} ({hb.key_prefix}…)"[:400],
        )
    except RPCError as exc:
        raise Unavailable(f"Temporal did not take the heartbeat: {exc.message}") from exc


async def create_heartbeat(
    *,
    session: AsyncSession,
    client: Client,
    settings: Settings,
    service_id: UUID,
    heartbeat_in: HeartbeatCreate,
    actor: Actor,
) -> HeartbeatPublic:
    """Create a monitor and start its workflow; the answer holds the ping URL, once."""
    await catalog.get_service(session=session, service_id=service_id)
    key = secrets.token_urlsafe(KEY_BYTES)
    hb = Heartbeat(
        service_id=service_id,
        name=heartbeat_in.name,
        interval_seconds=heartbeat_in.interval.total_seconds(),
        grace_seconds=heartbeat_in.grace.total_seconds(),
        key_hash=hash_key(key),
        key_prefix=key[:PREFIX_CHARS],
    )
    session.add(hb)
    await session.flush()
    await session.refresh(hb)
    await audit.record(
        session=session,
        actor=actor,
        action="heartbeat.create",
        entity_type="heartbeat",
        entity_id=hb.id,
        after=public(hb),
    )
    await _start(client, settings, hb, "configure", _config(hb))
    return public(hb, ping_url(settings, key))


async def update_heartbeat(
    *,
    session: AsyncSession,
    client: Client,
    settings: Settings,
    service_id: UUID,
    heartbeat_id: UUID,
    heartbeat_in: HeartbeatUpdate,
    actor: Actor,
) -> HeartbeatPublic:
    """Rename a monitor or change its interval or grace; the workflow's timer restarts."""
    hb = await get_heartbeat(session=session, service_id=service_id, heartbeat_id=heartbeat_id)
    before = public(hb)
    changes = heartbeat_in.model_dump(exclude_unset=True)
    nulls = [f for f, v in changes.items() if v is None]
    if nulls:
        raise invalid([{"field": f, "message": "cannot be null"} for f in nulls])
    if "name" in changes:
        hb.name = changes["name"]
    if "interval" in changes:
        hb.interval_seconds = changes["interval"].total_seconds()
    if "grace" in changes:
        hb.grace_seconds = changes["grace"].total_seconds()
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="heartbeat.update",
        entity_type="heartbeat",
        entity_id=hb.id,
        before=before,
        after=public(hb),
    )
    await _start(client, settings, hb, "configure", _config(hb))
    return public(hb)


async def delete_heartbeat(
    *, session: AsyncSession, client: Client, service_id: UUID, heartbeat_id: UUID, actor: Actor
) -> None:
    """Delete a monitor; its workflow resolves its open incident, if any, and ends."""
    hb = await get_heartbeat(session=session, service_id=service_id, heartbeat_id=heartbeat_id)
    before = public(hb)
    await session.delete(hb)
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="heartbeat.delete",
        entity_type="heartbeat",
        entity_id=heartbeat_id,
        before=before,
    )
    try:
        await client.get_workflow_handle(workflow_id(str(heartbeat_id))).signal("stop")
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise Unavailable(f"Temporal did not take the stop: {exc.message}") from exc


async def record_ping(
    *, session: AsyncSession, client: Client, settings: Settings, key: str
) -> Heartbeat:
    """Record a ping by its secret key and reset the monitor's timer; 404 for unknown keys."""
    hb = await session.scalar(select(Heartbeat).where(col(Heartbeat.key_hash) == hash_key(key)))
    if hb is None:
        raise not_found("heartbeat", key[:PREFIX_CHARS] + "…")
    hb.last_ping_at = utcnow()
    await session.flush()
    await _start(client, settings, hb, "ping")
    return hb
