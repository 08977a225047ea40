"""security: OIDC subject and break-glass flag on users; app role grants (optional)

Revision ID: 0009
Revises: 0008
"""

import os
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.audit.grants import APP_ROLE_ENV, statements

revision: str = "0009"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("oidc_subject", sa.String(length=255), nullable=True))
    op.create_unique_constraint("uq_users_oidc_subject", "users", ["oidc_subject"])
    op.add_column(
        "users",
        sa.Column("break_glass", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    # Two roles (docs/deployment.md): run by the owner with the app's role named.
    app_role = os.environ.get(APP_ROLE_ENV)
    if app_role:
        for statement in statements(app_role):
            op.execute(statement)


def downgrade() -> None:
    op.drop_column("users", "break_glass")
    op.drop_constraint("uq_users_oidc_subject", "users", type_="unique")
    op.drop_column("users", "oidc_subject")
