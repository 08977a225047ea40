"""Users, teams and API tokens: the identity domain's operations."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.audit.models import Actor
from app.db import flush_unique, name_taken, utcnow
from app.errors import Conflict, Invalid, invalid, not_found
from app.identity import passwords
from app.identity.models import (
    ApiToken,
    ApiTokenCreate,
    ApiTokenCreated,
    Team,
    TeamCreate,
    TeamMember,
    TeamMemberIn,
    TeamPublic,
    TeamUpdate,
    User,
    UserCreate,
    UserPublic,
    UserUpdate,
)

# Re-exported: sign-in (app/web/login.py) calls them through this module.
from app.identity.passwords import hash_password as hash_password
from app.identity.passwords import verify_password as verify_password

TOKEN_PREFIX = "pf_"  # noqa: S105 - a prefix, not a secret
# Writing last_used_at on every request would turn each read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(token: str) -> str:
    """Return the SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def user_public(user: User) -> UserPublic:
    """Return the public view of a user."""
    return UserPublic.model_validate(user, from_attributes=True)


# --- users ----------------------------------------------------------------------------------


async def get_user(*, session: AsyncSession, user_id: UUID) -> User:
    """Return the user or raise 404."""
    user = await session.get(User, user_id)
    if user is None:
        raise not_found("user", user_id)
    return user


async def get_user_by_email(*, session: AsyncSession, email: str) -> User | None:
    """Return the user with this e-mail address, case-insensitively."""
    return await session.scalar(select(User).where(func.lower(col(User.email)) == email.lower()))


async def list_users(
    *, session: AsyncSession, q: str | None = None, limit: int = 100, offset: int = 0
) -> tuple[list[User], int]:
    """Return a page of users ordered by name, and the total count."""
    query = select(User)
    if q:
        like = f"%{q.lower()}%"
        query = query.where(
            func.lower(col(User.name)).like(like) | func.lower(col(User.email)).like(like)
        )
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(col(User.name), col(User.id)).limit(limit).offset(offset)
    )
    return list(rows.all()), int(total or 0)


async def create_user(*, session: AsyncSession, user_in: UserCreate, actor: Actor) -> User:
    """Create a user; a taken e-mail address is a 409."""
    if await get_user_by_email(session=session, email=user_in.email):
        raise Conflict(f"a user with email {user_in.email} already exists")
    user = User(
        name=user_in.name,
        email=user_in.email,
        timezone=user_in.timezone,
        role=user_in.role,
        password_hash=(
            await asyncio.to_thread(hash_password, user_in.password) if user_in.password else None
        ),
        slack_user_id=user_in.slack_user_id,
    )
    session.add(user)
    await flush_unique(session, "a user with these unique fields already exists")
    await session.refresh(user)
    await audit.record(
        session=session,
        actor=actor,
        action="user.create",
        entity_type="user",
        entity_id=user.id,
        after=user_public(user),
    )
    return user


_NULLABLE_USER_FIELDS = frozenset({"slack_user_id"})


async def update_user(
    *,
    session: AsyncSession,
    user_id: UUID,
    user_in: UserUpdate,
    actor: Actor,
    oidc_enabled: bool = False,
    keep_web_session: str | None = None,
) -> User:
    """Change a user's fields; only those given are changed.

    A new password ends the user's web sessions (but `keep_web_session`, the id hash of the
    session that changed it); see `passwords.check_change` for who may set one.
    """
    user = await get_user(session=session, user_id=user_id)
    before = user_public(user)
    changes = user_in.model_dump(exclude_unset=True)
    current_password = changes.pop("current_password", None)
    if changes.get("password"):
        await passwords.check_change(
            user=user,
            actor=actor,
            current_password=current_password,
            break_glass=changes.get("break_glass", user.break_glass),
            oidc_enabled=oidc_enabled,
        )
    if "email" in changes and changes["email"] != user.email:
        other = await get_user_by_email(session=session, email=changes["email"])
        if other is not None and other.id != user.id:
            raise Conflict(f"a user with email {changes['email']} already exists")
    password = changes.pop("password", None)
    for field, value in changes.items():
        if value is None and field not in _NULLABLE_USER_FIELDS:
            raise Invalid(
                f"{field} cannot be null",
                errors=[{"field": field, "message": "cannot be null"}],
            )
        setattr(user, field, value)
    if password:
        user.password_hash = await asyncio.to_thread(hash_password, password)
        await passwords.end_web_sessions(session=session, user_id=user.id, keep=keep_web_session)
    user.updated_at = utcnow()
    await flush_unique(session, "a user with these unique fields already exists")
    after = user_public(user)
    await audit.record(
        session=session,
        actor=actor,
        action="user.update",
        entity_type="user",
        entity_id=user.id,
        before=before,
        after={**after.model_dump(mode="json"), **({"password": "changed"} if password else {})},
    )
    return user


