"""service catalog: dependencies, team default escalation policies, heartbeat monitors, maintenance windows

Revision ID: 0015
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "service_dependencies",
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("depends_on_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["depends_on_id"], ["services.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("service_id", "depends_on_id"),
    )
    op.create_index(
        "ix_service_dependencies_depends_on_id", "service_dependencies", ["depends_on_id"]
    )
    op.create_table(
        "heartbeats",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("interval_seconds", sa.Float(), nullable=False),
        sa.Column("grace_seconds", sa.Float(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("key_prefix", sa.String(length=12), nullable=False),
        sa.Column("last_ping_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )
    op.create_index("ix_heartbeats_service_id", "heartbeats", ["service_id"])
    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("service_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_maintenance_windows_services",
        "maintenance_windows",
        ["service_ids"],
        postgresql_using="gin",
    )
    op.create_index("ix_maintenance_windows_ends_at", "maintenance_windows", ["ends_at"])
    # A service without a policy of its own pages through its team's default.
    op.alter_column("services", "escalation_policy_id", existing_type=sa.Uuid(), nullable=True)
    op.add_column("teams", sa.Column("default_escalation_policy_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        "teams_default_escalation_policy_id_fkey",
        "teams",
        "escalation_policies",
        ["default_escalation_policy_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.create_index(
        "ix_teams_default_escalation_policy_id", "teams", ["default_escalation_policy_id"]
    )


def downgrade() -> None:
    # Services on their team's default get that policy as their own again.
    op.execute(
        "UPDATE services s SET escalation_policy_id = t.default_escalation_policy_id"
        " FROM teams t WHERE s.team_id = t.id AND s.escalation_policy_id IS NULL"
    )
    op.drop_index("ix_teams_default_escalation_policy_id", table_name="teams")
    op.drop_constraint("teams_default_escalation_policy_id_fkey", "teams", type_="foreignkey")
    op.drop_column("teams", "default_escalation_policy_id")
    op.alter_column("services", "escalation_policy_id", existing_type=sa.Uuid(), nullable=False)
    op.drop_index("ix_maintenance_windows_ends_at", table_name="maintenance_windows")
    op.drop_index("ix_maintenance_windows_services", table_name="maintenance_windows")
    op.drop_table("maintenance_windows")
    op.drop_index("ix_heartbeats_service_id", table_name="heartbeats")
    op.drop_table("heartbeats")
    op.drop_index("ix_service_dependencies_depends_on_id", table_name="service_dependencies")
    op.drop_table("service_dependencies")
