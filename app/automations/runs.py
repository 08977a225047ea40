"""Automation runs: their records (written by the run's activities), reads, and re-runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from temporalio.client import Client
from temporalio.service import RPCError

from app.audit import service as audit
from app.audit.models import Actor
from app.automations.models import Automation, AutomationRun, AutomationStep, RunPublic, StepPublic
from app.config import Settings
from app.db import utcnow
from app.errors import Conflict, NotFound, Unavailable
from app.incidents import projection
from app.incidents.models import Incident
from app.temporal import workflow_url
from workflows import automation_rules
from workflows.automation_types import WORKFLOW_NAME, AutomationRunInput
from workflows.incident_types import Actor as EventActor
from workflows.incident_types import TimelineEventIn

FINAL = ("succeeded", "failed", "cancelled")


async def timeline_event(
    session: AsyncSession, incident_id: UUID, event_id: str, type_: str, detail: dict[str, Any]
) -> None:
    """Write one timeline event of a run (idempotent on its id)."""
    await projection.insert_events(
        session,
        str(incident_id),
        [
            TimelineEventIn(
                id=event_id,
                at=utcnow(),
                type=type_,
                actor=EventActor(via="automation"),
                detail=detail,
            )
        ],
    )


async def begin(
    *, session: AsyncSession, inp: AutomationRunInput, workflow_id: str, name: str
) -> None:
    """Record a run's start and its `automation_started` event (once, whatever the retries)."""
    written = await session.execute(
        insert(AutomationRun)
        .values(
            id=UUID(inp.run_id),
            automation_id=UUID(inp.automation_id),
            version=inp.version,
            incident_id=UUID(inp.incident_id),
            event=inp.event,
            workflow_id=workflow_id,
            key_base=inp.key_base,
            status="running",
            rerun_of=UUID(inp.rerun_of) if inp.rerun_of else None,
        )
        .on_conflict_do_nothing()
        .returning(col(AutomationRun.id))
    )
    if written.first() is None:
        return
    await timeline_event(
        session,
        UUID(inp.incident_id),
        f"automation:{inp.run_id}:started",
        "automation_started",
        {
            "run_id": inp.run_id,
            "automation_id": inp.automation_id,
            "name": name,
            "version": inp.version,
            "event": inp.event,
        },
    )


async def step_started(
    *, session: AsyncSession, run_id: UUID, path: str, type_: str, attempt: int
) -> None:
    """Mark a step running (attempt N); the first attempt sets its start and position."""
    position = await session.scalar(
        select(col(AutomationStep.position))
        .where(col(AutomationStep.run_id) == run_id)
        .order_by(col(AutomationStep.position).desc())
        .limit(1)
    )
    stmt = insert(AutomationStep).values(
        run_id=run_id,
        path=path,
        position=(position or 0) + 1,
        type=type_,
        status="running",
        attempts=attempt,
        started_at=utcnow(),
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["run_id", "path"],
            set_={"status": "running", "attempts": attempt, "error": None},
        )
    )


async def step_done(
    *,
    session: AsyncSession,
    run_id: UUID,
    path: str,
    status: str,
    output: dict[str, Any] | None = None,
    error: str | None = None,
    type_: str | None = None,
    started_at: datetime | None = None,
) -> None:
    """Record a step's outcome (or, for `retrying`, the error of the attempt that failed)."""
    step = await session.get(AutomationStep, (run_id, path))
    if step is None:
        step = AutomationStep(
            run_id=run_id, path=path, type=type_ or "?", status=status, started_at=started_at
        )
    step.status = status
    step.output = output
    step.error = error
    if status != "retrying":
        step.finished_at = utcnow()
    session.add(step)


async def finish(
    *, session: AsyncSession, run_id: UUID, status: str, error: str | None
) -> AutomationRun | None:
    """Record a run's outcome and its `automation_finished` event (once)."""
    run = await session.get(AutomationRun, run_id)
    if run is None:
        return None
    if run.status in FINAL:
        return run
    run.status, run.error, run.finished_at = status, error, utcnow()
    session.add(run)
    links = [
        s.output
        for s in (
            await session.scalars(
                select(AutomationStep).where(col(AutomationStep.run_id) == run_id)
            )
        ).all()
        if s.output and s.output.get("url") and s.output.get("key")
    ]
    detail: dict[str, Any] = {"run_id": str(run_id), "automation_id": str(run.automation_id)}
    detail.update(status=status, error=error, links=links)
    await timeline_event(
        session, run.incident_id, f"automation:{run_id}:finished", "automation_finished", detail
    )
    return run


