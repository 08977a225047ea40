"""One durable timer per heartbeat monitor: each ping resets it; its expiry opens an incident."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.heartbeat_types import (
        PINGS_PER_RUN,
        WORKFLOW_NAME,
        MissedIn,
        MonitorConfig,
        MonitorInput,
        next_wait,
    )

HANDOFF_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)


@workflow.defn(name=WORKFLOW_NAME)
class HeartbeatWorkflow:
    """Wait for pings; when none comes within interval + grace, open an incident; the next
    ping resolves it. Continues as new every few hundred pings to keep its history short."""

    def __init__(self) -> None:
        self.pings = 0
        self.config: MonitorConfig | None = None
        self.stopped = False
        self._overdue = False

    @workflow.signal
    def ping(self) -> None:
        """A ping arrived (the API has recorded it)."""
        self.pings += 1

    @workflow.signal
    def configure(self, config: MonitorConfig) -> None:
        """Take a new interval or grace; the timer restarts."""
        self.config = config

    @workflow.signal
    def stop(self) -> None:
        """The monitor was deleted: resolve its incident if one is open, and end."""
        self.stopped = True

    @workflow.query
    def overdue_now(self) -> bool:
        return self._overdue

    @workflow.run
    async def run(self, inp: MonitorInput) -> str:
        config = self.config or inp.config
        self._overdue = inp.overdue
        handled = 0
        # Pings not yet handled are `self.pings - seen`: one that comes while an activity runs
        # wakes the next wait at once instead of being lost.
        seen = self.pings
        while True:
            current = self.config
            config = current or config

            def woken(seen: int = seen, current: MonitorConfig | None = current) -> bool:
                return self.pings != seen or self.stopped or self.config is not current

            try:
                await workflow.wait_condition(
                    woken,
                    timeout=next_wait(config, self._overdue),
                    timeout_summary="next ping due",
                )
            except TimeoutError:
                await workflow.execute_activity(
                    "heartbeat_missed",
                    MissedIn(
                        heartbeat_id=inp.heartbeat_id,
                        silent_seconds=config.deadline.total_seconds(),
                    ),
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=HANDOFF_RETRY,
                    summary="open the missed-heartbeat incident",
                )
                self._overdue = True
                continue
            if self.pings != seen or self.stopped:
                handled += self.pings - seen
                seen = self.pings
                if self._overdue:
                    await self._recovered(inp.heartbeat_id)
            if self.stopped:
                return "stopped"
            if handled >= PINGS_PER_RUN or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    MonitorInput(
                        heartbeat_id=inp.heartbeat_id, config=config, overdue=self._overdue
                    )
                )

    async def _recovered(self, heartbeat_id: str) -> None:
        await workflow.execute_activity(
            "heartbeat_recovered",
            heartbeat_id,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=HANDOFF_RETRY,
            summary="resolve the missed-heartbeat incident",
        )
        self._overdue = False
