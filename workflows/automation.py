"""AutomationRunWorkflow: one play of an automation on one incident, step by step.

Started by the incident workflow as an abandoned child (`automation:{automation_id}:
{incident_id}`, so a once-per-incident play cannot start twice), or by a re-run. Steps are
retried activities named by path; `wait` is a timer, `if` an activity that tests the
incident as it is then. The incident tells the play when it is acknowledged or resolved
(a signal): an `incident.unacknowledged` play that has not fired yet then ends without a
trace, and a resolve cancels what is left of the play except steps marked
`run_to_completion`. Deterministic, no I/O.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError

with workflow.unsafe.imports_passed_through():
    from workflows.automation_types import (
        INCIDENT_STATUS_SIGNAL,
        WORKFLOW_NAME,
        AutomationRunInput,
        BeginOut,
        FinishIn,
        PlanStep,
        RunStatus,
        StepIn,
        StepOut,
        StepRecord,
    )

# Each step: 15 s per attempt, exponential back-off, a final refusal is not retried.
STEP_ATTEMPTS = 5
STEP_TIMEOUT = timedelta(seconds=15)
STEP_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=STEP_ATTEMPTS,
    non_retryable_error_types=["PermanentFailure"],
)
RECORD_TIMEOUT = timedelta(seconds=10)
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10)
)


class StepFailed(Exception):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def _message(exc: ActivityError) -> str:
    cause = exc.cause
    if isinstance(cause, ApplicationError):
        return cause.message
    return str(cause or exc)


@workflow.defn(name=WORKFLOW_NAME)
class AutomationRunWorkflow:
    def __init__(self) -> None:
        self.incident_status = "triggered"
        self.stopping = False  # the incident resolved: only run_to_completion steps go on
        self.resolve_stops = True
        self.current: asyncio.Task[None] | None = None
        self.current_keeps = False
        self.records: list[StepRecord] = []
        self.done: list[str] = []

    @workflow.signal(name=INCIDENT_STATUS_SIGNAL)
    def incident_changed(self, status: str) -> None:
        """Hear of the incident's acknowledge or resolve."""
        self.incident_status = status
        if status == "resolved" and self.resolve_stops and not self.stopping:
            self.stopping = True
            if self.current is not None and not self.current_keeps:
                self.current.cancel()

    @workflow.query
    def progress(self) -> dict[str, object]:
        """Return the steps done so far and whether the play is stopping."""
        return {"done": self.done, "stopping": self.stopping}

    @workflow.run
    async def run(self, inp: AutomationRunInput) -> str:
        self.resolve_stops = inp.event != "incident.resolved"
        if inp.after_seconds is not None:
            try:
                await workflow.wait_condition(
                    lambda: self.incident_status != "triggered",
                    timeout=timedelta(seconds=inp.after_seconds),
                    timeout_summary=f"unacknowledged for {inp.after_seconds:g} s?",
                )
                return "skipped"  # acknowledged or resolved in time: the play never fired
            except TimeoutError:
                pass
        plan: BeginOut = await workflow.execute_activity(
            "begin_automation_run",
            inp,
            result_type=BeginOut,
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=RECORD_RETRY,
            summary="record the start",
        )
        workflow.set_current_details(
            f"**{plan.name}** v{inp.version} on incident #{plan.number} ({inp.event}); "
            f"run `{inp.run_id}`, idempotency keys `{inp.key_base}:<step>`"
        )
        status: RunStatus = "succeeded"
        error = None
        try:
            await self._steps(inp, plan.steps)
        except StepFailed as exc:
            status, error = "failed", f"{exc.path}: {exc.message}"
        except asyncio.CancelledError:
            status, error = "cancelled", "cancelled"
        if status == "succeeded" and any(r.status == "cancelled" for r in self.records):
            status, error = "cancelled", "the incident resolved"
        await workflow.execute_activity(
            "finish_automation_run",
            FinishIn(
                run_id=inp.run_id,
                incident_id=inp.incident_id,
                status=status,
                error=error,
                records=self.records,
            ),
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=RECORD_RETRY,
            summary=f"record: {status}",
        )
        workflow.set_current_details(f"**{plan.name}** on incident #{plan.number}: {status}")
        return status

    def _record(self, step: PlanStep, status: str, error: str | None = None) -> None:
        now = workflow.now().isoformat()
        self.records.append(
            StepRecord(
                path=step.path,
                type=step.type,
                status=status,
                started_at=now,
                finished_at=now,
                error=error,
            )
        )

    async def _steps(self, inp: AutomationRunInput, steps: list[PlanStep]) -> None:
        for step in steps:
            if self.stopping and not step.run_to_completion:
                self._record(step, "cancelled", "the incident resolved")
                continue
            task = asyncio.create_task(self._step(inp, step))
            outer, outer_keeps = self.current, self.current_keeps
            self.current, self.current_keeps = task, step.run_to_completion or outer_keeps
            try:
                await task
            except asyncio.CancelledError:
                if not (self.stopping and task.cancelled()):
                    raise  # the run itself was cancelled (Temporal UI, API)
                self._record(step, "cancelled", "the incident resolved")
            finally:
                self.current, self.current_keeps = outer, outer_keeps
            self.done.append(step.path)

    def _step_in(self, inp: AutomationRunInput, step: PlanStep) -> StepIn:
        return StepIn(
            run_id=inp.run_id,
            automation_id=inp.automation_id,
            version=inp.version,
            incident_id=inp.incident_id,
            path=step.path,
            idempotency_key=f"{inp.key_base}:{step.path}",
            max_attempts=STEP_ATTEMPTS,
        )

    async def _step(self, inp: AutomationRunInput, step: PlanStep) -> None:
        if step.type == "wait":
            started = workflow.now().isoformat()
            await workflow.sleep(timedelta(seconds=step.wait_seconds or 0), summary=step.label)
            self.records.append(
                StepRecord(
                    path=step.path,
                    type="wait",
                    status="succeeded",
                    started_at=started,
                    finished_at=workflow.now().isoformat(),
                )
            )
            return
        name = "automation_condition" if step.type == "if" else "automation_step"
        try:
            out: StepOut = await workflow.execute_activity(
                name,
                self._step_in(inp, step),
                result_type=StepOut,
                start_to_close_timeout=STEP_TIMEOUT,
                retry_policy=STEP_RETRY,
                summary=step.label,
            )
        except ActivityError as exc:
            if isinstance(exc.cause, CancelledError):
                raise asyncio.CancelledError() from exc
            self._record(step, "failed", _message(exc))
            raise StepFailed(step.path, _message(exc)) from exc
        if step.type == "if":
            await self._steps(inp, step.then if out.branch == "then" else step.else_)
