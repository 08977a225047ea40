"""In Chromium at phone width: the public status page, and a partner's magic-link sign-in."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from playwright.async_api import Browser, expect
from temporalio.testing import WorkflowEnvironment

from app.audit.models import Actor
from app.catalog.models import Service
from app.config import Settings
from app.db import SessionMaker
from app.statuspages import partners
from app.statuspages import service as pages
from app.statuspages.feeder import Feeder
from app.statuspages.models import ComponentIn, StatusPageCreate
from app.statuspages.partner_models import PartnerCreate
from tests import incident_helpers as ih
from tests.e2e.conftest import Live
from tests.notify.conftest import FROM_EMAIL, aws, moto_server  # noqa: F401
from tests.statuspages.delivered.conftest import mails_to

pytestmark = pytest.mark.e2e
PHONE = {"width": 375, "height": 740}


@pytest.fixture
def settings(settings: Settings, aws: str) -> Settings:  # noqa: F811
    """E-mail through moto's SES, so the magic link really goes out."""
    return settings.model_copy(update={"ses_from_address": FROM_EMAIL})


async def _page(sessionmaker: SessionMaker, slug: str, visibility: str, service: Service) -> Any:
    async with sessionmaker() as session:
        created = await pages.create_page(
            session=session,
            page_in=StatusPageCreate(
                name=slug.title(),
                slug=slug,
                visibility=visibility,  # type: ignore[arg-type]
                components=[
                    ComponentIn(name="API", group="Core", service_ids=[service.id]),
                    ComponentIn(name="Dashboard", description="The web app"),
                ],
            ),
            actor=Actor.system(via="test"),
        )
        await session.commit()
        return created


async def _service(sessionmaker: SessionMaker, settings: Settings) -> Service:
    user = (await ih.users(sessionmaker, 1))[0]
    policy = await ih.policy(sessionmaker, settings, [ih.level(300, user)])
    return await ih.service(sessionmaker, policy)


async def test_public_page_reads_well_at_375_px_without_javascript(
    live: Live, chromium: Browser, sessionmaker: SessionMaker, settings: Settings
) -> None:
    svc = await _service(sessionmaker, settings)
    await _page(sessionmaker, "acme", "public", svc)
    context = await chromium.new_context(viewport=PHONE, java_script_enabled=False)
    page = await context.new_page()
    await page.goto(f"{live.url}/status/acme")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Acme")
    await expect(page.get_by_role("heading", name="All Systems Operational")).to_be_visible()
    components = page.get_by_role("region", name="Components")
    await expect(components.get_by_text("Dashboard")).to_be_visible()
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # The subscribe form works by keyboard and has a label.
    await page.get_by_label("E-mail address").fill("reader@example.com")
    await page.get_by_role("button", name="Subscribe").press("Enter")
    await expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    await context.close()


async def test_a_partner_signs_in_by_magic_link_and_reads_the_private_page(
    live: Live,
    chromium: Browser,
    sessionmaker: SessionMaker,
    settings: Settings,
    ts_env: WorkflowEnvironment,
    database_url: str,
) -> None:
    svc = await _service(sessionmaker, settings)
    inside = await _page(sessionmaker, "inside", "private", svc)
    address = "reader@globex.example"
    async with sessionmaker() as session:
        await partners.create_partner(
            session=session,
            partner_in=PartnerCreate(name="Globex", email=address, status_page_ids=[inside.id]),
            actor=Actor.system(via="test"),
        )
        await session.commit()
    feeder = Feeder(
        client=ts_env.client,
        settings=settings,
        sessionmaker=sessionmaker,
        database_url=database_url,
    )
    stop = asyncio.Event()
    feeding = asyncio.create_task(feeder.run(stop))
    try:
        context = await chromium.new_context(viewport=PHONE)
        page = await context.new_page()
        await page.goto(f"{live.url}/status/inside")
        await expect(page.get_by_role("heading", name="Status page not found")).to_be_visible()
        await page.get_by_label("E-mail address").fill(address)
        await page.get_by_role("button", name="Send me a sign-in link").click()
        await expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()

        async def mailed() -> list[Any]:
            return mails_to(address)

        [mail] = await ih.eventually(mailed, timeout=20)
        body = mail.get_payload(decode=True).decode()
        path = re.search(r"/partner/login/[A-Za-z0-9_-]+", body)
        assert path
        await page.goto(f"{live.url}{path.group(0)}")
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(f"{live.url}/status/inside")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Inside")
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        await context.close()
    finally:
        stop.set()
        await feeding
