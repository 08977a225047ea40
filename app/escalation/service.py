"""Escalation policies: the escalation domain's operations."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.audit.models import Actor
from app.config import Settings
from app.db import flush_unique, name_taken, utcnow
from app.errors import Conflict, invalid, not_found
from app.escalation.models import (
    EscalationLevel,
    EscalationPolicy,
    EscalationPolicyCreate,
    EscalationPolicyPublic,
    EscalationPolicyUpdate,
    TargetType,
    levels_from_json,
    levels_to_json,
)
from app.identity.models import Team, User
from app.schedules.models import Schedule


def policy_public(policy: EscalationPolicy) -> EscalationPolicyPublic:
    """Return the public view of a policy."""
    return EscalationPolicyPublic(
        id=policy.id,
        name=policy.name,
        description=policy.description,
        repeat=policy.repeat,
        levels=levels_from_json(policy.levels),
        created_at=policy.created_at,
        updated_at=policy.updated_at,
    )


async def _check_levels(
    session: AsyncSession, levels: list[EscalationLevel], settings: Settings
) -> None:
    """Refuse delays below the configured minimum and targets that do not exist."""
    errors: list[dict[str, Any]] = []
    minimum = settings.min_escalation_delay
    wanted: dict[TargetType, set[UUID]] = {t: set() for t in TargetType}
    for i, level in enumerate(levels):
        if level.delay < minimum:
            errors.append(
                {
                    "field": f"levels.{i}.delay",
                    "message": f"delay must be at least {minimum.total_seconds():g} s",
                }
            )
        for t in level.targets:
            if t.type in wanted:
                wanted[t.type].add(t.id)
    users = wanted[TargetType.user]
    teams = wanted[TargetType.team]
    found_users = (
        set((await session.scalars(select(col(User.id)).where(col(User.id).in_(users)))).all())
        if users
        else set()
    )
    found_teams = (
        set((await session.scalars(select(col(Team.id)).where(col(Team.id).in_(teams)))).all())
        if teams
        else set()
    )
    schedules = wanted[TargetType.schedule]
    # FOR SHARE: a schedule cannot be deleted between this check and the policy's commit.
    found_schedules = (
        set(
            (
                await session.scalars(
                    select(col(Schedule.id))
                    .where(col(Schedule.id).in_(schedules))
                    .with_for_update(read=True)
                )
            ).all()
        )
        if schedules
        else set()
    )
    for i, level in enumerate(levels):
        for j, t in enumerate(level.targets):
            field = f"levels.{i}.targets.{j}"
            if t.type == TargetType.schedule and t.id not in found_schedules:
                errors.append(
                    {"field": f"{field}.id", "message": f"schedule {t.id} does not exist"}
                )
            elif t.type == TargetType.user and t.id not in found_users:
                errors.append({"field": f"{field}.id", "message": f"user {t.id} does not exist"})
            elif t.type == TargetType.team and t.id not in found_teams:
                errors.append({"field": f"{field}.id", "message": f"team {t.id} does not exist"})
    if errors:
        raise invalid(errors)


async def get_policy(*, session: AsyncSession, policy_id: UUID | None) -> EscalationPolicy:
    """Return the escalation policy or raise 404 (also for None: a service on its team's
    default has no policy id of its own; callers wanting the fallback use
    `app.catalog.service.effective_policy`)."""
    if policy_id is None:
        raise not_found("escalation policy", "none (the service uses its team's default)")
    policy = await session.get(EscalationPolicy, policy_id)
    if policy is None:
        raise not_found("escalation policy", policy_id)
    return policy


async def list_policies(
    *, session: AsyncSession, q: str | None = None, limit: int = 100, offset: int = 0
) -> tuple[list[EscalationPolicy], int]:
    """Return a page of policies ordered by name, and the total count."""
    query = select(EscalationPolicy)
    if q:
        query = query.where(
            func.lower(col(EscalationPolicy.name)).contains(q.lower(), autoescape=True)
        )
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(col(EscalationPolicy.name), col(EscalationPolicy.id))
        .limit(limit)
        .offset(offset)
    )
    return list(rows.all()), int(total or 0)


async def create_policy(
    *,
    session: AsyncSession,
    policy_in: EscalationPolicyCreate,
    actor: Actor,
    settings: Settings,
) -> EscalationPolicy:
    """Create an escalation policy; a taken name is a 409."""
    await _check_levels(session, policy_in.levels, settings)
    if await name_taken(session, EscalationPolicy, policy_in.name, None):
        raise Conflict(f"an escalation policy named {policy_in.name!r} already exists")
    policy = EscalationPolicy(
        name=policy_in.name,
        description=policy_in.description,
        repeat=policy_in.repeat,
        levels=levels_to_json(policy_in.levels),
    )
    session.add(policy)
    await flush_unique(session, "an escalation policy with this name already exists")
    await session.refresh(policy)
    await audit.record(
        session=session,
        actor=actor,
        action="escalation_policy.create",
        entity_type="escalation_policy",
        entity_id=policy.id,
        after=policy_public(policy),
    )
    return policy


async def update_policy(
    *,
    session: AsyncSession,
    policy_id: UUID,
    policy_in: EscalationPolicyUpdate,
    actor: Actor,
    settings: Settings,
) -> EscalationPolicy:
    """Change a policy; only the fields given change, and `levels` replaces every level."""
    policy = await get_policy(session=session, policy_id=policy_id)
    before = policy_public(policy)
    changes = policy_in.model_dump(exclude_unset=True)
    nulls = [f for f in ("name", "repeat", "levels") if f in changes and changes[f] is None]
    if nulls:
        raise invalid([{"field": f, "message": "cannot be null"} for f in nulls])
    if policy_in.levels is not None:
        await _check_levels(session, policy_in.levels, settings)
        policy.levels = levels_to_json(policy_in.levels)
    if policy_in.name is not None:
        if await name_taken(session, EscalationPolicy, policy_in.name, policy.id):
            raise Conflict(f"an escalation policy named {policy_in.name!r} already exists")
        policy.name = policy_in.name
    if "description" in changes:
        policy.description = policy_in.description
    if policy_in.repeat is not None:
        policy.repeat = policy_in.repeat
    policy.updated_at = utcnow()
    await flush_unique(session, "an escalation policy with this name already exists")
    after = policy_public(policy)
    await audit.record(
        session=session,
        actor=actor,
        action="escalation_policy.update",
        entity_type="escalation_policy",
        entity_id=policy.id,
        before=before,
        after=after,
    )
    return policy


async def delete_policy(*, session: AsyncSession, policy_id: UUID, actor: Actor) -> None:
    """Delete a policy (`app.references` first refuses one a service uses)."""
    policy = await get_policy(session=session, policy_id=policy_id)
    before = policy_public(policy)
    await session.delete(policy)
    try:
        await session.flush()
    except IntegrityError as exc:
        # A service adopted the policy after our check; the foreign key refused the delete.
        await session.rollback()
        raise Conflict("the escalation policy is used by a service") from exc
    await audit.record(
        session=session,
        actor=actor,
        action="escalation_policy.delete",
        entity_type="escalation_policy",
        entity_id=policy_id,
        before=before,
    )
