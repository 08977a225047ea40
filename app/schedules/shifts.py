"""Shifts of a schedule and of a user over a range, and the checks of query instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import invalid
from app.identity.models import User
from app.schedules import service as schedules
from app.schedules.convert import EARLIEST, LATEST
from app.schedules.models import Schedule, ScheduleOverride
from app.schedules.rotation import TooManyShifts, shifts
from app.schedules.spec import Rendering, Shift
from app.schedules.views import (
    GapPublic,
    LayerShifts,
    ScheduleShifts,
    ShiftPublic,
    UserShift,
    UserShifts,
)

MAX_RANGE = timedelta(days=366)


def check_instant(value: datetime, field_name: str) -> datetime:
    """Return a query instant in UTC (naive means UTC); refuse one out of range."""
    instant = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not EARLIEST <= instant < LATEST:
        raise invalid([{"field": field_name, "message": "must lie between 1971 and 2199"}])
    return instant


def check_range(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    """Return a query range in UTC; refuse an empty or too long one."""
    since, until = check_instant(since, "since"), check_instant(until, "until")
    if until <= since:
        raise invalid([{"field": "until", "message": "until must be after since"}])
    if until - since > MAX_RANGE:
        raise invalid([{"field": "until", "message": "the range may span at most 366 days"}])
    return since, until


async def users_by_id(session: AsyncSession, ids: set[UUID]) -> dict[UUID, User]:
    """Return the users with these ids that still exist."""
    if not ids:
        return {}
    rows = await session.scalars(select(User).where(col(User.id).in_(ids)))
    return {u.id: u for u in rows.all()}


async def _render(
    session: AsyncSession, schedule: Schedule, since: datetime, until: datetime
) -> Rendering:
    spec = await schedules.load_spec(session=session, schedule=schedule, since=since, until=until)
    try:
        return shifts(spec, since, until)
    except TooManyShifts as exc:
        raise invalid([{"field": "until", "message": f"{exc}: ask for a shorter range"}]) from None


async def schedule_shifts(
    *, session: AsyncSession, schedule: Schedule, since: datetime, until: datetime
) -> ScheduleShifts:
    """Return the final shifts of [since, until), each layer's shifts, and the gaps."""
    rendered = await _render(session, schedule, since, until)
    ids = {s.user_id for s in rendered.shifts} | {s.user_id for ls in rendered.layers for s in ls}
    users = await users_by_id(session, ids)

    def view(items: list[Shift]) -> list[ShiftPublic]:
        return [
            ShiftPublic(
                user_id=s.user_id,
                name=users[s.user_id].name if s.user_id in users else "(deleted user)",
                start=s.start,
                end=s.end,
            )
            for s in items
        ]

    warnings = list(rendered.warnings) + [
        f"nobody is on call from {g.start.isoformat()} to {g.end.isoformat()}"
        for g in rendered.gaps
    ]
    return ScheduleShifts(
        schedule_id=schedule.id,
        timezone=schedule.timezone,
        since=since,
        until=until,
        data=view(rendered.shifts),
        gaps=[GapPublic(start=g.start, end=g.end) for g in rendered.gaps],
        layers=[
            LayerShifts(id=row["id"], name=row["name"], shifts=view(ls))
            for row, ls in zip(schedule.layers, rendered.layers, strict=True)
        ],
        warnings=warnings,
    )


async def user_shifts(
    *, session: AsyncSession, user_id: UUID, since: datetime, until: datetime
) -> UserShifts:
    """Return a user's final shifts in every schedule over [since, until), by start."""
    covering = select(col(ScheduleOverride.schedule_id)).where(
        col(ScheduleOverride.user_id) == user_id,
        col(ScheduleOverride.start_at) < until,
        col(ScheduleOverride.end_at) > since,
    )
    rows = await session.scalars(
        select(Schedule)
        .where(
            or_(
                col(Schedule.layers).contains([{"users": [str(user_id)]}]),
                col(Schedule.id).in_(covering),
            )
        )
        .order_by(col(Schedule.name))
    )
    data: list[UserShift] = []
    for schedule in rows.all():
        rendered = await _render(session, schedule, since, until)
        data += [
            UserShift(
                schedule_id=schedule.id, schedule_name=schedule.name, start=s.start, end=s.end
            )
            for s in rendered.shifts
            if s.user_id == user_id
        ]
    data.sort(key=lambda s: (s.start, s.schedule_name))
    return UserShifts(user_id=user_id, since=since, until=until, data=data)
