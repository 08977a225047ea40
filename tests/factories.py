"""One-line builders of valid objects for tests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import Actor
from app.db import SessionMaker
from app.identity import service as identity
from app.identity.models import ApiTokenCreate, Role, User, UserCreate

_seq = itertools.count(1)


@dataclass
class Login:
    """A user with an API token, and auth headers for requests."""

    user: User
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_user(
    session: AsyncSession,
    *,
    role: Role = Role.responder,
    name: str | None = None,
    email: str | None = None,
    timezone: str = "UTC",
    password: str | None = None,
    break_glass: bool = False,
) -> User:
    """Create and commit a user (`break_glass`: may use a password while SSO is on)."""
    n = next(_seq)
    user = await identity.create_user(
        session=session,
        user_in=UserCreate(
            name=name or f"User {n}",
            email=email or f"user{n}@example.com",
            timezone=timezone,
            role=role,
            password=password,
        ),
        actor=Actor.system(via="test"),
    )
    user.break_glass = break_glass
    await session.commit()
    return user


async def login(sessionmaker: SessionMaker, *, role: Role = Role.responder, **kw: object) -> Login:
    """Create a user with an API token."""
    async with sessionmaker() as session:
        user = await make_user(session, role=role, **kw)  # type: ignore[arg-type]
        created = await identity.create_token(
            session=session,
            user_id=user.id,
            token_in=ApiTokenCreate(name="test"),
            actor=Actor.system(via="test"),
        )
        await session.commit()
    return Login(user=user, token=created.token)


def assert_problem(response: httpx.Response, status: int) -> dict:  # type: ignore[type-arg]
    """Assert an RFC 7807 problem answer with `status`; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    assert "type" in body
    return body  # type: ignore[no-any-return]
