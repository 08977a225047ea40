"""Resolve escalation targets (users, teams, schedules) to the people to page, at an instant."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.identity.models import TeamMember, User
from app.oncall.current import who
from app.schedules.models import Schedule
from workflows.incident_types import Target


@dataclass
class Resolved:
    """The users a level reaches, in target order, each once; and targets that reached nobody."""

    users: list[User] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)


async def resolve(*, session: AsyncSession, targets: list[Target], at: datetime) -> Resolved:
    """Expand targets into distinct users; a user reached twice is paged once."""
    out = Resolved()
    seen: set[UUID] = set()

    def add(user: User) -> None:
        if user.id not in seen:
            seen.add(user.id)
            out.users.append(user)

    for target in targets:
        if target.type == "user":
            user = await session.get(User, UUID(target.id))
            if user is None:
                out.unresolved.append(f"user {target.id} no longer exists")
            else:
                add(user)
        elif target.type == "team":
            members = (
                await session.scalars(
                    select(User)
                    .join(TeamMember, col(TeamMember.user_id) == col(User.id))
                    .where(col(TeamMember.team_id) == UUID(target.id))
                    .order_by(col(User.name), col(User.id))
                )
            ).all()
            if not members:
                out.unresolved.append(f"team {target.id} has no members")
            for user in members:
                add(user)
        else:
            schedule = await session.get(Schedule, UUID(target.id))
            if schedule is None:
                out.unresolved.append(f"schedule {target.id} no longer exists")
                continue
            # Whoever is on call at the instant the level fires, not when the incident opened.
            found = await who(session=session, schedule=schedule, at=at)
            if not found.users:
                out.unresolved.append(f"schedule {schedule.name} has nobody on call")
            for user in found.users:
                add(user)
    return out
