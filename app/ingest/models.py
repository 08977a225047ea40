"""Integrations (where alerts come from), their delivery log, and the signature replay guard."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, field_validator
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from app.models_common import created_at_field, id_field, timestamp_field

KEY_LENGTH = 32  # PagerDuty clients check the length of an integration key


class IntegrationType(StrEnum):
    """The format an integration receives."""

    pagerduty = "pagerduty"
    alertmanager = "alertmanager"
    grafana = "grafana"
    datadog = "datadog"
    newrelic = "newrelic"
    generic = "generic"


_TYPES = ", ".join(f"'{t.value}'" for t in IntegrationType)
OUTCOMES = ("accepted", "rejected", "rate_limited", "unavailable")


class Integration(SQLModel, table=True):
    __tablename__ = "integrations"
    __table_args__ = (
        CheckConstraint(f"type IN ({_TYPES})", name="ck_integrations_type"),
        CheckConstraint(f"char_length(key) = {KEY_LENGTH}", name="ck_integrations_key_length"),
        # A service's own integration, or an organisation-wide one with a default service.
        CheckConstraint(
            "(service_id IS NULL) <> (default_service_id IS NULL)", name="ck_integrations_scope"
        ),
        CheckConstraint("(type = 'generic') = (secret IS NOT NULL)", name="ck_integrations_secret"),
        CheckConstraint(
            "rate_limit_per_second IS NULL OR rate_limit_per_second > 0",
            name="ck_integrations_rate",
        ),
        CheckConstraint(
            "rate_limit_burst IS NULL OR rate_limit_burst >= 1", name="ck_integrations_burst"
        ),
    )

    id: UUID = id_field()
    type: str = Field(sa_column=Column(String(16), nullable=False))
    name: str = Field(max_length=200)
    key: str = Field(sa_column=Column(String(KEY_LENGTH), nullable=False, unique=True))
    service_id: UUID | None = Field(
        default=None,
        sa_column_args=[ForeignKey("services.id", ondelete="CASCADE")],
        index=True,
    )
    default_service_id: UUID | None = Field(
        default=None,
        sa_column_args=[ForeignKey("services.id", ondelete="RESTRICT")],
        index=True,
    )
    enabled: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default=text("true"))
    )
    severity_map: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=Column(JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    )
    rate_limit_per_second: float | None = Field(default=None, sa_column=Column(Float))
    rate_limit_burst: int | None = Field(default=None, sa_column=Column(Integer))
    # Generic webhooks: the HMAC secret, and the previous one while a rotation overlaps.
    secret: str | None = Field(default=None, sa_column=Column(String(64)))
    previous_secret: str | None = Field(default=None, sa_column=Column(String(64)))
    previous_secret_expires_at: datetime | None = timestamp_field()
    created_at: datetime | None = created_at_field()
    updated_at: datetime | None = timestamp_field()


class IngestDelivery(SQLModel, table=True):
    """The webhook delivery log: one row per request to a receiver, whatever its outcome."""

    __tablename__ = "ingest_deliveries"
    __table_args__ = (
        Index("ix_ingest_deliveries_integration", "integration_id", "received_at"),
        Index("ix_ingest_deliveries_received", "received_at"),
        CheckConstraint(
            "outcome IN (" + ", ".join(f"'{o}'" for o in OUTCOMES) + ")",
            name="ck_ingest_deliveries_outcome",
        ),
        CheckConstraint("status_code BETWEEN 100 AND 599", name="ck_ingest_deliveries_status_code"),
        CheckConstraint("latency_ms >= 0 AND alert_count >= 0", name="ck_ingest_deliveries_counts"),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    integration_id: UUID | None = Field(
        default=None, sa_column_args=[ForeignKey("integrations.id", ondelete="CASCADE")]
    )
    received_at: datetime | None = timestamp_field(nullable=False)
    endpoint: str = Field(sa_column=Column(String(16), nullable=False))
    outcome: str = Field(sa_column=Column(String(16), nullable=False))
    status_code: int = Field(sa_column=Column(Integer, nullable=False))
    latency_ms: float = Field(sa_column=Column(Float, nullable=False))
    alert_count: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text))
    client_ip: str | None = Field(default=None, sa_column=Column(String(64)))
    request_id: str | None = Field(default=None, sa_column=Column(String(64)))
    detail: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=Column(JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    )


class IngestSignature(SQLModel, table=True):
    """Signatures of accepted generic webhooks, kept while their timestamp is in the window."""

    __tablename__ = "ingest_signatures"
    __table_args__ = (Index("ix_ingest_signatures_expires", "expires_at"),)

    digest: str = Field(sa_column=Column(String(64), primary_key=True))
    expires_at: datetime | None = timestamp_field(nullable=False)


# --- API schemas ------------------------------------------------------------------------------


class SeverityRule(BaseModel):
    severity: Literal["critical", "error", "warning", "info"]
    urgency: Literal["high", "low"] | None = None  # None: high for critical/error, else low


class RateLimitIn(BaseModel):
    per_second: float = Field(gt=0, le=1_000_000)
    burst: int = Field(ge=1, le=10_000_000)


SeverityMap = dict[str, SeverityRule]


def _check_map(value: SeverityMap | None) -> SeverityMap | None:
    if value is not None and any(not k.strip() or len(k) > 100 for k in value):
        raise ValueError("severity_map keys are 1 to 100 characters")
    return value


class IntegrationCreate(BaseModel):
    type: IntegrationType
    name: str = Field(min_length=1, max_length=200)
    enabled: bool = True
    severity_map: SeverityMap = Field(default_factory=dict)
    rate_limit: RateLimitIn | None = None

    _map = field_validator("severity_map")(_check_map)


class OrgIntegrationCreate(IntegrationCreate):
    default_service_id: UUID


class IntegrationUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    enabled: bool | None = None
    severity_map: SeverityMap | None = None
    rate_limit: RateLimitIn | None = None  # null: back to the default limit
    default_service_id: UUID | None = None  # organisation-wide integrations only

    _map = field_validator("severity_map")(_check_map)


class IntegrationPublic(BaseModel):
    id: UUID
    type: IntegrationType
    name: str
    scope: Literal["service", "organisation"]
    key: str
    url: str  # paste this into the tool
    service_id: UUID | None
    default_service_id: UUID | None
    enabled: bool
    severity_map: dict[str, Any]
    rate_limit: RateLimitIn | None
    signed: bool  # generic webhooks: requests must be signed with the secret
    previous_secret_expires_at: datetime | None
    created_at: datetime | None
    updated_at: datetime | None


class IntegrationCreated(IntegrationPublic):
    secret: str | None = None  # shown this once (generic webhooks)


class RotateSecretIn(BaseModel):
    # How long the previous secret keeps working, so senders can be updated meanwhile.
    overlap: timedelta = Field(default=timedelta(hours=24), description="ISO-8601 or seconds")

    @field_validator("overlap")
    @classmethod
    def _range(cls, value: timedelta) -> timedelta:
        if not timedelta(0) <= value <= timedelta(days=30):
            raise ValueError("overlap must be between 0 and 30 days")
        return value


class SecretRotated(BaseModel):
    secret: str  # shown this once
    previous_secret_expires_at: datetime | None


class TestAlertIn(BaseModel):
    summary: str = Field(default="Test alert from PageFree", min_length=1, max_length=1024)
    severity: Literal["critical", "error", "warning", "info"] = "info"
    action: Literal["trigger", "acknowledge", "resolve"] = "trigger"
    dedup_key: str | None = Field(default=None, min_length=1, max_length=255)
    service: str | None = Field(default=None, max_length=100)  # organisation-wide routing


class DeliveryPublic(BaseModel):
    id: int
    integration_id: UUID | None
    received_at: datetime
    endpoint: str
    outcome: str
    status_code: int
    latency_ms: float
    alert_count: int
    error: str | None
    client_ip: str | None
    request_id: str | None
    detail: dict[str, Any]
