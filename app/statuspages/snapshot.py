"""What a reader of a page sees now: loaded once per request, rendered as HTML, JSON or Atom.

Only the page's own words: component names, published page incidents, maintenances. Never
internal incident titles, people, or services (not even the mapped ones' names).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.statuspages import incidents as page_incidents
from app.statuspages import rules
from app.statuspages import service as pages
from app.statuspages import status as computed
from app.statuspages.models import (
    ComponentStatus,
    Impact,
    MaintenanceStatus,
    PageIncident,
    PageIncidentUpdate,
    StatusComponent,
    StatusPage,
)

HISTORY_LIMIT = 50  # Statuspage's incidents.json returns the 50 most recent
UNRESOLVED_MAINTENANCE = (MaintenanceStatus.scheduled.value, MaintenanceStatus.in_progress.value)


@dataclass
class Snapshot:
    page: StatusPage
    url: str
    now: datetime
    components: list[StatusComponent]
    statuses: dict[UUID, ComponentStatus]
    incidents: list[PageIncident]  # published, newest first
    maintenances: list[PageIncident]  # not cancelled, latest start first
    updates: dict[UUID, list[PageIncidentUpdate]] = field(default_factory=dict)
    # Components degraded by open incidents upstream of their services (the page asked).
    by_dependency: set[UUID] = field(default_factory=set)

    def degraded_by_dependency(self, component_id: str) -> bool:
        """Whether the page says "(dependency)" beside this component's status."""
        return any(
            str(c) == component_id and self.statuses[c] is ComponentStatus.degraded_performance
            for c in self.by_dependency
        )

    @property
    def unresolved(self) -> list[PageIncident]:
        return [i for i in self.incidents if i.status != "resolved"]

    @property
    def upcoming(self) -> list[PageIncident]:
        return [m for m in self.maintenances if m.status == MaintenanceStatus.scheduled]

    @property
    def active(self) -> list[PageIncident]:
        return [m for m in self.maintenances if m.status == MaintenanceStatus.in_progress]

    @property
    def status(self) -> rules.PageStatus:
        return rules.page_status(
            [self.statuses[c.id] for c in self.components],
            [Impact(i.impact) for i in self.unresolved],
        )

    @property
    def updated_at(self) -> datetime:
        stamps = [self.page.updated_at, self.page.created_at]
        stamps += [c.updated_at for c in self.components]
        stamps += [i.updated_at for i in self.incidents + self.maintenances]
        return max((s for s in stamps if s is not None), default=self.now)


async def load(
    session: AsyncSession, page: StatusPage, *, base_url: str, now: datetime
) -> Snapshot:
    """Load everything a reader may see of `page` (a handful of queries)."""
    components = await pages.components_of(session, page.id)
    statuses = await computed.compute(session, components, now)
    incidents = list(
        (
            await session.scalars(
                select(PageIncident)
                .where(
                    col(PageIncident.page_id) == page.id,
                    col(PageIncident.kind) == page_incidents.INCIDENT,
                    col(PageIncident.published).is_(True),
                )
                .order_by(col(PageIncident.created_at).desc(), col(PageIncident.id))
                .limit(HISTORY_LIMIT)
            )
        ).all()
    )
    maintenances = list(
        (
            await session.scalars(
                select(PageIncident)
                .where(
                    col(PageIncident.page_id) == page.id,
                    col(PageIncident.kind) == page_incidents.MAINTENANCE,
                    col(PageIncident.status) != MaintenanceStatus.cancelled.value,
                )
                .order_by(col(PageIncident.scheduled_for).desc(), col(PageIncident.id))
                .limit(HISTORY_LIMIT)
            )
        ).all()
    )
    updates = await page_incidents.updates_of(session, [i.id for i in incidents + maintenances])
    return Snapshot(
        page=page,
        url=pages.public_url(base_url, page),
        now=now,
        components=components,
        statuses=statuses,
        incidents=incidents,
        maintenances=maintenances,
        updates=updates,
        by_dependency=(
            await computed.degraded_by_dependencies(session, components)
            if page.dependency_impact
            else set()
        ),
    )
