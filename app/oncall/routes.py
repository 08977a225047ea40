"""HTTP routes for who is on call: in a schedule, in every schedule, for a service's policy."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from fastapi import APIRouter, Query

from app.db import utcnow
from app.deps import CurrentUser, SessionDep
from app.oncall import policy
from app.oncall.current import all_on_call, who, who_view
from app.schedules import service as schedules
from app.schedules.shifts import check_instant
from app.schedules.views import OnCallList, ScheduleOnCall, ServiceOnCall

router = APIRouter(prefix="/api/v1", tags=["schedules"])


@router.get("/schedules/{schedule_id}/on-call", response_model=ScheduleOnCall)
async def schedule_on_call(
    session: SessionDep, _: CurrentUser, schedule_id: UUID, at: datetime | None = None
) -> ScheduleOnCall:
    """Return who is on call at `at` (default now); a gap is a warning."""
    instant = check_instant(at or utcnow(), "at")
    schedule = await schedules.get_schedule(session=session, schedule_id=schedule_id)
    return who_view(await who(session=session, schedule=schedule, at=instant))


@router.get("/oncall", response_model=OnCallList)
async def everyone_on_call(
    session: SessionDep,
    _: CurrentUser,
    at: datetime | None = None,
    limit: int = Query(default=100, ge=1, le=500),
    offset: int = Query(default=0, ge=0),
) -> OnCallList:
    """Return who is on call at `at` (default now) in every schedule."""
    instant = check_instant(at or utcnow(), "at")
    return await all_on_call(session=session, at=instant, limit=limit, offset=offset)


@router.get("/services/{service_id}/oncall", response_model=ServiceOnCall)
async def service_on_call(
    session: SessionDep, _: CurrentUser, service_id: UUID, at: datetime | None = None
) -> ServiceOnCall:
    """Return whom each level of the service's escalation policy would page at `at`."""
    instant = check_instant(at or utcnow(), "at")
    return await policy.service_on_call(session=session, service_id=service_id, at=instant)
