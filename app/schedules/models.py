"""On-call schedules: layers of rotations, overrides, swaps, and calendar feeds."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

import pydantic
from pydantic import (
    BaseModel,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from sqlalchemy import CheckConstraint, ForeignKey, Index, text
from sqlmodel import Field, SQLModel

from app.identity.models import valid_timezone
from app.models_common import created_at_field, id_field, jsonb_field, timestamp_field
from app.schedules.handoffs import InvalidRule, compile_rule

MAX_LAYERS = 20
MAX_LAYER_USERS = 100
MAX_RESTRICTIONS = 50
MIN_ROTATION = timedelta(minutes=1)
MAX_ROTATION = timedelta(days=366)
HHMM = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class RestrictionType(StrEnum):
    """A restriction repeats every day, or once a week from `start_day`."""

    daily = "daily"
    weekly = "weekly"


class Weekday(StrEnum):
    """The day a weekly restriction starts."""

    mon = "mon"
    tue = "tue"
    wed = "wed"
    thu = "thu"
    fri = "fri"
    sat = "sat"
    sun = "sun"


class Schedule(SQLModel, table=True):
    __tablename__ = "schedules"
    __table_args__ = (
        Index("ix_schedules_name_lower", text("lower(name)"), unique=True),
        # Lets "which schedules rotate this user?" (`layers @> ...`) use an index.
        Index(
            "ix_schedules_layers",
            "layers",
            postgresql_using="gin",
            postgresql_ops={"layers": "jsonb_path_ops"},
        ),
    )

    id: UUID = id_field()
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    timezone: str = Field(max_length=64)
    # [{"id", "name", "start": local ISO, "rotation_seconds", "handoff_rrule", "users": [ids],
    #   "restrictions": [{"type", "start_time": "HH:MM", "duration_seconds", "start_day"}]}]
    layers: list[dict[str, Any]] = jsonb_field(nullable=False, default=[])
    created_at: datetime | None = created_at_field()
    updated_at: datetime | None = timestamp_field()


class ScheduleOverride(SQLModel, table=True):
    __tablename__ = "schedule_overrides"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="ck_schedule_overrides_range"),
        Index("ix_schedule_overrides_schedule_range", "schedule_id", "start_at", "end_at"),
    )

    id: UUID = id_field()
    schedule_id: UUID = Field(sa_column_args=[ForeignKey("schedules.id", ondelete="CASCADE")])
    # Deleting a user with upcoming overrides is refused; their past overrides go with them.
    user_id: UUID = Field(sa_column_args=[ForeignKey("users.id", ondelete="CASCADE")], index=True)
    start_at: datetime = timestamp_field(nullable=False)
    end_at: datetime = timestamp_field(nullable=False)
    created_by: UUID | None = None
    created_at: datetime | None = created_at_field()


class ScheduleSwap(SQLModel, table=True):
    __tablename__ = "schedule_swaps"
    __table_args__ = (
        CheckConstraint("start_at <> with_start_at", name="ck_schedule_swaps_two_shifts"),
        CheckConstraint("user_id <> with_user_id", name="ck_schedule_swaps_two_users"),
    )

    id: UUID = id_field()
    schedule_id: UUID = Field(
        sa_column_args=[ForeignKey("schedules.id", ondelete="CASCADE")], index=True
    )
    layer_id: UUID
    user_id: UUID = Field(sa_column_args=[ForeignKey("users.id", ondelete="CASCADE")], index=True)
    start_at: datetime = timestamp_field(nullable=False)
    with_user_id: UUID = Field(
        sa_column_args=[ForeignKey("users.id", ondelete="CASCADE")], index=True
    )
    with_start_at: datetime = timestamp_field(nullable=False)
    created_by: UUID | None = None
    created_at: datetime | None = created_at_field()


class CalendarFeed(SQLModel, table=True):
    """A secret URL that serves a schedule's (or a user's) shifts as iCalendar."""

    __tablename__ = "calendar_feeds"
    __table_args__ = (
        CheckConstraint(
            "(schedule_id IS NULL) <> (user_id IS NULL)", name="ck_calendar_feeds_one_subject"
        ),
    )

    id: UUID = id_field()
    schedule_id: UUID | None = Field(
        default=None,
        sa_column_args=[ForeignKey("schedules.id", ondelete="CASCADE")],
        index=True,
    )
    user_id: UUID | None = Field(
        default=None, sa_column_args=[ForeignKey("users.id", ondelete="CASCADE")], index=True
    )
    # SHA-256 of the token, as for API tokens: a random secret needs no slow hash.
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)
    # A feed dies with the person who made it: a departed user's URL must stop working.
    created_by: UUID | None = Field(
        default=None, sa_column_args=[ForeignKey("users.id", ondelete="CASCADE")], index=True
    )
    created_at: datetime | None = created_at_field()
    revoked_at: datetime | None = timestamp_field()


# --- API schemas ----------------------------------------------------------------------------


class RestrictionIn(BaseModel):
    type: RestrictionType
    start_time: HHMM
    duration: timedelta
    start_day: Weekday | None = None

    @model_validator(mode="after")
    def _window(self) -> RestrictionIn:
        limit = timedelta(days=7 if self.type == RestrictionType.weekly else 1)
        if not timedelta(0) < self.duration <= limit:
            raise ValueError(f"duration must be more than 0 and at most {limit.days} day(s)")
        if self.type == RestrictionType.weekly and self.start_day is None:
            raise ValueError("a weekly restriction needs a start_day")
        if self.type == RestrictionType.daily and self.start_day is not None:
            raise ValueError("a daily restriction has no start_day")
        return self


class LayerIn(BaseModel):
    id: UUID | None = None  # kept when given, so swaps stay attached to the layer
    name: str = Field(min_length=1, max_length=200)
    start: datetime
    handoff_rrule: str | None = Field(default=None, max_length=500)
    # Validated even when absent: it is required unless handoff_rrule replaces it.
    rotation_length: timedelta | None = pydantic.Field(default=None, validate_default=True)
    users: list[UUID] = Field(min_length=1, max_length=MAX_LAYER_USERS)
    restrictions: list[RestrictionIn] = Field(default_factory=list, max_length=MAX_RESTRICTIONS)

    @field_validator("start")
    @classmethod
    def _start_in_range(cls, value: datetime) -> datetime:
        if not 1971 <= value.year <= 2199:
            raise ValueError("start must lie between 1971 and 2199")
        return value

    @field_validator("rotation_length")
    @classmethod
    def _rotation(cls, value: timedelta | None, info: ValidationInfo) -> timedelta | None:
        if value is None and info.data.get("handoff_rrule") is None:
            if "handoff_rrule" in info.data:  # else the rule was invalid and said so
                raise ValueError("give a rotation_length (e.g. P7D) or a handoff_rrule")
        if value is not None and not MIN_ROTATION <= value <= MAX_ROTATION:
            raise ValueError("rotation_length must be between PT1M and P366D")
        return value

    @field_validator("handoff_rrule")
    @classmethod
    def _rule(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or not value.strip():
            return None
        start = info.data.get("start")
        # The zone is not known here; the rule's shape does not depend on it.
        dtstart = (start or datetime(2026, 1, 5)).replace(tzinfo=None)
        try:
            compile_rule(value.strip(), dtstart)
        except InvalidRule as exc:
            raise ValueError(str(exc)) from None
        return value.strip()


class OverrideIn(BaseModel):
    user_id: UUID
    start: datetime
    end: datetime

    @field_validator("end")
    @classmethod
    def _after_start(cls, value: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")
        if start is not None and _comparable(value) <= _comparable(start):
            raise ValueError("end must be after start")
        return value


def _comparable(value: datetime) -> datetime:
    # Naive and aware times cannot be compared; the zone is applied later, this only orders.
    return value.replace(tzinfo=None)


class SwapIn(BaseModel):
    layer_id: UUID
    user_id: UUID
    start: datetime  # when `user_id`'s shift starts
    with_user_id: UUID
    with_start: datetime  # when `with_user_id`'s shift starts


def _unique_layer_ids(layers: list[LayerIn] | None) -> list[LayerIn] | None:
    ids = [layer.id for layer in layers or [] if layer.id is not None]
    if len(ids) != len(set(ids)):
        raise ValueError("two layers have the same id")
    return layers


class ScheduleCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    timezone: str = Field(max_length=64)
    layers: list[LayerIn] = Field(min_length=1, max_length=MAX_LAYERS)
    overrides: list[OverrideIn] = Field(default_factory=list, max_length=200)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return valid_timezone(value)

    @field_validator("layers")
    @classmethod
    def _ids(cls, value: list[LayerIn]) -> list[LayerIn]:
        return _unique_layer_ids(value) or []


class ScheduleUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    timezone: str | None = Field(default=None, max_length=64)
    # Replaces every layer when given; overrides and swaps have their own routes.
    layers: list[LayerIn] | None = Field(default=None, min_length=1, max_length=MAX_LAYERS)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return None if value is None else valid_timezone(value)

    @field_validator("layers")
    @classmethod
    def _ids(cls, value: list[LayerIn] | None) -> list[LayerIn] | None:
        return _unique_layer_ids(value)


class RestrictionPublic(BaseModel):
    type: RestrictionType
    start_time: str
    duration: timedelta
    start_day: str | None = None


class LayerPublic(BaseModel):
    id: UUID
    name: str
    start: datetime  # local wall-clock time in the schedule's zone
    rotation_length: timedelta | None
    handoff_rrule: str | None
    users: list[UUID]
    restrictions: list[RestrictionPublic]


class OverridePublic(BaseModel):
    id: UUID
    user_id: UUID
    start: datetime
    end: datetime
    created_by: UUID | None = None


class SwapPublic(BaseModel):
    id: UUID
    layer_id: UUID
    user_id: UUID
    start: datetime
    with_user_id: UUID
    with_start: datetime
    created_by: UUID | None = None


class SchedulePublic(BaseModel):
    id: UUID
    name: str
    description: str | None
    timezone: str
    layers: list[LayerPublic]
    overrides: list[OverridePublic]  # those not yet ended
    swaps: list[SwapPublic]  # those whose shifts have not both ended
    created_at: datetime | None = None
    updated_at: datetime | None = None


class CalendarFeedPublic(BaseModel):
    id: UUID
    schedule_id: UUID | None
    user_id: UUID | None
    prefix: str
    created_by: UUID | None
    created_at: datetime | None
    revoked_at: datetime | None


class CalendarFeedCreated(CalendarFeedPublic):
    token: str  # shown this once
    url: str  # subscribe to this URL from a calendar application
