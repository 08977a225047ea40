"""Inputs, outputs and carried state of the incident workflow and its activities.

Plain pydantic models: no I/O, nothing from `app`, so the workflow sandbox imports them cheaply.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from workflows.automation_types import AutomationsAtOpen, RunningPlay

Severity = Literal["critical", "error", "warning", "info"]
Urgency = Literal["high", "low"]
Status = Literal["triggered", "acknowledged", "resolved"]

# The error type an Update validator raises for a transition that is not allowed (API: 409).
INVALID_TRANSITION = "InvalidTransition"


class Actor(BaseModel):
    """Who caused an event, and through which door (api, web, slack, sms, events …)."""

    type: Literal["user", "system", "integration"] = "system"
    id: str | None = None
    via: str | None = None


class Target(BaseModel):
    type: Literal["user", "schedule", "team"]
    id: str


class Level(BaseModel):
    delay_seconds: float
    targets: list[Target]


class PolicySnapshot(BaseModel):
    """The escalation policy as it was when the incident opened (or was reassigned)."""

    id: str
    name: str
    repeat: int = 0
    levels: list[Level]


class AlertIn(BaseModel):
    """One alert event from a monitoring tool, a person, or the API."""

    id: str  # unique per event: makes the alert row idempotent
    action: Literal["trigger", "acknowledge", "resolve"] = "trigger"
    summary: str
    severity: Severity = "critical"
    source: str | None = None
    dedup_key: str
    details: dict[str, Any] = Field(default_factory=dict)
    received_at: datetime
    integration_id: str | None = None
    actor: Actor = Field(default_factory=Actor)
    # Stable identity of the alert within its incident (an Alertmanager fingerprint): a later
    # event with the same key updates that alert's row instead of adding one.
    alert_key: str | None = None
    # The urgency the integration's severity mapping chose (the service's when None).
    urgency: Urgency | None = None
    # The sender wrote this trigger's row (payload included) before signalling, and left
    # `details` out: the workflow attaches the row by id (AlertRef) and carries no payload.
    stored: bool = False
    # Ids of further stored triggers identical to this one but for their ids and received
    # times (which their rows hold): a storm's batch of fifty copies of one alert is carried
    # as one alert and 49 ids (`incident_rules.group_repeats`). Each counts as an alert.
    repeats: list[str] = Field(default_factory=list)


class AlertRef(BaseModel):
    """A stored alert's row, to attach to its incident (see `AlertIn.stored`)."""

    id: str
    alert_key: str | None = None
    repeats: list[str] = Field(default_factory=list)  # the rows of its repeats, in order


class NotificationStep(BaseModel):
    """One step of a user's notification rules: send on `channel` after `delay_seconds`."""

    channel: str
    address: str | None = None
    contact_method_id: str | None = None
    delay_seconds: float = 0


class Chain(BaseModel):
    """A paged user's notification chain in progress; carried across continue-as-new."""

    page_id: int
    user_id: str
    level: int
    started_at: datetime
    steps: list[NotificationStep]
    next_step: int = 0


class TimelineEventIn(BaseModel):
    id: str
    at: datetime
    position: int = 0  # the workflow's order among events of the same instant
    type: str
    actor: Actor
    detail: dict[str, Any] = Field(default_factory=dict)


class IncidentState(BaseModel):
    """Everything the workflow knows; carried across continue-as-new."""

    incident_id: str
    service_id: str
    dedup_key: str
    number: int = 0
    title: str = ""
    severity: Severity = "critical"
    urgency: Urgency = "high"
    service_name: str = ""
    status: Status = "triggered"
    policy: PolicySnapshot | None = None
    level_index: int = 0
    cycle: int = 0
    level_deadline: datetime | None = None
    escalation_exhausted: bool = False
    pending_page: bool = True
    assigned_to: list[str] = Field(default_factory=list)
    alert_count: int = 0
    created_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    snoozed_until: datetime | None = None
    ack_timeout_seconds: float | None = None
    ack_deadline: datetime | None = None
    auto_resolve_seconds: float | None = None
    auto_resolve_deadline: datetime | None = None
    seq: int = 0  # timeline events and pages get deterministic ids from this counter
    version: int = 0  # projection writes only move forward
    chains: list[Chain] = Field(default_factory=list)
    first_run_id: str | None = None
    max_history_events: int = 10_000
    # Slack was configured when the incident opened: its messages follow every change.
    chat: bool = False
    # --- what the workflow has not carried out yet (empty again after each write) -------------
    opened: bool = False  # the incident row exists (the first activity returned)
    inbox: list[AlertIn] = Field(default_factory=list)  # received, not yet taken
    after_resolve: list[AlertIn] = Field(default_factory=list)  # they open the next incident
    outbox: list[TimelineEventIn] = Field(default_factory=list)  # events not yet written
    unwritten_alerts: list[AlertIn] = Field(default_factory=list)  # alert rows not yet written
    override_targets: list[str] | None = None  # reassigned users: paged in the level's place
    changes: int = 0  # counts recorded changes; flushed_changes trails it
    flushed_changes: int = 0
    projected: dict[str, Any] | None = None  # the incident row's fields as last written
    # Maintenance (workflows/incident_rules.maintenance): while in a window nothing pages by
    # itself; pages begun before the window's start (position below `maintenance_from_seq`)
    # start no chain. `early_maintenance` keeps a signal that came before the row existed.
    in_maintenance: bool = False
    maintenance_window_id: str | None = None
    maintenance_from_seq: int = 0
    early_maintenance: bool | None = None
    # --- automations (docs/automation.md): None when none was enabled at open ------------------
    automations: AutomationsAtOpen | None = None
    automation_plays: list[RunningPlay] = Field(default_factory=list)  # started, told of changes


