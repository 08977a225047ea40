"""Page incidents (the public story, with updates) and scheduled maintenances."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.audit.models import Actor
from app.db import utcnow
from app.errors import Conflict, Invalid, NotFound
from app.incidents.models import Incident
from app.statuspages import announce, rules
from app.statuspages import service as pages
from app.statuspages import status as computed
from app.statuspages.models import (
    Impact,
    IncidentStatus,
    MaintenanceCreate,
    MaintenancePublic,
    MaintenanceStatus,
    PageIncident,
    PageIncidentCreate,
    PageIncidentPatch,
    PageIncidentPublic,
    PageIncidentUpdate,
    UpdateCreate,
    UpdatePublic,
)

INCIDENT = "incident"
MAINTENANCE = "maintenance"


def maintenance_workflow_id(maintenance_id: UUID) -> str:
    """Return the id of the workflow that moves a maintenance along its timers."""
    return f"maintenance:{maintenance_id}"


async def updates_of(
    session: AsyncSession, ids: list[UUID]
) -> dict[UUID, list[PageIncidentUpdate]]:
    """Return page incident id → its updates, newest first (Statuspage's order)."""
    found: dict[UUID, list[PageIncidentUpdate]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = await session.scalars(
        select(PageIncidentUpdate)
        .where(col(PageIncidentUpdate.page_incident_id).in_(ids))
        .order_by(col(PageIncidentUpdate.created_at).desc(), col(PageIncidentUpdate.id))
    )
    for u in rows.all():
        found[u.page_incident_id].append(u)
    return found


def _update_public(u: PageIncidentUpdate) -> UpdatePublic:
    return UpdatePublic(id=u.id, status=u.status, body=u.body, created_at=u.created_at)


async def incident_public(session: AsyncSession, pi: PageIncident) -> PageIncidentPublic:
    """Return the admin view of a page incident with its updates."""
    updates = (await updates_of(session, [pi.id]))[pi.id]
    return PageIncidentPublic(
        id=pi.id,
        kind=pi.kind,
        name=pi.name,
        status=pi.status,
        impact=Impact(pi.impact),
        published=pi.published,
        component_ids=list(pi.component_ids),
        incident_ids=list(pi.incident_ids),
        created_at=pi.created_at,
        updated_at=pi.updated_at,
        resolved_at=pi.resolved_at,
        updates=[_update_public(u) for u in updates],
    )


async def maintenance_public(session: AsyncSession, m: PageIncident) -> MaintenancePublic:
    """Return the admin view of a maintenance with its updates."""
    assert m.scheduled_for is not None and m.scheduled_until is not None
    updates = (await updates_of(session, [m.id]))[m.id]
    return MaintenancePublic(
        id=m.id,
        name=m.name,
        status=MaintenanceStatus(m.status),
        component_ids=list(m.component_ids),
        scheduled_for=m.scheduled_for,
        scheduled_until=m.scheduled_until,
        suppress_paging=m.suppress_paging,
        workflow_id=m.workflow_id,
        started_at=m.started_at,
        resolved_at=m.resolved_at,
        updates=[_update_public(u) for u in updates],
    )


async def _check_components(
    session: AsyncSession, page_id: UUID, ids: list[UUID], field: str = "component_ids"
) -> None:
    known = {c.id for c in await pages.components_of(session, page_id)}
    missing = [str(i) for i in ids if i not in known]
    if missing:
        message = f"not components of this page: {', '.join(missing)}"
        raise Invalid(message, errors=[{"field": field, "message": message}])


async def get_item(
    *, session: AsyncSession, page_id: UUID, item_id: UUID, kind: str
) -> PageIncident:
    """Return a page incident (or maintenance) of this page, or raise NotFound."""
    item = await session.get(PageIncident, item_id)
    if item is None or item.page_id != page_id or item.kind != kind:
        raise NotFound(f"{kind} {item_id} does not exist on status page {page_id}")
    return item


async def list_items(
    *, session: AsyncSession, page_id: UUID, kind: str, limit: int = 100, offset: int = 0
) -> list[PageIncident]:
    """Return a page's incidents or maintenances, newest first."""
    order = col(PageIncident.scheduled_for) if kind == MAINTENANCE else col(PageIncident.created_at)
    rows = await session.scalars(
        select(PageIncident)
        .where(col(PageIncident.page_id) == page_id, col(PageIncident.kind) == kind)
        .order_by(order.desc(), col(PageIncident.id))
        .limit(limit)
        .offset(offset)
    )
    return list(rows.all())


def _stamp(pi: PageIncident, status: str, now: datetime) -> None:
    pi.status = status
    pi.updated_at = now
    if status == IncidentStatus.monitoring and pi.monitoring_at is None:
        pi.monitoring_at = now
    if status == IncidentStatus.resolved:
        pi.resolved_at = now


async def create_incident(
    *, session: AsyncSession, page_id: UUID, incident_in: PageIncidentCreate, actor: Actor
) -> PageIncident:
    """Open a page incident with its first update; impact defaults to its components' worst."""
    page = await pages.get_page(session=session, page_id=page_id)
    await _check_components(session, page_id, incident_in.component_ids)
    internal = list(dict.fromkeys(incident_in.incident_ids))
    if internal:
        found = set(
            (
                await session.scalars(
                    select(col(Incident.id)).where(col(Incident.id).in_(internal))
                )
            ).all()
        )
        missing = [str(i) for i in internal if i not in found]
        if missing:
            message = f"unknown incident ids: {', '.join(missing)}"
            raise Invalid(message, errors=[{"field": "incident_ids", "message": message}])
    impact = incident_in.impact
    if impact is None:
        components = [
            c
            for c in await pages.components_of(session, page_id)
            if c.id in set(incident_in.component_ids)
        ]
        statuses = await computed.compute(session, components, utcnow())
        impact = rules.impact_of(statuses.values())
    now = utcnow()
    pi = PageIncident(
        page_id=page_id,
        kind=INCIDENT,
        name=incident_in.name,
        status=IncidentStatus.investigating.value,
        impact=impact.value,
        published=incident_in.published,
        component_ids=list(dict.fromkeys(incident_in.component_ids)),
        incident_ids=internal,
        created_at=now,
        started_at=now,
    )
    _stamp(pi, incident_in.status.value, now)
    session.add(pi)
    await session.flush()
    first = PageIncidentUpdate(
        page_incident_id=pi.id, status=pi.status, body=incident_in.body, created_at=now
    )
    session.add(first)
    await session.flush()
    await announce.incident_update(session, page, pi, first.id, first.body)
    await audit.record(
        session=session,
        actor=actor,
        action="page_incident.create",
        entity_type="page_incident",
        entity_id=pi.id,
        after=incident_in,
    )
    return pi


async def add_update(
    *,
    session: AsyncSession,
    page_id: UUID,
    incident_id: UUID,
    update_in: UpdateCreate,
    actor: Actor,
) -> PageIncident:
    """Post an update to a page incident; a resolved incident takes no more (409)."""
    pi = await get_item(session=session, page_id=page_id, item_id=incident_id, kind=INCIDENT)
    if pi.status == IncidentStatus.resolved:
        raise Conflict("the incident is resolved; open a new one to tell a new story")
    now = utcnow()
    _stamp(pi, update_in.status.value, now)
    update = PageIncidentUpdate(
        page_incident_id=pi.id, status=pi.status, body=update_in.body, created_at=now
    )
    session.add(update)
    await session.flush()
    page = await pages.get_page(session=session, page_id=page_id)
    await announce.incident_update(session, page, pi, update.id, update.body)
    await audit.record(
        session=session,
        actor=actor,
        action="page_incident.update",
        entity_type="page_incident",
        entity_id=pi.id,
        after=update_in,
    )
    return pi


async def patch_incident(
    *,
    session: AsyncSession,
    page_id: UUID,
    incident_id: UUID,
    patch: PageIncidentPatch,
    actor: Actor,
) -> PageIncident:
    """Rename, re-scope, change impact or publish a draft page incident."""
    pi = await get_item(session=session, page_id=page_id, item_id=incident_id, kind=INCIDENT)
    changes = patch.model_dump(exclude_unset=True)
    for key in ("name", "impact", "published"):
        if key in changes and changes[key] is None:
            raise Invalid(f"{key} cannot be null", errors=[{"field": key, "message": "required"}])
    if "component_ids" in changes:
        ids = list(dict.fromkeys(changes["component_ids"] or []))
        await _check_components(session, page_id, ids)
        pi.component_ids = ids
    if "name" in changes:
        pi.name = changes["name"]
    if "impact" in changes:
        pi.impact = Impact(changes["impact"]).value
    publishing = changes.get("published") is True and not pi.published
    if "published" in changes:
        pi.published = changes["published"]
    pi.updated_at = utcnow()
    await session.flush()
    if publishing:  # a draft goes out: subscribers hear its latest word
        latest = (await updates_of(session, [pi.id]))[pi.id]
        if latest:
            page = await pages.get_page(session=session, page_id=page_id)
            await announce.incident_update(session, page, pi, latest[0].id, latest[0].body)
    await audit.record(
        session=session,
        actor=actor,
        action="page_incident.patch",
        entity_type="page_incident",
        entity_id=pi.id,
        after=patch.model_dump(mode="json", exclude_unset=True),
    )
    return pi


async def delete_incident(
    *, session: AsyncSession, page_id: UUID, incident_id: UUID, actor: Actor
) -> None:
    """Delete a page incident (a draft nobody should see, or a mistake)."""
    pi = await get_item(session=session, page_id=page_id, item_id=incident_id, kind=INCIDENT)
    await session.delete(pi)
    await audit.record(
        session=session,
        actor=actor,
        action="page_incident.delete",
        entity_type="page_incident",
        entity_id=incident_id,
        before={"name": pi.name},
    )


# --- maintenances ---------------------------------------------------------------------------


async def create_maintenance(
    *, session: AsyncSession, page_id: UUID, maintenance_in: MaintenanceCreate, actor: Actor
) -> PageIncident:
    """Schedule a maintenance; it must end after it starts and not be over already (422)."""
    await pages.get_page(session=session, page_id=page_id)
    if maintenance_in.scheduled_until <= maintenance_in.scheduled_for:
        message = "the maintenance must end after it starts"
        raise Invalid(message, errors=[{"field": "scheduled_until", "message": message}])
    now = utcnow()
    if maintenance_in.scheduled_until <= now:
        message = "the maintenance would be over already"
        raise Invalid(message, errors=[{"field": "scheduled_until", "message": message}])
    await _check_components(session, page_id, maintenance_in.component_ids)
    m = PageIncident(
        page_id=page_id,
        kind=MAINTENANCE,
        name=maintenance_in.name,
        status=MaintenanceStatus.scheduled.value,
        impact="maintenance",
        component_ids=list(dict.fromkeys(maintenance_in.component_ids)),
        suppress_paging=maintenance_in.suppress_paging,
        scheduled_for=maintenance_in.scheduled_for,
        scheduled_until=maintenance_in.scheduled_until,
        remind_before_seconds=(
            maintenance_in.remind_before.total_seconds() if maintenance_in.remind_before else None
        ),
        created_at=now,
        updated_at=now,
    )
    session.add(m)
    await session.flush()
    m.workflow_id = maintenance_workflow_id(m.id)
    session.add(
        PageIncidentUpdate(
            page_incident_id=m.id,
            status=MaintenanceStatus.scheduled.value,
            body=maintenance_in.body,
            created_at=now,
        )
    )
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="maintenance.create",
        entity_type="maintenance",
        entity_id=m.id,
        after=maintenance_in,
    )
    return m


# Words of the updates the timers post; an admin may post their own too.
_TRANSITION_BODY = {
    MaintenanceStatus.in_progress: "Scheduled maintenance is currently in progress.",
    MaintenanceStatus.completed: "The scheduled maintenance has been completed.",
}
_NEXT = {
    MaintenanceStatus.in_progress: MaintenanceStatus.scheduled,
    MaintenanceStatus.completed: MaintenanceStatus.in_progress,
}


async def advance_maintenance(
    *, session: AsyncSession, maintenance_id: UUID, to: MaintenanceStatus, at: datetime
) -> bool:
    """Move a maintenance one step along (timers call this); False if it was not due.

    Idempotent: a retried or late call finds it moved already (or cancelled) and does nothing.
    """
    m = await session.get(PageIncident, maintenance_id, with_for_update=True)
    if m is None:
        raise NotFound(f"maintenance {maintenance_id} does not exist")
    if m.status != _NEXT[to].value:
        return False
    m.status = to.value
    m.updated_at = at
    if to is MaintenanceStatus.in_progress:
        m.started_at = at
    else:
        m.resolved_at = at
    session.add(
        PageIncidentUpdate(
            page_incident_id=m.id, status=to.value, body=_TRANSITION_BODY[to], created_at=at
        )
    )
    await session.flush()
    await audit.record(
        session=session,
        actor=Actor.system(via="temporal"),
        action=f"maintenance.{to.value}",
        entity_type="maintenance",
        entity_id=m.id,
    )
    return True


async def cancel_maintenance(
    *, session: AsyncSession, page_id: UUID, maintenance_id: UUID, actor: Actor
) -> PageIncident:
    """Cancel a maintenance: a scheduled one never starts, one in progress completes now."""
    m = await get_item(session=session, page_id=page_id, item_id=maintenance_id, kind=MAINTENANCE)
    if m.status in (MaintenanceStatus.completed, MaintenanceStatus.cancelled):
        raise Conflict(f"the maintenance is {m.status} already")
    now = utcnow()
    if m.status == MaintenanceStatus.in_progress:
        m.status = MaintenanceStatus.completed.value
        m.resolved_at = now
        session.add(
            PageIncidentUpdate(
                page_incident_id=m.id,
                status=m.status,
                body="The scheduled maintenance has been completed early.",
                created_at=now,
            )
        )
    else:
        m.status = MaintenanceStatus.cancelled.value
    m.updated_at = now
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="maintenance.cancel",
        entity_type="maintenance",
        entity_id=m.id,
        after={"status": m.status},
    )
    return m
