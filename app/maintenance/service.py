"""Maintenance windows: rows, their workflows, and "is this service in maintenance now?"."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import select, text, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from app.audit import service as audit
from app.audit.models import Actor
from app.catalog.models import Service
from app.config import Settings
from app.db import utcnow
from app.errors import Unavailable, invalid, not_found
from app.maintenance.models import (
    MAX_LENGTH,
    MaintenanceWindow,
    MaintenanceWindowCreate,
    MaintenanceWindowPublic,
    MaintenanceWindowUpdate,
)
from workflows.maintenance_window_types import WORKFLOW_NAME, WindowInput, WindowTimes, workflow_id


def public(window: MaintenanceWindow, now: datetime | None = None) -> MaintenanceWindowPublic:
    at = now or utcnow()
    return MaintenanceWindowPublic(
        id=window.id,
        service_ids=list(window.service_ids),
        starts_at=window.starts_at,
        ends_at=window.ends_at,
        reason=window.reason,
        active=window.starts_at <= at < window.ends_at,
        created_by=window.created_by,
        created_at=window.created_at,
    )


def _times(window: MaintenanceWindow) -> WindowTimes:
    return WindowTimes(starts_at=window.starts_at, ends_at=window.ends_at)


def _check_times(starts_at: datetime, ends_at: datetime, now: datetime) -> None:
    errors = []
    if ends_at <= starts_at:
        errors.append({"field": "ends_at", "message": "must be after starts_at"})
    elif ends_at <= now:
        errors.append({"field": "ends_at", "message": "must be in the future"})
    elif ends_at - starts_at > MAX_LENGTH:
        errors.append({"field": "ends_at", "message": "a window lasts at most 30 days"})
    if errors:
        raise invalid(errors)


async def _check_services(session: AsyncSession, ids: Sequence[UUID]) -> None:
    found = set(
        (await session.scalars(select(col(Service.id)).where(col(Service.id).in_(ids)))).all()
    )
    missing = [i for i in ids if i not in found]
    if missing:
        raise invalid(
            [{"field": "service_ids", "message": f"service {i} does not exist"} for i in missing]
        )


async def active_window(
    *, session: AsyncSession, service_id: UUID, at: datetime, besides: UUID | None = None
) -> UUID | None:
    """Return a maintenance window covering the service at `at` (the one ending last), if any.

    `besides`: a window not to count (the one whose end is being told).
    """
    found: UUID | None = await session.scalar(
        select(col(MaintenanceWindow.id))
        .where(
            col(MaintenanceWindow.service_ids).contains([service_id]),
            col(MaintenanceWindow.starts_at) <= at,
            col(MaintenanceWindow.ends_at) > at,
            col(MaintenanceWindow.id) != besides if besides is not None else true(),
        )
        .order_by(col(MaintenanceWindow.ends_at).desc())
        .limit(1)
    )
    return found


async def in_maintenance(*, session: AsyncSession, service_id: UUID, at: datetime) -> bool:
    """Whether a maintenance window covers the service at `at`."""
    return await active_window(session=session, service_id=service_id, at=at) is not None


async def alerts_in_active_windows(*, session: AsyncSession, service_id: UUID) -> dict[UUID, int]:
    """Return, per window active now over the service, how many alerts it received (not paged)."""
    rows = await session.execute(
        text(
            "SELECT w.id, count(a.id) FROM maintenance_windows w"
            " LEFT JOIN incidents i ON i.service_id = :sid"
            " LEFT JOIN alerts a ON a.incident_id = i.id AND a.action = 'trigger'"
            "  AND a.received_at >= w.starts_at AND a.received_at < w.ends_at"
            " WHERE :sid = ANY(w.service_ids) AND w.starts_at <= now() AND w.ends_at > now()"
            " GROUP BY w.id"
        ),
        {"sid": service_id},
    )
    return {row[0]: row[1] for row in rows}


async def open_incident_workflows(
    *, session: AsyncSession, service_ids: Sequence[UUID]
) -> list[tuple[UUID, str]]:
    """Return (service id, workflow id) of every unresolved incident of these services.

    Plain SQL on the incidents table: the incidents domain imports the catalog, and this
    domain stays beside the catalog, not above incidents.
    """
    rows = await session.execute(
        text(
            "SELECT service_id, workflow_id FROM incidents"
            " WHERE status <> 'resolved' AND service_id = ANY(:ids)"
        ),
        {"ids": list(service_ids)},
    )
    return [(row[0], row[1]) for row in rows]


async def _schedule(client: Client, settings: Settings, window: MaintenanceWindow) -> None:
    try:
        await client.start_workflow(
            WORKFLOW_NAME,
            WindowInput(window_id=str(window.id), times=_times(window)),
            id=workflow_id(str(window.id)),
            task_queue=settings.temporal_task_queue,
            start_signal="reschedule",
            start_signal_args=[_times(window)],
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=f"maintenance of {len(window.service_ids)} service(s): {window.reason}"[
                :400
            ],
        )
    except RPCError as exc:
        raise Unavailable(f"Temporal did not take the window: {exc.message}") from exc


async def get_window(*, session: AsyncSession, window_id: UUID) -> MaintenanceWindow:
    window = await session.get(MaintenanceWindow, window_id)
    if window is None:
        raise not_found("maintenance window", window_id)
    return window


async def list_windows(
    *, session: AsyncSession, service_id: UUID | None = None, current: bool = False
) -> list[MaintenanceWindow]:
    """Windows newest first; `current`: only those active now or still to come."""
    query = select(MaintenanceWindow)
    if service_id is not None:
        query = query.where(col(MaintenanceWindow.service_ids).contains([service_id]))
    if current:
        query = query.where(col(MaintenanceWindow.ends_at) > utcnow())
    rows = await session.scalars(query.order_by(col(MaintenanceWindow.starts_at).desc()).limit(200))
    return list(rows.all())


async def create_window(
    *,
    session: AsyncSession,
    client: Client,
    settings: Settings,
    window_in: MaintenanceWindowCreate,
    actor: Actor,
    window_id: UUID | None = None,
) -> MaintenanceWindow:
    """Record a window and schedule its start and end on durable timers.

    `window_id`: the id to give it (a status page maintenance's window shares its id).
    """
    now = utcnow()
    starts_at = window_in.starts_at or now
    _check_times(starts_at, window_in.ends_at, now)
    ids = list(dict.fromkeys(window_in.service_ids))
    await _check_services(session, ids)
    window = MaintenanceWindow(
        service_ids=ids,
        starts_at=starts_at,
        ends_at=window_in.ends_at,
        reason=window_in.reason,
        created_by=None if actor.id is None else str(actor.id),
    )
    if window_id is not None:
        window.id = window_id
    session.add(window)
    await session.flush()
    await session.refresh(window)
    await audit.record(
        session=session,
        actor=actor,
        action="maintenance.create",
        entity_type="maintenance_window",
        entity_id=window.id,
        after=public(window, now),
    )
    await _schedule(client, settings, window)
    return window


async def update_window(
    *,
    session: AsyncSession,
    client: Client,
    settings: Settings,
    window_id: UUID,
    window_in: MaintenanceWindowUpdate,
    actor: Actor,
) -> MaintenanceWindow:
    """Move a window's start or end (an end of now ends it), or change its reason."""
    window = await get_window(session=session, window_id=window_id)
    now = utcnow()
    before = public(window, now)
    changes = window_in.model_dump(exclude_unset=True)
    starts_at = changes.get("starts_at") or window.starts_at
    ends_at = changes.get("ends_at") or window.ends_at
    if ends_at <= starts_at:
        raise invalid([{"field": "ends_at", "message": "must be after starts_at"}])
    window.starts_at, window.ends_at = starts_at, ends_at
    if changes.get("reason") is not None:
        window.reason = changes["reason"]
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="maintenance.update",
        entity_type="maintenance_window",
        entity_id=window.id,
        before=before,
        after=public(window, now),
    )
    await _schedule(client, settings, window)
    return window


async def end_window(
    *, session: AsyncSession, client: Client, settings: Settings, window_id: UUID, actor: Actor
) -> MaintenanceWindow:
    """End a window now (or cancel one that has not started): its workflow runs the end."""
    window = await get_window(session=session, window_id=window_id)
    now = utcnow()
    if window.ends_at <= now:
        return window
    before = public(window, now)
    window.starts_at = min(window.starts_at, now)
    window.ends_at = now
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="maintenance.end",
        entity_type="maintenance_window",
        entity_id=window.id,
        before=before,
        after=public(window, now),
    )
    await _schedule(client, settings, window)
    return window
