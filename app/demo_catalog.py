"""Demo escalation policy and service for `pagefree dev --demo`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit.models import Actor
from app.catalog import service as catalog
from app.catalog.models import ServiceCreate
from app.config import get_settings
from app.escalation import service as escalation
from app.escalation.models import (
    EscalationLevel,
    EscalationPolicyCreate,
    EscalationTarget,
    TargetType,
)
from app.identity.models import Team, User
from app.ingest import service as integrations
from app.ingest.models import IntegrationCreate, IntegrationType
from app.schedules import service as schedules
from app.schedules.models import LayerIn, ScheduleCreate


async def seed_catalog(*, session: AsyncSession, users: Sequence[User], actor: Actor) -> list[str]:
    """Create the demo escalation policy and service; return lines to show the user."""
    bob, carol = users[1], users[2]
    team = await session.scalar(select(Team).where(func.lower(col(Team.name)) == "platform"))
    if team is None:
        raise LookupError("the demo team Platform must exist before the catalog is seeded")
    primary = await schedules.create_schedule(
        session=session,
        schedule_in=ScheduleCreate(
            name="Checkout primary",
            description="Bob and Carol take turns, a week each, handing off Mondays at 10:00",
            timezone="America/New_York",
            layers=[
                LayerIn(
                    name="Weekly",
                    start=datetime(2026, 1, 5, 10, 0),
                    rotation_length=timedelta(weeks=1),
                    users=[bob.id, carol.id],
                )
            ],
        ),
        actor=actor,
    )
    policy = await escalation.create_policy(
        session=session,
        policy_in=EscalationPolicyCreate(
            name="Checkout on-call",
            description="Whoever is on call for Checkout primary, then the Platform team",
            repeat=1,
            levels=[
                EscalationLevel(
                    delay=timedelta(minutes=5),
                    targets=[EscalationTarget(type=TargetType.schedule, id=primary.id)],
                ),
                EscalationLevel(
                    delay=timedelta(minutes=10),
                    targets=[EscalationTarget(type=TargetType.team, id=team.id)],
                ),
            ],
        ),
        actor=actor,
        settings=get_settings(),
    )
    svc = await catalog.create_service(
        session=session,
        service_in=ServiceCreate(
            name="Checkout API",
            description="Takes payments for the web shop",
            team_id=team.id,
            escalation_policy_id=policy.id,
            routing_key="checkout-api",
            acknowledgement_timeout=timedelta(minutes=30),
            auto_resolve_timeout=timedelta(hours=4),
        ),
        actor=actor,
    )
    lines = [
        f"  schedule: {primary.name} ({bob.name} and {carol.name}, weekly)",
        f"  escalation policy: {policy.name} ({primary.name}, then team {team.name})",
        f"  service: {svc.name} (routing key {svc.routing_key})",
    ]
    for kind, name in ((IntegrationType.pagerduty, "Events API v2"),
                       (IntegrationType.alertmanager, "Prometheus Alertmanager")):  # fmt: skip
        made = await integrations.create(
            session=session,
            settings=get_settings(),
            integration_in=IntegrationCreate(type=kind, name=name),
            actor=actor,
            service_id=svc.id,
        )
        lines.append(f"  integration: {name} {made.url} (key {made.key})")
    return lines
