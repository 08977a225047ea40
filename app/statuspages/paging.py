"""A status page maintenance with `suppress_paging` holds paging of its components' services.

It is a catalog maintenance window with the maintenance's own id over the same times (the
window's workflow starts and ends paging suppression); cancelling the maintenance ends it.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from temporalio.client import Client

from app.audit.models import Actor
from app.config import Settings
from app.errors import Invalid, invalid
from app.maintenance import service as maintenance
from app.maintenance.models import MaintenanceWindow, MaintenanceWindowCreate
from app.statuspages.models import PageIncident, StatusComponent


async def _services(session: AsyncSession, component_ids: list[UUID]) -> list[UUID]:
    rows = await session.scalars(
        select(col(StatusComponent.service_ids)).where(col(StatusComponent.id).in_(component_ids))
    )
    return list(dict.fromkeys(s for ids in rows.all() for s in ids))


async def hold_paging(
    *, session: AsyncSession, client: Client, settings: Settings, m: PageIncident, actor: Actor
) -> MaintenanceWindow | None:
    """Open the window of a maintenance that suppresses paging (422 when it cannot)."""
    if not m.suppress_paging:
        return None
    assert m.scheduled_for is not None and m.scheduled_until is not None
    services = await _services(session, list(m.component_ids))
    if not services:
        message = "its components are mapped to no service, so there is no paging to suppress"
        raise invalid([{"field": "suppress_paging", "message": message}])
    window_in = MaintenanceWindowCreate(
        service_ids=services,
        starts_at=m.scheduled_for,
        ends_at=m.scheduled_until,
        reason=f"Status page maintenance: {m.name}"[:2000],
    )
    try:
        return await maintenance.create_window(
            session=session,
            client=client,
            settings=settings,
            window_in=window_in,
            actor=actor,
            window_id=m.id,
        )
    except Invalid as exc:
        reasons = "; ".join(str(e.get("message")) for e in exc.errors or []) or exc.detail
        raise invalid([{"field": "suppress_paging", "message": reasons}]) from exc


async def release_paging(
    *, session: AsyncSession, client: Client, settings: Settings, m: PageIncident, actor: Actor
) -> None:
    """End the window of a cancelled maintenance now (one not started never starts)."""
    if not m.suppress_paging or await session.get(MaintenanceWindow, m.id) is None:
        return
    await maintenance.end_window(
        session=session, client=client, settings=settings, window_id=m.id, actor=actor
    )
