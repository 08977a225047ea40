"""Demo escalation policy and service for `pagefree dev --demo`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

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


async def seed_catalog(*, session: AsyncSession, users: Sequence[User], actor: Actor) -> list[str]:
    """Create the demo escalation policy and service; return lines to show the user."""
    bob = users[1]
    team = await session.scalar(select(Team).where(func.lower(Team.name) == "platform"))
    if team is None:
        raise LookupError("the demo team Platform must exist before the catalog is seeded")
    policy = await escalation.create_policy(
        session=session,
        policy_in=EscalationPolicyCreate(
            name="Checkout on-call",
            description="Bob first, then the whole Platform team",
            repeat=1,
            levels=[
                EscalationLevel(
                    delay=timedelta(minutes=5),
                    targets=[EscalationTarget(type=TargetType.user, id=bob.id)],
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
    return [
        f"  escalation policy: {policy.name} ({bob.name}, then team {team.name})",
        f"  service: {svc.name} (routing key {svc.routing_key})",
    ]
