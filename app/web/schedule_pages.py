"""Schedule editor: create and edit layers with a live preview, and delete schedules.

The preview renders the form's layers with the API's resolver (`shifts.schedule_shifts`) on a
schedule that is never stored, so what it shows is what `GET /api/v1/schedules/{id}/shifts`
answers once saved (existing overrides and swaps included).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from app.db import utcnow
from app.deps import SessionDep
from app.errors import DomainError
from app.identity import service as identity
from app.identity.models import valid_timezone
from app.problems import Problem
from app.schedules import service as schedules
from app.schedules import shifts
from app.schedules.convert import layer_to_json
from app.schedules.localtime import zone
from app.schedules.models import LayerIn, Schedule, ScheduleCreate, ScheduleUpdate
from app.schedules.spec import WEEKDAYS
from app.schedules.views import ScheduleShifts
from app.web import schedule_form as sf
from app.web.auth import Viewer, WebAdmin
from app.web.forms import errors_of, problem_of, roll_back
from app.web.render import WebRoute, page, see_other, templates

router = APIRouter(route_class=WebRoute, include_in_schema=False)
PREVIEW_DAYS = 14


@dataclass
class PreviewItem:
    kind: str  # shift | gap
    name: str
    user_id: str
    start: datetime  # in the schedule's zone
    end: datetime


@dataclass
class Preview:
    since: datetime
    until: datetime
    timezone: str
    days: list[tuple[date, list[PreviewItem]]] = field(default_factory=list)
    gaps: int = 0
    warnings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # why there is nothing to show


def _said(error: dict[str, Any]) -> str:
    """Return a field error for people: `layers.0.users` → `Layer 1, users: …`."""
    parts = str(error.get("field", "")).split(".")
    where = ""
    if parts[0] == "layers" and len(parts) > 1 and parts[1].isdigit():
        where = f"Layer {int(parts[1]) + 1}" + "".join(f", {p}" for p in parts[2:3])
    elif parts[0]:
        where = parts[0]
    return f"{where}: {error['message']}" if where else str(error["message"])


def _timezone_errors(state: sf.ScheduleForm) -> sf.Errors:
    try:
        valid_timezone(state.timezone)
    except ValueError as exc:
        return [{"field": "timezone", "message": str(exc)}]
    return []


def _window(tz: ZoneInfo) -> tuple[datetime, datetime]:
    today = utcnow().astimezone(tz).date()
    since = datetime.combine(today, time(), tz)
    return since, datetime.combine(today + timedelta(days=PREVIEW_DAYS), time(), tz)


def _preview_of(
    rendered: ScheduleShifts, tz: ZoneInfo, since: datetime, until: datetime
) -> Preview:
    items = [
        PreviewItem("shift", s.name, str(s.user_id), s.start.astimezone(tz), s.end.astimezone(tz))
        for s in rendered.data
    ] + [
        PreviewItem("gap", "Nobody on call", "", g.start.astimezone(tz), g.end.astimezone(tz))
        for g in rendered.gaps
    ]
    items.sort(key=lambda item: item.start)
    out = Preview(
        since=since,
        until=until,
        timezone=rendered.timezone,
        gaps=len(rendered.gaps),
        warnings=[w for w in rendered.warnings if not w.startswith("nobody is on call from")],
    )
    # Each shift and gap once, under the day it starts (the first day for one already begun).
    for item in items:
        day = max(item.start, since).date()
        if not out.days or out.days[-1][0] != day:
            out.days.append((day, []))
        out.days[-1][1].append(item)
    return out


async def preview(
    session: AsyncSession,
    state: sf.ScheduleForm,
    layers: list[LayerIn],
    errors: sf.Errors,
    schedule_id: UUID | None,
) -> Preview:
    """Render the next PREVIEW_DAYS of the form's layers as the API will (or say what is wrong)."""
    tz = zone(state.timezone) if not _timezone_errors(state) else ZoneInfo("UTC")
    since, until = _window(tz)
    errors = errors + _timezone_errors(state)
    if errors:
        return Preview(since, until, state.timezone, problems=[_said(e) for e in errors])
    # Never added to the session: the resolver reads its layers, and the stored schedule's
    # overrides and swaps through its id.
    draft = Schedule(
        id=schedule_id or uuid4(),
        name=state.name or "draft",
        timezone=state.timezone,
        layers=[layer_to_json(layer, tz) for layer in layers],
    )
    try:
        rendered = await shifts.schedule_shifts(
            session=session, schedule=draft, since=since, until=until
        )
    except (Problem, DomainError) as exc:
        return Preview(since, until, state.timezone, problems=[_said(e) for e in errors_of(exc)])
    return _preview_of(rendered, tz, since, until)


def _apply(state: sf.ScheduleForm, intent: str, form: FormData) -> None:
    """Apply an editing button (add a layer, move a user …) to the form's state."""
    verb, *args = intent.split(":")
    try:
        idx = [int(a) for a in args]
    except ValueError:
        return
    now = utcnow()
    layers = state.layers
    if verb == "add-layer" and len(layers) < sf.MAX_FORM_LAYERS:
        layers.append(sf.blank_layer(len(layers) + 1, now))
        return
    if not idx or not 0 <= idx[0] < len(layers):
        return
    layer = layers[idx[0]]
    if verb == "remove-layer":
        del layers[idx[0]]
    elif verb == "add-restriction" and len(layer.restrictions) < sf.MAX_FORM_RESTRICTIONS:
        layer.restrictions.append(sf.RestrictionForm())
    elif verb == "add-user":
        chosen = form.get(f"layer-{idx[0]}-add")
        if isinstance(chosen, str) and chosen and len(layer.users) < sf.MAX_FORM_USERS:
            layer.users.append(chosen)
    elif len(idx) == 2:
        k = idx[1]
        items: list[Any] = layer.restrictions if verb == "remove-restriction" else layer.users
        if not 0 <= k < len(items):
            return
        if verb in ("remove-restriction", "remove-user"):
            del items[k]
        elif verb == "up" and k > 0:
            items[k - 1], items[k] = items[k], items[k - 1]
        elif verb == "down" and k < len(items) - 1:
            items[k + 1], items[k] = items[k], items[k + 1]


