"""A durable reminder per action item: one timer to its due date, moved by signals."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from workflows.action_item_types import (
        WORKFLOW_NAME,
        ReminderState,
        RemindIn,
        wait_before_reminding,
    )

# A reminder whose row is not yet visible (the API commits after signalling) is retried
# for about a minute; after that the item is taken as gone.
REMIND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_attempts=7
)


@workflow.defn(name=WORKFLOW_NAME)
class ActionItemReminderWorkflow:
    """Wait until the item's due date; remind its assignee once per due date; end when done."""

    def __init__(self) -> None:
        self.state: ReminderState | None = None
        self.changed = False
        self.reminded_for: datetime | None = None

    @workflow.signal
    def update(self, state: ReminderState) -> None:
        """Take the item's new due date or status."""
        self.state = state
        self.changed = True

    @workflow.query
    def reminded(self) -> datetime | None:
        """Return the due date the assignee was last reminded of."""
        return self.reminded_for

    @workflow.run
    async def run(self, initial: ReminderState) -> str:
        """Remind on every due date that passes while the item is open."""
        if self.state is None:
            self.state = initial
        while self.state.open:
            self.changed = False
            wait = wait_before_reminding(self.state, self.reminded_for, workflow.now())
            if wait is None:
                await workflow.wait_condition(lambda: self.changed)
                continue
            if wait > timedelta(0):
                try:
                    await workflow.wait_condition(
                        lambda: self.changed, timeout=wait, timeout_summary="due date"
                    )
                    continue  # due date or status changed: start over
                except TimeoutError:
                    pass
            due_at = self.state.due_at
            assert due_at is not None
            try:
                await workflow.execute_activity(
                    "remind_action_item",
                    RemindIn(action_item_id=self.state.action_item_id, due_at=due_at),
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=REMIND_RETRY,
                    summary="remind the assignee",
                )
            except ActivityError:
                workflow.logger.warning("reminder not sent for %s", self.state.action_item_id)
            self.reminded_for = due_at
        await workflow.wait_condition(workflow.all_handlers_finished)
        return "completed"
