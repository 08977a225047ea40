"""Incidents: reads from the projection, and every change sent to the incident's workflow."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

from app.catalog.models import Service
from app.config import Settings
from app.db import SessionMaker
from app.errors import ActionFailed, Busy, Conflict, DomainError, Invalid, Unavailable, not_found
from app.incidents import projection
from app.incidents.models import (
    Alert,
    Incident,
    IncidentPublic,
    Notification,
    TimelineEvent,
)
from app.temporal import workflow_url
from workflows.incident import IncidentWorkflow  # for its Update method references only
from workflows.incident_rules import group_repeats
from workflows.incident_types import (
    INVALID_TRANSITION,
    ActionIn,
    AlertIn,
    IncidentInput,
    IncidentView,
)

WORKFLOW = "IncidentWorkflow"
UPDATE_TIMEOUT = timedelta(seconds=15)


def workflow_id_for(routing_key: str, dedup_key: str) -> str:
    """Return the incident workflow id: identical alerts of a service coalesce into one."""
    return f"incident:{routing_key}:{dedup_key}"


def public(incident: Incident, settings: Settings) -> IncidentPublic:
    """Return the API view of an incident, with its link to the Temporal Web UI."""
    data = incident.model_dump()
    data["temporal_url"] = workflow_url(settings, incident.workflow_id, incident.run_id)
    return IncidentPublic.model_validate(data)


# --- opening ------------------------------------------------------------------------------


async def _signal_with_start(client: Client, *args: Any, **kwargs: Any) -> None:
    """Signal-with-start, once more if two first alerts raced to start the same incident.

    With USE_EXISTING the server resolves that race itself; a server that answers "already
    started" instead (the time-skipping test server does, under load) is asked again, and the
    second call signals the run that won.
    """
    for attempt in range(3):
        try:
            await client.start_workflow(*args, **kwargs)
            return
        except WorkflowAlreadyStartedError:
            if attempt == 2:
                raise


async def signal_alert(
    *, client: Client, settings: Settings, service: Service, alert: AlertIn
) -> str:
    """Hand an alert to its incident's workflow (signal-with-start); durable when it returns.

    Returns the workflow id. A new run opens a new incident; a running one gets the alert.
    """
    wid = workflow_id_for(service.routing_key, alert.dedup_key)
    start = IncidentInput(
        incident_id=str(uuid.uuid4()), service_id=str(service.id), dedup_key=alert.dedup_key
    )
    try:
        await _signal_with_start(
            client,
            WORKFLOW,
            start,
            id=wid,
            task_queue=settings.temporal_task_queue,
            start_signal="alerts",
            start_signal_args=[[alert]],
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=f"{service.name}: {alert.summary}"[:400],
        )
    except RPCError as exc:
        # Never answer "accepted" for an alert Temporal did not durably take.
        raise Unavailable(f"Temporal did not accept the alert: {exc.message}") from exc
    return wid


HANDOFF_TIMEOUT = timedelta(seconds=10)
STAGE_TIMEOUT = 2.0  # seconds: past this, alerts go whole in the signal instead
log = logging.getLogger(__name__)


async def stage_alerts(sessionmaker: SessionMaker, alerts: list[AlertIn]) -> list[AlertIn]:
    """Write the triggers' rows now and return the alerts to signal, payload left out and
    identical ones folded into one (`group_repeats`).

    The workflow then attaches the rows by id, so an alert is carried once in Temporal
    history (the signal, without its details) instead of twice (the signal and the write).
    If PostgreSQL does not answer within STAGE_TIMEOUT the alerts go whole, as before:
    never lost, only carried twice.
    """
    triggers = [a for a in alerts if a.action == "trigger" and not a.stored]
    if not triggers:
        return alerts
    try:
        async with asyncio.timeout(STAGE_TIMEOUT), sessionmaker() as session:
            await projection.stage_alerts(session, triggers)
            await session.commit()
    except Exception as exc:
        log.warning(
            "staging %d alert rows failed (%s: %s): signalling them whole",
            len(triggers),
            type(exc).__name__,
            exc,
        )
        return alerts
    staged = {id(a) for a in triggers}
    return group_repeats(
        [
            a.model_copy(update={"details": {}, "stored": True}) if id(a) in staged else a
            for a in alerts
        ]
    )


async def signal_alerts(
    *, client: Client, settings: Settings, service: Service, dedup_key: str, alerts: list[AlertIn]
) -> str:
    """Hand a batch of alerts for one incident to its workflow (signal-with-start).

    Durable when it returns; raises the Temporal error otherwise. Returns the workflow id.
    """
    wid = workflow_id_for(service.routing_key, dedup_key)
    await _signal_with_start(
        client,
        WORKFLOW,
        IncidentInput(
            incident_id=str(uuid.uuid4()), service_id=str(service.id), dedup_key=dedup_key
        ),
        id=wid,
        task_queue=settings.temporal_task_queue,
        start_signal="alerts",
        start_signal_args=[alerts],
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        static_summary=f"{service.name}: {alerts[0].summary}"[:400],
        rpc_timeout=HANDOFF_TIMEOUT,
    )
    return wid


async def signal_running(*, client: Client, workflow_id: str, alerts: list[AlertIn]) -> bool:
    """Signal alerts (acknowledge, resolve) to a running incident; False when there is none.

    A plain signal never starts a run, so an acknowledge for an unknown key opens nothing.
    """
    try:
        await client.get_workflow_handle(workflow_id).signal(
            "alerts", alerts, rpc_timeout=HANDOFF_TIMEOUT
        )
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def wait_for_incident(
    *, sessionmaker: SessionMaker, workflow_id: str, since: datetime, timeout: float = 5.0
) -> Incident | None:
    """Wait until the workflow has written its incident row (or give up after `timeout`)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with sessionmaker() as session:
            found = await session.scalar(
                select(Incident)
                .where(col(Incident.workflow_id) == workflow_id, col(Incident.created_at) >= since)
                .order_by(col(Incident.created_at).desc())
                .limit(1)
            )
        if found is not None or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.05)


