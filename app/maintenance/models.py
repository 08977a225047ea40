"""Maintenance windows: a set of services whose alerts are recorded but page no one."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, model_validator
from pydantic import Field as PydanticField
from sqlalchemy import Column, Index, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlmodel import Field, SQLModel

from app.models_common import created_at_field, id_field, timestamp_field

MAX_SERVICES = 200
MAX_LENGTH = timedelta(days=30)
PRESETS = (
    timedelta(minutes=15),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
)


class MaintenanceWindow(SQLModel, table=True):
    __tablename__ = "maintenance_windows"
    __table_args__ = (
        Index("ix_maintenance_windows_services", "service_ids", postgresql_using="gin"),
        Index("ix_maintenance_windows_ends_at", "ends_at"),
    )

    id: UUID = id_field()
    service_ids: list[UUID] = Field(
        default_factory=list, sa_column=Column(ARRAY(PG_UUID(as_uuid=True)), nullable=False)
    )
    starts_at: datetime = timestamp_field(nullable=False)
    ends_at: datetime = timestamp_field(nullable=False)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_by: str | None = Field(default=None, max_length=64)
    created_at: datetime | None = created_at_field()


class MaintenanceWindowCreate(BaseModel):
    service_ids: list[UUID] = PydanticField(min_length=1, max_length=MAX_SERVICES)
    # Absent: now.
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime
    reason: str = PydanticField(default="", max_length=2000)

    @model_validator(mode="after")
    def _ordered(self) -> MaintenanceWindowCreate:
        if self.starts_at is not None and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class MaintenanceWindowUpdate(BaseModel):
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    reason: str | None = PydanticField(default=None, max_length=2000)


class MaintenanceWindowPublic(BaseModel):
    id: UUID
    service_ids: list[UUID]
    starts_at: datetime
    ends_at: datetime
    reason: str
    active: bool
    created_by: str | None
    created_at: datetime | None
