"""notify: contact methods, notification rules, used action links

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('contact_methods',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=4000), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=True),
    sa.Column('verified', sa.Boolean(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=True),
    sa.Column('code_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('code_tries_left', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("type IN ('email', 'sms', 'voice', 'push', 'slack')", name='ck_contact_methods_type'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_contact_methods_lookup', 'contact_methods', ['type', 'address'], unique=False)
    op.create_index('ix_contact_methods_user', 'contact_methods', ['user_id'], unique=False)
    op.create_table('notification_rules',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('contact_method_id', sa.Uuid(), nullable=False),
    sa.Column('delay_seconds', sa.Float(), nullable=False),
    sa.Column('urgency', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("urgency IN ('high', 'low')", name='ck_notification_rules_urgency'),
    sa.CheckConstraint('delay_seconds >= 0', name='ck_notification_rules_delay'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_method_id'], ['contact_methods.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_notification_rules_user', 'notification_rules', ['user_id', 'urgency'], unique=False)
    op.create_table('action_link_uses',
    sa.Column('jti', sa.String(length=64), nullable=False),
    sa.Column('incident_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('jti')
    )
    op.create_index('ix_notifications_provider_id', 'notifications', ['provider_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_notifications_provider_id', table_name='notifications')
    op.drop_table('action_link_uses')
    op.drop_index('ix_notification_rules_user', table_name='notification_rules')
    op.drop_table('notification_rules')
    op.drop_index('ix_contact_methods_user', table_name='contact_methods')
    op.drop_index('ix_contact_methods_lookup', table_name='contact_methods')
    op.drop_table('contact_methods')
