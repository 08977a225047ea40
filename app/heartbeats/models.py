"""Heartbeat monitors: a service's cron jobs and batch runs that must ping in time."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from pydantic import BaseModel, field_validator
from sqlalchemy import ForeignKey
from sqlmodel import Field, SQLModel

from app.models_common import created_at_field, id_field, timestamp_field
from workflows.heartbeat_types import MAX_GRACE, MAX_INTERVAL, MIN_INTERVAL


class Heartbeat(SQLModel, table=True):
    __tablename__ = "heartbeats"

    id: UUID = id_field()
    service_id: UUID = Field(
        sa_column_args=[ForeignKey("services.id", ondelete="CASCADE")], index=True
    )
    name: str = Field(max_length=200)
    interval_seconds: float
    grace_seconds: float = 0
    # SHA-256 of the ping key: keys are 192-bit random, so a fast hash is safe and O(1).
    key_hash: str = Field(max_length=64, unique=True)
    # The key's first characters, to tell URLs apart in lists and logs.
    key_prefix: str = Field(max_length=12)
    last_ping_at: datetime | None = timestamp_field()
    created_at: datetime | None = created_at_field()


def _interval(value: timedelta) -> timedelta:
    if not MIN_INTERVAL <= value <= MAX_INTERVAL:
        raise ValueError("must be between 10 seconds and 30 days")
    return value


def _grace(value: timedelta) -> timedelta:
    if not timedelta(0) <= value <= MAX_GRACE:
        raise ValueError("must be between 0 and 30 days")
    return value


class HeartbeatCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    # How often the job pings; ISO 8601 duration or seconds.
    interval: timedelta
    # How much later than the interval a ping may come before an incident opens.
    grace: timedelta = timedelta(0)

    @field_validator("interval")
    @classmethod
    def _check_interval(cls, value: timedelta) -> timedelta:
        return _interval(value)

    @field_validator("grace")
    @classmethod
    def _check_grace(cls, value: timedelta) -> timedelta:
        return _grace(value)


class HeartbeatUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    interval: timedelta | None = None
    grace: timedelta | None = None

    @field_validator("interval")
    @classmethod
    def _check_interval(cls, value: timedelta | None) -> timedelta | None:
        return None if value is None else _interval(value)

    @field_validator("grace")
    @classmethod
    def _check_grace(cls, value: timedelta | None) -> timedelta | None:
        return None if value is None else _grace(value)


class HeartbeatPublic(BaseModel):
    id: UUID
    service_id: UUID
    name: str
    interval: timedelta
    grace: timedelta
    key_prefix: str
    last_ping_at: datetime | None
    # The ping URL with its secret key: only in the answer that created the monitor.
    url: str | None = None
