"""In a real browser: a responder runs an approved runbook from the incident page."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect
from temporalio.testing import WorkflowEnvironment

from app.audit.models import Actor
from app.config import Settings
from app.db import SessionMaker
from app.identity.models import Role
from app.runbooks import service as runbooks
from app.runbooks.models import Definition, RunbookCreate
from tests.e2e.conftest import Live, person, sign_in
from tests.live_server import serve
from tests.runbooks import helpers
from tests.runbooks.standin import SECRET, Runner

pytestmark = pytest.mark.e2e


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The stand-in runner listens on loopback: private targets allowed."""
    return settings.model_copy(update={"allow_private_targets": True})


@pytest.fixture
async def runner() -> AsyncIterator[tuple[Runner, str]]:
    stand_in = Runner()
    async with serve(stand_in.app()) as url:
        yield stand_in, f"{url}/run/restart"


async def test_run_runbook_shows_version_approver_and_request_then_progress(
    live: Live,
    chromium: Browser,
    sessionmaker: SessionMaker,
    settings: Settings,
    runner: tuple[Runner, str],
    ts_env: WorkflowEnvironment,
) -> None:
    stand_in, url = runner
    author = await person(sessionmaker, Role.admin, name="Ada Author")
    approver = await person(sessionmaker, Role.admin, name="Abe Approver")
    me = await person(sessionmaker, name="Rita Responder")
    async with sessionmaker() as session:
        created = await runbooks.create(
            session=session,
            settings=settings,
            runbook_in=RunbookCreate(
                name="Restart unit",
                definition=Definition.model_validate(helpers.definition(url)),
                secret=SECRET,
            ),
            actor=Actor(id=author.id),
        )
        await runbooks.approve(
            session=session,
            settings=settings,
            runbook_id=created.id,
            version=1,
            actor=Actor(id=approver.id),
        )
        await session.commit()
    incident_id = await helpers.incident(ts_env.client, sessionmaker, settings)

    page = await (await chromium.new_context()).new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    await sign_in(page, live, me)
    await page.goto(f"{live.url}/incidents/{incident_id}")
    await page.get_by_role("link", name="Run runbook Restart unit").click()
    await page.get_by_label("unit (required)").select_option("db")
    await page.get_by_role("button", name="Show the request").click()
    await expect(page.locator("#confirm-version")).to_contain_text("v1")
    await expect(page.locator("#confirm-approver")).to_have_text("Abe Approver")
    await expect(page.locator("#confirm-target")).to_have_text(f"POST {url}")
    await expect(page.locator("#confirm-body")).to_contain_text('"unit": "db"')
    assert stand_in.requests == []  # nothing is sent before the confirmation

    await page.get_by_role("button", name="Run v1 now").click()
    await expect(page.locator("#run-status")).to_have_text("succeeded", timeout=20_000)
    await expect(page.locator("#run-response")).to_have_text("200")
    await page.get_by_role("link", name="back to the incident").click()
    await expect(page.locator("#incident-runbook-runs")).to_contain_text("Restart unit v1")
    await expect(page.locator("#incident-runbook-runs")).to_contain_text("succeeded")
    await expect(page.locator("#incident-runbook-runs")).to_contain_text("by Rita Responder")
    await expect(page.locator("#incident-timeline")).to_contain_text("runbook finished")
    (request,) = stand_in.requests
    assert '"unit": "db"' in request["body"]
    assert problems == []
