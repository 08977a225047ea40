"""Conversions between stored rows, API schemas and the resolver's plain values."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from app.errors import invalid
from app.schedules.localtime import to_instant, to_local
from app.schedules.models import (
    LayerIn,
    LayerPublic,
    OverridePublic,
    RestrictionPublic,
    Schedule,
    ScheduleOverride,
    SchedulePublic,
    ScheduleSwap,
    SwapPublic,
)
from app.schedules.spec import (
    WEEKDAYS,
    LayerSpec,
    OverrideSpec,
    Restriction,
    ScheduleSpec,
    SwapSpec,
)

EARLIEST = datetime(1971, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def local_of(value: datetime, tz: ZoneInfo) -> datetime:
    """Return a date-time as naive wall-clock time in `tz` (naive input already is)."""
    return value if value.tzinfo is None else to_local(value, tz)


def instant_of(value: datetime, tz: ZoneInfo, field: str) -> datetime:
    """Return a date-time as an aware UTC instant; naive input is wall-clock time in `tz`."""
    if value.tzinfo is None:
        if not EARLIEST.year <= value.year < LATEST.year:
            raise invalid([{"field": field, "message": "must lie between 1971 and 2199"}])
        return to_instant(value, tz)
    instant = value.astimezone(UTC)
    if not EARLIEST <= instant < LATEST:
        raise invalid([{"field": field, "message": "must lie between 1971 and 2199"}])
    return instant


def layer_to_json(layer: LayerIn, tz: ZoneInfo) -> dict[str, Any]:
    """Return a layer in its stored form, its start as wall-clock time in the zone."""
    return {
        "id": str(layer.id or uuid4()),
        "name": layer.name,
        "start": local_of(layer.start, tz).isoformat(),
        "rotation_seconds": (
            None if layer.rotation_length is None else layer.rotation_length.total_seconds()
        ),
        "handoff_rrule": layer.handoff_rrule,
        "users": [str(u) for u in layer.users],
        "restrictions": [
            {
                "type": r.type.value,
                "start_time": r.start_time,
                "duration_seconds": r.duration.total_seconds(),
                "start_day": None if r.start_day is None else r.start_day.value,
            }
            for r in layer.restrictions
        ],
    }


def _seconds(value: float | None) -> timedelta | None:
    return None if value is None else timedelta(seconds=value)


def layer_public(row: dict[str, Any]) -> LayerPublic:
    """Return a stored layer's public view."""
    return LayerPublic(
        id=row["id"],
        name=row["name"],
        start=datetime.fromisoformat(row["start"]),
        rotation_length=_seconds(row["rotation_seconds"]),
        handoff_rrule=row["handoff_rrule"],
        users=row["users"],
        restrictions=[
            RestrictionPublic(
                type=r["type"],
                start_time=r["start_time"],
                duration=timedelta(seconds=r["duration_seconds"]),
                start_day=r["start_day"],
            )
            for r in row["restrictions"]
        ],
    )


def layer_spec(row: dict[str, Any]) -> LayerSpec:
    """Return a stored layer as the resolver's value."""
    return LayerSpec(
        id=UUID(row["id"]),
        name=row["name"],
        start=datetime.fromisoformat(row["start"]),
        users=tuple(UUID(u) for u in row["users"]),
        rotation_length=_seconds(row["rotation_seconds"]),
        handoff_rrule=row["handoff_rrule"],
        restrictions=tuple(
            Restriction(
                type=r["type"],
                start_time=time.fromisoformat(r["start_time"]),
                duration=timedelta(seconds=r["duration_seconds"]),
                start_day=None if r["start_day"] is None else WEEKDAYS.index(r["start_day"]),
            )
            for r in row["restrictions"]
        ),
    )


def override_public(o: ScheduleOverride) -> OverridePublic:
    """Return an override's public view."""
    return OverridePublic(
        id=o.id, user_id=o.user_id, start=o.start_at, end=o.end_at, created_by=o.created_by
    )


def swap_public(s: ScheduleSwap) -> SwapPublic:
    """Return a swap's public view."""
    return SwapPublic(
        id=s.id,
        layer_id=s.layer_id,
        user_id=s.user_id,
        start=s.start_at,
        with_user_id=s.with_user_id,
        with_start=s.with_start_at,
        created_by=s.created_by,
    )


def schedule_public(
    schedule: Schedule, overrides: list[ScheduleOverride], swaps: list[ScheduleSwap]
) -> SchedulePublic:
    """Return a schedule's public view with the overrides and swaps given."""
    return SchedulePublic(
        id=schedule.id,
        name=schedule.name,
        description=schedule.description,
        timezone=schedule.timezone,
        layers=[layer_public(row) for row in schedule.layers],
        overrides=[override_public(o) for o in overrides],
        swaps=[swap_public(s) for s in swaps],
        created_at=schedule.created_at,
        updated_at=schedule.updated_at,
    )


def spec_of(
    schedule: Schedule,
    overrides: list[ScheduleOverride] | None = None,
    swaps: list[ScheduleSwap] | None = None,
) -> ScheduleSpec:
    """Return a schedule as the resolver's value."""
    return ScheduleSpec(
        timezone=schedule.timezone,
        layers=tuple(layer_spec(row) for row in schedule.layers),
        overrides=tuple(
            OverrideSpec(o.id, o.user_id, o.start_at, o.end_at) for o in overrides or []
        ),
        swaps=tuple(
            SwapSpec(s.id, s.layer_id, s.user_id, s.start_at, s.with_user_id, s.with_start_at)
            for s in swaps or []
        ),
    )
