"""The web UI on a test database, with a Temporal test server and a worker when asked for."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app.config import Settings
from app.db import SessionMaker
from app.identity.models import Role, User
from app.temporal import LazyClient
from tests.factories import make_user

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Browser:
    """An HTTP client that keeps cookies like a browser, signed in as `user`."""

    client: httpx.AsyncClient
    user: User
    csrf: str = ""

    async def get(self, url: str, **kw: object) -> httpx.Response:
        response = await self.client.get(url, **kw)  # type: ignore[arg-type]
        found = _CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    async def post(
        self, url: str, data: dict[str, str | list[str]] | None = None
    ) -> httpx.Response:
        """Submit a form with the session's CSRF token, as the page would."""
        return await self.client.post(url, data={"csrf_token": self.csrf, **(data or {})})


def csrf_of(html: str) -> str:
    """Return the first CSRF token of a page's forms."""
    found = _CSRF.search(html)
    assert found, "no form with a CSRF token on the page"
    return found.group(1)


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> httpx.Response:
    """Fill in and submit the sign-in form."""
    form = await client.get("/login")
    return await client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_of(form.text)}
    )


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url="http://test",
    )


@pytest.fixture
async def web_app(settings: Settings, database_url: str) -> AsyncIterator[FastAPI]:
    """The app without a Temporal server (pages that only read)."""
    from api import create_app

    app = create_app(settings, database_url=database_url)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def live_app(
    settings: Settings, database_url: str, ts_env: WorkflowEnvironment, worker: Worker
) -> AsyncIterator[FastAPI]:
    """The app whose Temporal client is the time-skipping test server's, with a worker."""
    from api import create_app

    app = create_app(settings, database_url=database_url)
    app.state.temporal = LazyClient(settings, None, client=ts_env.client)
    async with app.router.lifespan_context(app):
        yield app


async def browser_for(
    app: FastAPI, sessionmaker: SessionMaker, role: Role = Role.responder, **kw: object
) -> Browser:
    """Create a user with a password and return a browser signed in as them."""
    async with sessionmaker() as session:
        user = await make_user(session, role=role, password=PASSWORD, **kw)  # type: ignore[arg-type]
    client = _client(app)
    response = await sign_in(client, user.email)
    assert response.status_code == 303, response.text
    browser = Browser(client=client, user=user)
    await browser.get("/profile")  # picks up the session's CSRF token
    return browser


@pytest.fixture
async def anonymous(web_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(web_app) as client:
        yield client
