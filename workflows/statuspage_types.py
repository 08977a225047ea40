"""Inputs and outputs of the status-page workflows, and their pure timing rules."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel

ADVANCE_MAINTENANCE = "advance_maintenance"
ANNOUNCE_MAINTENANCE = "announce_maintenance"


class MaintenanceInput(BaseModel):
    maintenance_id: str
    page_id: str
    scheduled_for: datetime
    scheduled_until: datetime
    remind_before: timedelta | None = None


class AdvanceMaintenance(BaseModel):
    maintenance_id: str
    to: str  # in_progress | completed


class MaintenanceAnnouncement(BaseModel):
    maintenance_id: str
    kind: str  # reminder | started | completed


class Step(BaseModel):
    """One timer of a maintenance: wait until `at`, then do `action`."""

    at: datetime
    action: str  # remind | start | complete


def maintenance_steps(inp: MaintenanceInput, now: datetime) -> list[Step]:
    """Return the steps still ahead at `now`, in order; a start or end in the past runs at once.

    The reminder is dropped when its moment has passed (a reminder after the start would be
    noise); start and completion always run, so a worker that was down catches up.
    """
    steps: list[Step] = []
    if inp.remind_before is not None:
        remind_at = inp.scheduled_for - inp.remind_before
        if remind_at > now:
            steps.append(Step(at=remind_at, action="remind"))
    steps.append(Step(at=inp.scheduled_for, action="start"))
    steps.append(Step(at=inp.scheduled_until, action="complete"))
    return steps
