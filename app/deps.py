"""Typed request dependencies: the database session, the current user, Temporal, roles."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from app.audit.models import Actor
from app.config import Settings
from app.db import SessionMaker
from app.identity import service as identity
from app.identity.models import Role, User
from app.problems import Problem

_bearer = HTTPBearer(auto_error=False)


def get_settings_dep(request: Request) -> Settings:
    """Return the settings the app was built with."""
    settings: Settings = request.app.state.settings  # Starlette's State is untyped
    return settings


def get_sessionmaker(request: Request) -> SessionMaker:
    """Return the app's session factory."""
    sessionmaker: SessionMaker = request.app.state.sessionmaker
    return sessionmaker


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """Yield a session for the request: committed on success, rolled back on error."""
    async with get_sessionmaker(request)() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
# scope="function": commit before the response is sent, so a 2xx means the change is stored
# and the next request sees it (the default runs the commit after the response).
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


def _unauthorized(detail: str) -> Problem:
    return Problem(
        401,
        "Unauthorized",
        detail,
        type_="/problems/unauthorized",
        headers={"WWW-Authenticate": "Bearer"},
    )


async def get_current_user(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """Authenticate the request's bearer token."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("send an API token as `Authorization: Bearer <token>`")
    user = await identity.authenticate_token(session=session, token=credentials.credentials)
    if user is None:
        raise _unauthorized("the API token is unknown, expired or revoked")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]

# What each role may do; a role includes the rights of those after it.
_RANK = {Role.observer: 0, Role.responder: 1, Role.admin: 2}


def require_role(role: Role) -> Callable[[User], Coroutine[Any, Any, User]]:
    """Return a dependency that lets through users with at least `role`."""

    async def _check(user: CurrentUser) -> User:
        if _RANK[Role(user.role)] < _RANK[role]:
            raise Problem(
                403,
                "Forbidden",
                f"this action needs the {role.value} role",
                type_="/problems/forbidden",
            )
        return user

    return _check


AdminUser = Annotated[User, Depends(require_role(Role.admin))]
ResponderUser = Annotated[User, Depends(require_role(Role.responder))]


def actor_of(user: User, via: str = "api") -> Actor:
    """Return the audit/timeline actor for a user acting through `via`."""
    return Actor(type="user", id=user.id, via=via)


async def get_temporal(request: Request) -> Client:
    """Return the app's Temporal client, connecting on first use."""
    client: Client = await request.app.state.temporal.get()
    return client


TemporalDep = Annotated[Client, Depends(get_temporal)]
