"""Status pages: pages, components mapped to services, page incidents and maintenances."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, StringConstraints, model_validator
from sqlalchemy import Boolean, Column, ForeignKey, Index, String, Text, false
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlmodel import Field, SQLModel

from app.models_common import created_at_field, id_field, jsonb_field, timestamp_field

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
MAX_REMINDER = timedelta(days=7)
Severity = Literal["critical", "error", "warning", "info"]


class Visibility(StrEnum):
    public = "public"
    private = "private"


class ComponentStatus(StrEnum):
    """Statuspage's component statuses, best first."""

    operational = "operational"
    under_maintenance = "under_maintenance"
    degraded_performance = "degraded_performance"
    partial_outage = "partial_outage"
    major_outage = "major_outage"


class IncidentStatus(StrEnum):
    investigating = "investigating"
    identified = "identified"
    monitoring = "monitoring"
    resolved = "resolved"


class MaintenanceStatus(StrEnum):
    scheduled = "scheduled"
    in_progress = "in_progress"
    completed = "completed"
    # Deleted before its end: kept for the audit trail, never shown publicly.
    cancelled = "cancelled"


class Impact(StrEnum):
    none = "none"
    minor = "minor"
    major = "major"
    critical = "critical"


class AutoPublishMode(StrEnum):
    draft = "draft"
    published = "published"


def _uuid_array() -> Any:
    return Field(
        default_factory=list,
        sa_column=Column(ARRAY(PG_UUID(as_uuid=True)), nullable=False, server_default="{}"),
    )


class StatusPage(SQLModel, table=True):
    __tablename__ = "status_pages"

    id: UUID = id_field()
    name: str = Field(max_length=200)
    slug: str = Field(max_length=63, unique=True)
    visibility: str = Field(default="public", sa_column=Column(String(16), nullable=False))
    # Internal incidents at least this severe open a page incident (None: never).
    auto_publish_severity: str | None = Field(default=None, sa_column=Column(String(16)))
    auto_publish_mode: str = Field(default="draft", sa_column=Column(String(16), nullable=False))
    time_zone: str = Field(default="Etc/UTC", max_length=64)
    # Components are degraded by open incidents upstream of their services too.
    dependency_impact: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    created_at: datetime | None = created_at_field()
    updated_at: datetime | None = timestamp_field()


class StatusComponent(SQLModel, table=True):
    __tablename__ = "status_components"
    __table_args__ = (
        Index("ix_status_components_page", "page_id", "position"),
        Index("ix_status_components_services", "service_ids", postgresql_using="gin"),
    )

    id: UUID = id_field()
    page_id: UUID = Field(sa_column_args=[ForeignKey("status_pages.id", ondelete="CASCADE")])
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, sa_column=Column(Text))
    group: str | None = Field(default=None, max_length=200)
    position: int = 0
    service_ids: list[UUID] = _uuid_array()
    status_override: str | None = Field(default=None, sa_column=Column(String(32)))
    override_until: datetime | None = timestamp_field()
    created_at: datetime | None = created_at_field()
    updated_at: datetime | None = timestamp_field()


class PageIncident(SQLModel, table=True):
    """The public story of an incident or a scheduled maintenance (Statuspage models both alike)."""

    __tablename__ = "status_page_incidents"
    __table_args__ = (
        Index("ix_status_page_incidents_page", "page_id", "kind", "created_at"),
        Index("ix_status_page_incidents_internal", "incident_ids", postgresql_using="gin"),
    )

    id: UUID = id_field()
    page_id: UUID = Field(sa_column_args=[ForeignKey("status_pages.id", ondelete="CASCADE")])
    kind: str = Field(sa_column=Column(String(16), nullable=False))  # incident | maintenance
    name: str = Field(max_length=300)
    status: str = Field(sa_column=Column(String(16), nullable=False))
    impact: str = Field(default="none", sa_column=Column(String(16), nullable=False))
    published: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    component_ids: list[UUID] = _uuid_array()
    # Internal incidents behind it: never shown on public reads.
    incident_ids: list[UUID] = _uuid_array()
    # Opened by PageFree from an internal incident (and resolved with it).
    auto_opened: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    suppress_paging: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    scheduled_for: datetime | None = timestamp_field()
    scheduled_until: datetime | None = timestamp_field()
    remind_before_seconds: float | None = None
    workflow_id: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime | None = created_at_field()
    updated_at: datetime | None = timestamp_field()
    started_at: datetime | None = timestamp_field()
    monitoring_at: datetime | None = timestamp_field()
    resolved_at: datetime | None = timestamp_field()


