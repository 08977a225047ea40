"""HTTP routes for users, teams and API tokens."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from app.deps import AdminUser, CurrentUser, SessionDep, SettingsDep, actor_of
from app.identity import service
from app.identity.models import (
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenPublic,
    Role,
    TeamCreate,
    TeamPublic,
    TeamUpdate,
    User,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from app.models_common import Page
from app.problems import Problem
from app.references import service as references

router = APIRouter(prefix="/api/v1", tags=["identity"])


@router.get("/users/me", response_model=UserPublic)
async def me(user: CurrentUser) -> UserPublic:
    """Return the authenticated user."""
    return service.user_public(user)


@router.get("/users", response_model=Page[UserPublic])
async def list_users(
    session: SessionDep,
    _: CurrentUser,
    q: str | None = Query(default=None, max_length=200),
    limit: int = Query(default=100, ge=1, le=500),
    offset: int = Query(default=0, ge=0),
) -> Page[UserPublic]:
    """List users, filtered by a name or e-mail fragment."""
    users, total = await service.list_users(session=session, q=q, limit=limit, offset=offset)
    return Page(data=[service.user_public(u) for u in users], count=total)


@router.post("/users", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
async def create_user(session: SessionDep, admin: AdminUser, user_in: UserCreate) -> UserPublic:
    """Create a user (admins only)."""
    user = await service.create_user(session=session, user_in=user_in, actor=actor_of(admin))
    return service.user_public(user)


@router.get("/users/{user_id}", response_model=UserPublic)
async def get_user(session: SessionDep, _: CurrentUser, user_id: UUID) -> UserPublic:
    """Return one user."""
    return service.user_public(await service.get_user(session=session, user_id=user_id))


def _may_edit_user(actor: User, user_id: UUID, user_in: UserUpdate) -> None:
    if actor.role == Role.admin:
        return
    if actor.id != user_id:
        raise Problem(
            403, "Forbidden", "only admins may change other users", type_="/problems/forbidden"
        )
    if user_in.role is not None and user_in.role != actor.role:
        raise Problem(403, "Forbidden", "only admins may change roles", type_="/problems/forbidden")
    if user_in.break_glass is not None:
        raise Problem(
            403,
            "Forbidden",
            "only admins may flag break-glass accounts",
            type_="/problems/forbidden",
        )
    if "slack_user_id" in user_in.model_fields_set:
        # Whoever holds a Slack id acts as this user from Slack: only admins link identities.
        raise Problem(
            403, "Forbidden", "only admins may link Slack accounts", type_="/problems/forbidden"
        )


@router.patch("/users/{user_id}", response_model=UserPublic)
async def update_user(
    session: SessionDep,
    settings: SettingsDep,
    actor: CurrentUser,
    user_id: UUID,
    user_in: UserUpdate,
) -> UserPublic:
    """Change a user (admins; or users themselves, except their role)."""
    _may_edit_user(actor, user_id, user_in)
    user = await service.update_user(
        session=session,
        user_id=user_id,
        user_in=user_in,
        actor=actor_of(actor),
        oidc_enabled=settings.oidc_enabled,
    )
    return service.user_public(user)


@router.delete("/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_user(session: SessionDep, admin: AdminUser, user_id: UUID) -> Response:
    """Delete a user (admins only); admins cannot delete themselves."""
    if admin.id == user_id:
        raise Problem(
            409, "Conflict", "an admin cannot delete their own account", type_="/problems/conflict"
        )
    await references.delete_user(session=session, user_id=user_id, actor=actor_of(admin))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _may_manage_tokens(actor: User, user_id: UUID) -> None:
    if actor.role != Role.admin and actor.id != user_id:
        raise Problem(
            403,
            "Forbidden",
            "only admins may manage other users' tokens",
            type_="/problems/forbidden",
        )


@router.post(
    "/users/{user_id}/tokens", response_model=ApiTokenCreated, status_code=status.HTTP_201_CREATED
)
async def create_token(
    session: SessionDep, actor: CurrentUser, user_id: UUID, token_in: ApiTokenCreate | None = None
) -> ApiTokenCreated:
    """Create an API token; the token is shown in this answer only."""
    _may_manage_tokens(actor, user_id)
    return await service.create_token(
        session=session,
        user_id=user_id,
        token_in=token_in or ApiTokenCreate(),
        actor=actor_of(actor),
    )


@router.get("/users/{user_id}/tokens", response_model=list[ApiTokenPublic])
async def list_tokens(
    session: SessionDep, actor: CurrentUser, user_id: UUID
) -> list[ApiTokenPublic]:
    """List a user's tokens, without their secrets."""
    _may_manage_tokens(actor, user_id)
    await service.get_user(session=session, user_id=user_id)
    tokens = await service.list_tokens(session=session, user_id=user_id)
    return [ApiTokenPublic.model_validate(t, from_attributes=True) for t in tokens]


@router.delete("/users/{user_id}/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_token(
    session: SessionDep, actor: CurrentUser, user_id: UUID, token_id: UUID
) -> Response:
    """Revoke a token."""
    _may_manage_tokens(actor, user_id)
    await service.revoke_token(
        session=session, user_id=user_id, token_id=token_id, actor=actor_of(actor)
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/teams", response_model=Page[TeamPublic])
async def list_teams(
    session: SessionDep,
    _: CurrentUser,
    limit: int = Query(default=100, ge=1, le=500),
    offset: int = Query(default=0, ge=0),
) -> Page[TeamPublic]:
    """List teams with their members."""
    teams, total = await service.list_teams(session=session, limit=limit, offset=offset)
    return Page(
        data=[await service.team_public(session=session, team=t) for t in teams], count=total
    )


@router.post("/teams", response_model=TeamPublic, status_code=status.HTTP_201_CREATED)
async def create_team(session: SessionDep, admin: AdminUser, team_in: TeamCreate) -> TeamPublic:
    """Create a team (admins only)."""
    return await service.create_team(session=session, team_in=team_in, actor=actor_of(admin))


@router.get("/teams/{team_id}", response_model=TeamPublic)
async def get_team(session: SessionDep, _: CurrentUser, team_id: UUID) -> TeamPublic:
    """Return one team."""
    team = await service.get_team(session=session, team_id=team_id)
    return await service.team_public(session=session, team=team)


@router.patch("/teams/{team_id}", response_model=TeamPublic)
async def update_team(
    session: SessionDep, admin: AdminUser, team_id: UUID, team_in: TeamUpdate
) -> TeamPublic:
    """Change a team (admins only); `members` replaces the member list."""
    return await service.update_team(
        session=session, team_id=team_id, team_in=team_in, actor=actor_of(admin)
    )


@router.delete("/teams/{team_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_team(session: SessionDep, admin: AdminUser, team_id: UUID) -> Response:
    """Delete a team (admins only)."""
    await references.delete_team(session=session, team_id=team_id, actor=actor_of(admin))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
