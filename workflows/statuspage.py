"""StatusPageWorkflow: one per page (`statuspage:{id}`); announces component changes that held.

Signals say which internal incidents changed; each wake-up recomputes the page through an
activity (auto-opening page incidents on the way), and a change is announced to subscribers
only after it held for the debounce period. A safety-net timer recomputes every minute, so a
missed signal costs at most that. Continues as new, carrying what was announced.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.statuspage_types import (
        ANNOUNCE_COMPONENTS,
        SERVICES_CHANGED,
        SYNC_PAGE,
        AnnounceComponents,
        ComponentChange,
        PageObserved,
        StatusPageInput,
        SyncPage,
        debounce,
        next_wake,
    )

DB_TIMEOUT = timedelta(seconds=30)
DB_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))
# Wake-ups per run before continuing as new (one a minute when idle: about a day per run).
MAX_ROUNDS = 1_500


@workflow.defn(name="StatusPageWorkflow")
class StatusPageWorkflow:
    @workflow.init
    def __init__(self, inp: StatusPageInput) -> None:
        self.inp = inp
        self.announced = inp.announced
        self.pending = dict(inp.pending)
        self.incident_ids: list[str] = list(inp.incident_ids)
        self.woken = bool(self.incident_ids) or inp.announced is None

    @workflow.signal(name=SERVICES_CHANGED)
    def services_changed(self, incident_ids: list[str]) -> None:
        """Internal incidents of services on this page changed: recompute soon."""
        self.incident_ids.extend(i for i in incident_ids if i not in self.incident_ids)
        self.woken = True

    @workflow.query
    def state(self) -> StatusPageInput:
        """Return what was announced and what is on hold."""
        return self._carry()

    @workflow.run
    async def run(self, inp: StatusPageInput) -> str:
        for _ in range(MAX_ROUNDS):
            if not self.woken:
                wait = next_wake(self.pending, workflow.now(), inp.debounce)
                try:
                    await workflow.wait_condition(
                        lambda: self.woken, timeout=wait, timeout_summary="recompute"
                    )
                except TimeoutError:
                    pass
            self.woken = False
            changed, self.incident_ids = self.incident_ids, []
            observed = await workflow.execute_activity(
                SYNC_PAGE,
                SyncPage(page_id=inp.page_id, incident_ids=changed),
                result_type=PageObserved,
                start_to_close_timeout=DB_TIMEOUT,
                retry_policy=DB_RETRY,
                summary="recompute",
            )
            if not observed.exists:
                return "page deleted"
            await self._debounce(observed.statuses)
            if workflow.info().is_continue_as_new_suggested():
                break
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(self._carry())

    async def _debounce(self, statuses: dict[str, str]) -> None:
        now = workflow.now()
        if self.announced is None:  # first run: the baseline, nothing to tell
            self.announced = dict(statuses)
            return
        self.pending, due = debounce(self.announced, self.pending, statuses, now, self.inp.debounce)
        # New components join the baseline; removed ones leave it.
        self.announced = {
            cid: due.get(cid, self.announced.get(cid, status)) for cid, status in statuses.items()
        }
        if due:
            await workflow.execute_activity(
                ANNOUNCE_COMPONENTS,
                AnnounceComponents(
                    page_id=self.inp.page_id,
                    key=f"components:{self.inp.page_id}:{now.isoformat()}",
                    changes=[ComponentChange(component_id=c, status=s) for c, s in due.items()],
                ),
                start_to_close_timeout=DB_TIMEOUT,
                retry_policy=DB_RETRY,
                summary="announce",
            )
        workflow.set_current_details(
            "\n".join(f"- `{cid}`: {s}" for cid, s in sorted(self.announced.items()))
        )

    def _carry(self) -> StatusPageInput:
        return StatusPageInput(
            page_id=self.inp.page_id,
            debounce=self.inp.debounce,
            announced=self.announced,
            pending=self.pending,
            incident_ids=self.incident_ids,
        )