class PageIncidentUpdate(SQLModel, table=True):
    __tablename__ = "status_page_incident_updates"
    __table_args__ = (Index("ix_status_updates_incident", "page_incident_id", "created_at"),)

    id: UUID = id_field()
    page_incident_id: UUID = Field(
        sa_column_args=[ForeignKey("status_page_incidents.id", ondelete="CASCADE")]
    )
    status: str = Field(sa_column=Column(String(16), nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    affected_components: list[dict[str, Any]] | None = jsonb_field()
    created_at: datetime | None = created_at_field()


# --- API schemas ---------------------------------------------------------------------------


class ComponentIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    group: str | None = Field(default=None, min_length=1, max_length=200)
    service_ids: list[UUID] = Field(default_factory=list, max_length=100)
    position: int | None = Field(default=None, ge=0, le=10_000)


class ComponentUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    group: str | None = Field(default=None, max_length=200)
    service_ids: list[UUID] | None = Field(default=None, max_length=100)
    position: int | None = Field(default=None, ge=0, le=10_000)
    # Pin a status (null unpins); `until` lets the pin lapse by itself.
    status_override: ComponentStatus | None = None
    until: datetime | None = None

    @model_validator(mode="after")
    def _aware(self) -> ComponentUpdate:
        if self.until is not None and self.until.tzinfo is None:
            raise ValueError("until must carry a time zone")
        return self


class ComponentPublic(BaseModel):
    id: UUID
    name: str
    description: str | None
    group: str | None
    service_ids: list[UUID]
    position: int
    status: ComponentStatus
    status_override: ComponentStatus | None
    override_until: datetime | None


class StatusPageCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    slug: Slug
    visibility: Visibility = Visibility.public
    auto_publish_severity: Severity | None = None
    auto_publish_mode: AutoPublishMode = AutoPublishMode.draft
    time_zone: str = Field(default="Etc/UTC", max_length=64)
    components: list[ComponentIn] = Field(default_factory=list, max_length=200)
    dependency_impact: bool = False


class StatusPageUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    slug: Slug | None = None
    visibility: Visibility | None = None
    auto_publish_severity: Severity | None = None
    auto_publish_mode: AutoPublishMode | None = None
    time_zone: str | None = Field(default=None, max_length=64)
    # Omitted: unchanged (only fields that were sent are applied); null is refused.
    dependency_impact: bool = False


class StatusPagePublic(BaseModel):
    id: UUID
    name: str
    slug: str
    visibility: Visibility
    auto_publish_severity: Severity | None
    auto_publish_mode: AutoPublishMode
    time_zone: str
    url: str
    components: list[ComponentPublic]
    created_at: datetime | None
    updated_at: datetime | None
    dependency_impact: bool = False


class PageIncidentCreate(BaseModel):
    name: str = Field(min_length=1, max_length=300)
    status: IncidentStatus = IncidentStatus.investigating
    body: str = Field(min_length=1, max_length=20_000)
    component_ids: list[UUID] = Field(default_factory=list, max_length=200)
    impact: Impact | None = None
    incident_ids: list[UUID] = Field(default_factory=list, max_length=50)
    published: bool = True


class PageIncidentPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=300)
    impact: Impact | None = None
    component_ids: list[UUID] | None = Field(default=None, max_length=200)
    published: bool | None = None


class UpdateCreate(BaseModel):
    status: IncidentStatus
    body: str = Field(min_length=1, max_length=20_000)


class UpdatePublic(BaseModel):
    id: UUID
    status: str
    body: str
    created_at: datetime | None


class PageIncidentPublic(BaseModel):
    id: UUID
    kind: str
    name: str
    status: str
    impact: Impact
    published: bool
    component_ids: list[UUID]
    incident_ids: list[UUID]
    created_at: datetime | None
    updated_at: datetime | None
    resolved_at: datetime | None
    updates: list[UpdatePublic]


class MaintenanceCreate(BaseModel):
    name: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1, max_length=20_000)
    component_ids: list[UUID] = Field(default_factory=list, max_length=200)
    scheduled_for: datetime
    scheduled_until: datetime
    suppress_paging: bool = False
    # Subscribers get a reminder this long before the start (None: no reminder).
    remind_before: timedelta | None = None

    @model_validator(mode="after")
    def _instants(self) -> MaintenanceCreate:
        if self.scheduled_for.tzinfo is None or self.scheduled_until.tzinfo is None:
            raise ValueError("scheduled_for and scheduled_until must carry a time zone")
        if self.remind_before is not None and not (
            timedelta(0) < self.remind_before <= MAX_REMINDER
        ):
            raise ValueError("remind_before must be between 1 s and 7 days")
        return self


class MaintenancePublic(BaseModel):
    id: UUID
    name: str
    status: MaintenanceStatus
    component_ids: list[UUID]
    scheduled_for: datetime
    scheduled_until: datetime
    suppress_paging: bool
    workflow_id: str | None
    started_at: datetime | None
    resolved_at: datetime | None
    updates: list[UpdatePublic]


