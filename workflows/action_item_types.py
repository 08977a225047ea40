"""Input types of the action-item reminder workflow, and its rule as a pure function."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel

WORKFLOW_NAME = "ActionItemReminder"


def workflow_id(action_item_id: str) -> str:
    """Return the reminder workflow's id for an action item."""
    return f"action-item:{action_item_id}"


class ReminderState(BaseModel):
    """What the reminder needs to know of an item: sent whenever due date or status changes."""

    action_item_id: str
    title: str = ""
    due_at: datetime | None = None
    open: bool = True  # False once the item is completed


class RemindIn(BaseModel):
    action_item_id: str
    due_at: datetime


def wait_before_reminding(
    state: ReminderState, reminded_for: datetime | None, now: datetime
) -> timedelta | None:
    """Return how long to wait before reminding (zero: now); None: nothing to remind of."""
    if not state.open or state.due_at is None or reminded_for == state.due_at:
        return None
    return max(timedelta(0), state.due_at - now)
