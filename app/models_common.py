"""Column helpers and list envelopes shared by every domain's models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID, uuid4

from pydantic import BaseModel, StringConstraints
from sqlalchemy import Column, DateTime, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field

T = TypeVar("T")

# Slack ids: channels start with C (public), G (private) or D (direct message), users with U or
# W. Checked so that a typo is a 422 when configuring, not a failed post during an incident.
SLACK_CHANNEL_PATTERN = r"^[CGD][A-Z0-9]{2,31}$"
SLACK_USER_PATTERN = r"^[UW][A-Z0-9]{2,31}$"
SlackChannelId = Annotated[str, StringConstraints(pattern=SLACK_CHANNEL_PATTERN)]
SlackUserId = Annotated[str, StringConstraints(pattern=SLACK_USER_PATTERN)]


def id_field() -> Any:
    """Return a UUID primary-key field."""
    return Field(default_factory=uuid4, primary_key=True)


def created_at_field() -> Any:
    """Return a timezone-aware creation timestamp set by the database."""
    return Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def timestamp_field(*, nullable: bool = True) -> Any:
    """Return a timezone-aware timestamp column."""
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable))


def jsonb_field(*, nullable: bool = True, default: Any = None) -> Any:
    """Return a JSONB column."""
    if default is not None:
        return Field(
            default_factory=lambda: default.copy(), sa_column=Column(JSONB, nullable=nullable)
        )
    return Field(default=None, sa_column=Column(JSONB, nullable=nullable))


class Page(BaseModel, Generic[T]):
    """A list answer: the items and how many match in all."""

    data: list[T]
    count: int


class CursorPage(BaseModel, Generic[T]):
    """A list answer with cursor pagination: pass `next_cursor` back as `cursor`."""

    data: list[T]
    next_cursor: str | None


__all__ = [
    "SLACK_CHANNEL_PATTERN",
    "SLACK_USER_PATTERN",
    "UUID",
    "CursorPage",
    "Page",
    "SlackChannelId",
    "SlackUserId",
    "created_at_field",
    "datetime",
    "id_field",
    "jsonb_field",
    "timestamp_field",
]