# --- reads ------------------------------------------------------------------------------------


async def _steps(session: AsyncSession, run_id: UUID) -> list[StepPublic]:
    rows = await session.scalars(
        select(AutomationStep)
        .where(col(AutomationStep.run_id) == run_id)
        .order_by(col(AutomationStep.position), col(AutomationStep.path))
    )
    return [StepPublic.model_validate(s, from_attributes=True) for s in rows.all()]


async def _public(session: AsyncSession, settings: Settings, run: AutomationRun) -> RunPublic:
    automation = await session.get(Automation, run.automation_id)
    return RunPublic(
        id=run.id,
        automation_id=run.automation_id,
        automation_name=automation.name if automation else None,
        version=run.version,
        incident_id=run.incident_id,
        event=run.event,
        status=run.status,
        error=run.error,
        workflow_id=run.workflow_id,
        temporal_url=workflow_url(settings, run.workflow_id),
        rerun_of=run.rerun_of,
        started_at=run.started_at or utcnow(),
        finished_at=run.finished_at,
        steps=await _steps(session, run.id),
    )


async def for_incident(
    *, session: AsyncSession, settings: Settings, incident_id: UUID
) -> list[RunPublic]:
    """Return an incident's runs, oldest first, each with its steps."""
    if await session.get(Incident, incident_id) is None:
        raise NotFound(f"incident {incident_id} does not exist")
    rows = await session.scalars(
        select(AutomationRun)
        .where(col(AutomationRun.incident_id) == incident_id)
        .order_by(col(AutomationRun.started_at), col(AutomationRun.id))
    )
    return [await _public(session, settings, r) for r in rows.all()]


async def run_public(*, session: AsyncSession, settings: Settings, run_id: UUID) -> RunPublic:
    """Return one run with its steps."""
    run = await session.get(AutomationRun, run_id)
    if run is None:
        raise NotFound(f"automation run {run_id} does not exist")
    return await _public(session, settings, run)


async def rerun(
    *,
    session: AsyncSession,
    settings: Settings,
    client: Client,
    run_id: UUID,
    same_keys: bool,
    actor: Actor,
) -> UUID:
    """Start a failed run again: a new run of the same pinned version; return its id.

    With `same_keys` its steps carry the old run's idempotency keys, so a target that did get
    the first call can drop the repeat; by default the keys are new.
    """
    old = await session.get(AutomationRun, run_id)
    if old is None:
        raise NotFound(f"automation run {run_id} does not exist")
    if old.status != "failed":
        raise Conflict(f"only a failed run can be run again; this one is {old.status}")
    new_id = uuid4()
    inp = AutomationRunInput(
        run_id=str(new_id),
        automation_id=str(old.automation_id),
        version=old.version,
        incident_id=str(old.incident_id),
        event=old.event,
        key_base=old.key_base if same_keys else str(new_id),
        rerun_of=str(old.id),
    )
    workflow_id = automation_rules.workflow_id(
        str(old.automation_id), str(old.incident_id), f"rerun:{new_id}"
    )
    automation = await session.get(Automation, old.automation_id)
    name = automation.name if automation else str(old.automation_id)
    # Recorded before the start, so the answer shows the new run (its first activity's
    # write of the same row is then a no-op).
    await begin(session=session, inp=inp, workflow_id=workflow_id, name=name)
    await audit.record(
        session=session,
        actor=actor,
        action="automation_run.rerun",
        entity_type="automation_run",
        entity_id=new_id,
        after={"rerun_of": str(old.id), "same_idempotency_keys": same_keys},
    )
    await session.commit()
    try:
        await client.start_workflow(
            WORKFLOW_NAME,
            inp,
            id=workflow_id,
            task_queue=settings.temporal_task_queue,
            static_summary=f"Re-run of automation run {old.id}",
        )
    except RPCError as exc:
        raise Unavailable(f"Temporal did not start the re-run: {exc.message}") from exc
    return new_id
