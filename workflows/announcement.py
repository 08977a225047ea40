"""AnnouncementWorkflow: delivers one announcement to every subscriber it is for.

Plans one delivery per subscriber, sends due ones in batches (each batch one activity), and
sleeps on a durable timer until the next retry of the failed ones is due; a subscriber that
has failed for a day is disabled by the activity and its deliveries abandoned.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.statuspage_types import (
        PLAN_DELIVERIES,
        SEND_DELIVERIES,
        DeliverInput,
        DeliveryBatch,
    )

RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))


@workflow.defn(name="AnnouncementWorkflow")
class AnnouncementWorkflow:
    @workflow.run
    async def run(self, inp: DeliverInput) -> int:
        await workflow.execute_activity(
            PLAN_DELIVERIES,
            inp,
            result_type=int,
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=RETRY,
            summary="plan deliveries",
        )
        sent = 0
        while True:
            batch = await workflow.execute_activity(
                SEND_DELIVERIES,
                inp,
                result_type=DeliveryBatch,
                start_to_close_timeout=timedelta(minutes=5),
                retry_policy=RETRY,
                summary="send a batch",
            )
            sent = sent + int(batch.sent)
            if batch.more_due:
                continue
            if batch.next_retry_at is None:
                return sent
            if workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(inp)
            wait = batch.next_retry_at - workflow.now()
            if wait > timedelta(0):
                await workflow.sleep(wait, summary="retry failed deliveries")
