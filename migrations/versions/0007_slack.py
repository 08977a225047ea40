"""slack: Slack user ids, channels of services and teams, posted incident messages

Revision ID: 0007
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("slack_user_id", sa.String(length=32), nullable=True))
    op.create_index("ix_users_slack_user_id", "users", ["slack_user_id"], unique=True)
    op.add_column("services", sa.Column("slack_channel_id", sa.String(length=32), nullable=True))
    op.add_column(
        "services",
        sa.Column("slack_incident_channel_severity", sa.String(length=16), nullable=True),
    )
    op.add_column("teams", sa.Column("slack_channel_id", sa.String(length=32), nullable=True))
    op.create_table(
        "slack_messages",
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("mirrored_seq", sa.BigInteger(), nullable=True),
        sa.Column("invited", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('channel', 'dm', 'incident_channel')", name="ck_slack_messages_kind"
        ),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("incident_id", "channel"),
    )


def downgrade() -> None:
    op.drop_table("slack_messages")
    op.drop_column("teams", "slack_channel_id")
    op.drop_column("services", "slack_incident_channel_severity")
    op.drop_column("services", "slack_channel_id")
    op.drop_index("ix_users_slack_user_id", table_name="users")
    op.drop_column("users", "slack_user_id")
