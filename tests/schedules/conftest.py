"""HTTP fixtures for schedule tests: an admin, an API caller, users, and a schedule builder."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from app.db import SessionMaker
from app.identity.models import Role
from tests.factories import Login, login

URL = "/api/v1/schedules"
Api = Callable[..., Awaitable[httpx.Response]]


@pytest.fixture
async def admin(sessionmaker: SessionMaker) -> Login:
    return await login(sessionmaker, role=Role.admin, name="Admin")


@pytest.fixture
def api(client: httpx.AsyncClient, admin: Login) -> Api:
    """Call the API as the admin: `await api("POST", URL, body)`; `as_=login` for another user."""

    async def call(
        method: str, path: str, body: Any = None, as_: Login | None = None, **params: Any
    ) -> httpx.Response:
        who = as_ or admin
        return await client.request(method, path, json=body, headers=who.headers, params=params)

    return call


@pytest.fixture
async def bob(sessionmaker: SessionMaker) -> Login:
    return await login(sessionmaker, role=Role.responder, name="Bob")


@pytest.fixture
async def carol(sessionmaker: SessionMaker) -> Login:
    return await login(sessionmaker, role=Role.responder, name="Carol")


def layer_body(*users: Login, **extra: Any) -> dict[str, Any]:
    """Return a layer: daily 09:00 hand-offs from Monday 2 March 2026, local time."""
    return {
        "name": "Primary",
        "start": "2026-03-02T09:00:00",
        "rotation_length": "P1D",
        "users": [str(u.user.id) for u in users],
        **extra,
    }


async def make_schedule(api: Api, *users: Login, **extra: Any) -> dict[str, Any]:
    """Create a schedule in Europe/Berlin with one daily layer of `users`; return it."""
    body = {"name": "Checkout primary", "timezone": "Europe/Berlin", "layers": [layer_body(*users)]}
    created = await api("POST", URL, {**body, **extra})
    assert created.status_code == 201, created.text
    return created.json()  # type: ignore[no-any-return]
