"""HTTP routes: automations (admins), the template library, runs per incident, re-run, dry run."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Body, Response

from app.automations import dryrun, runs, service
from app.automations.library import TEMPLATES
from app.automations.models import AutomationPublic, RerunIn, RunPublic, TemplatePublic
from app.deps import (
    AdminUser,
    CurrentUser,
    ResponderUser,
    SessionDep,
    SettingsDep,
    TemporalDep,
    actor_of,
)
from app.models_common import Page

router = APIRouter(prefix="/api/v1", tags=["automations"])
# The body is validated by the service (field paths such as `steps[2].type` in 422s).
DefinitionBody = Body(
    ...,
    examples=[
        {
            "name": "Jira for critical",
            "trigger": {"event": "incident.triggered"},
            "conditions": [{"field": "severity", "op": "eq", "value": "critical"}],
            "steps": [{"type": "add_note", "body": "Ticket for #{{ incident.number }}"}],
        }
    ],
)


@router.get("/automations", response_model=Page[AutomationPublic])
async def list_automations(session: SessionDep, _: AdminUser) -> Page[AutomationPublic]:
    """List automations."""
    rows = await service.list_automations(session=session)
    return Page(data=[service.public(a) for a in rows], count=len(rows))


@router.post("/automations", response_model=AutomationPublic, status_code=201)
async def create_automation(
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminUser,
    body: dict[str, Any] = DefinitionBody,
) -> AutomationPublic:
    """Create an automation, or one from the library with `{template, ...overrides}`."""
    a = await service.create(session=session, settings=settings, body=body, actor=actor_of(admin))
    return service.public(a)


@router.get("/automations/{automation_id}", response_model=AutomationPublic)
async def get_automation(
    session: SessionDep, _: AdminUser, automation_id: UUID
) -> AutomationPublic:
    """Return one automation (its current version)."""
    return service.public(await service.get(session=session, automation_id=automation_id))


@router.patch("/automations/{automation_id}", response_model=AutomationPublic)
async def update_automation(
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminUser,
    automation_id: UUID,
    body: dict[str, Any] = DefinitionBody,
) -> AutomationPublic:
    """Change an automation; a new definition is a new version."""
    a = await service.update(
        session=session,
        settings=settings,
        automation_id=automation_id,
        body=body,
        actor=actor_of(admin),
    )
    return service.public(a)


@router.delete("/automations/{automation_id}", status_code=204)
async def delete_automation(session: SessionDep, admin: AdminUser, automation_id: UUID) -> Response:
    """Delete an automation."""
    await service.delete(session=session, automation_id=automation_id, actor=actor_of(admin))
    return Response(status_code=204)


@router.get("/automation-templates", response_model=Page[TemplatePublic])
async def list_templates(_: CurrentUser) -> Page[TemplatePublic]:
    """Return the template library."""
    return Page(data=TEMPLATES, count=len(TEMPLATES))


@router.post("/automations/dry-run")
async def dry_run(
    session: SessionDep,
    settings: SettingsDep,
    _: AdminUser,
    body: dict[str, Any] = Body(...),
) -> dict[str, Any]:
    """Say which automations would fire for an incident and what their templates render to."""
    return await dryrun.dry_run(session=session, settings=settings, body=body)


@router.get("/incidents/{incident_id}/automation-runs", response_model=list[RunPublic])
async def incident_runs(
    session: SessionDep, settings: SettingsDep, _: CurrentUser, incident_id: UUID
) -> list[RunPublic]:
    """Return an incident's automation runs with their steps."""
    return await runs.for_incident(session=session, settings=settings, incident_id=incident_id)


@router.get("/automation-runs/{run_id}", response_model=RunPublic)
async def get_run(
    session: SessionDep, settings: SettingsDep, _: CurrentUser, run_id: UUID
) -> RunPublic:
    """Return one run with its steps."""
    return await runs.run_public(session=session, settings=settings, run_id=run_id)


@router.post("/automation-runs/{run_id}/rerun", response_model=RunPublic, status_code=202)
async def rerun(
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
    user: ResponderUser,
    run_id: UUID,
    rerun_in: RerunIn | None = None,
) -> RunPublic:
    """Run a failed run again (a new run of the same pinned version)."""
    new = await runs.rerun(
        session=session,
        settings=settings,
        client=temporal,
        run_id=run_id,
        same_keys=not (rerun_in and rerun_in.new_idempotency_keys),
        actor=actor_of(user),
    )
    return await runs.run_public(session=session, settings=settings, run_id=new)
