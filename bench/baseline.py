"""Raw Temporal baseline: a trivial workflow with one trivial activity, and its worker.

Kept free of PageFree imports: the workflow sandbox re-imports this module for every run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

WORKFLOW_NAME = "BenchNoopWorkflow"


@activity.defn(name="bench_noop")
async def noop(value: int) -> int:
    """Return the value: the cheapest activity there is."""
    return value


@workflow.defn(name=WORKFLOW_NAME)
class NoopWorkflow:
    @workflow.run
    async def run(self, value: int) -> int:
        return await workflow.execute_activity(
            noop, value, start_to_close_timeout=timedelta(seconds=30)
        )


@asynccontextmanager
async def baseline_worker(address: str, task_queue: str) -> AsyncIterator[Worker]:
    """Run a worker for the baseline workflow on its own task queue while the block runs."""
    client = await Client.connect(address)
    worker = Worker(client, task_queue=task_queue, workflows=[NoopWorkflow], activities=[noop])
    async with worker:
        yield worker
