"""Plain values the resolver works on: a schedule, its layers, overrides, swaps, and shifts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from uuid import UUID

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class Restriction:
    """A window in local wall-clock time when a layer is on call: daily, or once a week."""

    type: str  # "daily" | "weekly"
    start_time: time
    duration: timedelta
    start_day: int | None = None  # 0 = Monday, for weekly windows


@dataclass(frozen=True, slots=True)
class LayerSpec:
    """A rotation: `users` take turns from `start` (naive local time), one per shift."""

    id: UUID
    name: str
    start: datetime
    users: tuple[UUID, ...]
    rotation_length: timedelta | None = None
    handoff_rrule: str | None = None
    restrictions: tuple[Restriction, ...] = ()


@dataclass(frozen=True, slots=True)
class OverrideSpec:
    """`user_id` is on call from `start` to `end`, above every layer."""

    id: UUID
    user_id: UUID
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class SwapSpec:
    """Two users of a layer trade the shifts that start at `start` and `with_start`."""

    id: UUID
    layer_id: UUID
    user_id: UUID
    start: datetime
    with_user_id: UUID
    with_start: datetime


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    """A schedule as the resolver sees it; layers are listed lowest first."""

    timezone: str
    layers: tuple[LayerSpec, ...]
    overrides: tuple[OverrideSpec, ...] = ()
    swaps: tuple[SwapSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class Shift:
    """`user_id` is on call from `start` (inclusive) to `end` (exclusive); aware instants."""

    start: datetime
    end: datetime
    user_id: UUID


@dataclass(frozen=True, slots=True)
class Gap:
    """Nobody is on call from `start` to `end`."""

    start: datetime
    end: datetime


@dataclass(slots=True)
class Rendering:
    """The final shifts of a range, each layer's own shifts, the gaps, and what was ignored."""

    shifts: list[Shift]
    layers: list[list[Shift]]
    gaps: list[Gap]
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class OnCall:
    """Who is on call at an instant, and the bounds of their merged shift.

    A bound is None when the shift runs on past the search horizon.
    """

    at: datetime
    user_id: UUID | None
    start: datetime | None = None
    end: datetime | None = None
