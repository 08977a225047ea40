"""In a real browser: an admin builds an automation with a condition, a webhook and an if
branch, sees a broken template refused at its step field, saves it, finds it in the list, and
dry-runs it on an incident to see the rendered template."""

from __future__ import annotations

import os

import pytest
from playwright.async_api import Browser, expect

from app.config import Settings
from app.db import SessionMaker
from app.identity.models import Role
from tests.e2e.conftest import Live, person, sign_in
from tests.runbooks import helpers

pytestmark = pytest.mark.e2e


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The webhook points at loopback: private targets allowed."""
    return settings.model_copy(update={"allow_private_targets": True})


async def test_build_save_list_and_dry_run(
    live: Live, chromium: Browser, sessionmaker: SessionMaker, settings: Settings
) -> None:
    incident_id = await helpers.incident_row(sessionmaker, settings)  # critical, high urgency
    admin = await person(sessionmaker, Role.admin, name="Ada Admin")
    page = await (await chromium.new_context(viewport={"width": 1100, "height": 1400})).new_page()
    problems: list[str] = []  # script errors and Content-Security-Policy violations
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    await sign_in(page, live, admin)

    await page.get_by_role("link", name="Automations").first.click()
    await page.get_by_role("link", name="New automation").click()
    builder = page.locator("#builder")
    await expect(builder).to_be_visible()
    await builder.locator('[data-path="name"]').fill("Critical: hook and note")

    # A condition on the automation: severity equals critical (the new row's default).
    await page.locator('[data-add-condition="conditions"]').click()
    await expect(page.locator('[data-path="conditions.0.field"]')).to_have_value("severity")
    await page.locator('[data-path="conditions.0.value"]').fill("critical")

    # Step 1: a webhook.
    await page.locator("#f-steps-new").select_option("webhook")
    await page.locator('[data-add-step="steps"]').click()
    await page.locator('[data-path="steps.0.url"]').fill("http://127.0.0.1:9/hook")

    # Step 2: if urgency is high, then add a note (with a broken template first).
    await page.locator("#f-steps-new").select_option("if")
    await page.locator('[data-add-step="steps"]').click()
    await page.locator('[data-add-condition="steps.1.conditions"]').click()
    await page.locator('[data-path="steps.1.conditions.0.field"]').select_option("urgency")
    await page.locator('[data-path="steps.1.conditions.0.value"]').fill("high")
    await page.locator("#f-steps-1-then-new").select_option("add_note")
    await page.locator('[data-add-step="steps.1.then"]').click()
    note = page.locator('[data-path="steps.1.then.0.body"]')
    await note.fill("Still open: {{ incident.title")

    await page.get_by_role("button", name="Save automation").click()
    await expect(note).to_have_attribute("aria-invalid", "true")
    error = page.locator('[data-path="steps.1.then.0.body"] + .field-error')
    await expect(error).to_contain_text("template error")
    await expect(error).to_contain_text("steps[1].then[0].body")
    await expect(page.locator("#form-errors")).to_contain_text("steps[1].then[0].body")
    if os.environ.get("PAGEFREE_SCREENSHOT"):  # docs/screenshots/automation-builder.png
        await page.screenshot(path=os.environ["PAGEFREE_SCREENSHOT"], full_page=True)
    # What was typed is all still there.
    await expect(page.locator('[data-path="steps.0.url"]')).to_have_value("http://127.0.0.1:9/hook")
    await expect(page.locator('[data-path="steps.1.conditions.0.value"]')).to_have_value("high")

    # Reorder and back: the step list follows.
    await page.get_by_role("button", name="Move step 2 up").click()
    await expect(page.locator('[data-path="steps.0.type"]')).to_have_value("if")
    await page.get_by_role("button", name="Move step 1 down").click()
    await expect(page.locator('[data-path="steps.0.type"]')).to_have_value("webhook")

    await note.fill("Still open: {{ incident.title }}")
    await page.get_by_role("button", name="Save automation").click()
    await page.wait_for_url(f"{live.url}/automations?done=saved*")
    row = page.locator("#automations tr", has_text="Critical: hook and note")
    await expect(row).to_contain_text("Webhook → If / else (Add note | nothing)")
    await expect(row).to_contain_text("severity eq critical")
    await expect(row.get_by_role("switch")).to_have_attribute("aria-checked", "true")

    # Dry run on the incident: it would fire, and the note renders with the incident's title.
    await page.get_by_role("link", name="Dry run on an incident").click()
    await page.get_by_label("Incident").select_option(incident_id)
    await page.get_by_role("button", name="Dry run").click()
    result = page.locator("#dry-run-result article", has_text="Critical: hook and note")
    await expect(result).to_have_attribute("data-would-fire", "yes")
    await expect(result.locator('[data-step-path="steps[1].then[0]"] pre')).to_have_text(
        "Still open: Disk full on db-1"
    )
    # The refused save's 422 is the browser's only complaint.
    assert [p for p in problems if "status of 422" not in p] == []
