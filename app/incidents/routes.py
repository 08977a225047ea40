"""HTTP routes for incidents: list, detail, alerts, timeline, manual open, actions, live events."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, FastAPI, Query, Request, Response, status
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel
from starlette.background import BackgroundTask

from app.catalog import service as catalog
from app.deps import (
    CurrentUser,
    ResponderUser,
    SessionDep,
    SettingsDep,
    TemporalDep,
    get_sessionmaker,
)
from app.escalation import service as escalation
from app.identity import service as identity
from app.identity.models import User
from app.incidents import events, service
from app.incidents.models import (
    AlertPublic,
    IncidentCreate,
    IncidentPublic,
    NoteBody,
    NotificationPublic,
    ReassignBody,
    ResolveBody,
    SnoozeBody,
    TimelineEventPublic,
)
from app.problems import Problem
from workflows import limits
from workflows.incident import IncidentWorkflow  # for its Update method references only
from workflows.incident_types import (
    ActionIn,
    Actor,
    AlertIn,
    NoteIn,
    ReassignIn,
    ResolveIn,
    SnoozeIn,
)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The live-event hub's listening connection closes with the app."""
    try:
        yield
    finally:
        hub = getattr(app.state, "event_hub", None)
        if hub is not None:
            await hub.close()


router = APIRouter(prefix="/api/v1", tags=["incidents"], lifespan=_lifespan)


class IncidentPage(BaseModel):
    data: list[IncidentPublic]
    next_cursor: str | None


def _actor(user: User) -> Actor:
    return Actor(type="user", id=str(user.id), via="api")


