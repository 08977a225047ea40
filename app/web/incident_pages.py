"""The incident page and its actions; every action is an Update to the incident's workflow."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import dependencies
from app.catalog import service as catalog
from app.deps import SessionDep, TemporalDep
from app.errors import Conflict, DomainError
from app.escalation import service as escalation
from app.identity import service as identity
from app.incidents import service as incidents
from app.incidents.models import Incident
from app.postmortems import service as postmortems
from app.problems import Problem, problem_of
from app.runbooks import runs as runbook_runs
from app.runbooks import service as runbooks
from app.web import automation_pages
from app.web.auth import Viewer, WebResponder, WebViewer
from app.web.render import WebRoute, names_of, page, see_other
from workflows import limits
from workflows.incident import IncidentWorkflow  # for its Update method references only
from workflows.incident_types import ActionIn, Actor, NoteIn, ReassignIn, ResolveIn, SnoozeIn

router = APIRouter(route_class=WebRoute, include_in_schema=False)

DONE = {
    "acknowledge": "Acknowledged: escalation stopped.",
    "resolve": "Resolved.",
    "reassign": "Reassigned.",
    "escalate": "Escalated to the next level.",
    "snooze": "Snoozed.",
    "note": "Note added.",
}
SNOOZE_CHOICES = [(900, "15 minutes"), (1800, "30 minutes"), (3600, "1 hour"), (14400, "4 hours")]


def _actor(viewer: Viewer) -> Actor:
    return Actor(type="user", id=str(viewer.user.id), via="web")


async def _render(
    request: Request,
    session: AsyncSession,
    viewer: Viewer,
    incident: Incident,
    *,
    error: str | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    settings = request.app.state.settings
    timeline = await incidents.timeline(session=session, incident_id=incident.id)
    alerts = await incidents.alerts(session=session, incident_id=incident.id)
    deliveries = await incidents.notifications(
        session=session, incident_id=incident.id, user_id=None, limit=100
    )
    ids = {str(u) for u in incident.assigned_to}
    ids |= {str(e.actor.get("id")) for e in timeline if e.actor and e.actor.get("id")}
    ids |= {str(e.detail.get("user_id")) for e in timeline if e.detail and e.detail.get("user_id")}
    ids |= {str(x) for x in (incident.acknowledged_by, incident.resolved_by) if x}
    ids |= {str(d.user_id) for d in deliveries}
    runs_here = await runbook_runs.for_incident(session=session, incident_id=incident.id)
    ids |= {str(run.started_by) for run, _ in runs_here if run.started_by}
    context: dict[str, Any] = {
        "incident": incident,
        "view": incidents.public(incident, settings),
        "service": await catalog.get_service(session=session, service_id=incident.service_id),
        "timeline": timeline,
        "alerts": alerts,
        "deliveries": deliveries,
        "people": await names_of(session, ids),
        "error": error,
        "done": DONE.get(done or ""),
        "snooze_choices": SNOOZE_CHOICES,
        "probable_causes": await dependencies.upstream_with_open_incidents(
            session, incident.service_id
        ),
    }
    context["runbook_runs"] = runs_here
    context |= await automation_pages.panel_context(session, settings, incident.id)
    context["postmortems"], _ = await postmortems.list_postmortems(
        session=session, user=viewer.user, incident_id=incident.id, limit=10
    )
    if viewer.can_act:
        context["runbooks"] = await runbooks.runnable(session=session)
        context["users"] = (await identity.list_users(session=session, limit=500))[0]
        context["policies"] = (await escalation.list_policies(session=session, limit=500))[0]
    return page(request, "incident.html", viewer, status_code=status_code, **context)


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
async def incident_page(
    request: Request,
    session: SessionDep,
    viewer: WebViewer,
    incident_id: UUID,
    done: str | None = None,
) -> Response:
    """Show an incident: state, actions, timeline, alerts and the workflow link."""
    incident = await incidents.get(session=session, incident_id=incident_id)
    return await _render(request, session, viewer, incident, done=done)


async def _act(
    request: Request,
    session: AsyncSession,
    client: Any,
    viewer: Viewer,
    incident_id: UUID,
    update: incidents.IncidentUpdate[incidents.Arg],
    arg: incidents.Arg,
    done: str,
) -> Response:
    incident = await incidents.get(session=session, incident_id=incident_id)
    try:
        if incident.status == "resolved":
            raise Conflict("the incident is already resolved")
        await incidents.act(client=client, incident=incident, update=update, arg=arg)
    except DomainError as exc:
        # Shown on the incident page itself, with the current state, instead of a bare error.
        shown = problem_of(exc)
        await session.refresh(incident)
        message = f"That did not work: {shown.detail or shown.title}."
        return await _render(
            request, session, viewer, incident, error=message, status_code=shown.status
        )
    return see_other(f"/incidents/{incident_id}?done={done}")


@router.post("/incidents/{incident_id}/acknowledge")
async def acknowledge(
    request: Request,
    session: SessionDep,
    client: TemporalDep,
    viewer: WebResponder,
    incident_id: UUID,
) -> Response:
    """Acknowledge the incident."""
    arg = ActionIn(actor=_actor(viewer))
    return await _act(
        request,
        session,
        client,
        viewer,
        incident_id,
        IncidentWorkflow.acknowledge,
        arg,
        "acknowledge",
    )


@router.post("/incidents/{incident_id}/resolve")
async def resolve(
    request: Request,
    session: SessionDep,
    client: TemporalDep,
    viewer: WebResponder,
    incident_id: UUID,
    note: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    """Resolve the incident, with an optional note."""
    arg = ResolveIn(actor=_actor(viewer), note=note.strip() or None)
    return await _act(
        request, session, client, viewer, incident_id, IncidentWorkflow.resolve, arg, "resolve"
    )


@router.post("/incidents/{incident_id}/escalate")
async def escalate(
    request: Request,
    session: SessionDep,
    client: TemporalDep,
    viewer: WebResponder,
    incident_id: UUID,
) -> Response:
    """Escalate to the next level now."""
    arg = ActionIn(actor=_actor(viewer))
    return await _act(
        request, session, client, viewer, incident_id, IncidentWorkflow.escalate, arg, "escalate"
    )


@router.post("/incidents/{incident_id}/snooze")
async def snooze(
    request: Request,
    session: SessionDep,
    client: TemporalDep,
    viewer: WebResponder,
    incident_id: UUID,
    seconds: Annotated[int, Form()],
) -> Response:
    """Snooze: quiet for a while, then trigger again."""
    refusal = limits.snooze_refusal(timedelta(seconds=seconds))
    if refusal is not None:
        raise Problem(422, "Please check your input", refusal)
    arg = SnoozeIn(actor=_actor(viewer), seconds=seconds)
    return await _act(
        request, session, client, viewer, incident_id, IncidentWorkflow.snooze, arg, "snooze"
    )


@router.post("/incidents/{incident_id}/notes")
async def add_note(
    request: Request,
    session: SessionDep,
    client: TemporalDep,
    viewer: WebResponder,
    incident_id: UUID,
    body: Annotated[str, Form(min_length=1, max_length=10_000)],
) -> Response:
    """Add a note to the timeline."""
    if not body.strip():
        raise Problem(422, "Please check your input", "the note is empty")
    arg = NoteIn(actor=_actor(viewer), body=body.strip())
    return await _act(
        request, session, client, viewer, incident_id, IncidentWorkflow.add_note, arg, "note"
    )


@router.post("/incidents/{incident_id}/reassign")
async def reassign(
    request: Request,
    session: SessionDep,
    client: TemporalDep,
    viewer: WebResponder,
    incident_id: UUID,
    target: Annotated[str, Form(max_length=100)],
) -> Response:
    """Reassign to one person (paged now) or to an escalation policy (from level 1)."""
    kind, _, raw = target.partition(":")
    try:
        target_id = UUID(raw)
    except ValueError:
        raise Problem(422, "Please check your input", "choose a person or a policy") from None
    if kind == "user":
        await identity.get_user(session=session, user_id=target_id)
        arg = ReassignIn(actor=_actor(viewer), user_ids=[str(target_id)])
    elif kind == "policy":
        await escalation.get_policy(session=session, policy_id=target_id)
        arg = ReassignIn(actor=_actor(viewer), escalation_policy_id=str(target_id))
    else:
        raise Problem(422, "Please check your input", "choose a person or a policy")
    return await _act(
        request, session, client, viewer, incident_id, IncidentWorkflow.reassign, arg, "reassign"
    )