async def _editor(
    request: Request,
    session: AsyncSession,
    viewer: Viewer,
    state: sf.ScheduleForm,
    schedule: Schedule | None,
    errors: sf.Errors,
    status_code: int = 200,
    notice: str | None = None,
) -> HTMLResponse:
    layers, layer_errors = sf.to_layers(state)
    shown = errors or []
    users, _ = await identity.list_users(session=session, limit=1000)
    rendered = await preview(
        session, state, layers, layer_errors, schedule.id if schedule else None
    )
    return page(
        request,
        "schedule_edit.html",
        viewer,
        state=state,
        schedule=schedule,
        errors=shown,
        notice=notice,
        preview=rendered,
        users=[u for u in users if u.deactivated_at is None],
        user_names={str(u.id): u.name for u in users},
        weekdays=WEEKDAYS,
        units=list(sf.UNITS),
        status_code=status_code,
    )


async def _submit(
    request: Request, session: AsyncSession, viewer: Viewer, schedule: Schedule | None
) -> Response:
    form = await request.form()
    state = sf.from_form(form)
    intent = str(form.get("intent") or "save")
    if intent != "save":
        if intent != "preview":
            _apply(state, intent, form)
        return await _editor(request, session, viewer, state, schedule, [])
    layers, errors = sf.to_layers(state)
    errors += _timezone_errors(state)
    if not state.name:
        errors.append({"field": "name", "message": "give the schedule a name"})
    if errors:
        return await _editor(request, session, viewer, state, schedule, errors, 422)
    try:
        if schedule is None:
            created = await schedules.create_schedule(
                session=session,
                schedule_in=ScheduleCreate(
                    name=state.name,
                    description=state.description or None,
                    timezone=state.timezone,
                    layers=layers,
                ),
                actor=viewer.actor,
            )
            schedule_id = created.id
        else:
            await schedules.update_schedule(
                session=session,
                schedule_id=schedule.id,
                schedule_in=ScheduleUpdate(
                    name=state.name,
                    description=state.description or None,
                    timezone=state.timezone,
                    layers=layers,
                ),
                actor=viewer.actor,
            )
            schedule_id = schedule.id
    except (Problem, DomainError, ValidationError) as exc:
        status = 422 if isinstance(exc, ValidationError) else problem_of(exc).status
        await roll_back(session, viewer)
        if schedule is not None:
            schedule = await schedules.get_schedule(session=session, schedule_id=schedule.id)
        return await _editor(request, session, viewer, state, schedule, errors_of(exc), status)
    return see_other(f"/schedules/{schedule_id}?done=saved")


@router.get("/schedules/new", response_class=HTMLResponse)
async def new_schedule(request: Request, session: SessionDep, viewer: WebAdmin) -> Response:
    """The editor for a new schedule: one empty layer in the admin's time zone."""
    state = sf.ScheduleForm(timezone=viewer.user.timezone, layers=[sf.blank_layer(1, utcnow())])
    return await _editor(request, session, viewer, state, None, [])


@router.post("/schedules/new", response_class=HTMLResponse)
async def create_schedule(request: Request, session: SessionDep, viewer: WebAdmin) -> Response:
    """Create a schedule, or apply an editing button and show the form again."""
    return await _submit(request, session, viewer, None)


@router.post("/schedules/preview", response_class=HTMLResponse)
async def preview_fragment(request: Request, session: SessionDep, viewer: WebAdmin) -> Response:
    """Render the posted form's preview only (the editor's script calls this as you type)."""
    form = await request.form()
    state = sf.from_form(form)
    layers, errors = sf.to_layers(state)
    raw_id = str(form.get("schedule_id") or "")
    try:
        schedule_id = UUID(raw_id) if raw_id else None
    except ValueError:
        schedule_id = None
    rendered = await preview(session, state, layers, errors, schedule_id)
    return templates.TemplateResponse(
        request,
        "_schedule_preview.html",
        {"preview": rendered, "errors": errors, "user_names": {}},
        headers={"Cache-Control": "no-store"},
    )


@router.get("/schedules/{schedule_id}/edit", response_class=HTMLResponse)
async def edit_schedule(
    request: Request, session: SessionDep, viewer: WebAdmin, schedule_id: UUID
) -> Response:
    """The editor, prefilled with the schedule's layers."""
    schedule = await schedules.get_schedule(session=session, schedule_id=schedule_id)
    return await _editor(request, session, viewer, sf.from_schedule(schedule), schedule, [])


@router.post("/schedules/{schedule_id}/edit", response_class=HTMLResponse)
async def update_schedule(
    request: Request, session: SessionDep, viewer: WebAdmin, schedule_id: UUID
) -> Response:
    """Save the schedule's name, zone and layers (replacing every layer, as the API's PATCH)."""
    schedule = await schedules.get_schedule(session=session, schedule_id=schedule_id)
    return await _submit(request, session, viewer, schedule)
