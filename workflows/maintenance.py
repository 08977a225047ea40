"""MaintenanceWorkflow: one per maintenance; durable timers move it scheduled → in progress → done.

Cancelled (the maintenance was deleted): it stops where it is; the API has already written
the new status.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.statuspage_types import (
        ADVANCE_MAINTENANCE,
        ANNOUNCE_MAINTENANCE,
        AdvanceMaintenance,
        MaintenanceAnnouncement,
        MaintenanceInput,
        maintenance_steps,
    )

DB_TIMEOUT = timedelta(seconds=30)
DB_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))
_ACTIONS = {"start": ("in_progress", "started"), "complete": ("completed", "completed")}


@workflow.defn(name="MaintenanceWorkflow")
class MaintenanceWorkflow:
    @workflow.run
    async def run(self, inp: MaintenanceInput) -> str:
        try:
            for step in maintenance_steps(inp, workflow.now()):
                wait = step.at - workflow.now()
                if wait > timedelta(0):
                    await workflow.sleep(wait, summary=step.action)
                if step.action == "remind":
                    await self._announce(inp, "reminder")
                    continue
                status, announcement = _ACTIONS[step.action]
                moved = await workflow.execute_activity(
                    ADVANCE_MAINTENANCE,
                    AdvanceMaintenance(maintenance_id=inp.maintenance_id, to=status),
                    result_type=bool,
                    start_to_close_timeout=DB_TIMEOUT,
                    retry_policy=DB_RETRY,
                    summary=status,
                )
                if not moved:  # cancelled or moved by hand: nothing more to do
                    return "stopped"
                await self._announce(inp, announcement)
        except asyncio.CancelledError:
            return "cancelled"
        return "completed"

    async def _announce(self, inp: MaintenanceInput, kind: str) -> None:
        await workflow.execute_activity(
            ANNOUNCE_MAINTENANCE,
            MaintenanceAnnouncement(maintenance_id=inp.maintenance_id, kind=kind),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
            summary=kind,
        )
