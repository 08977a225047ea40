"""Slack messages that show an incident, so every state change can update them in place."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, String, Text
from sqlmodel import Field, SQLModel

from app.models_common import created_at_field, timestamp_field


class SlackMessage(SQLModel, table=True):
    """One posted message showing an incident: a channel post or a direct message."""

    __tablename__ = "slack_messages"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('channel', 'dm', 'incident_channel')", name="ck_slack_messages_kind"
        ),
    )

    incident_id: UUID = Field(
        sa_column_args=[ForeignKey("incidents.id", ondelete="CASCADE")], primary_key=True
    )
    channel: str = Field(sa_column=Column(String(32), primary_key=True))
    ts: str = Field(max_length=32)
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    created_at: datetime | None = created_at_field()
    updated_at: datetime | None = timestamp_field()
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    # In an incident's own channel: the last timeline event (by insertion seq) mirrored there.
    mirrored_seq: int | None = Field(default=None, sa_column=Column(BigInteger))
    invited: str | None = Field(default=None, sa_column=Column(Text))  # Slack ids, comma-separated
