"""Runbook runs: the workflow's input, its activities' types and its pure retry rules."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from workflows.incident_types import ActionIn

WORKFLOW_NAME = "RunbookRun"
EXCERPT_CHARS = 2000  # the response excerpt kept per run
BACKOFF_INITIAL = timedelta(seconds=1)
BACKOFF_MAX = timedelta(seconds=60)

RunStatus = Literal["running", "succeeded", "failed", "cancelled"]


def workflow_id(run_id: str) -> str:
    """Return the workflow id of a run (readable in the Temporal UI)."""
    return f"runbook-run:{run_id}"


class RunbookRequest(BaseModel):
    """The HTTP target of a pinned version (its body still a template)."""

    url: str
    method: str
    headers: dict[str, str] = Field(default_factory=dict)
    body: str = ""
    timeout: float = 10.0
    retries: int = 3


class RunbookRunInput(BaseModel):
    """Everything a run needs, pinned at start: edits of the runbook change nothing."""

    run_id: str
    runbook_id: str
    runbook_name: str
    version: int
    content_hash: str
    incident_id: str
    request: RunbookRequest
    parameters: dict[str, Any] = Field(default_factory=dict)
    started_by: str | None = None


class StartRunbookIn(ActionIn):
    """The incident workflow's `start_runbook` Update: start this run as its child."""

    run: RunbookRunInput


def run_summary(run: RunbookRunInput, incident_number: int) -> str:
    """Return the run's one-line summary in the Temporal UI."""
    return f"Runbook {run.runbook_name[:120]} v{run.version} on incident #{incident_number}"


def run_details(run: RunbookRunInput) -> str:
    """Return the run's Markdown details in the Temporal UI (ids and hash, no parameters)."""
    return (
        f"Runbook `{run.runbook_id}` version {run.version} ({run.content_hash}), incident "
        f"`{run.incident_id}`, {run.request.retries} retries."
    )


class AttemptIn(BaseModel):
    run_id: str
    runbook_id: str
    attempt: int
    request: RunbookRequest  # body rendered


class AttemptOut(BaseModel):
    ok: bool
    retryable: bool
    status: int | None = None  # the HTTP status; None when no answer came
    error: str | None = None


class FinishIn(BaseModel):
    run_id: str
    incident_id: str
    status: RunStatus
    attempts: int
    response_status: int | None = None
    error: str | None = None


def is_retryable_status(status: int) -> bool:
    """Return whether an HTTP answer may succeed if sent again (5xx, 408, 429)."""
    return status >= 500 or status in (408, 429)


def backoff(attempt: int) -> timedelta:
    """Return the wait after failed attempt `attempt` (1-based): 1 s, 2 s, 4 s … at most 60 s."""
    seconds = BACKOFF_INITIAL.total_seconds() * 2 ** (attempt - 1)
    return min(timedelta(seconds=seconds), BACKOFF_MAX)
