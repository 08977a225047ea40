"""Limits of responders' actions on an incident: defined once, for API, web UI, Slack, workflow.

Pure: no imports from `app`, no I/O, so the workflow sandbox and every caller share them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

MIN_SNOOZE = timedelta(seconds=1)
MAX_SNOOZE = timedelta(days=7)
MAX_REASSIGN_USERS = 50  # direct assignees paged at once by one reassignment

SNOOZE_RANGE = "snooze between 1 second and 7 days"
REASSIGN_ONE_OF = "give either user_ids or escalation_policy_id"


def snooze_refusal(duration: timedelta) -> str | None:
    """Return why a snooze of `duration` is refused, or None when it is allowed."""
    return None if MIN_SNOOZE <= duration <= MAX_SNOOZE else SNOOZE_RANGE


def check_snooze(duration: timedelta) -> timedelta:
    """Return `duration` if it is an allowed snooze, else raise ValueError (pydantic validator)."""
    refusal = snooze_refusal(duration)
    if refusal is not None:
        raise ValueError(refusal)
    return duration


def reassign_refusal(user_ids: Sequence[object] | None, escalation_policy_id: object) -> str | None:
    """Return why a reassignment is refused (it names users or a policy, exactly one), or None."""
    if bool(user_ids) == bool(escalation_policy_id):
        return REASSIGN_ONE_OF
    if user_ids and len(user_ids) > MAX_REASSIGN_USERS:
        return f"reassign to at most {MAX_REASSIGN_USERS} users"
    return None
