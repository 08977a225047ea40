"""Who may read and change a postmortem (pure rules, plus the team lookup they need)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.identity.models import Role, TeamMember, User
from app.postmortems.models import Postmortem, PostmortemStatus


async def team_ids_of(session: AsyncSession, user_id: UUID) -> set[UUID]:
    """Return the ids of the teams `user_id` belongs to."""
    rows = await session.scalars(
        select(col(TeamMember.team_id)).where(col(TeamMember.user_id) == user_id)
    )
    return set(rows.all())


def is_insider(user: User, postmortem: Postmortem, teams: set[UUID]) -> bool:
    """Return whether `user` is an admin, the owner, or in the owner's team."""
    return (
        user.role == Role.admin
        or postmortem.owner_id == user.id
        or (postmortem.team_id is not None and postmortem.team_id in teams)
    )


def can_read(user: User, postmortem: Postmortem, teams: set[UUID]) -> bool:
    """Published: every signed-in user; drafts and reviews: the owner's team and admins."""
    return postmortem.status == PostmortemStatus.published or is_insider(user, postmortem, teams)


def can_edit(user: User, postmortem: Postmortem, teams: set[UUID]) -> bool:
    """Observers only read; responders edit their own team's postmortems, admins every one."""
    return user.role != Role.observer and is_insider(user, postmortem, teams)