async def delete_user(*, session: AsyncSession, user_id: UUID, actor: Actor) -> None:
    """Delete a user and their tokens (`app.references` first refuses one still needed)."""
    user = await get_user(session=session, user_id=user_id)
    before = user_public(user)
    await session.delete(user)
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="user.delete",
        entity_type="user",
        entity_id=user_id,
        before=before,
    )


# --- teams ----------------------------------------------------------------------------------


async def _members(session: AsyncSession, team_id: UUID) -> list[TeamMemberIn]:
    rows = await session.scalars(
        select(TeamMember)
        .where(col(TeamMember.team_id) == team_id)
        .order_by(col(TeamMember.user_id))
    )
    return [TeamMemberIn(user_id=m.user_id, role=m.role) for m in rows.all()]


async def team_public(*, session: AsyncSession, team: Team) -> TeamPublic:
    """Return the public view of a team with its members."""
    return TeamPublic(
        id=team.id,
        name=team.name,
        description=team.description,
        members=await _members(session, team.id),
        slack_channel_id=team.slack_channel_id,
        default_escalation_policy_id=team.default_escalation_policy_id,
        created_at=team.created_at,
    )


async def get_team(*, session: AsyncSession, team_id: UUID) -> Team:
    """Return the team or raise 404."""
    team = await session.get(Team, team_id)
    if team is None:
        raise not_found("team", team_id)
    return team


async def list_teams(
    *, session: AsyncSession, limit: int = 100, offset: int = 0
) -> tuple[list[Team], int]:
    """Return a page of teams ordered by name, and the total count."""
    total = await session.scalar(select(func.count()).select_from(Team))
    rows = await session.scalars(
        select(Team).order_by(col(Team.name), col(Team.id)).limit(limit).offset(offset)
    )
    return list(rows.all()), int(total or 0)


async def _check_members(session: AsyncSession, members: Sequence[TeamMemberIn]) -> None:
    ids = [m.user_id for m in members]
    if len(set(ids)) != len(ids):
        raise Invalid("a user is listed twice in members")
    if not ids:
        return
    found = set((await session.scalars(select(col(User.id)).where(col(User.id).in_(ids)))).all())
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise Invalid(
            f"unknown users: {', '.join(missing)}",
            errors=[
                {"field": "members.user_id", "message": f"user {m} does not exist"} for m in missing
            ],
        )


async def _check_default_policy(session: AsyncSession, policy_id: UUID | None) -> None:
    """Refuse a default escalation policy that does not exist (422 naming the field).

    Plain SQL: the escalation domain imports identity, not the other way round.
    """
    if policy_id is None:
        return
    found = await session.scalar(
        text("SELECT 1 FROM escalation_policies WHERE id = :id"), {"id": policy_id}
    )
    if found is None:
        raise invalid(
            [
                {
                    "field": "default_escalation_policy_id",
                    "message": f"escalation policy {policy_id} does not exist",
                }
            ]
        )


async def _services_on_team_default(session: AsyncSession, team_id: UUID) -> list[str]:
    """Names of the team's services that page through the team's default policy."""
    rows = await session.scalars(
        text(
            "SELECT name FROM services WHERE team_id = :team AND escalation_policy_id IS NULL"
            " ORDER BY name"
        ),
        {"team": team_id},
    )
    return list(rows.all())


async def create_team(*, session: AsyncSession, team_in: TeamCreate, actor: Actor) -> TeamPublic:
    """Create a team with its members."""
    await _check_members(session, team_in.members)
    if await name_taken(session, Team, team_in.name, None):
        raise Conflict(f"a team named {team_in.name!r} already exists")
    await _check_default_policy(session, team_in.default_escalation_policy_id)
    team = Team(
        name=team_in.name,
        description=team_in.description,
        slack_channel_id=team_in.slack_channel_id,
        default_escalation_policy_id=team_in.default_escalation_policy_id,
    )
    session.add(team)
    await flush_unique(session, "a team with these unique fields already exists")
    for m in team_in.members:
        session.add(TeamMember(team_id=team.id, user_id=m.user_id, role=m.role))
    await session.flush()
    await session.refresh(team)
    public = await team_public(session=session, team=team)
    await audit.record(
        session=session,
        actor=actor,
        action="team.create",
        entity_type="team",
        entity_id=team.id,
        after=public,
    )
    return public