# --- actions ------------------------------------------------------------------------------


Arg = TypeVar("Arg", bound=ActionIn)
# An Update of the incident workflow, by method reference: `IncidentWorkflow.acknowledge`.
IncidentUpdate = UpdateMethodMultiParam[[IncidentWorkflow, Arg], IncidentView]


async def act(
    *, client: Client, incident: Incident, update: IncidentUpdate[Arg], arg: Arg
) -> dict[str, Any]:
    """Send an Update to the incident's workflow and return its result (the live view)."""
    arg.incident_id = str(incident.id)
    handle = client.get_workflow_handle_for(
        IncidentWorkflow.run, incident.workflow_id, first_execution_run_id=incident.run_id
    )
    try:
        view = await asyncio.wait_for(
            handle.execute_update(update, arg), UPDATE_TIMEOUT.total_seconds()
        )
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type == INVALID_TRANSITION:
            raise Conflict(cause.message, incident_status=incident.status) from exc
        raise ActionFailed(str(cause or exc)) from exc
    except RPCError as exc:
        raise _rpc_error(exc) from exc
    except TimeoutError as exc:
        raise Unavailable(
            "the incident's workflow did not answer in time; no worker may be running"
        ) from exc
    return view.model_dump(mode="json")


def _rpc_error(exc: RPCError) -> DomainError:
    if exc.status == RPCStatusCode.NOT_FOUND:
        # The workflow has completed: the incident is resolved (the projection may lag).
        return Conflict("the incident is resolved", incident_status="resolved")
    if exc.status == RPCStatusCode.RESOURCE_EXHAUSTED:
        return Busy("too many actions on this incident at once; retry", retry_after=1)
    return Unavailable(f"Temporal: {exc.message}")


# --- reads --------------------------------------------------------------------------------


async def get(*, session: AsyncSession, incident_id: UUID) -> Incident:
    """Return an incident or raise 404."""
    incident = await session.get(Incident, incident_id)
    if incident is None:
        raise not_found("incident", incident_id)
    return incident


