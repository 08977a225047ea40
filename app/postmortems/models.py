"""Postmortems, their versions, templates and action items: tables and API schemas."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy import Column, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlmodel import Field, SQLModel

from app.models_common import created_at_field, id_field, jsonb_field, timestamp_field

TITLE_MAX = 300
BODY_MAX = 200_000
ENTRY_TEXT_MAX = 2_000


class PostmortemStatus(StrEnum):
    draft = "draft"
    in_review = "in_review"
    published = "published"


class ActionItemStatus(StrEnum):
    open = "open"
    in_progress = "in_progress"
    completed = "completed"


class Priority(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    urgent = "urgent"


# --- tables -------------------------------------------------------------------------------


class PostmortemTemplate(SQLModel, table=True):
    __tablename__ = "postmortem_templates"

    id: UUID = id_field()
    name: str = Field(max_length=200, unique=True)
    body: str = Field(sa_column=Column(Text, nullable=False))
    is_default: bool = False
    created_at: datetime | None = created_at_field()
    updated_at: datetime | None = timestamp_field()


class Postmortem(SQLModel, table=True):
    __tablename__ = "postmortems"
    __table_args__ = (Index("ix_postmortems_incidents", "incident_ids", postgresql_using="gin"),)

    id: UUID = id_field()
    title: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    # [{id, at, text, source_event_id, incident_id, type, hidden}] in display order.
    timeline: list[dict[str, Any]] | None = jsonb_field(nullable=False)
    incident_ids: list[UUID] = Field(sa_column=Column(ARRAY(PG_UUID(as_uuid=True)), nullable=False))
    owner_id: UUID = Field(sa_column_args=[ForeignKey("users.id", ondelete="RESTRICT")])
    team_id: UUID | None = Field(
        default=None, sa_column_args=[ForeignKey("teams.id", ondelete="SET NULL")], index=True
    )
    template_id: UUID | None = None
    version: int = 1
    published_at: datetime | None = timestamp_field()
    published_by: UUID | None = None
    created_at: datetime | None = created_at_field()
    updated_at: datetime | None = timestamp_field()


class PostmortemVersion(SQLModel, table=True):
    """An immutable snapshot of a postmortem's content after each change."""

    __tablename__ = "postmortem_versions"
    __table_args__ = (UniqueConstraint("postmortem_id", "version"),)

    id: UUID = id_field()
    postmortem_id: UUID = Field(
        sa_column_args=[ForeignKey("postmortems.id", ondelete="CASCADE")], index=True
    )
    version: int
    status: str = Field(max_length=16)
    title: str = Field(sa_column=Column(Text, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    timeline: list[dict[str, Any]] | None = jsonb_field(nullable=False)
    author_id: UUID | None = None
    created_at: datetime | None = created_at_field()


class ActionItem(SQLModel, table=True):
    __tablename__ = "action_items"
    __table_args__ = (Index("ix_action_items_assignee_status", "assignee_id", "status"),)

    id: UUID = id_field()
    postmortem_id: UUID = Field(
        sa_column_args=[ForeignKey("postmortems.id", ondelete="CASCADE")], index=True
    )
    title: str = Field(sa_column=Column(Text, nullable=False))
    assignee_id: UUID = Field(sa_column_args=[ForeignKey("users.id", ondelete="RESTRICT")])
    due_date: date | None = None
    # The end of the due date in the assignee's time zone: overdue after this instant.
    due_at: datetime | None = timestamp_field()
    priority: str = Field(default=Priority.medium.value, max_length=16)
    status: str = Field(default=ActionItemStatus.open.value, max_length=16)
    external_url: str | None = Field(default=None, sa_column=Column(Text))
    external_key: str | None = Field(default=None, max_length=200)
    reminded_at: datetime | None = timestamp_field()
    completed_at: datetime | None = timestamp_field()
    created_at: datetime | None = created_at_field()
    updated_at: datetime | None = timestamp_field()


# --- API schemas --------------------------------------------------------------------------


class TimelineEntry(BaseModel):
    id: str
    at: datetime
    text: str = Field(max_length=ENTRY_TEXT_MAX)
    source_event_id: str | None = None
    incident_id: UUID | None = None
    type: str | None = None
    hidden: bool = False


class TimelineEntryIn(BaseModel):
    """An entry added by hand (no source event)."""

    at: datetime
    text: str = Field(min_length=1, max_length=ENTRY_TEXT_MAX)
    hidden: bool = False


class TimelineEntryUpdate(BaseModel):
    at: datetime | None = None
    text: str | None = Field(default=None, min_length=1, max_length=ENTRY_TEXT_MAX)
    hidden: bool | None = None


class PostmortemCreate(BaseModel):
    incident_ids: list[UUID] = Field(min_length=1, max_length=50)
    title: str | None = Field(default=None, min_length=1, max_length=TITLE_MAX)
    template_id: UUID | None = None
    team_id: UUID | None = None


class PostmortemUpdate(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=TITLE_MAX)
    body: str | None = Field(default=None, max_length=BODY_MAX)
    timeline: list[TimelineEntry] | None = Field(default=None, max_length=5_000)
    owner_id: UUID | None = None
    team_id: UUID | None = None


class PostmortemPublic(BaseModel):
    id: UUID
    title: str
    status: PostmortemStatus
    body: str
    timeline: list[TimelineEntry]
    incident_ids: list[UUID]
    owner_id: UUID
    team_id: UUID | None
    template_id: UUID | None
    version: int
    published_at: datetime | None
    published_by: UUID | None
    created_at: datetime
    updated_at: datetime | None


class PostmortemSummary(BaseModel):
    id: UUID
    title: str
    status: PostmortemStatus
    incident_ids: list[UUID]
    owner_id: UUID
    team_id: UUID | None
    version: int
    published_at: datetime | None
    created_at: datetime


class PostmortemVersionPublic(BaseModel):
    version: int
    status: PostmortemStatus
    title: str
    body: str
    timeline: list[TimelineEntry]
    author_id: UUID | None
    created_at: datetime


class TemplateCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=BODY_MAX)
    is_default: bool = False


class TemplateUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    body: str | None = Field(default=None, min_length=1, max_length=BODY_MAX)
    is_default: bool | None = None


class TemplatePublic(BaseModel):
    id: UUID
    name: str
    body: str
    is_default: bool
    created_at: datetime
    updated_at: datetime | None


class ActionItemCreate(BaseModel):
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    assignee_id: UUID
    due_date: date | None = None
    priority: Priority = Priority.medium


class ActionItemUpdate(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=TITLE_MAX)
    assignee_id: UUID | None = None
    due_date: date | None = None
    priority: Priority | None = None
    status: ActionItemStatus | None = None


class ActionItemPublic(BaseModel):
    id: UUID
    postmortem_id: UUID
    title: str
    assignee_id: UUID
    due_date: date | None
    due_at: datetime | None
    overdue: bool
    priority: Priority
    status: ActionItemStatus
    external_url: str | None
    external_key: str | None
    reminded_at: datetime | None
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime | None
