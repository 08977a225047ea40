"""Workflow code logs through the process's handler from inside Temporal's sandbox."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    import logging
    import uuid

    import pytest
    from temporalio.testing import WorkflowEnvironment
    from temporalio.worker import Worker

    from app import logs
    from app.config import Settings


@workflow.defn(sandboxed=True)
class LogsAFailure:
    @workflow.run
    async def run(self) -> None:
        try:
            raise ApplicationError("stand-in refused the page", type="PermanentDeliveryError")
        except ApplicationError:
            workflow.logger.warning("page step failed", exc_info=True)


async def test_a_workflow_logs_an_exception_with_its_traceback(
    ts_env: WorkflowEnvironment, capfd: pytest.CaptureFixture[str]
) -> None:
    # The console format, as `pagefree dev` runs: its exception formatter once imported rich
    # inside the sandbox, which refused os.path, and the record was lost.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    logs.configure(Settings(PAGEFREE_LOG_FORMAT="console"))
    try:
        queue = f"logs-{uuid.uuid4().hex[:8]}"
        async with Worker(ts_env.client, task_queue=queue, workflows=[LogsAFailure]):
            await ts_env.client.execute_workflow(LogsAFailure.run, id=queue, task_queue=queue)
    finally:
        root.handlers[:] = handlers  # this test's handler writes to its captured stderr
        root.setLevel(level)
    err = capfd.readouterr().err
    assert "Logging error" not in err
    assert "page step failed" in err and "stand-in refused the page" in err
    assert "Traceback (most recent call last)" in err
