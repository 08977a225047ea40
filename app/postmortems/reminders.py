"""Tell an action item's reminder workflow about its due date and status (signal-with-start)."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from app.config import Settings
from app.postmortems.models import ActionItem, ActionItemStatus
from app.problems import Problem
from workflows.action_item_types import WORKFLOW_NAME, ReminderState, workflow_id


def state_of(item: ActionItem) -> ReminderState:
    """Return what the reminder workflow needs to know of an item."""
    return ReminderState(
        action_item_id=str(item.id),
        title=item.title[:200],
        due_at=item.due_at,
        open=item.status != ActionItemStatus.completed.value,
    )


async def _signal(client: Client, state: ReminderState) -> None:
    handle = client.get_workflow_handle(workflow_id(state.action_item_id))
    try:
        await handle.signal("update", state)
    except RPCError as exc:
        # No reminder running (never started, or already ended): nothing to tell.
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise


async def stop(*, client: Client, item: ActionItem) -> None:
    """End an item's reminder (its item is going away)."""
    state = state_of(item).model_copy(update={"open": False})
    try:
        await _signal(client, state)
    except RPCError as exc:
        raise _unavailable(exc) from exc


def _unavailable(exc: RPCError) -> Problem:
    return Problem(
        503,
        "Service unavailable",
        f"the reminder could not be changed (Temporal: {exc.message}); nothing was changed",
        headers={"Retry-After": "5"},
    )


async def sync(*, client: Client, settings: Settings, item: ActionItem) -> None:
    """Start the item's reminder, or signal the running one with the item's new state.

    Nothing is started for an item without a due date or one that is completed; a running
    reminder is still told, so that it moves its timer or ends.
    """
    state = state_of(item)
    try:
        if state.due_at is None or not state.open:
            await _signal(client, state)
            return
        await client.start_workflow(
            WORKFLOW_NAME,
            state,
            id=workflow_id(state.action_item_id),
            task_queue=settings.temporal_task_queue,
            start_signal="update",
            start_signal_args=[state],
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=f"Action item reminder: {item.title[:120]}",
            static_details=f"Reminds the assignee once action item `{item.id}` is past due.",
        )
    except RPCError as exc:
        raise _unavailable(exc) from exc
