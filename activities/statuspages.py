"""Status-page activities: maintenance timers' writes and announcements."""

from __future__ import annotations

from uuid import UUID

from temporalio import activity

from app.config import Settings
from app.db import SessionMaker
from app.statuspages import announce
from app.statuspages import incidents as page_incidents
from app.statuspages.models import MaintenanceStatus
from workflows.statuspage_types import (
    ADVANCE_MAINTENANCE,
    ANNOUNCE_MAINTENANCE,
    AdvanceMaintenance,
    MaintenanceAnnouncement,
)


class StatusPageActivities:
    """Activities of the status-page workflows, bound to the database."""

    def __init__(self, sessionmaker: SessionMaker, settings: Settings) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings

    @activity.defn(name=ADVANCE_MAINTENANCE)
    async def advance_maintenance(self, inp: AdvanceMaintenance) -> bool:
        """Move a maintenance to its next status; False when it was not due (cancelled)."""
        async with self.sessionmaker() as session:
            moved = await page_incidents.advance_maintenance(
                session=session,
                maintenance_id=UUID(inp.maintenance_id),
                to=MaintenanceStatus(inp.to),
                at=activity.info().current_attempt_scheduled_time,
            )
            await session.commit()
        return moved

    @activity.defn(name=ANNOUNCE_MAINTENANCE)
    async def announce_maintenance(self, inp: MaintenanceAnnouncement) -> bool:
        """Record the announcement of a maintenance's reminder, start or completion."""
        async with self.sessionmaker() as session:
            written = await announce.maintenance(session, UUID(inp.maintenance_id), inp.kind)
            await session.commit()
        return written
