"""The maintenance window's edges: tell every open incident of its services, by signal."""

from __future__ import annotations

import asyncio
import uuid

from temporalio import activity
from temporalio.service import RPCError, RPCStatusCode

from app.config import Settings
from app.db import SessionMaker
from app.maintenance import service as maintenance
from app.maintenance.models import MaintenanceWindow
from workflows.maintenance_window_types import INCIDENT_SIGNAL, EdgeIn, MaintenanceChange

ROW_WAIT_TRIES = 20
ROW_WAIT_STEP = 0.25  # seconds


class MaintenanceWindowActivities:
    def __init__(self, sessionmaker: SessionMaker, settings: Settings):
        self.sessionmaker = sessionmaker
        self.settings = settings

    async def _window(self, window_id: uuid.UUID) -> MaintenanceWindow | None:
        """Read the window; a window starting now is signalled before the API commits its row,
        so wait a few seconds for it (a window whose request failed never appears)."""
        for _ in range(ROW_WAIT_TRIES):
            async with self.sessionmaker() as session:
                window = await session.get(MaintenanceWindow, window_id)
            if window is not None:
                return window
            await asyncio.sleep(ROW_WAIT_STEP)
        return None

    @activity.defn(name="maintenance_window_edge")
    async def maintenance_window_edge(self, inp: EdgeIn) -> int:
        """Signal `maintenance` to the open incident workflows of the window's services.

        Each signal says whether its service is still in maintenance now (another window may
        cover it). Returns how many incidents were told.
        """
        window = await self._window(uuid.UUID(inp.window_id))
        if window is None:
            return 0
        async with self.sessionmaker() as session:
            ids = list(window.service_ids)
            # At the start the window covers its services by definition; at the end, another
            # window may still cover one. Neither asks this row's own times, which an "End
            # now" may not have committed yet when its signal wakes the workflow.
            active = {
                sid: inp.started
                or await maintenance.active_window(
                    session=session, service_id=sid, at=inp.at, besides=window.id
                )
                is not None
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
