"""Builders and probes shared by workflow and integration tests of incidents."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from app.audit.models import Actor as AuditActor
from app.catalog import service as catalog
from app.catalog.models import Service, ServiceCreate
from app.config import Settings
from app.db import SessionMaker
from app.escalation import service as escalation
from app.escalation.models import EscalationPolicy, EscalationPolicyCreate
from app.identity import service as identity
from app.identity.models import TeamCreate, TeamMemberIn, User
from app.incidents import service as incidents
from app.incidents.models import Incident, Notification, TimelineEvent
from tests.factories import make_user
from workflows.incident_types import ActionIn, Actor, AlertIn, IncidentInput, IncidentView

__all__ = ["ActionIn", "Actor", "IncidentView"]

SYSTEM = AuditActor.system(via="test")
STARTED: list[str] = []  # workflow ids started by this test (for recording histories)


async def users(sessionmaker: SessionMaker, n: int) -> list[User]:
    """Create `n` users."""
    async with sessionmaker() as session:
        return [await make_user(session) for _ in range(n)]


async def team(sessionmaker: SessionMaker, members: list[User]) -> str:
    """Create a team of `members`; return its id."""
    async with sessionmaker() as session:
        created = await identity.create_team(
            session=session,
            team_in=TeamCreate(
                name=f"team-{uuid.uuid4().hex[:6]}",
                members=[TeamMemberIn(user_id=u.id) for u in members],
            ),
            actor=SYSTEM,
        )
        await session.commit()
        return str(created.id)


def level(delay: float, *targets: User | tuple[str, str]) -> dict[str, Any]:
    """Return an escalation level: targets are users or ("team", id) pairs."""
    out = []
    for t in targets:
        out.append(
            {"type": "user", "id": str(t.id)} if isinstance(t, User) else {"type": t[0], "id": t[1]}
        )
    return {"delay": timedelta(seconds=delay), "targets": out}


async def policy(
    sessionmaker: SessionMaker, settings: Settings, levels: list[dict[str, Any]], repeat: int = 0
) -> EscalationPolicy:
    """Create an escalation policy."""
    async with sessionmaker() as session:
        created = await escalation.create_policy(
            session=session,
            policy_in=EscalationPolicyCreate(
                name=f"policy-{uuid.uuid4().hex[:6]}", levels=levels, repeat=repeat
            ),  # type: ignore[arg-type]
            actor=SYSTEM,
            settings=settings,
        )
        await session.commit()
        return created


async def service(sessionmaker: SessionMaker, policy_: EscalationPolicy, **extra: Any) -> Service:
    """Create a service on `policy_`."""
    async with sessionmaker() as session:
        created = await catalog.create_service(
            session=session,
            service_in=ServiceCreate(
                name=f"svc-{uuid.uuid4().hex[:6]}", escalation_policy_id=policy_.id, **extra
            ),
            actor=SYSTEM,
        )
        await session.commit()
        return created


def alert(summary: str = "CPU on fire", dedup_key: str = "cpu", **extra: Any) -> AlertIn:
    """Return a trigger alert event."""
    return AlertIn(
        id=str(uuid.uuid4()),
        summary=summary,
        dedup_key=dedup_key,
        received_at=datetime.now(UTC),
        actor=Actor(type="integration", via="events"),
        **extra,
    )


async def send_alert(
    client: Client, settings: Settings, svc: Service, a: AlertIn, **start: Any
) -> WorkflowHandle[Any, Any]:
    """Signal-with-start an alert exactly as ingestion does; return the workflow handle."""
    if start:
        wid = incidents.workflow_id_for(svc.routing_key, a.dedup_key)
        await client.start_workflow(
            "IncidentWorkflow",
            IncidentInput(
                incident_id=str(uuid.uuid4()),
                service_id=str(svc.id),
                dedup_key=a.dedup_key,
                **start,
            ),
            id=wid,
            task_queue=settings.temporal_task_queue,
            start_signal="alerts",
            start_signal_args=[[a]],
            id_conflict_policy=incidents.WorkflowIDConflictPolicy.USE_EXISTING,
        )
    else:
        wid = await incidents.signal_alert(client=client, settings=settings, service=svc, alert=a)
    STARTED.append(wid)
    return client.get_workflow_handle(wid)


async def view(handle: WorkflowHandle[Any, Any]) -> IncidentView:
    """Query the live state.

    A query can time out while a busy worker is still replaying the run (right after a
    continue-as-new on a loaded CI machine); that is "not yet", so ask again.
    """
    for attempt in range(3):
        try:
            return await handle.query("view", result_type=IncidentView)
        except RPCError as e:
            if e.status != RPCStatusCode.DEADLINE_EXCEEDED or attempt == 2:
                raise
    raise AssertionError("unreachable")


async def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll an async predicate until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        await asyncio.sleep(0.05)


async def timer_started(client: Client, workflow_id: str) -> bool:
    """Whether the workflow's history has started a timer (it rests on a wait or back-off).

    Tests cancel a run only then: a cancel that reaches it while an activity's result is on its
    way is refused by the time-skipping server ("ACTIVITY_UNKNOWN") and the run stalls, which
    the real server handles as one more event.
    """
    async for e in client.get_workflow_handle(workflow_id).fetch_history_events():
        if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
            return True
    return False


async def opened(handle: WorkflowHandle[Any, Any]) -> IncidentView:
    """Wait until the incident is open (numbered) and its first level paged."""

    async def check() -> IncidentView | None:
        v = await view(handle)
        return v if v.number and v.assigned_to else None

    return await eventually(check)  # type: ignore[no-any-return]


async def timeline(sessionmaker: SessionMaker, incident_id: str) -> list[TimelineEvent]:
    """Return the incident's timeline from PostgreSQL."""
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(TimelineEvent)
            .where(TimelineEvent.incident_id == uuid.UUID(incident_id))
            .order_by(TimelineEvent.at, TimelineEvent.position, TimelineEvent.seq)
        )
        return list(rows.all())


async def types(sessionmaker: SessionMaker, incident_id: str) -> list[str]:
    """Return the timeline's event types in order."""
    return [e.type for e in await timeline(sessionmaker, incident_id)]


async def deliveries(sessionmaker: SessionMaker, incident_id: str) -> list[Notification]:
    """Return the delivery log of an incident, oldest first."""
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(Notification)
            .where(Notification.incident_id == uuid.UUID(incident_id))
            .order_by(Notification.created_at, Notification.level)
        )
        return list(rows.all())


async def paged_users(sessionmaker: SessionMaker, incident_id: str) -> list[str]:
    """Return the user ids of the delivery log, oldest first."""
    return [str(n.user_id) for n in await deliveries(sessionmaker, incident_id)]


async def incident_row(sessionmaker: SessionMaker, incident_id: str) -> Incident | None:
    """Return the projected incident row."""
    async with sessionmaker() as session:
        return await session.get(Incident, uuid.UUID(incident_id))
