"""HTTP routes for schedules, overrides, swaps and shifts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from app.db import utcnow
from app.deps import AdminUser, CurrentUser, ResponderUser, SessionDep, actor_of
from app.identity import service as identity
from app.identity.models import Role, User
from app.models_common import Page
from app.problems import Problem
from app.references import service as references
from app.schedules import feed_routes, service, shifts
from app.schedules import overrides as override_ops
from app.schedules.convert import override_public, swap_public
from app.schedules.models import (
    OverrideIn,
    OverridePublic,
    ScheduleCreate,
    SchedulePublic,
    ScheduleUpdate,
    SwapIn,
    SwapPublic,
)
from app.schedules.views import ScheduleShifts, UserShifts

router = APIRouter(prefix="/api/v1", tags=["schedules"])
router.include_router(feed_routes.router)

SHIFTS_DEFAULT = timedelta(days=7)
USER_SHIFTS_DEFAULT = timedelta(days=28)


def _may_act_for(actor: User, users: Iterable[UUID | None], what: str) -> None:
    """Let admins act for anyone, and responders only where they are one of `users`."""
    if actor.role != Role.admin and actor.id not in set(users):
        raise Problem(
            403, "Forbidden", f"responders may only {what} themselves", type_="/problems/forbidden"
        )


@router.get("/schedules", response_model=Page[SchedulePublic])
async def list_schedules(
    session: SessionDep,
    _: CurrentUser,
    q: str | None = Query(default=None, max_length=200),
    limit: int = Query(default=100, ge=1, le=500),
    offset: int = Query(default=0, ge=0),
) -> Page[SchedulePublic]:
    """List schedules, filtered by a name fragment."""
    rows, total = await service.list_schedules(session=session, q=q, limit=limit, offset=offset)
    return Page(data=[await service.public(session=session, schedule=s) for s in rows], count=total)


@router.post("/schedules", response_model=SchedulePublic, status_code=status.HTTP_201_CREATED)
async def create_schedule(
    session: SessionDep, admin: AdminUser, schedule_in: ScheduleCreate
) -> SchedulePublic:
    """Create a schedule (admins only)."""
    return await service.create_schedule(
        session=session, schedule_in=schedule_in, actor=actor_of(admin)
    )


@router.get("/schedules/{schedule_id}", response_model=SchedulePublic)
async def get_schedule(session: SessionDep, _: CurrentUser, schedule_id: UUID) -> SchedulePublic:
    """Return one schedule with its overrides not yet ended and its swaps."""
    schedule = await service.get_schedule(session=session, schedule_id=schedule_id)
    return await service.public(session=session, schedule=schedule)


@router.patch("/schedules/{schedule_id}", response_model=SchedulePublic)
async def update_schedule(
    session: SessionDep, admin: AdminUser, schedule_id: UUID, schedule_in: ScheduleUpdate
) -> SchedulePublic:
    """Change a schedule (admins only); `layers` replaces every layer."""
    return await service.update_schedule(
        session=session, schedule_id=schedule_id, schedule_in=schedule_in, actor=actor_of(admin)
    )


@router.delete("/schedules/{schedule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_schedule(session: SessionDep, admin: AdminUser, schedule_id: UUID) -> Response:
    """Delete a schedule no escalation policy targets (admins only)."""
    await references.delete_schedule(
        session=session, schedule_id=schedule_id, actor=actor_of(admin)
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/schedules/{schedule_id}/overrides", response_model=list[OverridePublic])
async def list_overrides(
    session: SessionDep,
    _: CurrentUser,
    schedule_id: UUID,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[OverridePublic]:
    """List a schedule's overrides, optionally those touching [since, until)."""
    await service.get_schedule(session=session, schedule_id=schedule_id)
    rows = await override_ops.list_overrides(
        session=session,
        schedule_id=schedule_id,
        since=None if since is None else shifts.check_instant(since, "since"),
        until=None if until is None else shifts.check_instant(until, "until"),
    )
    return [override_public(o) for o in rows]


