"""Builders for postmortem tests: incidents and their timelines written as the projection does."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from app.audit.models import Actor
from app.catalog import service as catalog
from app.catalog.models import ServiceCreate
from app.config import Settings
from app.db import SessionMaker
from app.escalation import service as escalation
from app.escalation.models import EscalationPolicyCreate
from app.identity import service as identity
from app.identity.models import TeamCreate, TeamMemberIn, User
from app.incidents.models import Incident, TimelineEvent
from tests.factories import make_user

SYSTEM = Actor.system(via="test")
T0 = datetime(2026, 11, 3, 14, 0, tzinfo=UTC)


async def team(sessionmaker: SessionMaker, *members: User) -> UUID:
    """Create a team of `members`."""
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
        return created.id


async def service(
    sessionmaker: SessionMaker, settings: Settings, name: str, team_id: UUID | None = None
) -> UUID:
    """Create a service (with a one-level policy)."""
    async with sessionmaker() as session:
        someone = await make_user(session)
        level = {
            "delay": timedelta(minutes=5),
            "targets": [{"type": "user", "id": str(someone.id)}],
        }
        policy = await escalation.create_policy(
            session=session,
            policy_in=EscalationPolicyCreate(
                name=f"policy-{uuid.uuid4().hex[:6]}", levels=[level], repeat=0
            ),  # type: ignore[arg-type]
            actor=SYSTEM,
            settings=settings,
        )
        created = await catalog.create_service(
            session=session,
            service_in=ServiceCreate(name=name, escalation_policy_id=policy.id, team_id=team_id),
            actor=SYSTEM,
        )
        await session.commit()
        return created.id


def user_actor(user: User, via: str = "web") -> dict[str, Any]:
    return {"type": "user", "id": str(user.id), "via": via}


SYSTEM_ACTOR: dict[str, Any] = {"type": "system", "id": None, "via": None}


async def incident(
    sessionmaker: SessionMaker,
    service_id: UUID,
    *,
    title: str = "Checkout 500s",
    start: datetime = T0,
    ack_after: timedelta | None = timedelta(minutes=4),
    resolve_after: timedelta | None = timedelta(minutes=42),
    alert_count: int = 1,
    events: list[tuple[timedelta, str, dict[str, Any], dict[str, Any]]] = (),  # type: ignore[assignment]
) -> Incident:
    """Write an incident row and its timeline events ((offset, type, actor, detail) each)."""
    incident_id = uuid.uuid4()
    row = Incident(
        id=incident_id,
        title=title,
        status="resolved" if resolve_after else ("acknowledged" if ack_after else "triggered"),
        severity="critical",
        urgency="high",
        service_id=service_id,
        alert_count=alert_count,
        dedup_key=uuid.uuid4().hex,
        workflow_id=f"incident:test:{incident_id}",
        run_id="run",
        created_at=start,
        acknowledged_at=start + ack_after if ack_after else None,
        resolved_at=start + resolve_after if resolve_after else None,
    )
    async with sessionmaker() as session:
        session.add(row)
        await session.flush()
        for n, (offset, kind, actor, detail) in enumerate(events):
            session.add(
                TimelineEvent(
                    id=f"{incident_id}:{n}:{kind}",
                    incident_id=incident_id,
                    at=start + offset,
                    position=n,
                    type=kind,
                    actor=actor,
                    detail=detail,
                )
            )
        await session.commit()
        await session.refresh(row)
    return row


def story(
    responder: User, other: User
) -> list[tuple[timedelta, str, dict[str, Any], dict[str, Any]]]:
    """A typical incident's events: triggered, alert storm, pages, notifications, ack, resolve."""
    m = timedelta(minutes=1)
    return [
        (0 * m, "triggered", SYSTEM_ACTOR, {"summary": "HTTP 500 rate above 5%"}),
        (1 * m, "alert", SYSTEM_ACTOR, {"summary": "HTTP 500 rate above 5%"}),
        (1 * m, "paged", SYSTEM_ACTOR, {"user_id": str(responder.id), "level": 1}),
        (1 * m, "notified", SYSTEM_ACTOR, {"user_id": str(responder.id), "channel": "sms"}),
        (2 * m, "alert", SYSTEM_ACTOR, {"summary": "HTTP 500 rate above 5%"}),
        (3 * m, "alert", SYSTEM_ACTOR, {"summary": "latency p99 above 2 s"}),
        (4 * m, "acknowledged", user_actor(responder, "slack"), {}),
        (10 * m, "note", user_actor(other), {"body": "rolled back deploy 4711"}),
        (42 * m, "resolved", user_actor(other), {"note": "error rate normal"}),
    ]
