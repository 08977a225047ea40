"""Runbook pages: list, editor and versions with approval (admins); run from an incident."""

from __future__ import annotations

import json
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from app.deps import SessionDep, SettingsDep, TemporalDep
from app.errors import DomainError, invalid
from app.incidents import service as incidents
from app.runbooks import definition as rules
from app.runbooks import runs
from app.runbooks import service as runbooks
from app.runbooks.models import Definition, Parameter, RunbookCreate, RunbookUpdate, RunCreate
from app.temporal import LazyClient
from app.web.auth import WebAdmin, WebResponder, WebViewer
from app.web.render import WebRoute, names_of, page, see_other

router = APIRouter(route_class=WebRoute, include_in_schema=False)

STARTER = Definition(
    url="https://runner.example.com/run",
    headers={"Content-Type": "application/json"},
    body='{"command": "restart-{{ params.unit }}", "incident": {{ incident.number }}}',
    parameters=[Parameter(name="unit", type="choice", required=True, choices=["web", "db"])],
)


def _definition(text: str) -> Definition:
    """Parse the editor's JSON; a mistake is a 422 naming the field."""
    try:
        return Definition.model_validate_json(text)
    except ValidationError as exc:
        raise invalid(
            [
                {"field": "definition." + ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                for e in exc.errors(include_input=False, include_url=False)
            ]
        ) from None


def _parameters(definition: Definition, form: dict[str, Any]) -> dict[str, Any]:
    """Turn form fields `p.<name>` into typed values (the service checks them)."""
    raw = {p.name: form.get(f"p.{p.name}") for p in definition.parameters}
    return rules.from_text(definition, {k: None if v is None else str(v) for k, v in raw.items()})


@router.get("/runbooks", response_class=HTMLResponse)
async def runbooks_page(request: Request, session: SessionDep, viewer: WebViewer) -> Response:
    """List runbooks; admins may add one."""
    rows = [
        await runbooks.public(session, r) for r in await runbooks.list_runbooks(session=session)
    ]
    starter = json.dumps(STARTER.model_dump(mode="json"), indent=2)
    return page(request, "runbooks.html", viewer, runbooks=rows, starter=starter)


@router.post("/runbooks")
async def add_runbook(
    session: SessionDep,
    settings: SettingsDep,
    viewer: WebAdmin,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    definition: Annotated[str, Form(min_length=2, max_length=50_000)],
    secret: Annotated[str, Form(min_length=16, max_length=500)],
    description: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """Store a runbook as a draft."""
    created = await runbooks.create(
        session=session,
        settings=settings,
        runbook_in=RunbookCreate(
            name=name.strip(),
            description=description,
            definition=_definition(definition),
            secret=secret,
        ),
        actor=viewer.actor,
    )
    return see_other(f"/runbooks/{created.id}")


@router.get("/runbooks/{runbook_id}", response_class=HTMLResponse)
async def runbook_page(
    request: Request, session: SessionDep, viewer: WebViewer, runbook_id: UUID
) -> Response:
    """Show a runbook, its editor and its versions."""
    runbook = await runbooks.get(session=session, runbook_id=runbook_id)
    versions = await runbooks.list_versions(session=session, runbook_id=runbook_id)
    people = await names_of(
        session, {str(x) for v in versions for x in (v.author_id, v.approver_id) if x}
    )
    view = await runbooks.public(session, runbook)
    return page(
        request,
        "runbook.html",
        viewer,
        runbook=view,
        versions=[runbooks.version_public(v) for v in versions],
        people=people,
        editing=json.dumps(view.definition.model_dump(mode="json"), indent=2),
    )


@router.post("/runbooks/{runbook_id}")
async def edit_runbook(
    session: SessionDep,
    settings: SettingsDep,
    viewer: WebAdmin,
    runbook_id: UUID,
    definition: Annotated[str, Form(min_length=2, max_length=50_000)],
    description: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """Save an edit: a changed definition is a new draft version."""
    await runbooks.update(
        session=session,
        settings=settings,
        runbook_id=runbook_id,
        runbook_in=RunbookUpdate(description=description, definition=_definition(definition)),
        actor=viewer.actor,
    )
    return see_other(f"/runbooks/{runbook_id}")


@router.post("/runbooks/{runbook_id}/{action}")
async def change_state(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: WebAdmin,
    runbook_id: UUID,
    action: str,
    version: Annotated[int, Form(ge=0)] = 0,
) -> Response:
    """Approve or roll back to a version, or deprecate."""
    if action == "approve":
        await runbooks.approve(
            session=session,
            settings=settings,
            runbook_id=runbook_id,
            version=version,
            actor=viewer.actor,
        )
    elif action == "rollback":
        await runbooks.rollback(
            session=session,
            settings=settings,
            runbook_id=runbook_id,
            version=version,
            actor=viewer.actor,
        )
    elif action == "deprecate":
        await runbooks.deprecate(session=session, runbook_id=runbook_id, actor=viewer.actor)
        temporal: LazyClient = request.app.state.temporal
        await runs.cancel_running(session=session, temporal=temporal, runbook_id=runbook_id)
    else:
        return Response(status_code=404)
    return see_other(f"/runbooks/{runbook_id}")


@router.get("/incidents/{incident_id}/runbooks/{runbook_id}", response_class=HTMLResponse)
async def confirm_page(
    request: Request,
    session: SessionDep,
    viewer: WebResponder,
    incident_id: UUID,
    runbook_id: UUID,
) -> Response:
    """Confirm a run: the version, its approver and the request it renders to."""
    incident = await incidents.get(session=session, incident_id=incident_id)
    runbook = await runbooks.get(session=session, runbook_id=runbook_id)
    _, _, definition = await runs.approved_definition(session, runbook)
    given = _parameters(definition, dict(request.query_params))
    error = None
    preview: dict[str, Any] | None = None
    try:
        preview = await runs.preview(
            session=session,
            incident_id=incident_id,
            run_in=RunCreate(runbook_id=runbook_id, parameters=given),
        )
    except DomainError as exc:  # shown next to the form: the person fixes the parameters
        error = exc.detail
    approver = (preview or {}).get("approver_id")
    people = await names_of(session, {str(approver)} if approver else set())
    return page(
        request,
        "runbook_run_confirm.html",
        viewer,
        incident=incident,
        runbook=runbook,
        definition=definition,
        given=given,
        preview=preview,
        approver=people.get(str(approver), "unknown") if approver else None,
        error=error,
    )


@router.post("/incidents/{incident_id}/runbooks/{runbook_id}")
async def run_runbook(
    request: Request,
    session: SessionDep,
    client: TemporalDep,
    viewer: WebResponder,
    incident_id: UUID,
    runbook_id: UUID,
) -> Response:
    """Start the run that was confirmed; show its progress."""
    runbook = await runbooks.get(session=session, runbook_id=runbook_id)
    _, _, definition = await runs.approved_definition(session, runbook)
    form = dict(await request.form())
    run = await runs.start(
        session=session,
        client=client,
        incident_id=incident_id,
        run_in=RunCreate(runbook_id=runbook_id, parameters=_parameters(definition, form)),
        actor=viewer.actor,
    )
    return see_other(f"/runbook-runs/{run.id}")


@router.get("/runbook-runs/{run_id}", response_class=HTMLResponse)
async def run_page(
    request: Request, session: SessionDep, viewer: WebViewer, run_id: UUID
) -> Response:
    """Show a run's progress (the page refreshes itself while the run goes on)."""
    run = await runs.get(session=session, run_id=run_id)
    runbook = await runbooks.get(session=session, runbook_id=run.runbook_id)
    return page(request, "runbook_run.html", viewer, run=run, runbook=runbook)


@router.post("/runbook-runs/{run_id}/cancel")
async def cancel_run(
    session: SessionDep, client: TemporalDep, viewer: WebResponder, run_id: UUID
) -> Response:
    """Ask the run to stop."""
    await runs.cancel(session=session, client=client, run_id=run_id, actor=viewer.actor)
    return see_other(f"/runbook-runs/{run_id}")
