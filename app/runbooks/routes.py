"""HTTP routes for runbooks (admins edit and approve) and their runs (responders start)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request

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
from app.runbooks import runs, service
from app.runbooks.models import (
    RunbookCreate,
    RunbookPublic,
    RunbookUpdate,
    RunCreate,
    RunPublic,
    RunStarted,
    VersionBody,
    VersionPublic,
)
from app.temporal import LazyClient

router = APIRouter(prefix="/api/v1", tags=["runbooks"])


@router.get("/runbooks", response_model=Page[RunbookPublic])
async def list_runbooks(session: SessionDep, _: CurrentUser) -> Page[RunbookPublic]:
    """List runbooks (without secrets)."""
    rows = await service.list_runbooks(session=session)
    return Page(data=[await service.public(session, r) for r in rows], count=len(rows))


@router.post("/runbooks", response_model=RunbookPublic, status_code=201)
async def create_runbook(
    session: SessionDep, settings: SettingsDep, admin: AdminUser, runbook_in: RunbookCreate
) -> RunbookPublic:
    """Store a runbook as a draft version 1; its secret is never shown again."""
    return await service.create(
        session=session, settings=settings, runbook_in=runbook_in, actor=actor_of(admin)
    )


@router.get("/runbooks/{runbook_id}", response_model=RunbookPublic)
async def get_runbook(session: SessionDep, _: CurrentUser, runbook_id: UUID) -> RunbookPublic:
    """Return one runbook with its newest definition."""
    return await service.public(session, await service.get(session=session, runbook_id=runbook_id))


@router.patch("/runbooks/{runbook_id}", response_model=RunbookPublic)
async def update_runbook(
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminUser,
    runbook_id: UUID,
    runbook_in: RunbookUpdate,
) -> RunbookPublic:
    """Edit; a changed definition is a new draft (the approved version keeps running)."""
    return await service.update(
        session=session,
        settings=settings,
        runbook_id=runbook_id,
        runbook_in=runbook_in,
        actor=actor_of(admin),
    )


@router.get("/runbooks/{runbook_id}/versions", response_model=Page[VersionPublic])
async def list_versions(
    session: SessionDep, _: CurrentUser, runbook_id: UUID
) -> Page[VersionPublic]:
    """List a runbook's immutable versions, newest first."""
    rows = await service.list_versions(session=session, runbook_id=runbook_id)
    return Page(data=[service.version_public(v) for v in rows], count=len(rows))


@router.post("/runbooks/{runbook_id}/approve", response_model=RunbookPublic)
async def approve_runbook(
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminUser,
    runbook_id: UUID,
    body: VersionBody,
) -> RunbookPublic:
    """Approve a draft version (not its author's own); it runs from now on."""
    return await service.approve(
        session=session,
        settings=settings,
        runbook_id=runbook_id,
        version=body.version,
        actor=actor_of(admin),
    )


@router.post("/runbooks/{runbook_id}/rollback", response_model=RunbookPublic)
async def rollback_runbook(
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminUser,
    runbook_id: UUID,
    body: VersionBody,
) -> RunbookPublic:
    """Make an old version the new draft; it needs approval again."""
    return await service.rollback(
        session=session,
        settings=settings,
        runbook_id=runbook_id,
        version=body.version,
        actor=actor_of(admin),
    )


@router.post("/runbooks/{runbook_id}/deprecate", response_model=RunbookPublic)
async def deprecate_runbook(
    request: Request, session: SessionDep, admin: AdminUser, runbook_id: UUID
) -> RunbookPublic:
    """Stop the runbook: nothing new starts and running runs are cancelled."""
    deprecated = await service.deprecate(
        session=session, runbook_id=runbook_id, actor=actor_of(admin)
    )
    # Temporal is asked only when something runs: deprecating works while it is down.
    temporal: LazyClient = request.app.state.temporal
    await runs.cancel_running(session=session, temporal=temporal, runbook_id=runbook_id)
    return deprecated


@router.post("/incidents/{incident_id}/runbook-runs", response_model=RunStarted, status_code=202)
async def start_run(
    session: SessionDep,
    client: TemporalDep,
    user: ResponderUser,
    incident_id: UUID,
    run_in: RunCreate,
) -> RunStarted:
    """Run the runbook's approved version for this incident."""
    run = await runs.start(
        session=session,
        client=client,
        incident_id=incident_id,
        run_in=run_in,
        actor=actor_of(user),
    )
    return RunStarted(id=run.id, status=run.status)


@router.get("/runbook-runs/{run_id}", response_model=RunPublic)
async def get_run(session: SessionDep, _: CurrentUser, run_id: UUID) -> RunPublic:
    """Return a run: status, attempts, the last response."""
    return runs.public(await runs.get(session=session, run_id=run_id))


@router.post("/runbook-runs/{run_id}/cancel", response_model=RunPublic, status_code=202)
async def cancel_run(
    session: SessionDep, client: TemporalDep, user: ResponderUser, run_id: UUID
) -> RunPublic:
    """Ask a running run to stop; it reads `cancelled` once it has."""
    run = await runs.cancel(session=session, client=client, run_id=run_id, actor=actor_of(user))
    return runs.public(run)
