"""Who a schedule has on call at an instant, for one schedule and for every schedule."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.identity.models import User
from app.schedules import service as schedules
from app.schedules.models import Schedule
from app.schedules.rotation import HORIZON, on_call
from app.schedules.shifts import users_by_id
from app.schedules.views import OnCallList, OnCallUser, ScheduleOnCall


@dataclass
class Who:
    """Who a schedule has on call at an instant (nobody, in a gap), with their shift."""

    schedule: Schedule
    at: datetime
    users: list[User] = field(default_factory=list)
    start: datetime | None = None
    end: datetime | None = None
    warnings: list[str] = field(default_factory=list)


async def who(*, session: AsyncSession, schedule: Schedule, at: datetime) -> Who:
    """Return who `schedule` has on call at `at`."""
    spec = await schedules.load_spec(
        session=session, schedule=schedule, since=at - HORIZON, until=at + HORIZON
    )
    found = on_call(spec, at)
    out = Who(schedule=schedule, at=at, start=found.start, end=found.end)
    if found.user_id is None:
        out.warnings.append(f"nobody is on call in schedule {schedule.name!r} at {at.isoformat()}")
        return out
    user = (await users_by_id(session, {found.user_id})).get(found.user_id)
    if user is None:
        out.warnings.append(f"user {found.user_id} is on call but no longer exists")
    else:
        out.users.append(user)
    return out


def who_view(found: Who) -> ScheduleOnCall:
    """Return the API answer for `who`."""
    return ScheduleOnCall(
        at=found.at,
        schedule_id=found.schedule.id,
        schedule_name=found.schedule.name,
        timezone=found.schedule.timezone,
        users=[
            OnCallUser(id=u.id, name=u.name, start=found.start, end=found.end) for u in found.users
        ],
        warnings=found.warnings,
    )


async def all_on_call(
    *, session: AsyncSession, at: datetime, limit: int = 100, offset: int = 0
) -> OnCallList:
    """Return who is on call at `at` in every schedule (a page of them, by name)."""
    rows, total = await schedules.list_schedules(session=session, limit=limit, offset=offset)
    data = [who_view(await who(session=session, schedule=s, at=at)) for s in rows]
    return OnCallList(at=at, data=data, count=total)
