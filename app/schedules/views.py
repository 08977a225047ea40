"""Read-side answers: who is on call, rendered shifts, and gaps."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from pydantic import BaseModel


class OnCallUser(BaseModel):
    """A user on call; `start`/`end` bound their shift (null past a year away)."""

    id: UUID
    name: str
    start: datetime | None
    end: datetime | None


class ScheduleOnCall(BaseModel):
    at: datetime
    schedule_id: UUID
    schedule_name: str
    timezone: str
    users: list[OnCallUser]
    # Non-empty when nobody is on call, or when something was ignored.
    warnings: list[str]


class OnCallList(BaseModel):
    at: datetime
    data: list[ScheduleOnCall]
    count: int


class ShiftPublic(BaseModel):
    user_id: UUID
    name: str
    start: datetime
    end: datetime


class GapPublic(BaseModel):
    start: datetime
    end: datetime


class LayerShifts(BaseModel):
    """One layer's own shifts, after its restrictions and swaps, before the merge."""

    id: UUID
    name: str
    shifts: list[ShiftPublic]


class ScheduleShifts(BaseModel):
    schedule_id: UUID
    timezone: str
    since: datetime
    until: datetime
    data: list[ShiftPublic]  # the final shifts: what pages people
    gaps: list[GapPublic]
    layers: list[LayerShifts]
    warnings: list[str]


class TargetRef(BaseModel):
    type: str
    id: UUID


class LevelUser(OnCallUser):
    via: list[TargetRef]  # the targets of the level that reach this user


class LevelOnCall(BaseModel):
    level: int  # 1-based, as on incident timelines
    delay: timedelta
    users: list[LevelUser]
    warnings: list[str]


class ServiceOnCall(BaseModel):
    at: datetime
    service_id: UUID
    escalation_policy_id: UUID
    levels: list[LevelOnCall]
    warnings: list[str]


class UserShift(BaseModel):
    schedule_id: UUID
    schedule_name: str
    start: datetime
    end: datetime


class UserShifts(BaseModel):
    user_id: UUID
    since: datetime
    until: datetime
    data: list[UserShift]
