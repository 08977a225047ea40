"""import mappings (external ids of imported objects)

Revision ID: 0012
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'import_mappings',
        sa.Column('source', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('external_id', sa.String(length=200), nullable=False),
        sa.Column('local_id', sa.Uuid(), nullable=False),
        sa.Column(
            'created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False
        ),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('source', 'kind', 'external_id'),
    )
    op.create_index('ix_import_mappings_local_id', 'import_mappings', ['local_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_import_mappings_local_id', table_name='import_mappings')
    op.drop_table('import_mappings')
