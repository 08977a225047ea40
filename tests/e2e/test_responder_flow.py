"""In a real browser: sign in, see an alert become an incident live, act on it, cover a shift."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest
from playwright.async_api import Browser, expect
from temporalio.testing import WorkflowEnvironment

from app.audit.models import Actor
from app.config import Settings
from app.db import SessionMaker
from app.ingest import service as ingest
from app.ingest.models import IntegrationCreate, IntegrationType
from app.schedules import service as schedules
from app.schedules.models import LayerIn, ScheduleCreate
from tests import incident_helpers as h
from tests.e2e.conftest import Live, person, sign_in

pytestmark = pytest.mark.e2e
SYSTEM = Actor.system(via="test")


async def _service_with_key(sessionmaker: SessionMaker, settings: Settings) -> str:
    pager = await h.users(sessionmaker, 1)
    pol = await h.policy(sessionmaker, settings, [h.level(300, pager[0])])
    svc = await h.service(sessionmaker, pol)
    async with sessionmaker() as session:
        created = await ingest.create(
            session=session,
            settings=settings,
            integration_in=IntegrationCreate(type=IntegrationType.pagerduty, name="pd"),
            actor=SYSTEM,
            service_id=svc.id,
        )
        await session.commit()
    return created.key


async def test_new_incident_appears_live_then_is_acknowledged_and_resolved(
    live: Live, chromium: Browser, sessionmaker: SessionMaker
) -> None:
    key = await _service_with_key(sessionmaker, live.settings)
    me = await person(sessionmaker)
    page = await chromium.new_page()
    problems: list[str] = []  # script errors and Content-Security-Policy violations
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    await sign_in(page, live, me)
    await expect(page.locator("#live-status")).to_have_text("Live updates: on")
    await expect(page.locator(".empty")).to_be_visible()
    await page.evaluate("window.__notReloaded = true")

    async with httpx.AsyncClient() as monitoring:
        sent = await monitoring.post(
            f"{live.url}/v2/enqueue",
            json={
                "routing_key": key,
                "event_action": "trigger",
                "dedup_key": "checkout-5xx",
                "payload": {"summary": "Checkout 5xx", "source": "lb-1", "severity": "critical"},
            },
        )
    assert sent.status_code == 202, sent.text

    row = page.locator(".incident", has_text="Checkout 5xx")
    await expect(row).to_be_visible(timeout=5000)
    await expect(row.locator(".badge")).to_have_text("triggered")
    await expect(page).to_have_title("(1) Incidents · PageFree")
    await expect(page.locator("#announce")).to_contain_text("New triggered incident: #")
    assert await page.evaluate("window.__notReloaded") is True

    await row.get_by_role("link").click()
    await expect(page.locator("h1")).to_contain_text("Checkout 5xx")
    # The incident page is live too: another alert of the same key joins its timeline.
    await page.evaluate("window.__notReloaded = true")
    async with httpx.AsyncClient() as monitoring:
        again = await monitoring.post(
            f"{live.url}/v2/enqueue",
            json={
                "routing_key": key,
                "event_action": "trigger",
                "dedup_key": "checkout-5xx",
                "payload": {
                    "summary": "Checkout 5xx again",
                    "source": "lb-2",
                    "severity": "critical",
                },
            },
        )
    assert again.status_code == 202, again.text
    await expect(page.locator(".timeline")).to_contain_text("Checkout 5xx again", timeout=5000)
    assert await page.evaluate("window.__notReloaded") is True
    await page.get_by_role("button", name="Acknowledge").click()
    await expect(page.get_by_role("status")).to_have_text("Acknowledged: escalation stopped.")
    await expect(page.locator("#incident-status")).to_have_text("acknowledged")

    await page.get_by_label("Resolution note (optional)").fill("rolled back the deploy")
    await page.get_by_role("button", name="Resolve").click()
    await expect(page.locator("#incident-status")).to_have_text("resolved")
    await expect(page.locator(".timeline")).to_contain_text("“rolled back the deploy”")
    await expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)

    await page.goto(f"{live.url}/")
    await expect(page.locator(".incident")).to_have_count(0)
    await expect(page).to_have_title("Incidents · PageFree")
    assert problems == []


async def test_create_an_override_from_the_schedule_page(
    live: Live, chromium: Browser, sessionmaker: SessionMaker
) -> None:
    me = await person(sessionmaker, name="Olive Override")
    other = await person(sessionmaker, name="Rolf Rotation")
    async with sessionmaker() as session:
        sched = await schedules.create_schedule(
            session=session,
            schedule_in=ScheduleCreate(
                name="Primary",
                timezone="UTC",
                layers=[
                    LayerIn(
                        name="daily",
                        start=datetime(2026, 1, 1),
                        rotation_length=timedelta(days=1),
                        users=[other.id],
                    )
                ],
            ),
            actor=SYSTEM,
        )
        await session.commit()
    page = await chromium.new_page()
    await sign_in(page, live, me)
    await page.get_by_role("link", name="On-call").click()
    await page.get_by_role("link", name="Primary").click()
    await expect(page.locator(".week")).to_contain_text("Rolf Rotation")
    await page.get_by_label("From (UTC)").fill("2026-12-01T09:00")
    await page.get_by_label("Until (UTC)").fill("2026-12-01T17:00")
    await page.get_by_role("button", name="Create override").click()
    await expect(page.get_by_role("status")).to_have_text("Override created.")
    await expect(page.locator(".week")).to_contain_text("Olive Override")
    assert "week=2026-12-01" in page.url
    assert str(sched.id) in page.url


async def test_phone_width_and_offline_copy_of_the_incident_list(
    live: Live, chromium: Browser, sessionmaker: SessionMaker, ts_env: WorkflowEnvironment
) -> None:
    people = await h.users(sessionmaker, 1)
    pol = await h.policy(sessionmaker, live.settings, [h.level(300, people[0])])
    svc = await h.service(sessionmaker, pol)
    await h.send_alert(ts_env.client, live.settings, svc, h.alert(summary="Queue backlog growing"))
    me = await person(sessionmaker)
    context = await chromium.new_context(viewport={"width": 375, "height": 740})
    page = await context.new_page()
    await sign_in(page, live, me)
    row = page.locator(".incident", has_text="Queue backlog growing")
    await expect(row).to_be_visible(timeout=5000)
    # The filter form as a person uses it: nothing but the status chosen.
    await page.get_by_label("Status").select_option("acknowledged")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.locator(".empty")).to_be_visible()
    await page.get_by_label("Status").select_option("triggered")
    await page.get_by_role("button", name="Filter").click()
    await expect(row).to_be_visible()
    for path in ("/", "/oncall", "/services", "/profile"):
        await page.goto(f"{live.url}{path}")
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways at 375 px"
    await page.goto(f"{live.url}/")
    await row.get_by_role("link").click()
    ack = page.get_by_role("button", name="Acknowledge")
    box = await ack.bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 100

    # The service worker keeps the last incident list for when the network is gone.
    await page.goto(f"{live.url}/")
    await page.evaluate("navigator.serviceWorker.ready")
    await page.reload()
    await expect(row).to_be_visible()
    await context.set_offline(True)
    await page.reload()
    await expect(row).to_be_visible()
    await expect(page.locator("#offline-banner")).to_be_visible()
    await context.close()
