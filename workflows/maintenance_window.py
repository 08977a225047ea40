"""A catalog maintenance window's start and end on durable timers; both can be moved by signal.

Not the status page's maintenance (workflows/maintenance.py): a window is about paging.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.maintenance_window_types import WORKFLOW_NAME, EdgeIn, WindowInput, WindowTimes

EDGE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)


@workflow.defn(name=WORKFLOW_NAME)
class MaintenanceWindowWorkflow:
    """Wait for the start, tell the services' open incidents; wait for the end, tell them again."""

    def __init__(self) -> None:
        self.times: WindowTimes | None = None
        self.changed = False
        self.phase = "scheduled"

    @workflow.signal
    def reschedule(self, times: WindowTimes) -> None:
        """New start or end (an end in the past ends the window now)."""
        self.times = times
        self.changed = True

    @workflow.query
    def current_phase(self) -> str:
        return self.phase

    async def _until(self, attr: str) -> None:
        """Sleep until `self.times.<attr>`, starting over whenever the times change."""
        while True:
            assert self.times is not None
            target = self.times.starts_at if attr == "starts_at" else self.times.ends_at
            wait = target - workflow.now()
            if wait <= timedelta(0):
                return
            self.changed = False
            try:
                await workflow.wait_condition(
                    lambda: self.changed, timeout=wait, timeout_summary=attr
                )
            except TimeoutError:
                return

    async def _edge(self, window_id: str, started: bool) -> None:
        await workflow.execute_activity(
            "maintenance_window_edge",
            EdgeIn(window_id=window_id, started=started, at=workflow.now()),
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=EDGE_RETRY,
            summary="maintenance started" if started else "maintenance ended",
        )

    @workflow.run
    async def run(self, inp: WindowInput) -> str:
        if self.times is None:
            self.times = inp.times
        await self._until("starts_at")
        assert self.times is not None
        if self.times.ends_at <= self.times.starts_at:
            # Cancelled before it started ("End now" makes both now): nothing to tell or undo.
            self.phase = "ended"
            return "cancelled"
        self.phase = "active"
        await self._edge(inp.window_id, started=True)
        await self._until("ends_at")
        self.phase = "ended"
        await self._edge(inp.window_id, started=False)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return "ended"
