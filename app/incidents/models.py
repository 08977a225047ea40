"""Incidents, their alerts, timeline and delivery log: the PostgreSQL projection of workflows."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel
from sqlalchemy import BigInteger, Column, ForeignKey, Identity, Index, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlmodel import Field, SQLModel

from app.models_common import created_at_field, jsonb_field, timestamp_field
from workflows.limits import MAX_REASSIGN_USERS, check_snooze


class Incident(SQLModel, table=True):
    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_open", "status", "created_at"),
        Index("ix_incidents_service_created", "service_id", "created_at"),
        Index("ix_incidents_assigned", "assigned_to", postgresql_using="gin"),
    )

    id: UUID = Field(primary_key=True)
    number: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(), unique=True, nullable=False)
    )
    title: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    severity: str = Field(sa_column=Column(String(16), nullable=False))
    urgency: str = Field(sa_column=Column(String(8), nullable=False))
    service_id: UUID = Field(
        sa_column_args=[ForeignKey("services.id", ondelete="RESTRICT")], index=True
    )
    escalation_policy_id: UUID | None = None
    escalation_level: int = 1
    assigned_to: list[UUID] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(PG_UUID(as_uuid=True)), nullable=False, server_default="{}"),
    )
    alert_count: int = 0
    dedup_key: str = Field(sa_column=Column(Text, nullable=False))
    workflow_id: str = Field(sa_column=Column(Text, nullable=False, index=True))
    run_id: str = Field(max_length=64)
    created_at: datetime | None = created_at_field()
    updated_at: datetime | None = timestamp_field()
    acknowledged_at: datetime | None = timestamp_field()
    acknowledged_by: str | None = Field(default=None, max_length=64)
    resolved_at: datetime | None = timestamp_field()
    resolved_by: str | None = Field(default=None, max_length=64)
    snoozed_until: datetime | None = timestamp_field()
    # Projection writes carry the workflow's version and never move a row backwards.
    version: int = 0


class Alert(SQLModel, table=True):
    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_incident", "incident_id", "received_at"),
        # Rows ingestion wrote before their incident took them (pruned if never taken).
        Index("ix_alerts_staged", "received_at", postgresql_where=text("incident_id IS NULL")),
    )

    id: str = Field(primary_key=True, max_length=64)
    # NULL while staged: written by ingestion, not yet attached by the incident's workflow.
    incident_id: UUID | None = Field(
        default=None, sa_column_args=[ForeignKey("incidents.id", ondelete="CASCADE")]
    )
    action: str = Field(max_length=16)
    summary: str = Field(sa_column=Column(Text, nullable=False))
    severity: str = Field(max_length=16)
    source: str | None = Field(default=None, sa_column=Column(Text))
    dedup_key: str = Field(sa_column=Column(Text, nullable=False))
    integration_id: str | None = Field(default=None, max_length=64)
    details: dict[str, Any] | None = jsonb_field()
    received_at: datetime | None = timestamp_field(nullable=False)


class TimelineEvent(SQLModel, table=True):
    __tablename__ = "timeline_events"
    __table_args__ = (Index("ix_timeline_incident_at", "incident_id", "at", "position", "seq"),)

    id: str = Field(primary_key=True, max_length=200)
    incident_id: UUID = Field(sa_column_args=[ForeignKey("incidents.id", ondelete="CASCADE")])
    at: datetime | None = timestamp_field(nullable=False)
    # The workflow's order of events that share an instant.
    position: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default="0")
    )
    seq: int = Field(
        default=None, sa_column=Column(BigInteger, Identity(), nullable=False)
    )  # insertion order, to break ties between events of the same instant
    type: str = Field(max_length=32)
    actor: dict[str, Any] | None = jsonb_field(nullable=False)
    detail: dict[str, Any] | None = jsonb_field(nullable=False)


class Notification(SQLModel, table=True):
    """The delivery log: one row per attempt to reach a person on a channel."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_incident", "incident_id", "created_at"),
        Index("ix_notifications_provider_id", "provider_id"),
    )

    id: UUID = Field(primary_key=True)
    idempotency_key: str = Field(max_length=200, unique=True)
    incident_id: UUID = Field(sa_column_args=[ForeignKey("incidents.id", ondelete="CASCADE")])
    user_id: UUID = Field(index=True)
    level: int = 1
    channel: str = Field(max_length=16)
    provider: str = Field(max_length=32)
    address: str | None = Field(default=None, max_length=500)
    status: str = Field(max_length=16)  # queued | sent | delivered | failed
    attempt: int = 1
    provider_id: str | None = Field(default=None, max_length=200)
    message: str | None = Field(default=None, sa_column=Column(Text))
    error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime | None = created_at_field()
    sent_at: datetime | None = timestamp_field()
    delivered_at: datetime | None = timestamp_field()


# --- API schemas ------------------------------------------------------------------------------


class IncidentPublic(BaseModel):
    id: UUID
    number: int
    title: str
    status: str
    severity: str
    urgency: str
    service_id: UUID
    escalation_policy_id: UUID | None
    escalation_level: int
    assigned_to: list[UUID]
    alert_count: int
    created_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    acknowledged_by: str | None
    resolved_by: str | None
    snoozed_until: datetime | None
    dedup_key: str
    workflow_id: str
    run_id: str
    temporal_url: str


class IncidentCreate(BaseModel):
    service_id: UUID
    title: str = Field(min_length=1, max_length=1024)
    severity: Literal["critical", "error", "warning", "info"] = "critical"
    details: dict[str, Any] = Field(default_factory=dict)
    dedup_key: str | None = Field(default=None, min_length=1, max_length=255)


class AlertPublic(BaseModel):
    id: str
    incident_id: UUID
    action: str
    summary: str
    severity: str
    source: str | None
    dedup_key: str
    integration_id: str | None
    details: dict[str, Any] | None
    received_at: datetime


class TimelineEventPublic(BaseModel):
    id: str
    at: datetime
    type: str
    actor: dict[str, Any]
    detail: dict[str, Any]


class NotificationPublic(BaseModel):
    id: UUID
    incident_id: UUID
    user_id: UUID
    level: int
    channel: str
    provider: str
    status: str
    attempt: int
    error: str | None
    provider_id: str | None
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None


class ResolveBody(BaseModel):
    note: str | None = Field(default=None, max_length=10_000)


class ReassignBody(BaseModel):
    user_ids: list[UUID] | None = Field(default=None, min_length=1, max_length=MAX_REASSIGN_USERS)
    escalation_policy_id: UUID | None = None


class SnoozeBody(BaseModel):
    duration: Annotated[timedelta, AfterValidator(check_snooze)] = Field(
        description="ISO-8601 duration (PT30M) or seconds, from 1 second to 7 days"
    )


class NoteBody(BaseModel):
    body: str = Field(min_length=1, max_length=10_000)
