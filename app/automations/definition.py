"""An automation's definition: trigger, conditions and steps, as strict pydantic schemas.

Unknown fields, operators, step types and events are refused; `parse` turns pydantic's
errors into field paths a person reads (`steps[2].type`, `steps[0].then[1].body`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.errors import Invalid, invalid
from workflows.automation_types import CONDITION_FIELDS, LABEL_PREFIX, EventName, OperatorName

MAX_WAIT = timedelta(days=7)
MAX_STEPS = 50


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Trigger(_Strict):
    event: EventName
    after: timedelta | None = None  # only for incident.unacknowledged: how long unacknowledged

    @field_validator("after")
    @classmethod
    def _bounded(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and not timedelta(seconds=1) <= value <= MAX_WAIT:
            raise ValueError("must be between 1 second and 7 days")
        return value


class Condition(_Strict):
    field: str
    op: OperatorName
    value: Any = None

    @field_validator("field")
    @classmethod
    def _known(cls, value: str) -> str:
        if value in CONDITION_FIELDS or (
            value.startswith(LABEL_PREFIX) and len(value) > len(LABEL_PREFIX)
        ):
            return value
        known = ", ".join(sorted(CONDITION_FIELDS))
        raise ValueError(f"unknown field; one of {known} or {LABEL_PREFIX}<name>")


class _Step(_Strict):
    # A step that still runs after the incident resolves (the rest of a play is cancelled).
    run_to_completion: bool = False


class WebhookAuth(_Strict):
    type: Literal["hmac", "oauth2_client_credentials", "basic"]
    connection_id: str


class WebhookStep(_Step):
    type: Literal["webhook"]
    url: str = Field(min_length=1, max_length=2000)
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = Field(default=None, max_length=20_000)
    auth: WebhookAuth | None = None


class SlackMessageStep(_Step):
    type: Literal["slack_message"]
    channel: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=4000)


class JiraIssueStep(_Step):
    type: Literal["jira_issue"]
    connection_id: str
    project_key: str = Field(min_length=1, max_length=50)
    issue_type: str = Field(default="Task", min_length=1, max_length=100)
    summary: str = Field(min_length=1, max_length=1000)
    description: str = Field(default="", max_length=20_000)


class LinearIssueStep(_Step):
    type: Literal["linear_issue"]
    connection_id: str
    team_id: str = Field(min_length=1, max_length=100)
    title: str = Field(min_length=1, max_length=1000)
    description: str = Field(default="", max_length=20_000)


class AddNoteStep(_Step):
    type: Literal["add_note"]
    body: str = Field(min_length=1, max_length=10_000)


class PageTarget(_Strict):
    type: Literal["user"]
    id: str


class PageStep(_Step):
    type: Literal["page"]
    targets: list[PageTarget] = Field(min_length=1, max_length=20)


class SetSeverityStep(_Step):
    type: Literal["set_severity"]
    severity: Literal["critical", "error", "warning", "info"]


class EscalateStep(_Step):
    type: Literal["escalate"]


class ResolveStep(_Step):
    type: Literal["resolve"]
    note: str | None = Field(default=None, max_length=10_000)


class RunRunbookStep(_Step):
    type: Literal["run_runbook"]
    runbook_id: str
    parameters: dict[str, Any] = Field(default_factory=dict)


class StatusPageUpdateStep(_Step):
    type: Literal["status_page_update"]
    status_page_id: str
    status: Literal["investigating", "identified", "monitoring", "resolved"]
    body: str = Field(min_length=1, max_length=10_000)


class WaitStep(_Step):
    type: Literal["wait"]
    duration: timedelta

    @field_validator("duration")
    @classmethod
    def _bounded(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= value <= MAX_WAIT:
            raise ValueError("must be between 1 second and 7 days")
        return value


class IfStep(_Step):
    type: Literal["if"]
    conditions: list[Condition] = Field(min_length=1, max_length=20)
    then: list[Step] = Field(default_factory=list, max_length=MAX_STEPS)
    else_: list[Step] = Field(default_factory=list, alias="else", max_length=MAX_STEPS)


Step = Annotated[
    WebhookStep
    | SlackMessageStep
    | JiraIssueStep
    | LinearIssueStep
    | AddNoteStep
    | PageStep
    | SetSeverityStep
    | EscalateStep
    | ResolveStep
    | RunRunbookStep
    | StatusPageUpdateStep
    | WaitStep
    | IfStep,
    Field(discriminator="type"),
]
STEP_TYPES = frozenset(
    {
        "webhook",
        "slack_message",
        "jira_issue",
        "linear_issue",
        "add_note",
        "page",
        "set_severity",
        "escalate",
        "resolve",
        "run_runbook",
        "status_page_update",
        "wait",
        "if",
    }
)
# The text fields of each step type that are Jinja templates (header values too, for webhooks).
TEMPLATE_FIELDS: dict[str, tuple[str, ...]] = {
    "webhook": ("body",),
    "slack_message": ("text",),
    "jira_issue": ("summary", "description"),
    "linear_issue": ("title", "description"),
    "add_note": ("body",),
    "resolve": ("note",),
    "status_page_update": ("body",),
}
IfStep.model_rebuild()


class Definition(_Strict):
    """What an automation does; snapshotted per version, pinned by each run."""

    trigger: Trigger
    conditions: list[Condition] = Field(default_factory=list, max_length=20)
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)
    run_once_per_incident: bool = True


def field_path(loc: tuple[int | str, ...], error_type: str) -> str:
    """Return pydantic's error location as `steps[2].then[0].type`."""
    out = ""
    previous: int | str | None = None
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(previous, int) and part in STEP_TYPES:
            pass  # the discriminator's tag pydantic puts after a step's index
        else:
            out += f".{part}" if out else str(part)
        previous = part
    if error_type in ("union_tag_invalid", "union_tag_not_found"):
        out += ".type"
    return out


def errors_of(exc: ValidationError, prefix: str = "") -> list[dict[str, Any]]:
    """Return field errors (messages only: the input may hold a header secret)."""
    found = []
    for e in exc.errors(include_input=False, include_url=False):
        path = field_path(tuple(e["loc"]), e["type"])
        found.append({"field": prefix + path if path else prefix.rstrip("."), "message": e["msg"]})
    return found


def parse(data: dict[str, Any], prefix: str = "") -> Definition:
    """Validate a definition or raise Invalid naming each bad field."""
    try:
        return Definition.model_validate(data)
    except ValidationError as exc:
        raise invalid(errors_of(exc, prefix)) from None


def walk(steps: list[Any], prefix: str = "steps") -> list[tuple[str, Any]]:
    """Return every step with its path (`steps[0]`, `steps[1].then[0]` …), depth first."""
    found: list[tuple[str, Any]] = []
    for i, step in enumerate(steps):
        path = f"{prefix}[{i}]"
        found.append((path, step))
        if isinstance(step, IfStep):
            found += walk(step.then, f"{path}.then")
            found += walk(step.else_, f"{path}.else")
    return found


def step_at(definition: Definition, path: str) -> Any:
    """Return the step at `path` (as `walk` names it), or raise Invalid."""
    for p, step in walk(definition.steps):
        if p == path:
            return step
    raise Invalid(f"no step at {path}")


__all__ = ["Definition", "Invalid", "Step", "parse", "step_at", "walk"]
