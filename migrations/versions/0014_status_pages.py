"""status pages

Revision ID: 0014
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _now() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def _now_named(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def _uuids(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, postgresql.ARRAY(sa.Uuid()), server_default="{}", nullable=False)


def upgrade() -> None:
    op.create_table(
        "status_pages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=63), nullable=False),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("auto_publish_severity", sa.String(length=16), nullable=True),
        sa.Column("auto_publish_mode", sa.String(length=16), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        _now(),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_table(
        "status_components",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("page_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("group", sa.String(length=200), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        _uuids("service_ids"),
        sa.Column("status_override", sa.String(length=32), nullable=True),
        sa.Column("override_until", sa.DateTime(timezone=True), nullable=True),
        _now(),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["page_id"], ["status_pages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_status_components_page", "status_components", ["page_id", "position"])
    op.create_index(
        "ix_status_components_services",
        "status_components",
        ["service_ids"],
        postgresql_using="gin",
    )
    op.create_table(
        "status_page_incidents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("page_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("impact", sa.String(length=16), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        _uuids("component_ids"),
        _uuids("incident_ids"),
        sa.Column("auto_opened", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("suppress_paging", sa.Boolean(), nullable=False),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scheduled_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("remind_before_seconds", sa.Float(), nullable=True),
        sa.Column("workflow_id", sa.Text(), nullable=True),
        _now(),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("monitoring_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["page_id"], ["status_pages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_status_page_incidents_page", "status_page_incidents", ["page_id", "kind", "created_at"]
    )
    op.create_index(
        "ix_status_page_incidents_internal",
        "status_page_incidents",
        ["incident_ids"],
        postgresql_using="gin",
    )
    op.create_table(
        "status_page_incident_updates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("page_incident_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("affected_components", postgresql.JSONB(), nullable=True),
        _now(),
        sa.ForeignKeyConstraint(
            ["page_incident_id"], ["status_page_incidents.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_status_updates_incident",
        "status_page_incident_updates",
        ["page_incident_id", "created_at"],
    )
    op.create_table(
        "status_announcements",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("page_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        _uuids("component_ids"),
        sa.Column("subscriber_id", sa.Uuid(), nullable=True),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        _now(),
        sa.ForeignKeyConstraint(["page_id"], ["status_pages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_status_announcements_page", "status_announcements", ["page_id", "created_at"]
    )
    op.create_table(
        "status_subscribers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("page_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        _uuids("component_ids"),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirm_token_hash", sa.String(length=64), nullable=True),
        sa.Column("unsubscribe_token", sa.String(length=64), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=True),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        _now(),
        sa.ForeignKeyConstraint(["page_id"], ["status_pages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("unsubscribe_token"),
    )
    op.create_index(
        "ix_status_subscribers_address",
        "status_subscribers",
        ["page_id", "type", "address"],
        unique=True,
    )
    op.create_table(
        "status_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("announcement_id", sa.String(length=200), nullable=False),
        sa.Column("subscriber_id", sa.Uuid(), nullable=False),
        sa.Column("page_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        _now(),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["announcement_id"], ["status_announcements.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["subscriber_id"], ["status_subscribers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["page_id"], ["status_pages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_status_deliveries_announcement", "status_deliveries", ["announcement_id", "status"]
    )
    op.create_index("ix_status_deliveries_page", "status_deliveries", ["page_id", "created_at"])
    op.create_table(
        "partners",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        _uuids("status_page_ids"),
        _now(),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_partners_email", "partners", ["email"], unique=True)
    op.create_table(
        "partner_logins",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("page_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        _now(),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["page_id"], ["status_pages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "partner_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        _now(),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id_hash"),
    )

    op.create_table(
        "partner_audit_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        _now_named("at"),
        sa.Column("partner_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("page_id", sa.Uuid(), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=True),
        sa.Column("path", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_partner_audit_events_at", "partner_audit_events", ["at"])


def downgrade() -> None:
    op.drop_table("partner_audit_events")
    op.drop_table("partner_sessions")
    op.drop_table("partner_logins")
    op.drop_table("partners")
    op.drop_table("status_deliveries")
    op.drop_table("status_subscribers")
    op.drop_table("status_announcements")
    op.drop_table("status_page_incident_updates")
    op.drop_table("status_page_incidents")
    op.drop_table("status_components")
    op.drop_table("status_pages")