def encode_cursor(incident: Incident) -> str:
    """Return an opaque cursor after `incident` in list order (newest first)."""
    raw = json.dumps(
        [incident.created_at.isoformat() if incident.created_at else None, incident.number]
    )
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        created, number = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(created), int(number)
    except (ValueError, TypeError) as exc:
        raise Invalid(
            "cursor is not valid",
            errors=[{"field": "query.cursor", "message": "not a cursor"}],
        ) from exc


async def list_incidents(
    *,
    session: AsyncSession,
    status: list[str] | None = None,
    service_id: UUID | None = None,
    service_ids: list[UUID] | None = None,
    assigned_to: UUID | None = None,
    since: datetime | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Incident], str | None]:
    """Return a page of incidents, newest first, and the cursor of the next page."""
    query = select(Incident)
    if status:
        query = query.where(col(Incident.status).in_(status))
    if service_id:
        query = query.where(col(Incident.service_id) == service_id)
    if service_ids is not None:
        query = query.where(col(Incident.service_id).in_(service_ids))
    if assigned_to:
        query = query.where(col(Incident.assigned_to).contains([assigned_to]))
    if since:
        query = query.where(col(Incident.created_at) >= since)
    if q:
        like = f"%{q}%"
        conds: list[ColumnElement[bool]] = [
            col(Incident.title).ilike(like),
            col(Incident.dedup_key).ilike(like),
        ]
        if q.lstrip("#").isdigit():
            conds.append(col(Incident.number) == int(q.lstrip("#")))
        query = query.where(or_(*conds))
    if cursor:
        created, number = _decode_cursor(cursor)
        query = query.where(
            or_(
                col(Incident.created_at) < created,
                (col(Incident.created_at) == created) & (col(Incident.number) < number),
            )
        )
    rows = list(
        (
            await session.scalars(
                query.order_by(col(Incident.created_at).desc(), col(Incident.number).desc()).limit(
                    limit + 1
                )
            )
        ).all()
    )
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor


async def count_by_status(
    *,
    session: AsyncSession,
    service_ids: list[UUID] | None = None,
    assigned_to: UUID | None = None,
) -> dict[str, int]:
    """Return how many open incidents there are per status (triggered, acknowledged)."""
    query = select(col(Incident.status), func.count()).where(
        col(Incident.status).in_(["triggered", "acknowledged"])
    )
    if service_ids is not None:
        query = query.where(col(Incident.service_id).in_(service_ids))
    if assigned_to:
        query = query.where(col(Incident.assigned_to).contains([assigned_to]))
    rows = await session.execute(query.group_by(col(Incident.status)))
    counts = {"triggered": 0, "acknowledged": 0}
    counts.update({status: int(n) for status, n in rows.all()})
    return counts


async def alerts(*, session: AsyncSession, incident_id: UUID) -> list[Alert]:
    """Return an incident's alerts, oldest first."""
    await get(session=session, incident_id=incident_id)
    rows = await session.scalars(
        select(Alert)
        .where(col(Alert.incident_id) == incident_id)
        .order_by(col(Alert.received_at), col(Alert.id))
    )
    return list(rows.all())


async def timeline(*, session: AsyncSession, incident_id: UUID) -> list[TimelineEvent]:
    """Return an incident's timeline in order."""
    await get(session=session, incident_id=incident_id)
    rows = await session.scalars(
        select(TimelineEvent)
        .where(col(TimelineEvent.incident_id) == incident_id)
        .order_by(col(TimelineEvent.at), col(TimelineEvent.position), col(TimelineEvent.seq))
    )
    return list(rows.all())


async def notifications(
    *, session: AsyncSession, incident_id: UUID | None, user_id: UUID | None, limit: int = 200
) -> list[Notification]:
    """Return delivery-log rows, newest first."""
    query = select(Notification).order_by(col(Notification.created_at).desc()).limit(limit)
    if incident_id:
        query = query.where(col(Notification.incident_id) == incident_id)
    if user_id:
        query = query.where(col(Notification.user_id) == user_id)
    return list((await session.scalars(query)).all())
