"""alerts written by ingestion before their incident exists (staged: incident_id NULL)

Revision ID: 0017
Revises: 0015
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Ingestion writes a trigger's row (with its payload) before it signals the incident
    # workflow, which then attaches the row by id: the payload never enters Temporal history.
    op.alter_column("alerts", "incident_id", nullable=True)
    op.create_index(
        "ix_alerts_staged",
        "alerts",
        ["received_at"],
        postgresql_where="incident_id IS NULL",
    )


def downgrade() -> None:
    op.drop_index("ix_alerts_staged", table_name="alerts")
    op.execute("DELETE FROM alerts WHERE incident_id IS NULL")
    op.alter_column("alerts", "incident_id", nullable=False)
