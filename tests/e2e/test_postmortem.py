"""In a real browser: a postmortem started from an incident, edited with the preview, published."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from app.config import Settings
from app.db import SessionMaker
from tests.e2e.conftest import Live, person, sign_in
from tests.postmortems import helpers

pytestmark = pytest.mark.e2e


async def test_a_postmortem_is_edited_with_a_live_safe_preview_and_published(
    live: Live, chromium: Browser, sessionmaker: SessionMaker, settings: Settings
) -> None:
    me = await person(sessionmaker, name="Edith Editor")
    team = await helpers.team(sessionmaker, me)
    service = await helpers.service(sessionmaker, settings, "Billing", team)
    incident = await helpers.incident(
        sessionmaker, service, title="Invoices stuck", events=helpers.story(me, me)
    )
    context = await chromium.new_context()
    page = await context.new_page()
    problems: list[str] = []  # script errors and Content-Security-Policy violations
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    dialogs: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.message))
    await sign_in(page, live, me)

    await page.goto(f"{live.url}/incidents/{incident.id}")
    await page.get_by_role("button", name="Start a postmortem").click()
    await expect(page.locator("#pm-status")).to_have_text("draft")
    await expect(page.locator("#pm-preview h2", has_text="Root cause")).to_be_visible()

    body = page.get_by_label("Markdown")
    await body.fill(
        "# Invoices stuck\n\n## Root cause\n\nA **stuck** queue.\n\n"
        "<script>alert('x')</script> <img src=x onerror=alert('y')> [link](javascript:alert('z'))"
    )
    # The preview follows the typing, rendered and sanitised by the server.
    await expect(page.locator("#pm-preview strong", has_text="stuck")).to_be_visible()
    await expect(page.locator("#pm-preview strong")).to_have_count(1)
    await expect(page.locator("#pm-preview script")).to_have_count(0)
    await expect(page.locator("#pm-preview img")).to_have_count(0)
    await expect(page.locator('#pm-preview a[href^="javascript"]')).to_have_count(0)
    await page.get_by_role("button", name="Save").first.click()
    await expect(page.locator(".banner.ok")).to_have_text("Saved.")

    await page.get_by_role("button", name="Send for review").click()
    await expect(page.locator("#pm-status")).to_have_text("in review")
    await page.get_by_role("button", name="Publish").click()
    await expect(page.locator("#pm-status")).to_have_text("published")
    await expect(page.locator("#pm-published")).to_contain_text("by Edith Editor")

    await page.goto(f"{live.url}/incidents/{incident.id}")
    await expect(page.locator("#incident-postmortem")).to_contain_text("(published)")
    assert dialogs == [] and problems == []
    await context.close()
