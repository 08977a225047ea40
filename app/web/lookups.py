"""Id → name maps shared by the configuration pages."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.escalation import service as escalation
from app.identity import service as identity
from app.schedules import service as schedules


async def lookups(session: AsyncSession) -> dict[str, dict[str, str]]:
    """Return id → name maps of users, teams, schedules and policies for display."""
    users, _ = await identity.list_users(session=session, limit=1000)
    teams, _ = await identity.list_teams(session=session, limit=500)
    policies, _ = await escalation.list_policies(session=session, limit=500)
    scheds, _ = await schedules.list_schedules(session=session, limit=500)
    return {
        "user": {str(u.id): u.name for u in users},
        "team": {str(t.id): t.name for t in teams},
        "policy": {str(p.id): p.name for p in policies},
        "schedule": {str(s.id): s.name for s in scheds},
    }
