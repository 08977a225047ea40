"""In a real browser at phone width: the profile's contact methods, rules and push toggle."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from playwright.async_api import Browser, expect
from pydantic import SecretStr

from app.config import Settings
from app.db import SessionMaker
from app.notify import messages
from tests.e2e.conftest import Live, person, sign_in
from tests.notify.conftest import vapid_keys

pytestmark = pytest.mark.e2e


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test settings with web push configured (keys only: nothing is pushed here)."""
    private, public = vapid_keys()
    return settings.model_copy(
        update={
            "vapid_private_key": SecretStr(private),
            "vapid_public_key": public,
            "vapid_subject": "mailto:ops@example.com",
        }
    )


async def test_profile_at_phone_width_adds_a_method_and_a_rule_and_offers_push(
    live: Live, chromium: Browser, sessionmaker: SessionMaker
) -> None:
    me = await person(sessionmaker)
    context = await chromium.new_context(viewport={"width": 375, "height": 740})
    page = await context.new_page()
    problems: list[str] = []  # script errors and Content-Security-Policy violations
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    await sign_in(page, live, me)
    await page.goto(f"{live.url}/profile")
    # push.js ran (under the page's CSP) and asked this browser for its subscription.
    await expect(page.locator("#push-status")).to_have_text("Push is off for this browser.")
    await expect(page.get_by_role("button", name="Enable push on this device")).to_be_visible()

    await page.get_by_label("Type").select_option("email")
    await page.get_by_label("Address").fill("e2e@example.com")
    await page.get_by_role("button", name="Add contact method").click()
    await expect(page.locator(".banner.ok")).to_have_text(
        "Contact method added. Send it a code to verify it."
    )
    method = page.locator(".method", has_text="E-mail e2e@example.com")
    await expect(method).to_contain_text("not verified")
    await expect(page.get_by_label("Code for E-mail e2e@example.com")).to_be_visible()

    await page.get_by_label("Delay (minutes after the page)").fill("5")
    await page.get_by_role("button", name="Add rule").click()
    await expect(page.locator(".banner.ok")).to_have_text("Notification rule added.")
    await expect(page.locator("#rules")).to_contain_text("E-mail e2e@example.com, after 5 min")

    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    wide = await page.evaluate(
        "[...document.querySelectorAll('main *')].filter((e) =>"
        " e.getBoundingClientRect().right > document.documentElement.clientWidth)"
        ".map((e) => e.tagName + (e.id ? '#' + e.id : '')).slice(0, 5)"
    )
    assert overflow <= 0, f"/profile scrolls sideways at 375 px: {wide}"
    verify = page.get_by_role("button", name="Verify")
    box = await verify.bounding_box()
    assert box is not None and box["height"] >= 44

    assert problems == [], problems

    # No e-mail provider in this stack: sending a code is a message on the page, not a crash.
    await method.get_by_role("button", name="Send code").click()
    await expect(page.get_by_role("alert")).to_contain_text("the email channel is not configured")
    await context.close()


async def test_service_worker_shows_a_pushed_page_with_an_acknowledge_action(
    live: Live, chromium: Browser, sessionmaker: SessionMaker
) -> None:
    """The payload `messages.push` builds, delivered to the service worker through DevTools
    (no push service involved), becomes a notification with the incident link and the action."""
    me = await person(sessionmaker)
    context = await chromium.new_context()
    await context.grant_permissions(["notifications"], origin=live.url)
    page = await context.new_page()
    await sign_in(page, live, me)
    await page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    cdp = await context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    await cdp.send("ServiceWorker.enable")
    for _ in range(50):
        if registrations:
            break
        await asyncio.sleep(0.1)
    [registration] = [r for r in registrations if not r.get("isDeleted")]
    facts = messages.PageFacts(
        number=42,
        title="Checkout is down",
        service="checkout",
        severity="critical",
        url=f"{live.url}/incidents/00000000-0000-0000-0000-000000000042",
        level=1,
        ack_url=f"{live.url}/ack/signed-token",
    )
    await cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": live.url + "/",
            "registrationId": registration["registrationId"],
            "data": json.dumps(messages.push(facts)),
        },
    )
    shown: list[dict[str, Any]] = []
    for _ in range(50):
        shown = await page.evaluate(
            "navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((ns) =>"
            " ns.map((n) => ({title: n.title, body: n.body, tag: n.tag, data: n.data,"
            " actions: n.actions.map((a) => a.action)})))"
        )
        if shown:
            break
        await asyncio.sleep(0.1)
    assert shown == [
        {
            "title": "#42 CRITICAL: Checkout is down",
            "body": "checkout, escalation level 1",
            "tag": "incident-42",
            "data": {"url": facts.url, "ackUrl": facts.ack_url},
            "actions": ["acknowledge"],
        }
    ]
    await context.close()