async def update_team(
    *, session: AsyncSession, team_id: UUID, team_in: TeamUpdate, actor: Actor
) -> TeamPublic:
    """Change a team; `members`, when given, replaces the member list."""
    team = await get_team(session=session, team_id=team_id)
    before = await team_public(session=session, team=team)
    changes = team_in.model_dump(exclude_unset=True)
    if changes.get("name") is not None and await name_taken(
        session, Team, changes["name"], team.id
    ):
        raise Conflict(f"a team named {changes['name']!r} already exists")
    if "name" in changes and changes["name"] is None:
        raise Invalid("name cannot be null")
    if "name" in changes:
        team.name = changes["name"]
    if "description" in changes:
        team.description = changes["description"]
    if "slack_channel_id" in changes:
        team.slack_channel_id = changes["slack_channel_id"]
    if "default_escalation_policy_id" in changes:
        policy_id = changes["default_escalation_policy_id"]
        await _check_default_policy(session, policy_id)
        relying = await _services_on_team_default(session, team.id) if policy_id is None else []
        if relying:
            raise Conflict(
                "services of the team page through its default policy: " + ", ".join(relying),
                services=relying,
            )
        team.default_escalation_policy_id = policy_id
    if team_in.members is not None:
        await _check_members(session, team_in.members)
        await session.execute(delete(TeamMember).where(col(TeamMember.team_id) == team.id))
        for m in team_in.members:
            session.add(TeamMember(team_id=team.id, user_id=m.user_id, role=m.role))
    await flush_unique(session, "a team with these unique fields already exists")
    after = await team_public(session=session, team=team)
    await audit.record(
        session=session,
        actor=actor,
        action="team.update",
        entity_type="team",
        entity_id=team.id,
        before=before,
        after=after,
    )
    return after


async def delete_team(*, session: AsyncSession, team_id: UUID, actor: Actor) -> None:
    """Delete a team and its memberships (`app.references` first refuses one referred to)."""
    team = await get_team(session=session, team_id=team_id)
    before = await team_public(session=session, team=team)
    await session.delete(team)
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="team.delete",
        entity_type="team",
        entity_id=team_id,
        before=before,
    )


async def team_member_ids(*, session: AsyncSession, team_id: UUID) -> list[UUID]:
    """Return the user ids of a team's members."""
    rows = await session.scalars(
        select(col(TeamMember.user_id)).where(col(TeamMember.team_id) == team_id)
    )
    return list(rows.all())


# --- API tokens -----------------------------------------------------------------------------


async def create_token(
    *, session: AsyncSession, user_id: UUID, token_in: ApiTokenCreate, actor: Actor
) -> ApiTokenCreated:
    """Create an API token for a user; the secret is returned this once and stored hashed."""
    await get_user(session=session, user_id=user_id)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user_id,
        name=token_in.name,
        token_hash=hash_token(secret),
        prefix=secret[:10],
        expires_at=token_in.expires_at,
    )
    session.add(token)
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="token.create",
        entity_type="api_token",
        entity_id=token.id,
        after={"user_id": str(user_id), "name": token.name, "prefix": token.prefix},
    )
    return ApiTokenCreated(id=token.id, name=token.name, token=secret, expires_at=token.expires_at)


async def list_tokens(*, session: AsyncSession, user_id: UUID) -> list[ApiToken]:
    """Return a user's tokens (without secrets), newest first."""
    rows = await session.scalars(
        select(ApiToken)
        .where(col(ApiToken.user_id) == user_id)
        .order_by(col(ApiToken.created_at).desc())
    )
    return list(rows.all())


async def revoke_token(
    *, session: AsyncSession, user_id: UUID, token_id: UUID, actor: Actor
) -> None:
    """Revoke a token; it stops working at once."""
    token = await session.get(ApiToken, token_id)
    if token is None or token.user_id != user_id:
        raise not_found("token", token_id)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        await session.flush()
        await audit.record(
            session=session,
            actor=actor,
            action="token.revoke",
            entity_type="api_token",
            entity_id=token.id,
            after={"user_id": str(user_id), "name": token.name},
        )


async def authenticate_token(
    *, session: AsyncSession, token: str, now: datetime | None = None
) -> User | None:
    """Return the user a bearer token belongs to, or None if unknown, expired or revoked."""
    now = now or utcnow()
    row = await session.scalar(
        select(ApiToken).where(col(ApiToken.token_hash) == hash_token(token))
    )
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        row.last_used_at = now
    user = await session.get(User, row.user_id)
    return None if user is None or user.deactivated_at is not None else user
