"""Deletions that other domains' configuration may block: who still refers to the thing.

Identity, schedules and escalation sit below the domains that refer to them (a policy's
levels name users, teams and schedules; a service names a team and a policy). So that no
lower domain imports a higher one, the "still referred to" checks live here, above them all,
and the routes delete through these functions.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit.models import Actor
from app.catalog.models import Service
from app.db import utcnow
from app.errors import Conflict
from app.escalation import service as escalation
from app.escalation.models import EscalationPolicy
from app.identity import service as identity
from app.identity.models import Team
from app.schedules import service as schedules
from app.schedules.models import Schedule, ScheduleOverride


async def _policies_paging(session: AsyncSession, target_type: str, target_id: UUID) -> list[str]:
    # Containment (`@>`) uses the GIN index on levels instead of loading every policy.
    target = [{"targets": [{"type": target_type, "id": str(target_id)}]}]
    rows = await session.scalars(
        select(col(EscalationPolicy.name))
        .where(col(EscalationPolicy.levels).contains(target))
        .order_by(col(EscalationPolicy.name))
    )
    return list(rows.all())


async def _schedules_rotating(session: AsyncSession, user_id: UUID) -> list[str]:
    """Return the names of schedules whose layers rotate the user or that they will cover."""
    # Past overrides do not hold a user back: they go with the user (the audit log keeps them).
    covering = select(col(ScheduleOverride.schedule_id)).where(
        col(ScheduleOverride.user_id) == user_id, col(ScheduleOverride.end_at) > utcnow()
    )
    rows = await session.scalars(
        select(col(Schedule.name))
        .where(
            col(Schedule.layers).contains([{"users": [str(user_id)]}])
            | col(Schedule.id).in_(covering)
        )
        .order_by(col(Schedule.name))
    )
    return list(rows.all())


async def delete_user(*, session: AsyncSession, user_id: UUID, actor: Actor) -> None:
    """Delete a user and their tokens; refuse while a policy or a schedule needs them."""
    await identity.get_user(session=session, user_id=user_id)
    policies = await _policies_paging(session, "user", user_id)
    if policies:
        raise Conflict(
            "remove the user from escalation policies first: " + ", ".join(policies),
            escalation_policies=policies,
        )
    rotating = await _schedules_rotating(session, user_id)
    if rotating:
        raise Conflict(
            "remove the user from schedule layers and upcoming overrides first: "
            + ", ".join(rotating),
            schedules=rotating,
        )
    await identity.delete_user(session=session, user_id=user_id, actor=actor)


async def delete_team(*, session: AsyncSession, team_id: UUID, actor: Actor) -> None:
    """Delete a team and its memberships; refuse while a service or policy refers to it."""
    await identity.get_team(session=session, team_id=team_id)
    services = list(
        (
            await session.scalars(
                select(col(Service.name))
                .where(col(Service.team_id) == team_id)
                .order_by(col(Service.name))
            )
        ).all()
    )
    policies = await _policies_paging(session, "team", team_id)
    if services or policies:
        named = [f"service {n}" for n in services] + [f"escalation policy {n}" for n in policies]
        raise Conflict(
            "the team is still referred to by " + ", ".join(named),
            services=services,
            escalation_policies=policies,
        )
    await identity.delete_team(session=session, team_id=team_id, actor=actor)


async def delete_schedule(*, session: AsyncSession, schedule_id: UUID, actor: Actor) -> None:
    """Delete a schedule with its overrides, swaps and feeds; refuse while a policy pages it."""
    # The lock pairs with the policy's FOR SHARE check of its schedules: no policy can start
    # paging this schedule between the check below and the delete.
    await schedules.get_schedule(session=session, schedule_id=schedule_id, for_update=True)
    policies = await _policies_paging(session, "schedule", schedule_id)
    if policies:
        raise Conflict(
            "the schedule is used by escalation policies: " + ", ".join(policies),
            escalation_policies=policies,
        )
    await schedules.delete_schedule(session=session, schedule_id=schedule_id, actor=actor)


async def delete_policy(*, session: AsyncSession, policy_id: UUID, actor: Actor) -> None:
    """Delete a policy that no service uses."""
    await escalation.get_policy(session=session, policy_id=policy_id)
    services = list(
        (
            await session.scalars(
                select(col(Service.name))
                .where(col(Service.escalation_policy_id) == policy_id)
                .order_by(col(Service.name))
            )
        ).all()
    )
    if services:
        raise Conflict(
            f"the escalation policy is used by services: {', '.join(services)}",
            services=services,
        )
    teams = list(
        (
            await session.scalars(
                select(col(Team.name))
                .where(col(Team.default_escalation_policy_id) == policy_id)
                .order_by(col(Team.name))
            )
        ).all()
    )
    if teams:
        raise Conflict(
            f"the escalation policy is the default of teams: {', '.join(teams)}", teams=teams
        )
    await escalation.delete_policy(session=session, policy_id=policy_id, actor=actor)
