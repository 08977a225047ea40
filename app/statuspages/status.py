"""Component statuses computed on read from PostgreSQL: always current, never typed in."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.catalog import dependencies
from app.statuspages import rules
from app.statuspages.models import (
    ComponentStatus,
    MaintenanceStatus,
    PageIncident,
    StatusComponent,
    StatusPage,
)


async def open_severities(session: AsyncSession, service_ids: set[UUID]) -> dict[UUID, list[str]]:
    """Return service id → severities of its open (triggered or acknowledged) incidents."""
    if not service_ids:
        return {}
    rows = await session.execute(
        text(
            "SELECT service_id, severity FROM incidents "
            "WHERE status IN ('triggered', 'acknowledged') AND service_id = ANY(:ids)"
        ),
        {"ids": list(service_ids)},
    )
    found: dict[UUID, list[str]] = defaultdict(list)
    for service_id, severity in rows.all():
        found[service_id].append(severity)
    return found


async def maintained_components(session: AsyncSession, page_ids: set[UUID]) -> set[UUID]:
    """Return the components of these pages under a maintenance in progress."""
    if not page_ids:
        return set()
    rows = await session.scalars(
        select(col(PageIncident.component_ids)).where(
            col(PageIncident.page_id).in_(page_ids),
            col(PageIncident.kind) == "maintenance",
            col(PageIncident.status) == MaintenanceStatus.in_progress.value,
        )
    )
    return {cid for ids in rows.all() for cid in ids}


async def compute(
    session: AsyncSession, components: Sequence[StatusComponent], now: datetime
) -> dict[UUID, ComponentStatus]:
    """Return component id → its status now (two queries, whatever the number of components)."""
    severities = await open_severities(session, {s for c in components for s in c.service_ids})
    maintained = await maintained_components(session, {c.page_id for c in components})
    upstream = await degraded_by_dependencies(session, components)
    statuses = {
        c.id: rules.component_status(
            open_severities=[sev for s in c.service_ids for sev in severities.get(s, [])],
            in_maintenance=c.id in maintained,
            override=c.status_override,
            override_until=c.override_until,
            now=now,
        )
        for c in components
    }
    return {c: rules.with_dependency_impact(st, c in upstream) for c, st in statuses.items()}


async def degraded_by_dependencies(
    session: AsyncSession, components: Sequence[StatusComponent]
) -> set[UUID]:
    """Return the components whose page asks for dependency impact and whose services have an
    open incident upstream (one query for the pages, one walk of the graph)."""
    pages = {c.page_id for c in components}
    if not pages:
        return set()
    asking = set(
        (
            await session.scalars(
                select(col(StatusPage.id)).where(
                    col(StatusPage.id).in_(pages), col(StatusPage.dependency_impact).is_(True)
                )
            )
        ).all()
    )
    watched = [c for c in components if c.page_id in asking]
    if not watched:
        return set()
    hit = await dependencies.with_open_incidents_upstream(
        session, {s for c in watched for s in c.service_ids}
    )
    return {c.id for c in watched if hit.intersection(c.service_ids)}