class IncidentInput(BaseModel):
    """How an incident workflow starts: fresh, or continued from a previous run."""

    incident_id: str
    service_id: str
    dedup_key: str
    carried: IncidentState | None = None
    carried_alerts: list[AlertIn] = Field(default_factory=list)
    # Continue as new past this many history events (besides when Temporal suggests it).
    max_history_events: int = 10_000


class IncidentView(BaseModel):
    """The live state answered by the Query and by every Update."""

    incident_id: str
    number: int
    title: str
    status: Status
    severity: Severity
    urgency: Urgency
    service_id: str
    service_name: str
    escalation_policy_id: str | None
    escalation_level: int
    assigned_to: list[str]
    alert_count: int
    created_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    snoozed_until: datetime | None


# --- Update inputs ----------------------------------------------------------------------------


class ActionIn(BaseModel):
    actor: Actor
    # The incident the caller means: after a resolve, the same workflow chain may carry the next.
    incident_id: str | None = None


class ResolveIn(ActionIn):
    note: str | None = None


class ReassignIn(ActionIn):
    user_ids: list[str] | None = None
    escalation_policy_id: str | None = None


class SnoozeIn(ActionIn):
    seconds: float


class NoteIn(ActionIn):
    body: str


class SeverityIn(ActionIn):
    severity: Severity


# --- Activity inputs and outputs --------------------------------------------------------------


class PageLevel(BaseModel):
    incident_id: str
    level: int  # 1-based, as people count
    targets: list[Target]
    urgency: Urgency
    page_key: str  # 'paged' events get ids "{page_key}:{user_id}"
    position: int
    at: datetime


class PagedUser(BaseModel):
    user_id: str
    name: str
    steps: list[NotificationStep]


class PagedLevel(BaseModel):
    users: list[PagedUser]
    unresolved: list[str] = Field(default_factory=list)  # targets that led to nobody, and why
    # A team chat channel (Slack channel, Teams webhook) is configured: announce the page there.
    announce: bool = False


class OpenIncident(BaseModel):
    incident_id: str
    workflow_id: str
    run_id: str
    service_id: str
    dedup_key: str
    title: str
    severity: Severity
    opened_at: datetime
    alerts: list[AlertIn]
    event: TimelineEventIn
    # Level 1 is paged in the same activity: its 'paged' events get ids "{page_key}:{user_id}".
    page_key: str
    page_position: int
    alert_refs: list[AlertRef] = Field(default_factory=list)  # the first alert, when stored
    urgency: Urgency | None = None  # the first alert's (the service's when None)


class OpenedIncident(BaseModel):
    number: int
    service_name: str
    urgency: Urgency
    policy: PolicySnapshot
    ack_timeout_seconds: float | None = None
    auto_resolve_seconds: float | None = None
    chat: bool = False  # Slack is configured: keep the incident's messages in sync
    paged: PagedLevel  # level 1, paged by the same activity (its assignees are in the row)
    # The service was in this maintenance window at the opening: nobody was paged.
    maintenance_window_id: str | None = None
    automations: AutomationsAtOpen | None = None  # enabled automations' triggers, if any


class Projection(BaseModel):
    """A change of the incident as the workflow decided it, to write to PostgreSQL."""

    incident_id: str
    version: int
    fields: dict[str, Any] = Field(default_factory=dict)
    events: list[TimelineEventIn] = Field(default_factory=list)
    alerts: list[AlertIn] = Field(default_factory=list)
    alert_refs: list[AlertRef] = Field(default_factory=list)  # stored alerts: attached by id


class AnnouncePage(BaseModel):
    """Post a page to the team's chat channels (Slack channel, Microsoft Teams)."""

    key: str  # timeline events get ids "{key}:{channel}"
    position: int
    incident_id: str
    number: int
    title: str
    service_name: str
    severity: Severity
    level: int
    user_names: list[str]


class SendNotification(BaseModel):
    idempotency_key: str
    position: int
    incident_id: str
    number: int
    title: str
    service_name: str
    severity: Severity
    user_id: str
    level: int
    step: NotificationStep
    attempt_at: datetime


class SyncChat(BaseModel):
    """Bring the incident's chat messages up to date with the projection."""

    incident_id: str
    version: int  # the projection version the workflow had written (for logs)


class SendNotifications(BaseModel):
    """The steps of one chain that are due at the same moment: sent side by side, one activity.

    The first steps of a paged level also carry the level's chat announcement and, when the
    incident opens, its first chat sync.
    """

    sends: list[SendNotification]
    announce: AnnouncePage | None = None
    sync_chat: SyncChat | None = None


class DeliveryResult(BaseModel):
    notification_id: str
    status: Literal["queued", "sent", "delivered", "failed"]
    channel: str
    provider: str
    error: str | None = None


class Deliveries(BaseModel):
    """What a `send_notifications` attempt delivered (steps sent by an earlier try are absent)."""

    results: list[DeliveryResult]
    chat_synced: bool = False  # the carried chat sync succeeded (else the workflow's loop runs)


class LoadPolicy(BaseModel):
    policy_id: str
