"""On-call pages: who is on call now, a schedule's week, overrides, my shifts, calendar links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import service as catalog
from app.db import utcnow
from app.deps import SessionDep, SettingsDep
from app.identity import service as identity
from app.oncall import current, policy
from app.problems import Problem
from app.schedules import feeds, shifts
from app.schedules import overrides as override_ops
from app.schedules import service as schedules
from app.schedules.models import OverrideIn
from app.web.auth import Viewer, WebResponder, WebViewer
from app.web.render import WebRoute, page, see_other

router = APIRouter(route_class=WebRoute, include_in_schema=False)
MY_SHIFTS_AHEAD = timedelta(days=14)


async def _oncall_context(session: AsyncSession, viewer: Viewer) -> dict[str, Any]:
    now = utcnow()
    everyone = await current.all_on_call(session=session, at=now)
    services, _ = await catalog.list_services(session=session, limit=100)
    per_service = []
    for svc in services:
        if svc.status == "archived":
            continue
        found = await policy.service_on_call(session=session, service_id=svc.id, at=now)
        per_service.append((svc, found.levels[0] if found.levels else None))
    mine = await shifts.user_shifts(
        session=session, user_id=viewer.user.id, since=now, until=now + MY_SHIFTS_AHEAD
    )
    my_feeds = [
        f
        for f in await feeds.list_feeds(session=session, user_id=viewer.user.id)
        if f.revoked_at is None
    ]
    return {
        "schedules": everyone.data,
        "per_service": per_service,
        "my_shifts": mine.data,
        "my_feeds": my_feeds,
    }


@router.get("/oncall", response_class=HTMLResponse)
async def oncall_page(request: Request, session: SessionDep, viewer: WebViewer) -> Response:
    """Show who is on call now per schedule and per service, and my upcoming shifts."""
    return page(request, "oncall.html", viewer, **await _oncall_context(session, viewer))


@router.post("/oncall/calendar", response_class=HTMLResponse)
async def create_my_feed(
    request: Request, session: SessionDep, settings: SettingsDep, viewer: WebViewer
) -> Response:
    """Create an iCalendar link of my shifts; its URL is shown this once."""
    created = await feeds.create_feed(
        session=session, settings=settings, actor=viewer.actor, user_id=viewer.user.id
    )
    context = await _oncall_context(session, viewer)
    return page(request, "oncall.html", viewer, new_feed_url=created.url, **context)


@dataclass
class Period:
    """The days a schedule page shows, with the links to the periods before and after."""

    view: str  # week | month
    days: list[date]
    label: str
    prev_query: str
    next_query: str
    other_query: str  # the same time in the other view


def _parse(value: str, what: str, fmt: str) -> date:
    try:
        return datetime.strptime(value, fmt).date()
    except ValueError:
        raise Problem(422, "Please check your input", f"{what} is not valid") from None


def _period(week: str | None, month: str | None, tz: ZoneInfo) -> Period:
    today = utcnow().astimezone(tz).date()
    if month:
        first = _parse(month, "month", "%Y-%m")
        after = (first + timedelta(days=32)).replace(day=1)
        before = (first - timedelta(days=1)).replace(day=1)
        return Period(
            view="month",
            days=[first + timedelta(days=n) for n in range((after - first).days)],
            label=first.strftime("%B %Y"),
            prev_query=f"month={before:%Y-%m}",
            next_query=f"month={after:%Y-%m}",
            other_query=f"week={first.isoformat()}",
        )
    day = _parse(week, "week", "%Y-%m-%d") if week else today
    monday = day - timedelta(days=day.weekday())
    return Period(
        view="week",
        days=[monday + timedelta(days=n) for n in range(7)],
        label=f"Week of {monday.isoformat()}",
        prev_query=f"week={monday - timedelta(days=7)}",
        next_query=f"week={monday + timedelta(days=7)}",
        other_query=f"month={monday:%Y-%m}",
    )


@router.get("/schedules/{schedule_id}", response_class=HTMLResponse)
async def schedule_page(
    request: Request,
    session: SessionDep,
    viewer: WebViewer,
    schedule_id: UUID,
    week: str | None = None,
    month: str | None = None,
    done: str | None = None,
) -> Response:
    """Show a schedule's final shifts for a week or a month (in its zone) and its overrides."""
    return await _schedule_page(
        request,
        session,
        viewer,
        schedule_id,
        week,
        month,
        done={"override": "Override created.", "saved": "Schedule saved."}.get(done or ""),
    )


