"""Seed data shared by the in-process bench modes (automations, runbook latency)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import Actor
from app.catalog import service as catalog
from app.catalog.models import Service, ServiceCreate
from app.config import Settings
from app.escalation import service as escalation
from app.escalation.models import EscalationPolicyCreate

SYSTEM = Actor.system(via="bench")


async def paged_service(session: AsyncSession, settings: Settings, user_id: UUID) -> Service:
    """The service "bench" on a one-level policy that pages `user_id` (level 1 lasts 1 h)."""
    policy = await escalation.create_policy(
        session=session,
        policy_in=EscalationPolicyCreate.model_validate(
            {
                "name": "bench",
                "levels": [{"delay": "PT1H", "targets": [{"type": "user", "id": str(user_id)}]}],
            }
        ),
        actor=SYSTEM,
        settings=settings,
    )
    return await catalog.create_service(
        session=session,
        service_in=ServiceCreate(name="bench", escalation_policy_id=policy.id),
        actor=SYSTEM,
    )