@router.get("/incidents", response_model=IncidentPage)
async def list_incidents(
    session: SessionDep,
    settings: SettingsDep,
    _: CurrentUser,
    status_: Annotated[list[str] | None, Query(alias="status")] = None,
    service_id: UUID | None = None,
    assigned_to: UUID | None = None,
    since: datetime | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> IncidentPage:
    """List incidents, newest first, with filters and cursor pagination."""
    allowed = {"triggered", "acknowledged", "resolved"}
    statuses = [s for part in status_ or [] for s in part.split(",") if s]
    if bad := [s for s in statuses if s not in allowed]:
        raise Problem(
            422,
            "Invalid request",
            f"unknown status {', '.join(bad)}",
            type_="/problems/validation",
            errors=[{"field": "query.status", "message": f"one of {sorted(allowed)}"}],
        )
    rows, next_cursor = await service.list_incidents(
        session=session,
        status=statuses or None,
        service_id=service_id,
        assigned_to=assigned_to,
        since=since,
        q=q,
        cursor=cursor,
        limit=limit,
    )
    return IncidentPage(data=[service.public(r, settings) for r in rows], next_cursor=next_cursor)


@router.post(
    "/incidents",
    response_model=IncidentPublic,
    status_code=status.HTTP_201_CREATED,
    responses={202: {"description": "accepted; the incident is being opened"}},
)
async def open_incident(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    user: ResponderUser,
    body: IncidentCreate,
) -> Any:
    """Open an incident by hand; it escalates like any other."""
    svc = await catalog.get_service(session=session, service_id=body.service_id)
    if svc.status == "archived":
        raise Problem(409, "Conflict", "the service is archived", type_="/problems/conflict")
    alert_id = str(uuid.uuid4())
    alert = AlertIn(
        id=alert_id,
        summary=body.title,
        severity=body.severity,
        dedup_key=body.dedup_key or f"manual-{alert_id}",
        details=body.details,
        received_at=datetime.now().astimezone(),
        source="manual",
        actor=_actor(user),
    )
    since = datetime.now().astimezone() - timedelta(seconds=1)
    wid = await service.signal_alert(client=client, settings=settings, service=svc, alert=alert)
    incident = await service.wait_for_incident(
        sessionmaker=get_sessionmaker(request), workflow_id=wid, since=since
    )
    if incident is None:
        return JSONResponse({"status": "accepted", "workflow_id": wid}, status_code=202)
    return service.public(incident, settings)


@router.get("/incidents/{incident_id}", response_model=IncidentPublic)
async def get_incident(
    session: SessionDep, settings: SettingsDep, _: CurrentUser, incident_id: UUID
) -> IncidentPublic:
    """Return one incident."""
    return service.public(await service.get(session=session, incident_id=incident_id), settings)


@router.get("/incidents/{incident_id}/alerts", response_model=list[AlertPublic])
async def incident_alerts(
    session: SessionDep, _: CurrentUser, incident_id: UUID
) -> list[AlertPublic]:
    """Return the alerts of an incident, oldest first, with their payload details."""
    rows = await service.alerts(session=session, incident_id=incident_id)
    return [AlertPublic.model_validate(a, from_attributes=True) for a in rows]


@router.get("/incidents/{incident_id}/timeline", response_model=list[TimelineEventPublic])
async def incident_timeline(
    session: SessionDep, _: CurrentUser, incident_id: UUID
) -> list[TimelineEventPublic]:
    """Return the timeline of an incident in order."""
    rows = await service.timeline(session=session, incident_id=incident_id)
    return [TimelineEventPublic.model_validate(e, from_attributes=True) for e in rows]


async def _act(
    session: SessionDep,
    settings: SettingsDep,
    client: Any,
    incident_id: UUID,
    update: service.IncidentUpdate[service.Arg],
    arg: service.Arg,
) -> IncidentPublic:
    incident = await service.get(session=session, incident_id=incident_id)
    if incident.status == "resolved":
        raise Problem(
            409,
            "Conflict",
            "the incident is resolved",
            type_="/problems/conflict",
            incident_status="resolved",
        )
    view = await service.act(client=client, incident=incident, update=update, arg=arg)
    await session.refresh(incident)
    out = service.public(incident, settings).model_dump()
    # The workflow's answer is the truth; the projection may be a moment behind it.
    for key in (
        "status",
        "escalation_level",
        "assigned_to",
        "alert_count",
        "acknowledged_at",
        "acknowledged_by",
        "resolved_at",
        "resolved_by",
        "snoozed_until",
    ):
        out[key] = view[key]
    return IncidentPublic.model_validate(out)


@router.post("/incidents/{incident_id}/acknowledge", response_model=IncidentPublic)
async def acknowledge(
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    user: ResponderUser,
    incident_id: UUID,
) -> IncidentPublic:
    """Acknowledge: stop the escalation and pending notifications."""
    return await _act(
        session,
        settings,
        client,
        incident_id,
        IncidentWorkflow.acknowledge,
        ActionIn(actor=_actor(user)),
    )


@router.post("/incidents/{incident_id}/resolve", response_model=IncidentPublic)
async def resolve(
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    user: ResponderUser,
    incident_id: UUID,
    body: ResolveBody | None = None,
) -> IncidentPublic:
    """Resolve, with an optional note."""
    arg = ResolveIn(actor=_actor(user), note=body.note if body else None)
    return await _act(session, settings, client, incident_id, IncidentWorkflow.resolve, arg)


@router.post("/incidents/{incident_id}/reassign", response_model=IncidentPublic)
async def reassign(
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    user: ResponderUser,
    incident_id: UUID,
    body: ReassignBody,
) -> IncidentPublic:
    """Reassign to users (paged now) or to another escalation policy (from level 1)."""
    refusal = limits.reassign_refusal(body.user_ids, body.escalation_policy_id)
    if refusal is not None:
        raise Problem(422, "Invalid request", refusal, type_="/problems/validation")
    if body.user_ids:
        await _check_users(session, body.user_ids)
    if body.escalation_policy_id:
        await escalation.get_policy(session=session, policy_id=body.escalation_policy_id)
    arg = ReassignIn(
        actor=_actor(user),
        user_ids=[str(u) for u in body.user_ids or []] or None,
        escalation_policy_id=str(body.escalation_policy_id) if body.escalation_policy_id else None,
    )
    return await _act(session, settings, client, incident_id, IncidentWorkflow.reassign, arg)


async def _check_users(session: SessionDep, user_ids: list[UUID]) -> None:
    for user_id in user_ids:
        if await session.get(User, user_id) is None:
            raise Problem(
                422,
                "Invalid request",
                f"user {user_id} does not exist",
                type_="/problems/validation",
                errors=[{"field": "body.user_ids", "message": f"unknown user {user_id}"}],
            )


@router.post("/incidents/{incident_id}/escalate", response_model=IncidentPublic)
async def escalate(
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    user: ResponderUser,
    incident_id: UUID,
) -> IncidentPublic:
    """Escalate to the next level now."""
    return await _act(
        session,
        settings,
        client,
        incident_id,
        IncidentWorkflow.escalate,
        ActionIn(actor=_actor(user)),
    )


@router.post("/incidents/{incident_id}/snooze", response_model=IncidentPublic)
async def snooze(
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    user: ResponderUser,
    incident_id: UUID,
    body: SnoozeBody,
) -> IncidentPublic:
    """Snooze: quiet for a while, then trigger again."""
    arg = SnoozeIn(actor=_actor(user), seconds=body.duration.total_seconds())
    return await _act(session, settings, client, incident_id, IncidentWorkflow.snooze, arg)


@router.post("/incidents/{incident_id}/notes", response_model=IncidentPublic)
async def add_note(
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    user: ResponderUser,
    incident_id: UUID,
    body: NoteBody,
) -> IncidentPublic:
    """Add a note to the timeline."""
    arg = NoteIn(actor=_actor(user), body=body.body)
    return await _act(session, settings, client, incident_id, IncidentWorkflow.add_note, arg)


@router.get("/notifications", response_model=list[NotificationPublic])
async def list_notifications(
    session: SessionDep,
    _: CurrentUser,
    incident_id: UUID | None = None,
    user_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[NotificationPublic]:
    """Return the delivery log: one row per attempt to reach someone."""
    rows = await service.notifications(
        session=session, incident_id=incident_id, user_id=user_id, limit=limit
    )
    return [NotificationPublic.model_validate(n, from_attributes=True) for n in rows]


@router.get("/events", response_class=StreamingResponse)
async def incident_events(request: Request, user: CurrentUser, settings: SettingsDep) -> Response:
    """Stream incident changes as Server-Sent Events (ends once the token is revoked)."""
    sub = events.hub_of(request.app).subscribe(user.id)
    token = request.headers.get("authorization", "").partition(" ")[2].strip()
    sessionmaker = get_sessionmaker(request)

    async def token_still_valid() -> bool:
        async with sessionmaker() as session:
            found = await identity.authenticate_token(session=session, token=token)
            await session.commit()
        return found is not None

    return StreamingResponse(
        events.stream(
            sub,
            still_allowed=token_still_valid,
            recheck=settings.stream_recheck.total_seconds(),
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        background=BackgroundTask(sub.close),
    )