@router.post("/schedules/{schedule_id}/calendar", response_class=HTMLResponse)
async def create_schedule_feed(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: WebViewer,
    schedule_id: UUID,
) -> Response:
    """Create an iCalendar link of this schedule; its URL is shown this once."""
    created = await feeds.create_feed(
        session=session, settings=settings, actor=viewer.actor, schedule_id=schedule_id
    )
    return await _schedule_page(
        request, session, viewer, schedule_id, None, None, new_feed_url=created.url
    )


async def _schedule_page(
    request: Request,
    session: AsyncSession,
    viewer: Viewer,
    schedule_id: UUID,
    week: str | None,
    month: str | None,
    **extra: Any,
) -> HTMLResponse:
    schedule = await schedules.get_schedule(session=session, schedule_id=schedule_id)
    tz = ZoneInfo(schedule.timezone)
    period = _period(week, month, tz)
    days = period.days
    bounds = [datetime.combine(d, time(), tz) for d in [*days, days[-1] + timedelta(days=1)]]
    rendered = await shifts.schedule_shifts(
        session=session, schedule=schedule, since=bounds[0], until=bounds[-1]
    )
    columns = []
    for day, start, end in zip(days, bounds, bounds[1:], strict=False):
        cells = [
            (s.name, max(s.start, start).astimezone(tz), min(s.end, end).astimezone(tz))
            for s in rendered.data
            if s.start < end and s.end > start
        ]
        columns.append((day, cells))
    upcoming = await override_ops.list_overrides(
        session=session, schedule_id=schedule.id, since=utcnow(), until=None
    )
    users, _ = await identity.list_users(session=session, limit=500)
    return page(
        request,
        "schedule.html",
        viewer,
        schedule=schedule,
        columns=columns,
        lead=days[0].weekday() if period.view == "month" else 0,
        gaps=rendered.gaps,
        period=period,
        overrides=upcoming,
        user_names={u.id: u.name for u in users},
        users=users if viewer.is_admin else [viewer.user],
        **extra,
    )


def _local(value: str, field: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Problem(422, "Please check your input", f"{field} is not a date and time") from None
    return parsed.replace(tzinfo=None)


@router.post("/schedules/{schedule_id}/overrides")
async def create_override(
    session: SessionDep,
    viewer: WebResponder,
    schedule_id: UUID,
    user_id: Annotated[UUID, Form()],
    start: Annotated[str, Form(max_length=40)],
    end: Annotated[str, Form(max_length=40)],
) -> Response:
    """Put someone on call for a time range given in the schedule's local time."""
    if not viewer.is_admin and user_id != viewer.user.id:
        raise Problem(403, "Forbidden", "responders may create overrides only for themselves")
    override_in = OverrideIn(user_id=user_id, start=_local(start, "start"), end=_local(end, "end"))
    created = await override_ops.create_override(
        session=session, schedule_id=schedule_id, override_in=override_in, actor=viewer.actor
    )
    week = created.start.date().isoformat()
    return see_other(f"/schedules/{schedule_id}?week={week}&done=override")


@router.post("/schedules/{schedule_id}/overrides/{override_id}/delete")
async def delete_override(
    session: SessionDep, viewer: WebResponder, schedule_id: UUID, override_id: UUID
) -> Response:
    """Remove an override (admins; responders theirs or one they made)."""
    row = await override_ops.get_override(
        session=session, schedule_id=schedule_id, override_id=override_id
    )
    if not viewer.is_admin and viewer.user.id not in (row.user_id, row.created_by):
        raise Problem(403, "Forbidden", "you may remove only your own overrides")
    await override_ops.delete_override(session=session, row=row, actor=viewer.actor)
    return see_other(f"/schedules/{schedule_id}")
