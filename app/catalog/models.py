"""Services: what alerts are about, who owns them, and which policy pages for them."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator
from pydantic import Field as PydanticField
from sqlalchemy import Column, ForeignKey, Index, String, text
from sqlmodel import Field, SQLModel

from app.models_common import (
    SlackChannelId,
    created_at_field,
    id_field,
    timestamp_field,
)

ROUTING_KEY_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,62}$"
ROUTING_KEY_MAX = 63
RoutingKey = Annotated[str, StringConstraints(pattern=ROUTING_KEY_PATTERN)]
Severity = Literal["critical", "error", "warning", "info"]


class ServiceStatus(StrEnum):
    """Where a service is in its life; archiving keeps a service for its incidents' history."""

    active = "active"
    deprecated = "deprecated"
    archived = "archived"


class Urgency(StrEnum):
    """High urgency pages at once; low urgency follows users' low-urgency rules."""

    high = "high"
    low = "low"


class PolicySource(StrEnum):
    """Where a service's escalation policy comes from."""

    service = "service"
    team = "team"


class Service(SQLModel, table=True):
    __tablename__ = "services"
    __table_args__ = (Index("ix_services_name_lower", text("lower(name)"), unique=True),)

    id: UUID = id_field()
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    team_id: UUID | None = Field(
        default=None,
        sa_column_args=[ForeignKey("teams.id", ondelete="RESTRICT")],
        index=True,
    )
    # None: the team's default policy pages for the service (see `effective_policy`).
    escalation_policy_id: UUID | None = Field(
        default=None,
        sa_column_args=[ForeignKey("escalation_policies.id", ondelete="RESTRICT")],
        index=True,
    )
    routing_key: str = Field(max_length=ROUTING_KEY_MAX, unique=True)
    status: ServiceStatus = Field(
        default=ServiceStatus.active, sa_column=Column(String(16), nullable=False)
    )
    urgency: Urgency = Field(default=Urgency.high, sa_column=Column(String(16), nullable=False))
    acknowledgement_timeout_seconds: float | None = Field(default=None)
    auto_resolve_timeout_seconds: float | None = Field(default=None)
    # The Slack channel that shows this service's incidents (else the team's).
    slack_channel_id: str | None = Field(default=None, max_length=32)
    # Incidents at least this severe get a Slack channel of their own (None: never).
    slack_incident_channel_severity: str | None = Field(
        default=None, sa_column=Column(String(16), nullable=True)
    )
    created_at: datetime | None = created_at_field()
    updated_at: datetime | None = timestamp_field()


class _Timeouts(BaseModel):
    @field_validator("acknowledgement_timeout", "auto_resolve_timeout", check_fields=False)
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value <= timedelta(0):
            raise ValueError("must be greater than zero")
        return value


class ServiceCreate(_Timeouts):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    team_id: UUID | None = None
    # None: the team's default escalation policy.
    escalation_policy_id: UUID | None = None
    # Derived from the name when absent.
    routing_key: RoutingKey | None = None
    status: ServiceStatus = ServiceStatus.active
    urgency: Urgency = Urgency.high
    # How long an acknowledged incident stays acknowledged before it re-triggers.
    acknowledgement_timeout: timedelta | None = None
    # How long a triggered incident stays open without new alerts before it resolves itself.
    auto_resolve_timeout: timedelta | None = None
    slack_channel_id: SlackChannelId | None = None
    slack_incident_channel_severity: Severity | None = None


class ServiceUpdate(_Timeouts):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    team_id: UUID | None = None
    escalation_policy_id: UUID | None = None
    # Accepted only when equal to the current key, so a client may send the whole object back.
    routing_key: str | None = None
    status: ServiceStatus | None = None
    urgency: Urgency | None = None
    acknowledgement_timeout: timedelta | None = None
    auto_resolve_timeout: timedelta | None = None
    slack_channel_id: SlackChannelId | None = None
    slack_incident_channel_severity: Severity | None = None


class ServicePublic(BaseModel):
    id: UUID
    name: str
    description: str | None
    team_id: UUID | None
    # The service's own policy; None when it uses its team's default.
    escalation_policy_id: UUID | None
    # Whose policy pages for the service, and which one it is.
    escalation_policy_source: PolicySource | None = None
    effective_escalation_policy_id: UUID | None = None
    routing_key: str
    status: ServiceStatus
    urgency: Urgency
    acknowledgement_timeout: timedelta | None
    auto_resolve_timeout: timedelta | None
    slack_channel_id: str | None = None
    slack_incident_channel_severity: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class ServiceDependency(SQLModel, table=True):
    """An edge of the dependency graph: `service_id` depends on `depends_on_id`."""

    __tablename__ = "service_dependencies"

    service_id: UUID = Field(
        sa_column_args=[ForeignKey("services.id", ondelete="CASCADE")], primary_key=True
    )
    depends_on_id: UUID = Field(
        sa_column_args=[ForeignKey("services.id", ondelete="CASCADE")],
        primary_key=True,
        index=True,
    )
    created_at: datetime | None = created_at_field()


class DependencyIn(BaseModel):
    depends_on: UUID


class GraphDirection(StrEnum):
    """Upstream: what a service depends on; downstream: what depends on it."""

    upstream = "upstream"
    downstream = "downstream"
    both = "both"


class GraphNode(BaseModel):
    id: UUID
    name: str
    status: ServiceStatus
    open_incidents: int


class GraphEdge(BaseModel):
    """`from` depends on `to`."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    from_: UUID = PydanticField(alias="from")
    to: UUID


class Graph(BaseModel):
    nodes: list[GraphNode]
    edges: list[GraphEdge]
