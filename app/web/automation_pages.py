"""Automation pages: the list with its enabled switch, the builder, the dry run, and the
incident page's runs panel with its re-run button.

The builder's script posts the automation as the API's JSON (the form's `definition` field)
to these handlers, which call the automations service, so a refusal comes back as an RFC 7807
problem whose field errors name the step field (`steps.1.then.0.url`); without the script the
same field is a JSON text area and a refusal re-renders the page with what was typed.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.automations import dryrun, runs
from app.automations import service as automations
from app.automations.library import BY_KEY, TEMPLATES
from app.catalog import service as catalog
from app.config import Settings
from app.connections import service as connections
from app.deps import SessionDep, SettingsDep, TemporalDep
from app.errors import DomainError, NotFound, invalid
from app.identity import service as identity
from app.incidents import service as incidents
from app.problems import Problem, problem_of
from app.runbooks import service as runbooks
from app.schedules import service as schedules
from app.statuspages import service as statuspages
from app.statuspages.models import IncidentStatus
from app.web.auth import Viewer, WebAdmin, WebResponder
from app.web.forms import errors_of, roll_back
from app.web.render import WebRoute, page, see_other

router = APIRouter(route_class=WebRoute, include_in_schema=False)

EVENTS = {
    "incident.triggered": "incident triggered",
    "incident.acknowledged": "incident acknowledged",
    "incident.resolved": "incident resolved",
    "incident.escalated": "incident escalated",
    "incident.severity_changed": "severity changed",
    "incident.unacknowledged": "unacknowledged for a while",
}
OPS = {
    "eq": "equals",
    "neq": "does not equal",
    "in": "is one of",
    "not_in": "is none of",
    "contains": "contains",
    "matches": "matches (regex)",
    "gte": "at least",
    "lte": "at most",
}
FIELDS = {
    "severity": "severity",
    "urgency": "urgency",
    "service_id": "service",
    "team_id": "team",
    "title": "title",
    "escalation_level": "escalation level",
    "status": "status",
}
STEP_TYPES = {
    "webhook": "Webhook",
    "slack_message": "Slack message",
    "jira_issue": "Jira issue",
    "linear_issue": "Linear issue",
    "add_note": "Add note",
    "page": "Page more people",
    "set_severity": "Set severity",
    "status_page_update": "Status page update",
    "run_runbook": "Run runbook",
    "escalate": "Escalate",
    "resolve": "Resolve",
    "wait": "Wait",
    "if": "If / else",
}
SEVERITIES = ["critical", "error", "warning", "info"]
BLANK: dict[str, Any] = {
    "name": "",
    "enabled": True,
    "trigger": {"event": "incident.triggered"},
    "conditions": [],
    "steps": [],
    "run_once_per_incident": True,
}


def _wants_problem(request: Request) -> bool:
    """Whether the builder's script posted and wants a refusal as problem+json."""
    return "application/problem+json" in request.headers.get("accept", "")


def step_summary(steps: list[Any]) -> str:
    """One line for the list: `Webhook → If / else (Jira issue | Add note)`."""
    parts = []
    for step in steps:
        data = step if isinstance(step, dict) else step.model_dump(mode="json", by_alias=True)
        kind = str(data.get("type", "?"))
        label = STEP_TYPES.get(kind, kind)
        if kind == "if":
            then = step_summary(list(data.get("then") or [])) or "nothing"
            other = step_summary(list(data.get("else") or [])) or "nothing"
            label = f"{label} ({then} | {other})"
        parts.append(label)
    return " → ".join(parts)


