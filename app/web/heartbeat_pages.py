"""Heartbeat monitors in the web UI: list, create (the ping URL shown once), edit, delete."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from app.catalog import service as catalog
from app.db import utcnow
from app.deps import SessionDep, SettingsDep
from app.heartbeats import service as heartbeats
from app.heartbeats.models import Heartbeat, HeartbeatCreate, HeartbeatUpdate
from app.problems import Problem
from app.web.auth import Viewer, WebAdmin, WebViewer
from app.web.render import WebRoute, field_errors, page, see_other

router = APIRouter(route_class=WebRoute, include_in_schema=False)
DONE = {"saved": "Monitor saved.", "deleted": "Monitor deleted; its open incident resolves."}


def state(hb: Heartbeat, now: datetime) -> str:
    """Return what the list says of a monitor: waiting for a first ping, ok, or overdue."""
    since = hb.last_ping_at or hb.created_at or now
    overdue = now > since + timedelta(seconds=hb.interval_seconds + hb.grace_seconds)
    if overdue:
        return "overdue"
    return "ok" if hb.last_ping_at else "waiting for the first ping"


async def _page(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    service_id: UUID,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    svc = await catalog.get_service(session=session, service_id=service_id)
    rows = await heartbeats.list_heartbeats(session=session, service_id=service_id)
    now = utcnow()
    return page(
        request,
        "heartbeats.html",
        viewer,
        status_code=status_code,
        service=svc,
        monitors=[(hb, state(hb, now)) for hb in rows],
        **extra,
    )


@router.get("/services/{service_id}/heartbeats", response_class=HTMLResponse)
async def heartbeats_page(
    request: Request, session: SessionDep, viewer: WebViewer, service_id: UUID, done: str = ""
) -> Response:
    """List a service's monitors: last ping and state; admins add, change and delete them."""
    return await _page(request, session, viewer, service_id, done=DONE.get(done))


@router.post("/services/{service_id}/heartbeats", response_class=HTMLResponse)
async def create_heartbeat(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: WebAdmin,
    service_id: UUID,
    name: Annotated[str, Form(max_length=200)],
    interval: Annotated[float, Form()],
    grace: Annotated[float, Form()] = 0,
) -> Response:
    """Create a monitor and show its ping URL, this once."""
    try:
        heartbeat_in = HeartbeatCreate(
            name=name.strip(), interval=timedelta(seconds=interval), grace=timedelta(seconds=grace)
        )
    except ValidationError as exc:
        raise Problem(422, "Please check your input", field_errors(exc)) from None
    created = await heartbeats.create_heartbeat(
        session=session,
        client=await request.app.state.temporal.get(),
        settings=settings,
        service_id=service_id,
        heartbeat_in=heartbeat_in,
        actor=viewer.actor,
    )
    return await _page(request, session, viewer, service_id, status_code=201, created=created)


@router.post("/services/{service_id}/heartbeats/{heartbeat_id}")
async def update_heartbeat(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: WebAdmin,
    service_id: UUID,
    heartbeat_id: UUID,
    name: Annotated[str, Form(max_length=200)],
    interval: Annotated[float, Form()],
    grace: Annotated[float, Form()] = 0,
) -> Response:
    """Change a monitor's name, interval or grace (its timer restarts)."""
    try:
        heartbeat_in = HeartbeatUpdate(
            name=name.strip(), interval=timedelta(seconds=interval), grace=timedelta(seconds=grace)
        )
    except ValidationError as exc:
        raise Problem(422, "Please check your input", field_errors(exc)) from None
    await heartbeats.update_heartbeat(
        session=session,
        client=await request.app.state.temporal.get(),
        settings=settings,
        service_id=service_id,
        heartbeat_id=heartbeat_id,
        heartbeat_in=heartbeat_in,
        actor=viewer.actor,
    )
    return see_other(f"/services/{service_id}/heartbeats?done=saved")


@router.post("/services/{service_id}/heartbeats/{heartbeat_id}/delete")
async def delete_heartbeat(
    request: Request, session: SessionDep, viewer: WebAdmin, service_id: UUID, heartbeat_id: UUID
) -> Response:
    """Delete a monitor: its workflow resolves its open incident and ends."""
    await heartbeats.delete_heartbeat(
        session=session,
        client=await request.app.state.temporal.get(),
        service_id=service_id,
        heartbeat_id=heartbeat_id,
        actor=viewer.actor,
    )
    return see_other(f"/services/{service_id}/heartbeats?done=deleted")
