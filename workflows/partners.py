"""Partner workflows: send a magic link; purge partner audit rows past 90 days, daily."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.statuspage_types import (
        PURGE_EVERY,
        PURGE_PARTNER_AUDIT,
        SEND_PARTNER_LINK,
        PartnerLinkInput,
        RetentionInput,
    )

RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=8,
)
ROUNDS_PER_RUN = 30


@workflow.defn(name="PartnerLinkWorkflow")
class PartnerLinkWorkflow:
    @workflow.run
    async def run(self, inp: PartnerLinkInput) -> bool:
        # A link is worth minutes: a few quick retries, then the partner asks again.
        sent: bool = await workflow.execute_activity(
            SEND_PARTNER_LINK,
            inp,
            result_type=bool,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RETRY,
            summary="send the sign-in link",
        )
        return sent


@workflow.defn(name="PartnerAuditRetentionWorkflow")
class PartnerAuditRetentionWorkflow:
    """Once a day, delete partner sign-in and page-view audit rows older than 90 days."""

    @workflow.run
    async def run(self, inp: RetentionInput) -> None:
        for _ in range(ROUNDS_PER_RUN):
            await workflow.execute_activity(
                PURGE_PARTNER_AUDIT,
                inp,
                result_type=int,
                start_to_close_timeout=timedelta(minutes=5),
                retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=5)),
                summary="purge partner audit rows past 90 days",
            )
            await workflow.sleep(PURGE_EVERY, summary="until tomorrow's purge")
        workflow.continue_as_new(RetentionInput(rounds=inp.rounds + ROUNDS_PER_RUN))
