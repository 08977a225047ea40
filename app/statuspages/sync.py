"""What the page workflow's activities do: auto-open page incidents and observe statuses."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit.models import Actor
from app.db import utcnow
from app.incidents.models import Incident
from app.statuspages import announce, rules
from app.statuspages import incidents as page_incidents
from app.statuspages import service as pages
from app.statuspages import status as computed
from app.statuspages.models import (
    Impact,
    IncidentStatus,
    PageIncident,
    PageIncidentUpdate,
    StatusComponent,
    StatusPage,
)
from app.statuspages.render import STATUS_WORDS

SYSTEM = Actor.system(via="status-page")
# Words PageFree writes itself: never the internal incident's title, which may name hosts,
# customers or people.
OPENED_BODY = "We are investigating reports of a problem with {names}."
RESOLVED_BODY = "This incident has been resolved."


def _names(components: list[StatusComponent]) -> str:
    names = [c.name for c in components]
    return ", ".join(names) if names else "our services"


async def _auto_open(
    session: AsyncSession, page: StatusPage, incident: Incident, components: list[StatusComponent]
) -> None:
    affected = [c for c in components if incident.service_id in c.service_ids]
    if not affected:
        return
    now = utcnow()
    pi = PageIncident(
        page_id=page.id,
        kind=page_incidents.INCIDENT,
        name=f"Service disruption: {_names(affected)}"[:300],
        status=IncidentStatus.investigating.value,
        impact=rules.SEVERITY_IMPACT.get(incident.severity, Impact.none).value,
        published=page.auto_publish_mode == "published",
        component_ids=[c.id for c in affected],
        incident_ids=[incident.id],
        auto_opened=True,
        created_at=now,
        updated_at=now,
        started_at=incident.created_at or now,
    )
    session.add(pi)
    await session.flush()
    first = PageIncidentUpdate(
        page_incident_id=pi.id,
        status=pi.status,
        body=OPENED_BODY.format(names=_names(affected)),
        created_at=now,
    )
    session.add(first)
    await session.flush()
    await announce.incident_update(session, page, pi, first.id, first.body)


async def _auto_resolve(session: AsyncSession, page: StatusPage, pi: PageIncident) -> None:
    still_open = await session.scalar(
        select(col(Incident.id)).where(
            col(Incident.id).in_(pi.incident_ids),
            col(Incident.status).in_(rules.OPEN_INCIDENT_STATUSES),
        )
    )
    if still_open is not None:
        return
    now = utcnow()
    pi.status = IncidentStatus.resolved.value
    pi.resolved_at = pi.updated_at = now
    update = PageIncidentUpdate(
        page_incident_id=pi.id, status=pi.status, body=RESOLVED_BODY, created_at=now
    )
    session.add(update)
    await session.flush()
    await announce.incident_update(session, page, pi, update.id, update.body)


async def auto_publish(
    session: AsyncSession,
    page: StatusPage,
    components: list[StatusComponent],
    incident_ids: list[UUID],
) -> None:
    """Open a page incident for each new internal incident at least as severe as the page asks;
    resolve the ones PageFree opened once all their internal incidents are resolved.

    Safe to repeat: an internal incident that has a page incident already gets no second one.
    """
    if not incident_ids:
        return
    incidents = (
        await session.scalars(select(Incident).where(col(Incident.id).in_(incident_ids)))
    ).all()
    for incident in incidents:
        linked = (
            await session.scalars(
                select(PageIncident).where(
                    col(PageIncident.page_id) == page.id,
                    col(PageIncident.incident_ids).contains([incident.id]),
                )
            )
        ).all()
        if incident.status in rules.OPEN_INCIDENT_STATUSES:
            threshold = page.auto_publish_severity
            if not linked and threshold and rules.severity_at_least(incident.severity, threshold):
                await _auto_open(session, page, incident, components)
            continue
        for pi in linked:
            if pi.auto_opened and pi.status != IncidentStatus.resolved:
                await _auto_resolve(session, page, pi)


async def observe(
    session: AsyncSession, page_id: UUID, incident_ids: list[UUID]
) -> dict[str, str] | None:
    """Auto-publish for the changed incidents, then return component id → status (None: no page)."""
    page = await session.get(StatusPage, page_id, with_for_update=True)
    if page is None:
        return None
    components = await pages.components_of(session, page_id)
    await auto_publish(session, page, components, incident_ids)
    statuses = await computed.compute(session, components, utcnow())
    return {str(cid): s.value for cid, s in statuses.items()}


async def announce_components(
    session: AsyncSession, page_id: UUID, key: str, changes: dict[UUID, str]
) -> bool:
    """Announce component status changes that held for the debounce period."""
    page = await session.get(StatusPage, page_id)
    if page is None:
        return False
    names = {c.id: c.name for c in await pages.components_of(session, page_id)}
    lines = [
        f"{names[cid]}: {STATUS_WORDS.get(status, status)}"
        for cid, status in changes.items()
        if cid in names
    ]
    if not lines:
        return False
    return await announce.record(
        session,
        key=key,
        page_id=page_id,
        kind="component_status",
        subject=f"[{page.name}] " + "; ".join(lines),
        body="\n".join(lines),
        component_ids=[cid for cid in changes if cid in names],
    )
