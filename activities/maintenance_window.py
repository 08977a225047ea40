"""The maintenance window's edges: tell every open incident of its services, by signal."""

from __future__ import annotations

import uuid

from temporalio import activity
from temporalio.service import RPCError, RPCStatusCode

from app.config import Settings
from app.db import SessionMaker
from app.maintenance import service as maintenance
from app.maintenance.models import MaintenanceWindow
from workflows.maintenance_window_types import INCIDENT_SIGNAL, EdgeIn, MaintenanceChange


class MaintenanceWindowActivities:
    def __init__(self, sessionmaker: SessionMaker, settings: Settings):
        self.sessionmaker = sessionmaker
        self.settings = settings

    @activity.defn(name="maintenance_window_edge")
    async def maintenance_window_edge(self, inp: EdgeIn) -> int:
        """Signal `maintenance` to the open incident workflows of the window's services.

        Each signal says whether its service is still in maintenance now (another window may
        cover it). Returns how many incidents were told.
        """
        async with self.sessionmaker() as session:
            window = await session.get(MaintenanceWindow, uuid.UUID(inp.window_id))
            if window is None:
                return 0
            ids = list(window.service_ids)
            active = {
                sid: await maintenance.in_maintenance(session=session, service_id=sid, at=inp.at)
                for sid in ids
            }
            targets = await maintenance.open_incident_workflows(session=session, service_ids=ids)
        told = 0
        client = activity.client()
        for service_id, wid in targets:
            change = MaintenanceChange(
                window_id=inp.window_id, service_id=str(service_id), active=active[service_id]
            )
            try:
                await client.get_workflow_handle(wid).signal(INCIDENT_SIGNAL, change)
                told += 1
            except RPCError as exc:
                if exc.status != RPCStatusCode.NOT_FOUND:  # resolved meanwhile: nothing to tell
                    raise
        return told
