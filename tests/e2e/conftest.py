"""A live server (uvicorn, time-skipping Temporal, a worker) and Debian's Chromium."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from playwright.async_api import Browser, Page, async_playwright
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app.config import Settings
from app.db import SessionMaker
from app.identity.models import Role, User
from app.temporal import LazyClient
from tests.factories import make_user
from tests.live_server import free_port, serve

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "e2e password long enough"


@pytest.fixture(autouse=True)
def _needs_chromium() -> None:
    """Skip (not fail) the browser tests where Debian's Chromium is not installed."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no {CHROMIUM}: install Debian's chromium (apt-get install chromium)")


@dataclass
class Live:
    url: str
    settings: Settings


@pytest.fixture
async def live(
    settings: Settings, database_url: str, ts_env: WorkflowEnvironment, worker: Worker
) -> AsyncIterator[Live]:
    """The whole app served on a loopback port, acting through the time-skipping server."""
    from api import create_app

    port = free_port()
    configured = settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    app = create_app(configured, database_url=database_url)
    app.state.temporal = LazyClient(configured, None, client=ts_env.client)
    async with app.router.lifespan_context(app), serve(app, port) as url:
        yield Live(url=url, settings=configured)


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


async def person(sessionmaker: SessionMaker, role: Role = Role.responder, **kw: object) -> User:
    """Create a user who can sign in with PASSWORD."""
    async with sessionmaker() as session:
        return await make_user(session, role=role, password=PASSWORD, **kw)  # type: ignore[arg-type]


async def sign_in(page: Page, live: Live, user: User) -> None:
    """Sign in through the form, as a person would."""
    await page.goto(f"{live.url}/login")
    await page.get_by_label("E-mail").fill(user.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{live.url}/")
