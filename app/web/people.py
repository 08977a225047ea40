"""People: invitations (single-use set-password links) and deactivating users.

Services raise the domain errors of `app.errors`; every change is audited.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.audit.models import Actor
from app.db import utcnow
from app.errors import Conflict, Invalid, NotFound
from app.escalation.models import EscalationPolicy
from app.identity import service as identity
from app.identity.models import (
    ApiToken,
    Team,
    TeamMember,
    TeamMemberIn,
    TeamUpdate,
    User,
    UserUpdate,
)
from app.schedules import overrides as override_ops
from app.schedules import service as schedules
from app.schedules.convert import layer_public, spec_of
from app.schedules.models import LayerIn, Schedule, ScheduleOverride, ScheduleSwap, ScheduleUpdate
from app.schedules.rotation import shifts
from app.schedules.spec import Gap
from app.web.models import UserInvite, WebSession

INVITE_TTL = timedelta(hours=72)
GAP_WINDOW = timedelta(days=14)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_invite(
    *, session: AsyncSession, user: User, actor: Actor, now: datetime | None = None
) -> str:
    """Return a new set-password token for `user` (256 random bits); earlier unused ones end."""
    if user.deactivated_at is not None:
        raise Conflict("the user is deactivated; reactivate them first")
    now = now or utcnow()
    await session.execute(
        delete(UserInvite).where(
            col(UserInvite.user_id) == user.id, col(UserInvite.used_at).is_(None)
        )
    )
    token = secrets.token_urlsafe(32)
    row = UserInvite(
        user_id=user.id,
        token_hash=_hash(token),
        created_by=_user_id(actor),
        expires_at=now + INVITE_TTL,
    )
    session.add(row)
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="user.invite",
        entity_type="user",
        entity_id=user.id,
        after={"email": user.email, "expires_at": row.expires_at.isoformat()},
    )
    return token


def _user_id(actor: Actor) -> UUID | None:
    return actor.id if isinstance(actor.id, UUID) else None


async def invite_user(*, session: AsyncSession, token: str, now: datetime | None = None) -> User:
    """Return the user a live (unused, unexpired) invitation belongs to, without using it."""
    row = await session.scalar(select(UserInvite).where(col(UserInvite.token_hash) == _hash(token)))
    now = now or utcnow()
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise NotFound("this link has expired or was already used; ask an admin for a new one")
    user = await session.get(User, row.user_id)
    if user is None or user.deactivated_at is not None:
        raise NotFound("this link has expired or was already used; ask an admin for a new one")
    return user


async def accept_invite(
    *, session: AsyncSession, token: str, password: str, now: datetime | None = None
) -> User:
    """Use an invitation once: set the user's password. A second use is refused."""
    if len(password) < 12 or len(password) > 256:
        raise Invalid(
            "the password needs 12 to 256 characters",
            errors=[{"field": "password", "message": "use at least 12 characters"}],
        )
    now = now or utcnow()
    # One statement claims the link, so two concurrent posts cannot both use it.
    claimed = await session.scalar(
        update(UserInvite)
        .where(
            col(UserInvite.token_hash) == _hash(token),
            col(UserInvite.used_at).is_(None),
            col(UserInvite.expires_at) > now,
        )
        .values(used_at=now)
        .returning(col(UserInvite.user_id))
    )
    if claimed is None:
        raise NotFound("this link has expired or was already used; ask an admin for a new one")
    user = await session.get(User, claimed)
    if user is None or user.deactivated_at is not None:
        raise NotFound("this link has expired or was already used; ask an admin for a new one")
    return await identity.update_user(
        session=session,
        user_id=user.id,
        user_in=UserUpdate(password=password),
        actor=Actor(type="user", id=user.id, via="invite"),
    )


# --- deactivation ---------------------------------------------------------------------------


@dataclass
class ScheduleImpact:
    """What deactivating a user does to one schedule."""

    schedule: Schedule
    layers: list[LayerIn]  # the layers without the user (empty: the schedule would be empty)
    dropped_layers: list[str]
    gaps_before: int
    gaps_after: list[Gap]  # the gaps of the next GAP_WINDOW once the user is gone


@dataclass
class Impact:
    """What deactivating a user does: schedules changed, overrides removed, policies to fix."""

    user: User
    schedules: list[ScheduleImpact] = field(default_factory=list)
    overrides: list[ScheduleOverride] = field(default_factory=list)
    policies: list[str] = field(default_factory=list)  # still page the user directly
    teams: list[Team] = field(default_factory=list)  # the user leaves them (teams are paged)

    @property
    def blockers(self) -> list[str]:
        """Schedules the user is the only person of: they cannot be left without anyone."""
        return [s.schedule.name for s in self.schedules if not s.layers]

    @property
    def new_gaps(self) -> int:
        return sum(max(0, len(s.gaps_after) - s.gaps_before) for s in self.schedules)


def _without(row: dict[str, Any], user_id: UUID) -> LayerIn | None:
    public = layer_public(row)
    users = [u for u in public.users if u != user_id]
    if not users:
        return None
    return LayerIn.model_validate({**public.model_dump(), "users": users})


