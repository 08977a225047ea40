"""Types of maintenance windows shared by the API, the workflow and its activities."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

WORKFLOW_NAME = "MaintenanceWindowWorkflow"
# The signal every open incident workflow of the window's services receives at start and end.
INCIDENT_SIGNAL = "maintenance"


def workflow_id(window_id: str) -> str:
    return f"maintenance-window:{window_id}"


class WindowTimes(BaseModel):
    starts_at: datetime
    ends_at: datetime


class WindowInput(BaseModel):
    window_id: str
    times: WindowTimes


class MaintenanceChange(BaseModel):
    """What an incident workflow is told: a window over its service started or ended.

    `active` is whether the service is still in some maintenance window after this change
    (the activity checks, so overlapping windows do not end paging suppression early).
    """

    window_id: str
    service_id: str
    active: bool


class EdgeIn(BaseModel):
    window_id: str
    started: bool  # True at the start, False at the end
    # The workflow's time of the edge: "still in maintenance?" is asked as of then.
    at: datetime
