"""Escalation policies: who is paged, in which order, and how long each level waits."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, field_validator
from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from app.models_common import created_at_field, id_field, jsonb_field, timestamp_field

MAX_LEVELS = 20
MAX_TARGETS = 50
MAX_REPEAT = 20


class TargetType(StrEnum):
    """What a level pages: one user, whoever a schedule has on call, or a whole team."""

    user = "user"
    schedule = "schedule"
    team = "team"


class EscalationTarget(BaseModel):
    type: TargetType
    id: UUID


class EscalationLevel(BaseModel):
    """One level: its targets, and how long it waits for an acknowledgement."""

    delay: timedelta
    targets: list[EscalationTarget] = Field(min_length=1, max_length=MAX_TARGETS)

    @field_validator("delay")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("delay must be greater than zero")
        return value

    @field_validator("targets")
    @classmethod
    def _distinct(cls, value: list[EscalationTarget]) -> list[EscalationTarget]:
        seen: set[tuple[str, UUID]] = set()
        for target in value:
            key = (target.type.value, target.id)
            if key in seen:
                raise ValueError(f"{target.type.value} {target.id} is listed twice in this level")
            seen.add(key)
        return value


def levels_to_json(levels: list[EscalationLevel]) -> list[dict[str, Any]]:
    """Return levels in their stored JSONB form (delays in seconds)."""
    return [
        {
            "delay_seconds": level.delay.total_seconds(),
            "targets": [{"type": t.type.value, "id": str(t.id)} for t in level.targets],
        }
        for level in levels
    ]


def levels_from_json(rows: list[dict[str, Any]]) -> list[EscalationLevel]:
    """Return levels from their stored JSONB form."""
    return [
        EscalationLevel(
            delay=timedelta(seconds=row["delay_seconds"]),
            targets=[EscalationTarget(type=t["type"], id=t["id"]) for t in row["targets"]],
        )
        for row in rows
    ]


class EscalationPolicy(SQLModel, table=True):
    __tablename__ = "escalation_policies"
    __table_args__ = (
        Index("ix_escalation_policies_name_lower", text("lower(name)"), unique=True),
        # Lets "which policies target this user/team?" (`levels @> ...`) use an index.
        Index(
            "ix_escalation_policies_levels",
            "levels",
            postgresql_using="gin",
            postgresql_ops={"levels": "jsonb_path_ops"},
        ),
    )

    id: UUID = id_field()
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    repeat: int = Field(default=0)
    # [{"delay_seconds": float, "targets": [{"type": "user"|"schedule"|"team", "id": "<uuid>"}]}]
    levels: list[dict[str, Any]] = jsonb_field(nullable=False, default=[])
    created_at: datetime | None = created_at_field()
    updated_at: datetime | None = timestamp_field()


class EscalationPolicyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    repeat: int = Field(default=0, ge=0, le=MAX_REPEAT)
    levels: list[EscalationLevel] = Field(min_length=1, max_length=MAX_LEVELS)


class EscalationPolicyUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    repeat: int | None = Field(default=None, ge=0, le=MAX_REPEAT)
    # Replaces every level when given.
    levels: list[EscalationLevel] | None = Field(default=None, min_length=1, max_length=MAX_LEVELS)


class EscalationPolicyPublic(BaseModel):
    id: UUID
    name: str
    description: str | None
    repeat: int
    levels: list[EscalationLevel]
    created_at: datetime | None = None
    updated_at: datetime | None = None