async def deactivation_impact(
    *, session: AsyncSession, user_id: UUID, now: datetime | None = None
) -> Impact:
    """Return what deactivating the user changes, and the gaps it leaves in the next 14 days."""
    user = await identity.get_user(session=session, user_id=user_id)
    now = now or utcnow()
    out = Impact(user=user)
    out.overrides = list(
        (
            await session.scalars(
                select(ScheduleOverride)
                .where(col(ScheduleOverride.user_id) == user_id, col(ScheduleOverride.end_at) > now)
                .order_by(col(ScheduleOverride.start_at))
            )
        ).all()
    )
    covering = {o.schedule_id for o in out.overrides}
    rows = await session.scalars(
        select(Schedule)
        .where(
            or_(
                col(Schedule.layers).contains([{"users": [str(user_id)]}]),
                col(Schedule.id).in_(covering),
            )
        )
        .order_by(col(Schedule.name))
    )
    until = now + GAP_WINDOW
    for schedule in rows.all():
        kept, dropped = [], []
        for row in schedule.layers:
            layer = _without(row, user_id)
            if layer is None:
                dropped.append(str(row["name"]))
            else:
                kept.append(layer)
        spec = await schedules.load_spec(session=session, schedule=schedule, since=now, until=until)
        before = shifts(spec, now, until)
        gaps_after: list[Gap] = []
        if kept:
            remaining = [
                {**r, "users": [u for u in r["users"] if u != str(user_id)]}
                for r in schedule.layers
            ]
            draft = Schedule(
                id=schedule.id,
                name=schedule.name,
                timezone=schedule.timezone,
                layers=[r for r in remaining if r["users"]],
            )
            swaps = await session.scalars(
                select(ScheduleSwap).where(col(ScheduleSwap.schedule_id) == schedule.id)
            )
            others = await session.scalars(
                select(ScheduleOverride).where(
                    col(ScheduleOverride.schedule_id) == schedule.id,
                    col(ScheduleOverride.user_id) != user_id,
                    col(ScheduleOverride.start_at) < until,
                    col(ScheduleOverride.end_at) > now,
                )
            )
            after = shifts(spec_of(draft, list(others.all()), list(swaps.all())), now, until)
            gaps_after = list(after.gaps)
        out.schedules.append(
            ScheduleImpact(
                schedule=schedule,
                layers=kept,
                dropped_layers=dropped,
                gaps_before=len(before.gaps),
                gaps_after=gaps_after,
            )
        )
    out.teams = list(
        (
            await session.scalars(
                select(Team)
                .join(TeamMember, col(TeamMember.team_id) == col(Team.id))
                .where(col(TeamMember.user_id) == user_id)
                .order_by(col(Team.name))
            )
        ).all()
    )
    target = [{"targets": [{"type": "user", "id": str(user_id)}]}]
    out.policies = list(
        (
            await session.scalars(
                select(col(EscalationPolicy.name))
                .where(col(EscalationPolicy.levels).contains(target))
                .order_by(col(EscalationPolicy.name))
            )
        ).all()
    )
    return out


async def deactivate_user(*, session: AsyncSession, user_id: UUID, actor: Actor) -> Impact:
    """Deactivate a user: end their web sessions and API tokens, take them out of schedules'
    layers, upcoming overrides and teams. Refused for the last person of a schedule."""
    if _user_id(actor) == user_id:
        raise Conflict("you cannot deactivate yourself")
    impact = await deactivation_impact(session=session, user_id=user_id)
    user = impact.user
    if user.deactivated_at is not None:
        raise Conflict("the user is already deactivated")
    if impact.blockers:
        raise Conflict(
            "the user is the only person of the schedules "
            + ", ".join(impact.blockers)
            + "; add someone else to them or delete them first",
            schedules=impact.blockers,
        )
    for item in impact.schedules:
        await schedules.update_schedule(
            session=session,
            schedule_id=item.schedule.id,
            schedule_in=ScheduleUpdate(layers=item.layers),
            actor=actor,
        )
    for row in impact.overrides:
        await override_ops.delete_override(session=session, row=row, actor=actor)
    for team in impact.teams:
        current = await identity.team_public(session=session, team=team)
        await identity.update_team(
            session=session,
            team_id=team.id,
            team_in=TeamUpdate(
                members=[
                    TeamMemberIn(user_id=m.user_id, role=m.role)
                    for m in current.members
                    if m.user_id != user_id
                ]
            ),
            actor=actor,
        )
    await session.execute(delete(WebSession).where(col(WebSession.user_id) == user_id))
    await session.execute(
        delete(UserInvite).where(
            col(UserInvite.user_id) == user_id, col(UserInvite.used_at).is_(None)
        )
    )
    tokens = await session.scalars(
        select(ApiToken).where(col(ApiToken.user_id) == user_id, col(ApiToken.revoked_at).is_(None))
    )
    for token in tokens.all():
        await identity.revoke_token(
            session=session, user_id=user_id, token_id=token.id, actor=actor
        )
    user.deactivated_at = utcnow()
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="user.deactivate",
        entity_type="user",
        entity_id=user_id,
        after={
            "deactivated_at": user.deactivated_at.isoformat(),
            "schedules": [s.schedule.name for s in impact.schedules],
            "overrides_removed": len(impact.overrides),
            "teams_left": [t.name for t in impact.teams],
            "new_gaps": impact.new_gaps,
        },
    )
    return impact


async def reactivate_user(*, session: AsyncSession, user_id: UUID, actor: Actor) -> User:
    """Let a deactivated user sign in again (they are not put back into schedules)."""
    user = await identity.get_user(session=session, user_id=user_id)
    if user.deactivated_at is None:
        raise Conflict("the user is active")
    user.deactivated_at = None
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="user.reactivate",
        entity_type="user",
        entity_id=user_id,
    )
    return user