def _id(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise NotFound("there is no such automation") from None


def _incident_id(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise invalid([{"field": "incident_id", "message": "choose one from the list"}]) from None


def _definition(text: str) -> dict[str, Any]:
    """Parse the posted JSON; a mistake is a 422 naming the field."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise invalid(
            [{"field": "definition", "message": f"not JSON: {exc.msg} at line {exc.lineno}"}]
        ) from None
    if not isinstance(data, dict):
        raise invalid([{"field": "definition", "message": "must be a JSON object"}])
    return data


async def lookups(session: AsyncSession) -> dict[str, Any]:
    """What the builder offers in its lists (names for ids), in one go."""

    def pairs(rows: list[Any]) -> list[dict[str, str]]:
        return [{"value": str(r.id), "label": str(r.name)} for r in rows]

    services, _ = await catalog.list_services(session=session, limit=500)
    teams, _ = await identity.list_teams(session=session, limit=500)
    users, _ = await identity.list_users(session=session, limit=500)
    scheds, _ = await schedules.list_schedules(session=session, limit=500)
    pages, _ = await statuspages.list_pages(session=session, limit=500)
    return {
        "events": [{"value": k, "label": v} for k, v in EVENTS.items()],
        "ops": [{"value": k, "label": v} for k, v in OPS.items()],
        "fields": [{"value": k, "label": v} for k, v in FIELDS.items()],
        "step_types": [{"value": k, "label": v} for k, v in STEP_TYPES.items()],
        "severities": SEVERITIES,
        "status_page_statuses": [s.value for s in IncidentStatus],
        "page_target_types": ["user"],
        "services": pairs(services),
        "teams": pairs(teams),
        "users": pairs([u for u in users if u.deactivated_at is None]),
        "schedules": pairs(scheds),
        "runbooks": pairs(await runbooks.list_runbooks(session=session)),
        "status_pages": pairs(pages),
        "connections": [
            {"value": str(c.id), "label": c.name, "id": str(c.id), "name": c.name, "type": c.type}
            for c in await connections.list_connections(session=session)
        ],
    }


async def _builder(
    request: Request,
    session: AsyncSession,
    viewer: Viewer,
    *,
    definition: str,
    automation_id: UUID | None = None,
    name: str = "",
    template_name: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    needs: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    return page(
        request,
        "automation_edit.html",
        viewer,
        status_code=status_code,
        definition=definition,
        automation_id=automation_id,
        automation_name=name,
        template_name=template_name,
        errors=errors or [],
        lookups={**await lookups(session), "needs": needs or []},
        incidents=(await incidents.list_incidents(session=session, limit=50))[0],
    )


def _editable(view: Any) -> dict[str, Any]:
    """The automation as the builder edits it: the API's body without read-only fields."""
    data: dict[str, Any] = view.model_dump(mode="json", exclude_none=True)
    for key in ("id", "version", "created_at", "updated_at", "created_by"):
        data.pop(key, None)
    return data


@router.get("/automations", response_class=HTMLResponse)
async def automations_page(request: Request, session: SessionDep, viewer: WebAdmin) -> Response:
    """List automations (admins, as the API); switch them on and off, start from templates."""
    rows = [automations.public(a) for a in await automations.list_automations(session=session)]
    return page(
        request,
        "automations.html",
        viewer,
        automations=rows,
        events=EVENTS,
        step_summary=step_summary,
        library=TEMPLATES,
    )


@router.get("/automations/new", response_class=HTMLResponse)
async def new_automation(
    request: Request, session: SessionDep, viewer: WebAdmin, template: str | None = None
) -> Response:
    """The builder, blank or filled in from a template of the library."""
    data: dict[str, Any] = dict(BLANK)
    template_name = None
    needs: list[str] = []
    if template:
        chosen = BY_KEY.get(template)
        if chosen is None:
            raise NotFound(f"there is no template {template!r}")
        data = {"name": chosen.name, "enabled": True, **chosen.definition}
        template_name = chosen.name
        needs = chosen.needs
    return await _builder(
        request,
        session,
        viewer,
        definition=json.dumps(data, indent=2),
        template_name=template_name,
        needs=needs,
    )


async def _save(
    request: Request,
    session: AsyncSession,
    settings: Any,
    viewer: Viewer,
    definition: str,
    automation_id: UUID | None,
) -> Response:
    try:
        data = _definition(definition)
        if automation_id is None:
            saved = await automations.create(
                session=session, settings=settings, body=data, actor=viewer.actor
            )
        else:
            saved = await automations.update(
                session=session,
                settings=settings,
                automation_id=automation_id,
                body=data,
                actor=viewer.actor,
            )
    except (Problem, DomainError, ValidationError) as exc:
        if _wants_problem(request):
            raise  # the builder shows it at the fields (the page route answers problem+json)
        status = 422 if isinstance(exc, ValidationError) else problem_of(exc).status
        await roll_back(session, viewer)
        return await _builder(
            request,
            session,
            viewer,
            definition=definition,
            automation_id=automation_id,
            errors=errors_of(exc),
            status_code=status,
        )
    return see_other(f"/automations?done=saved#automation-{saved.id}")


@router.post("/automations/new", response_class=HTMLResponse)
async def create_automation(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: WebAdmin,
    definition: Annotated[str, Form(max_length=200_000)],
) -> Response:
    """Create an automation from the builder's JSON."""
    return await _save(request, session, settings, viewer, definition, None)


@router.get("/automations/dry-run", response_class=HTMLResponse)
async def dry_run_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: WebAdmin,
    incident_id: str | None = None,
    automation_id: str | None = None,
) -> Response:
    """Pick an incident: which automations would fire for it, and what each template renders to
    (every enabled automation, or the one whose builder linked here)."""
    recent, _ = await incidents.list_incidents(session=session, limit=50)
    chosen = None
    result = None
    error = None
    automation = None
    if automation_id:
        automation = await automations.get(session=session, automation_id=_id(automation_id))
    if incident_id:
        try:
            chosen = await incidents.get(session=session, incident_id=UUID(incident_id))
        except ValueError:
            error = "incident: choose one from the list"
        if chosen is not None:
            body: dict[str, Any] = {"incident_id": str(chosen.id)}
            if automation is not None:
                body["automation_id"] = str(automation.id)
            result = await dryrun.dry_run(session=session, settings=settings, body=body)
    return page(
        request,
        "automation_dry_run.html",
        viewer,
        incidents=recent,
        chosen=chosen,
        automation=automation,
        result=result,
        error=error,
        events=EVENTS,
        step_types=STEP_TYPES,
        status_code=422 if error else 200,
    )


@router.post("/automations/dry-run", response_class=HTMLResponse)
async def dry_run_draft(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: WebAdmin,
    definition: Annotated[str, Form(max_length=200_000)],
    incident_id: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Dry-run the builder's unsaved draft on an incident (the builder opens it in a new tab)."""
    recent, _ = await incidents.list_incidents(session=session, limit=50)
    chosen = None
    result = None
    errors: list[dict[str, Any]] = []
    status = 200
    try:
        chosen = await incidents.get(session=session, incident_id=_incident_id(incident_id))
        result = await dryrun.dry_run(
            session=session,
            settings=settings,
            body={"incident_id": str(chosen.id), "definition": _definition(definition)},
        )
    except (Problem, DomainError) as exc:
        errors = errors_of(exc)
        status = problem_of(exc).status
    return page(
        request,
        "automation_dry_run.html",
        viewer,
        incidents=recent,
        chosen=chosen,
        automation=None,
        draft=True,
        result=result,
        errors=errors,
        events=EVENTS,
        step_types=STEP_TYPES,
        status_code=status,
    )


@router.get("/automations/{automation_id}", response_class=HTMLResponse)
async def edit_automation(
    request: Request, session: SessionDep, viewer: WebAdmin, automation_id: UUID
) -> Response:
    """The builder for an existing automation."""
    view = automations.public(await automations.get(session=session, automation_id=automation_id))
    return await _builder(
        request,
        session,
        viewer,
        definition=json.dumps(_editable(view), indent=2),
        automation_id=automation_id,
        name=view.name,
    )


@router.post("/automations/{automation_id}", response_class=HTMLResponse)
async def update_automation(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: WebAdmin,
    automation_id: UUID,
    definition: Annotated[str, Form(max_length=200_000)],
) -> Response:
    """Save the builder's JSON over an automation (a new version; running plays keep theirs)."""
    return await _save(request, session, settings, viewer, definition, automation_id)


@router.post("/automations/{automation_id}/enabled")
async def set_enabled(
    session: SessionDep,
    settings: SettingsDep,
    viewer: WebAdmin,
    automation_id: UUID,
    enabled: Annotated[str, Form(pattern="^(true|false)$")],
) -> Response:
    """Switch an automation on or off."""
    on = enabled == "true"
    await automations.update(
        session=session,
        settings=settings,
        automation_id=automation_id,
        body={"enabled": on},
        actor=viewer.actor,
    )
    return see_other(f"/automations?done={'enabled' if on else 'disabled'}")


@router.post("/automations/{automation_id}/delete")
async def delete_automation(session: SessionDep, viewer: WebAdmin, automation_id: UUID) -> Response:
    """Delete an automation."""
    await automations.delete(session=session, automation_id=automation_id, actor=viewer.actor)
    return see_other("/automations?done=deleted")


async def panel_context(
    session: AsyncSession, settings: Settings, incident_id: UUID
) -> dict[str, Any]:
    """What `automation_runs_panel.html` needs: the incident's runs, their automations' names.

    The incident page's handler merges this into its context and includes the partial."""
    return {
        "automation_runs": await runs.for_incident(
            session=session, settings=settings, incident_id=incident_id
        )
    }


@router.post("/incidents/{incident_id}/automation-runs/{run_id}/rerun")
async def rerun(
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    viewer: WebResponder,
    incident_id: UUID,
    run_id: UUID,
    new_keys: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Run a failed automation run again: the same idempotency keys (the far end can drop a
    repeat) unless new ones are asked for."""
    await runs.rerun(
        session=session,
        settings=settings,
        client=client,
        run_id=run_id,
        same_keys=new_keys != "on",
        actor=viewer.actor,
    )
    return see_other(f"/incidents/{incident_id}?done=rerun#incident-automation-runs")
