"""A runbook run: one signed HTTP call per attempt, exponential back-off, cancellable.

A child of the incident workflow (`runbook-run:{run id}`), started by its `start_runbook`
Update; it outlives the incident (ABANDON) and is cancelled only explicitly.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError

with workflow.unsafe.imports_passed_through():
    from workflows.runbook_types import (
        WORKFLOW_NAME,
        AttemptIn,
        AttemptOut,
        FinishIn,
        RunbookRunInput,
        RunStatus,
        backoff,
    )

# Database writes: retried briefly; a refusal (deprecated runbook, bad template) is final.
RECORD_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=5)
# One activity per attempt: the workflow does the retrying, so every attempt is visible.
ONCE = RetryPolicy(maximum_attempts=1)


def _cancelled(exc: ActivityError) -> bool:
    return isinstance(exc.cause, CancelledError)


def _message(exc: ActivityError) -> str:
    cause = exc.cause
    if isinstance(cause, ApplicationError):
        return cause.message
    return str(cause or exc)


@workflow.defn(name=WORKFLOW_NAME)
class RunbookRunWorkflow:
    """Call the runbook's target until it answers 2xx, a final error, or retries run out."""

    def __init__(self) -> None:
        self.attempts = 0
        self.status: RunStatus = "running"

    @workflow.query
    def progress(self) -> dict[str, object]:
        """Return the live status and attempt count."""
        return {"status": self.status, "attempts": self.attempts}

    @workflow.run
    async def run(self, run: RunbookRunInput) -> str:
        """Run the pinned version once, with retries; record the outcome on the incident."""
        finish = FinishIn(
            run_id=run.run_id, incident_id=run.incident_id, status="failed", attempts=0
        )
        try:
            await self._attempts(run, finish)
        except asyncio.CancelledError:
            finish.status = "cancelled"
            finish.attempts = self.attempts
            await self._finish(finish)
            raise
        await self._finish(finish)
        return finish.status

    async def _attempts(self, run: RunbookRunInput, finish: FinishIn) -> None:
        try:
            # Local: one round trip to the server less before the first attempt (the run
            # gets no signals, so the stalls seen with local activities under storms do not
            # apply); the write is idempotent, so a retry after a crash is harmless.
            body: str = await workflow.execute_local_activity(
                "prepare_runbook_run",
                run,
                result_type=str,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RECORD_RETRY,
                summary="render the request, note the start",
            )
        except ActivityError as exc:
            if _cancelled(exc):
                raise asyncio.CancelledError() from exc
            finish.error = _message(exc)
            return
        request = run.request.model_copy(update={"body": body})
        last = run.request.retries + 1
        for attempt in range(1, last + 1):
            self.attempts = finish.attempts = attempt
            try:
                out: AttemptOut = await workflow.execute_activity(
                    "send_runbook_request",
                    AttemptIn(
                        run_id=run.run_id,
                        runbook_id=run.runbook_id,
                        attempt=attempt,
                        request=request,
                    ),
                    result_type=AttemptOut,
                    start_to_close_timeout=timedelta(seconds=request.timeout + 10),
                    retry_policy=ONCE,
                    summary=f"attempt {attempt} of {last}",
                )
            except ActivityError as exc:
                if _cancelled(exc):
                    raise asyncio.CancelledError() from exc
                out = AttemptOut(ok=False, retryable=True, error=_message(exc))
            finish.response_status, finish.error = out.status, out.error
            if out.ok:
                finish.status = "succeeded"
                return
            if not out.retryable or attempt == last:
                return
            await workflow.sleep(backoff(attempt), summary=f"back-off after attempt {attempt}")

    async def _finish(self, finish: FinishIn) -> None:
        self.status = finish.status
        await workflow.execute_activity(
            "finish_runbook_run",
            finish,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RECORD_RETRY,
            summary=f"record: {finish.status}",
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
