"""Types and rules of heartbeat monitors, shared by the API, the workflow and its activities."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel

WORKFLOW_NAME = "HeartbeatWorkflow"
MIN_INTERVAL = timedelta(seconds=10)
MAX_INTERVAL = timedelta(days=30)
MAX_GRACE = timedelta(days=30)
# Continue as new after this many pings even if the server does not suggest it yet.
PINGS_PER_RUN = 500


def workflow_id(heartbeat_id: str) -> str:
    """Return the id of a monitor's workflow."""
    return f"heartbeat:{heartbeat_id}"


def dedup_key(heartbeat_id: str) -> str:
    """Return the dedup key of the incident a missed heartbeat opens."""
    return f"heartbeat:{heartbeat_id}"


class MonitorConfig(BaseModel):
    interval_seconds: float
    grace_seconds: float

    @property
    def deadline(self) -> timedelta:
        """How long after a ping (or the start) the next one must come."""
        return timedelta(seconds=self.interval_seconds + self.grace_seconds)


class MonitorInput(BaseModel):
    heartbeat_id: str
    config: MonitorConfig
    # True while the monitor's incident is open (carried across continue-as-new).
    overdue: bool = False


class MissedIn(BaseModel):
    heartbeat_id: str
    # Seconds without a ping when the deadline passed (for the alert's summary).
    silent_seconds: float


def next_wait(config: MonitorConfig, overdue: bool) -> timedelta | None:
    """Return how long to wait for the next ping: the deadline, or forever once overdue."""
    return None if overdue else config.deadline
