"""Builders of resolver values for schedule tests: users a, b, c, d and short layer specs."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from uuid import UUID, uuid4

from app.schedules.spec import LayerSpec, OverrideSpec, Restriction, ScheduleSpec, SwapSpec

A, B, C, D = (UUID(int=i) for i in range(1, 5))
NAMES = {A: "a", B: "b", C: "c", D: "d"}


def utc(text: str) -> datetime:
    """Return an aware UTC instant from `YYYY-MM-DDTHH:MM`."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(text: str) -> datetime:
    """Return a naive wall-clock time from `YYYY-MM-DDTHH:MM`."""
    return datetime.fromisoformat(text)


def daily(start: str, duration: timedelta) -> Restriction:
    """Return a daily restriction starting at HH:MM."""
    return Restriction("daily", time.fromisoformat(start), duration)


def weekly(day: int, start: str, duration: timedelta) -> Restriction:
    """Return a weekly restriction starting on `day` (0 = Monday) at HH:MM."""
    return Restriction("weekly", time.fromisoformat(start), duration, day)


def layer(
    start: str,
    users: tuple[UUID, ...],
    length: timedelta | None = timedelta(days=1),
    *restrictions: Restriction,
    rrule: str | None = None,
    name: str = "layer",
    id_: UUID | None = None,
) -> LayerSpec:
    """Return a layer starting at local `start`."""
    return LayerSpec(
        id=id_ or uuid4(),
        name=name,
        start=local(start),
        users=users,
        rotation_length=length,
        handoff_rrule=rrule,
        restrictions=tuple(restrictions),
    )


def schedule(
    tz: str,
    *layers: LayerSpec,
    overrides: tuple[OverrideSpec, ...] = (),
    swaps: tuple[SwapSpec, ...] = (),
) -> ScheduleSpec:
    """Return a schedule of `layers` (lowest first)."""
    return ScheduleSpec(timezone=tz, layers=layers, overrides=overrides, swaps=swaps)


def override(user: UUID, start: str, end: str) -> OverrideSpec:
    """Return an override between two UTC instants."""
    return OverrideSpec(uuid4(), user, utc(start), utc(end))


def rows(shifts: list) -> list[tuple[str, str, str]]:  # type: ignore[type-arg]
    """Return shifts as (start, end, user) with UTC times as `MM-DDTHH:MM`."""
    return [
        (s.start.strftime("%m-%dT%H:%M"), s.end.strftime("%m-%dT%H:%M"), NAMES[s.user_id])
        for s in shifts
    ]
