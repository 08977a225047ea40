"""Read the facts of incident reports from the PostgreSQL projection."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.catalog.models import Service
from app.identity.models import Team, User
from app.incidents.models import Incident, TimelineEvent
from app.insight.reports import GroupBy, IncidentFacts, PageFacts, Report, summarize


async def report(
    *, session: AsyncSession, since: datetime, until: datetime, group_by: GroupBy
) -> Report:
    """Return the report of incidents opened in [since, until)."""
    rows = await session.execute(
        select(
            Incident.id,
            Incident.service_id,
            Service.team_id,
            Incident.created_at,
            Incident.acknowledged_at,
            Incident.resolved_at,
            Incident.alert_count,
        )
        .join(Service, Service.id == Incident.service_id)
        .where(Incident.created_at >= since, Incident.created_at < until)
    )
    incidents = [IncidentFacts(*r) for r in rows.all()]
    ids = [i.id for i in incidents]
    pages: list[PageFacts] = []
    if ids:
        paged_user = col(TimelineEvent.detail)["user_id"].astext
        rows = await session.execute(
            select(TimelineEvent.incident_id, paged_user, TimelineEvent.at, User.timezone)
            .join(User, User.id == paged_user.cast(PG_UUID(as_uuid=True)))
            .where(TimelineEvent.type == "paged", TimelineEvent.incident_id.in_(ids))
        )
        pages = [PageFacts(r[0], UUID(r[1]), r[2], r[3]) for r in rows.all()]
    names: dict[UUID, str] = {}
    for model in (Service, Team, User):
        for id_, name in await session.execute(select(model.id, model.name)):
            names[id_] = name
    return summarize(
        since=since, until=until, group_by=group_by, incidents=incidents, pages=pages, names=names
    )
