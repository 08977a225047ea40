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
            col(Incident.id),
            col(Incident.service_id),
            col(Service.team_id),
            col(Incident.created_at),
            col(Incident.acknowledged_at),
            col(Incident.resolved_at),
            col(Incident.alert_count),
        )
        .join(Service, col(Service.id) == col(Incident.service_id))
        .where(col(Incident.created_at) >= since, col(Incident.created_at) < until)
    )
    incidents = []
    for id_, service_id, team_id, created, acked, resolved, alerts in rows.all():
        assert created is not None  # a NOT NULL column
        incidents.append(IncidentFacts(id_, service_id, team_id, created, acked, resolved, alerts))
    ids = [i.id for i in incidents]
    pages: list[PageFacts] = []
    if ids:
        paged_user = col(TimelineEvent.detail)["user_id"].astext
        paged = await session.execute(
            select(
                col(TimelineEvent.incident_id),
                paged_user,
                col(TimelineEvent.at),
                col(User.timezone),
            )
            .join(User, col(User.id) == paged_user.cast(PG_UUID(as_uuid=True)))
            .where(col(TimelineEvent.type) == "paged", col(TimelineEvent.incident_id).in_(ids))
        )
        for incident_id, user_id, at, timezone in paged.all():
            assert at is not None  # a NOT NULL column
            pages.append(PageFacts(incident_id, UUID(str(user_id)), at, timezone))
    names: dict[UUID, str] = {}
    for model in (Service, Team, User):
        for id_, name in await session.execute(select(col(model.id), col(model.name))):
            names[id_] = name
    return summarize(
        since=since, until=until, group_by=group_by, incidents=incidents, pages=pages, names=names
    )
