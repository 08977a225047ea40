"""Runbook runs: start one from an incident (pinned to the approved version), read, cancel."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from app.audit import service as audit
from app.audit.models import Actor
from app.db import utcnow
from app.errors import Conflict, DomainError, NotFound, Unavailable
from app.incidents import service as incidents
from app.incidents.models import Incident
from app.runbooks import definition as rules
from app.runbooks import service as runbooks
from app.runbooks.models import (
    Definition,
    Runbook,
    RunbookRun,
    RunbookStatus,
    RunCreate,
    RunPublic,
)
from app.temporal import LazyClient
from workflows.incident import IncidentWorkflow  # for its Update method reference only
from workflows.incident_types import Actor as EventActor
from workflows.runbook_types import RunbookRequest, RunbookRunInput, StartRunbookIn, workflow_id

RESOLVED = "the incident is resolved; runbooks run on open incidents"


def incident_context(incident: Incident) -> dict[str, Any]:
    """Return what a body template sees as `incident`."""
    return {
        "id": str(incident.id),
        "number": incident.number,
        "title": incident.title,
        "status": incident.status,
        "severity": incident.severity,
        "urgency": incident.urgency,
        "service_id": str(incident.service_id),
        "created_at": incident.created_at.isoformat() if incident.created_at else None,
    }


def public(run: RunbookRun) -> RunPublic:
    """Return the API view of a run."""
    return RunPublic.model_validate(run, from_attributes=True)


async def approved_definition(
    session: AsyncSession, runbook: Runbook
) -> tuple[int, str, Definition]:
    """Return the version that runs (number, hash, definition), or raise Conflict."""
    if runbook.status == RunbookStatus.deprecated or runbook.approved_version is None:
        raise Conflict(f"runbook {runbook.name!r} has no approved version to run")
    row = await runbooks.get_version(
        session=session, runbook=runbook, version=runbook.approved_version
    )
    return row.version, row.content_hash, Definition.model_validate(row.definition)


async def preview(*, session: AsyncSession, incident_id: UUID, run_in: RunCreate) -> dict[str, Any]:
    """Return what a run would send (for the confirmation): version, approver, request."""
    incident = await incidents.get(session=session, incident_id=incident_id)
    runbook = await runbooks.get(session=session, runbook_id=run_in.runbook_id)
    version, content_hash, definition = await approved_definition(session, runbook)
    params = rules.parameters(definition, run_in.parameters)
    row = await runbooks.get_version(session=session, runbook=runbook, version=version)
    body = rules.render_body(definition.body, incident=incident_context(incident), params=params)
    return {
        "runbook": runbook.name,
        "version": version,
        "content_hash": content_hash,
        "approver_id": row.approver_id,
        "request": {"method": definition.method, "url": definition.url, "body": body},
    }


def _event_actor(actor: Actor) -> EventActor:
    kind = actor.type if actor.type in ("user", "system", "integration") else "system"
    return EventActor(
        type=kind,
        id=None if actor.id is None else str(actor.id),
        via=actor.via,
    )


async def start(
    *,
    session: AsyncSession,
    client: Client,
    incident_id: UUID,
    run_in: RunCreate,
    actor: Actor,
    run_id: UUID | None = None,
) -> RunbookRun:
    """Record a run and start it as the incident workflow's child, pinned to the approved version.

    `run_id` makes a retried start idempotent (an automation step passes one derived from its
    idempotency key): a run with that id already recorded is returned as it is.

    The one way to start a run (API, web, Slack, automation). Raises NotFound, Conflict (no
    approved version; the incident is resolved), Invalid (parameters, body template) before
    anything is written; Conflict/Unavailable/Busy from the incident's workflow after the row
    is written, which then says `failed` ("not started: …"). Returns the run, `running`.
    """
    if run_id is not None and (earlier := await session.get(RunbookRun, run_id)) is not None:
        return earlier
    incident = await incidents.get(session=session, incident_id=incident_id)
    runbook = await runbooks.get(session=session, runbook_id=run_in.runbook_id)
    version, content_hash, definition = await approved_definition(session, runbook)
    params = rules.parameters(definition, run_in.parameters)
    # Render now too: a template that fails on this incident is a 422, not a failed run.
    rules.render_body(definition.body, incident=incident_context(incident), params=params)
    if incident.status == "resolved":
        # The run is the incident workflow's child, and that workflow has ended.
        raise Conflict(RESOLVED, incident_status="resolved")
    run_id = run_id or uuid4()
    started_by = actor.id if isinstance(actor.id, UUID) else None
    run = RunbookRun(
        id=run_id,
        runbook_id=runbook.id,
        version=version,
        incident_id=incident.id,
        status="running",
        parameters=params,
        started_by=started_by,
        workflow_id=workflow_id(str(run_id)),
    )
    session.add(run)
    await audit.record(
        session=session,
        actor=actor,
        action="runbook_run.start",
        entity_type="runbook_run",
        entity_id=run_id,
        after={
            "runbook_id": str(runbook.id),
            "version": version,
            "incident_id": str(incident.id),
            "parameters": params,
        },
    )
    # Committed before the start: the workflow's activities write to this row.
    await session.commit()
    run_input = RunbookRunInput(
        run_id=str(run_id),
        runbook_id=str(runbook.id),
        runbook_name=runbook.name,
        version=version,
        content_hash=content_hash,
        incident_id=str(incident.id),
        request=RunbookRequest(
            url=definition.url,
            method=definition.method,
            headers=definition.headers,
            body=definition.body,
            timeout=definition.timeout,
            retries=definition.retries,
        ),
        parameters=params,
        started_by=None if started_by is None else str(started_by),
    )
    try:
        await incidents.act(
            client=client,
            incident=incident,
            update=IncidentWorkflow.start_runbook,
            arg=StartRunbookIn(actor=_event_actor(actor), run=run_input),
        )
    except DomainError as exc:
        run.status, run.error, run.finished_at = "failed", f"not started: {exc.detail}", utcnow()
        session.add(run)
        await session.commit()
        if isinstance(exc, Conflict):
            raise Conflict(RESOLVED, incident_status="resolved") from exc
        raise
    return run


async def get(*, session: AsyncSession, run_id: UUID) -> RunbookRun:
    """Return a run or raise NotFound."""
    run = await session.get(RunbookRun, run_id)
    if run is None:
        raise NotFound(f"runbook run {run_id} does not exist")
    return run


async def for_incident(
    *, session: AsyncSession, incident_id: UUID, limit: int = 10
) -> list[tuple[RunbookRun, str]]:
    """Return an incident's latest runs with their runbook's name, newest first."""
    query = (
        select(RunbookRun, col(Runbook.name))
        .join(Runbook, col(Runbook.id) == col(RunbookRun.runbook_id))
        .where(col(RunbookRun.incident_id) == incident_id)
        .order_by(col(RunbookRun.created_at).desc())
        .limit(limit)
    )
    return [(run, name) for run, name in (await session.execute(query)).all()]


async def _cancel_workflow(client: Client, run: RunbookRun) -> None:
    try:
        await client.get_workflow_handle(run.workflow_id).cancel()
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise Unavailable(f"Temporal did not cancel the run: {exc.message}") from exc


async def cancel(
    *, session: AsyncSession, client: Client, run_id: UUID, actor: Actor
) -> RunbookRun:
    """Ask a running run to stop; its workflow records `cancelled` when it has."""
    run = await get(session=session, run_id=run_id)
    if run.status != "running":
        raise Conflict(f"the run is {run.status} already")
    await _cancel_workflow(client, run)
    await audit.record(
        session=session,
        actor=actor,
        action="runbook_run.cancel",
        entity_type="runbook_run",
        entity_id=run.id,
        before={"status": run.status},
    )
    return run


async def cancel_running(*, session: AsyncSession, temporal: LazyClient, runbook_id: UUID) -> int:
    """Cancel every running run of a runbook (it was deprecated); return how many."""
    query = select(RunbookRun).where(
        col(RunbookRun.runbook_id) == runbook_id, col(RunbookRun.status) == "running"
    )
    running = list((await session.scalars(query)).all())
    for run in running:
        await _cancel_workflow(await temporal.get(), run)
    return len(running)