@router.post(
    "/schedules/{schedule_id}/overrides",
    response_model=OverridePublic,
    status_code=status.HTTP_201_CREATED,
)
async def create_override(
    session: SessionDep, actor: ResponderUser, schedule_id: UUID, override_in: OverrideIn
) -> OverridePublic:
    """Put someone on call for a time range (admins; responders for themselves)."""
    _may_act_for(actor, [override_in.user_id], "create overrides for")
    return await override_ops.create_override(
        session=session, schedule_id=schedule_id, override_in=override_in, actor=actor_of(actor)
    )


@router.delete(
    "/schedules/{schedule_id}/overrides/{override_id}", status_code=status.HTTP_204_NO_CONTENT
)
async def delete_override(
    session: SessionDep, actor: ResponderUser, schedule_id: UUID, override_id: UUID
) -> Response:
    """Remove an override (admins; responders theirs or one they made)."""
    row = await override_ops.get_override(
        session=session, schedule_id=schedule_id, override_id=override_id
    )
    _may_act_for(actor, [row.user_id, row.created_by], "remove overrides of")
    await override_ops.delete_override(session=session, row=row, actor=actor_of(actor))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/schedules/{schedule_id}/swaps", response_model=list[SwapPublic])
async def list_swaps(session: SessionDep, _: CurrentUser, schedule_id: UUID) -> list[SwapPublic]:
    """List a schedule's swaps."""
    await service.get_schedule(session=session, schedule_id=schedule_id)
    rows = await override_ops.list_swaps(session=session, schedule_id=schedule_id)
    return [swap_public(s) for s in rows]


@router.post(
    "/schedules/{schedule_id}/swaps", response_model=SwapPublic, status_code=status.HTTP_201_CREATED
)
async def create_swap(
    session: SessionDep, actor: ResponderUser, schedule_id: UUID, swap_in: SwapIn
) -> SwapPublic:
    """Trade two shifts of a layer (admins; responders for a shift of their own)."""
    _may_act_for(actor, [swap_in.user_id, swap_in.with_user_id], "swap shifts of")
    return await override_ops.create_swap(
        session=session, schedule_id=schedule_id, swap_in=swap_in, actor=actor_of(actor)
    )


@router.delete("/schedules/{schedule_id}/swaps/{swap_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_swap(
    session: SessionDep, actor: ResponderUser, schedule_id: UUID, swap_id: UUID
) -> Response:
    """Undo a swap (admins; responders in the swap or who made it)."""
    row = await override_ops.get_swap(session=session, schedule_id=schedule_id, swap_id=swap_id)
    _may_act_for(actor, [row.user_id, row.with_user_id, row.created_by], "undo swaps of")
    await override_ops.delete_swap(session=session, row=row, actor=actor_of(actor))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/schedules/{schedule_id}/shifts", response_model=ScheduleShifts)
async def schedule_shifts(
    session: SessionDep,
    _: CurrentUser,
    schedule_id: UUID,
    since: datetime | None = None,
    until: datetime | None = None,
) -> ScheduleShifts:
    """Return the final shifts of [since, until) (default: the next 7 days) and the gaps."""
    start = since or utcnow()
    start, end = shifts.check_range(start, until or start + SHIFTS_DEFAULT)
    schedule = await service.get_schedule(session=session, schedule_id=schedule_id)
    return await shifts.schedule_shifts(session=session, schedule=schedule, since=start, until=end)


@router.get("/users/{user_id}/shifts", response_model=UserShifts)
async def user_shifts(
    session: SessionDep,
    _: CurrentUser,
    user_id: UUID,
    since: datetime | None = None,
    until: datetime | None = None,
) -> UserShifts:
    """Return a user's shifts in every schedule over [since, until) (default: 28 days)."""
    start = since or utcnow()
    start, end = shifts.check_range(start, until or start + USER_SHIFTS_DEFAULT)
    await identity.get_user(session=session, user_id=user_id)
    return await shifts.user_shifts(session=session, user_id=user_id, since=start, until=end)