class Announcement(SQLModel, table=True):
    """What subscribers are told (an outbox): one row per event, delivered to each subscriber."""

    __tablename__ = "status_announcements"
    __table_args__ = (Index("ix_status_announcements_page", "page_id", "created_at"),)

    # Deterministic from the event, so a retried activity never announces twice.
    id: str = Field(primary_key=True, max_length=200)
    page_id: UUID = Field(sa_column_args=[ForeignKey("status_pages.id", ondelete="CASCADE")])
    kind: str = Field(max_length=32)
    subject: str = Field(sa_column=Column(Text, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    component_ids: list[UUID] = _uuid_array()
    # Addressed to this subscriber alone (a confirmation link); else to all that match.
    subscriber_id: UUID | None = None
    # Set once the delivery workflow has taken it (the feeder's sweep retries the others).
    dispatched_at: datetime | None = timestamp_field()
    created_at: datetime | None = created_at_field()


class AnnouncementPublic(BaseModel):
    id: str
    kind: str
    subject: str
    body: str
    component_ids: list[UUID]
    created_at: datetime | None


class SubscriberType(StrEnum):
    email = "email"
    webhook = "webhook"
    slack = "slack"


class Subscriber(SQLModel, table=True):
    """Who hears a page's announcements: an e-mail address, a webhook or a Slack channel."""

    __tablename__ = "status_subscribers"
    __table_args__ = (
        Index("ix_status_subscribers_address", "page_id", "type", "address", unique=True),
    )

    id: UUID = id_field()
    page_id: UUID = Field(sa_column_args=[ForeignKey("status_pages.id", ondelete="CASCADE")])
    type: str = Field(sa_column=Column(String(16), nullable=False))
    address: str = Field(sa_column=Column(Text, nullable=False))
    # Empty: every component (and page-wide announcements).
    component_ids: list[UUID] = _uuid_array()
    confirmed_at: datetime | None = timestamp_field()
    # SHA-256 of the newest confirmation link's token (e-mail double opt-in).
    confirm_token_hash: str | None = Field(default=None, max_length=64)
    # In every e-mail's one-click unsubscribe link; it can do nothing but unsubscribe.
    unsubscribe_token: str = Field(max_length=64, unique=True)
    # HMAC key of webhook bodies: shown once when created, never returned again.
    secret: str | None = Field(default=None, max_length=128)
    failing_since: datetime | None = timestamp_field()
    disabled_at: datetime | None = timestamp_field()
    disabled_reason: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime | None = created_at_field()


class Delivery(SQLModel, table=True):
    """One announcement to one subscriber: the delivery log admins read."""

    __tablename__ = "status_deliveries"
    __table_args__ = (
        Index("ix_status_deliveries_announcement", "announcement_id", "status"),
        Index("ix_status_deliveries_page", "page_id", "created_at"),
    )

    id: UUID = Field(primary_key=True)  # uuid5 of (announcement, subscriber): written once
    announcement_id: str = Field(
        sa_column_args=[ForeignKey("status_announcements.id", ondelete="CASCADE")], max_length=200
    )
    subscriber_id: UUID = Field(
        sa_column_args=[ForeignKey("status_subscribers.id", ondelete="CASCADE")]
    )
    page_id: UUID = Field(sa_column_args=[ForeignKey("status_pages.id", ondelete="CASCADE")])
    status: str = Field(
        sa_column=Column(String(16), nullable=False)
    )  # pending|sent|failed|abandoned
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    next_attempt_at: datetime | None = timestamp_field()
    sent_at: datetime | None = timestamp_field()
    created_at: datetime | None = created_at_field()
    updated_at: datetime | None = timestamp_field()


class SubscriberCreate(BaseModel):
    type: SubscriberType
    # E-mail address, https webhook URL, or Slack channel id.
    address: str = Field(min_length=3, max_length=2000)
    component_ids: list[UUID] = Field(default_factory=list, max_length=200)


class PublicSubscribe(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    component_ids: list[UUID] = Field(default_factory=list, max_length=200)


class SubscriberPublic(BaseModel):
    id: UUID
    type: SubscriberType
    address: str
    component_ids: list[UUID]
    confirmed: bool
    failing_since: datetime | None
    disabled_at: datetime | None
    disabled_reason: str | None
    created_at: datetime | None
    # Only in the answer to the creation of a webhook subscriber.
    secret: str | None = None


class DeliveryPublic(BaseModel):
    id: UUID
    announcement_id: str
    subscriber_id: UUID
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    sent_at: datetime | None
    created_at: datetime | None
