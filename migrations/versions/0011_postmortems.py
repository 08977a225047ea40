"""postmortems, their versions and templates, action items; connections

Revision ID: 0011
Revises: 0008
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from app.postmortems.templates import DEFAULT_TEMPLATE_BODY, DEFAULT_TEMPLATE_NAME

revision: str = "0011"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_TEMPLATE_ID = uuid.UUID("5c0f6a59-3d55-4b0e-9a43-0d8a2b7f0011")


def _ts(name: str, nullable: bool = True, now: bool = False) -> sa.Column:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        nullable=nullable,
        server_default=sa.text("now()") if now else None,
    )


def upgrade() -> None:
    templates = op.create_table(
        "postmortem_templates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        _ts("created_at", nullable=False, now=True),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "postmortems",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("timeline", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("incident_ids", postgresql.ARRAY(sa.UUID()), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("template_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        _ts("published_at"),
        sa.Column("published_by", sa.Uuid(), nullable=True),
        _ts("created_at", nullable=False, now=True),
        _ts("updated_at"),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_postmortems_team_id", "postmortems", ["team_id"])
    op.create_index(
        "ix_postmortems_incidents", "postmortems", ["incident_ids"], postgresql_using="gin"
    )
    op.create_table(
        "postmortem_versions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("postmortem_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("timeline", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        _ts("created_at", nullable=False, now=True),
        sa.ForeignKeyConstraint(["postmortem_id"], ["postmortems.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("postmortem_id", "version"),
    )
    op.create_index(
        "ix_postmortem_versions_postmortem_id", "postmortem_versions", ["postmortem_id"]
    )
    op.create_table(
        "action_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("postmortem_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("assignee_id", sa.Uuid(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        _ts("due_at"),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("external_url", sa.Text(), nullable=True),
        sa.Column("external_key", sa.String(length=200), nullable=True),
        _ts("reminded_at"),
        _ts("completed_at"),
        _ts("created_at", nullable=False, now=True),
        _ts("updated_at"),
        sa.ForeignKeyConstraint(["postmortem_id"], ["postmortems.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["assignee_id"], ["users.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_action_items_postmortem_id", "action_items", ["postmortem_id"])
    op.create_index("ix_action_items_assignee_status", "action_items", ["assignee_id", "status"])
    op.create_table(
        'connections',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('type', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('config', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('secrets', sa.Text(), nullable=False),
        _ts('created_at', nullable=False, now=True),
        _ts('updated_at'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
    )
    op.bulk_insert(
        templates,
        [
            {
                "id": DEFAULT_TEMPLATE_ID,
                "name": DEFAULT_TEMPLATE_NAME,
                "body": DEFAULT_TEMPLATE_BODY,
                "is_default": True,
            }
        ],
    )


def downgrade() -> None:
    op.drop_table('connections')
    op.drop_table("action_items")
    op.drop_table("postmortem_versions")
    op.drop_table("postmortems")
    op.drop_table("postmortem_templates")
