"""Types of automation runs: what the incident workflow knows of automations, run inputs, steps.

Plain pydantic models and constants: no I/O, nothing from `app`. No secrets and no step texts
travel through here: steps are named by path and their texts read inside activities.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, Field

WORKFLOW_NAME = "AutomationRunWorkflow"
EventName = Literal[
    "incident.triggered",
    "incident.acknowledged",
    "incident.resolved",
    "incident.escalated",
    "incident.severity_changed",
    "incident.unacknowledged",
]
EVENTS: tuple[str, ...] = get_args(EventName)
OperatorName = Literal["eq", "neq", "in", "not_in", "contains", "matches", "gte", "lte"]
OPERATORS: tuple[str, ...] = get_args(OperatorName)
LABEL_PREFIX = "alert.labels."
CONDITION_FIELDS = frozenset(
    {"severity", "urgency", "service_id", "team_id", "title", "escalation_level", "status"}
)
RunStatus = Literal["running", "succeeded", "failed", "cancelled"]
# Signals the incident workflow sends its running plays.
INCIDENT_STATUS_SIGNAL = "incident_status"


class ConditionSpec(BaseModel):
    field: str
    op: str
    value: Any = None


class AutomationTrigger(BaseModel):
    """An enabled automation's trigger and conditions, as the incident workflow matches them."""

    automation_id: str
    version: int
    name: str
    event: str
    after_seconds: float | None = None
    conditions: list[ConditionSpec] = Field(default_factory=list)
    run_once_per_incident: bool = True


class AutomationsAtOpen(BaseModel):
    """What the open activity returns about automations (None when no automation is enabled)."""

    triggers: list[AutomationTrigger]
    team_id: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)  # the first alert's labels


class Facts(BaseModel):
    """The incident fields conditions look at."""

    severity: str
    urgency: str
    service_id: str
    team_id: str | None = None
    title: str
    escalation_level: int
    status: str
    labels: dict[str, str] = Field(default_factory=dict)


class Play(BaseModel):
    """A matched automation to start as a child workflow."""

    workflow_id: str
    trigger: AutomationTrigger
    event: str


class RunningPlay(BaseModel):
    """A play the incident started; told of acknowledge and resolve (carried on)."""

    workflow_id: str
    event: str


class AutomationRunInput(BaseModel):
    run_id: str
    automation_id: str
    version: int
    incident_id: str
    event: str
    # Idempotency keys are "{key_base}:{step path}": a re-run keeps the old base if asked.
    key_base: str
    after_seconds: float | None = None  # incident.unacknowledged: wait this long first
    rerun_of: str | None = None


class PlanStep(BaseModel):
    """The control shape of one step: no texts (they may hold secrets), only what flow needs."""

    path: str
    type: str
    label: str
    run_to_completion: bool = False
    wait_seconds: float | None = None
    then: list[PlanStep] = Field(default_factory=list)
    else_: list[PlanStep] = Field(default_factory=list)


class BeginOut(BaseModel):
    name: str
    number: int
    steps: list[PlanStep]


class StepIn(BaseModel):
    run_id: str
    automation_id: str
    version: int
    incident_id: str
    path: str
    idempotency_key: str
    max_attempts: int


class StepOut(BaseModel):
    ok: bool = True
    output: dict[str, Any] = Field(default_factory=dict)
    branch: Literal["then", "else"] | None = None  # for `if`


class StepRecord(BaseModel):
    """A step the workflow itself carried out or gave up on (wait, cancelled, failed)."""

    path: str
    type: str
    status: Literal["succeeded", "failed", "cancelled", "skipped"]
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None


class FinishIn(BaseModel):
    run_id: str
    incident_id: str
    status: RunStatus
    error: str | None = None
    records: list[StepRecord] = Field(default_factory=list)


PlanStep.model_rebuild()
