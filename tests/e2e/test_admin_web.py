"""In Chromium: build a schedule with the editor, invite and deactivate people, and act on an
incident from the list at phone width."""

from __future__ import annotations

import re
from datetime import datetime

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from temporalio.testing import WorkflowEnvironment

from app.audit.models import Actor
from app.db import SessionMaker
from app.identity import service as identity
from app.identity.models import ApiTokenCreate, Role
from tests import incident_helpers as h
from tests.e2e.conftest import PASSWORD, Live, person, sign_in

pytestmark = pytest.mark.e2e
SYSTEM = Actor.system(via="test")


def _watch(page: Page) -> list[str]:
    """Collect script errors and Content-Security-Policy violations."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


async def _order(page: Page) -> list[str]:
    return await page.locator('#layer-0-users input[name="layer-0-users"]').evaluate_all(
        "(inputs) => inputs.map((i) => i.value)"
    )


async def test_create_a_rotating_schedule_with_a_restriction_and_the_preview_matches_the_api(
    live: Live, chromium: Browser, sessionmaker: SessionMaker
) -> None:
    admin = await person(sessionmaker, role=Role.admin, name="Ada Admin")
    ana = await person(sessionmaker, name="Ana Early")
    ben = await person(sessionmaker, name="Ben Late")
    async with sessionmaker() as session:
        token = await identity.create_token(
            session=session, user_id=admin.id, token_in=ApiTokenCreate(name="e2e"), actor=SYSTEM
        )
        await session.commit()
    page = await chromium.new_page(viewport={"width": 1280, "height": 900})
    problems = _watch(page)
    await sign_in(page, live, admin)
    await page.goto(f"{live.url}/oncall")
    await page.get_by_role("link", name="New schedule").click()
    await page.get_by_label("Name", exact=True).fill("Support desk")
    await page.get_by_label("Time zone (IANA, e.g. Europe/Berlin)").fill("Europe/Berlin")
    await page.get_by_label("Layer name").fill("Weekdays")
    await page.get_by_label(re.compile("^Rotation starts")).fill("2026-03-02T09:00")
    await page.get_by_label("Shift length").fill("1")
    await page.get_by_label("Unit").select_option("days")
    for who in ("Ana Early", "Ben Late"):
        await page.get_by_label("Add a person").select_option(label=who)
        await page.get_by_role("button", name="Add", exact=True).click()
    assert await _order(page) == [str(ana.id), str(ben.id)]
    # Keyboard: the up button of the second person moves them first.
    up = page.get_by_role("button", name="Move Ben Late up")
    await up.focus()
    await page.keyboard.press("Enter")
    assert await _order(page) == [str(ben.id), str(ana.id)]
    await expect(page.locator("#order-status")).to_have_text("Ben Late is now number 1")
    # Drag and drop puts Ana first again.
    await page.locator("#layer-0-users li", has_text="Ana Early").drag_to(
        page.locator("#layer-0-users li", has_text="Ben Late")
    )
    assert await _order(page) == [str(ana.id), str(ben.id)]

    # A restriction (a server round trip keeps what was typed), then the live preview.
    await page.get_by_role("button", name="Add a restriction").click()
    await expect(page.get_by_label("Layer name")).to_have_value("Weekdays")
    assert await _order(page) == [str(ana.id), str(ben.id)]
    await page.get_by_label("From time").fill("09:00")
    await page.get_by_label("Until time").fill("17:00")
    preview = page.locator("#preview")
    await expect(preview.locator(".shift.gap").first).to_be_visible()
    await expect(preview).to_contain_text("Ana Early")
    await expect(preview.locator(".shift[data-kind=shift]").first).to_contain_text("09:00")
    shown = await preview.locator("[data-kind]").evaluate_all(
        "(items) => items.map((i) => [i.dataset.kind, i.dataset.user, i.dataset.start, "
        "i.dataset.end])"
    )
    since = await preview.get_attribute("data-since")
    until = await preview.get_attribute("data-until")
    await page.get_by_role("button", name="Save schedule").click()
    await expect(page.get_by_role("status").first).to_have_text("Schedule saved.")
    schedule_id = page.url.split("/schedules/")[1].split("?")[0]

    async with httpx.AsyncClient(base_url=live.url) as api:
        answer = await api.get(
            f"/api/v1/schedules/{schedule_id}/shifts",
            params={"since": since, "until": until},
            headers={"Authorization": f"Bearer {token.token}"},
        )
    assert answer.status_code == 200, answer.text
    body = answer.json()

    def instant(value: str) -> datetime:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))

    expected = sorted(
        [("shift", s["user_id"], instant(s["start"]), instant(s["end"])) for s in body["data"]]
        + [("gap", "", instant(g["start"]), instant(g["end"])) for g in body["gaps"]],
        key=lambda item: item[2],
    )
    assert [(k, u, instant(s), instant(e)) for k, u, s, e in shown] == expected
    assert any(k == "gap" for k, *_ in expected) and any(k == "shift" for k, *_ in expected)
    assert problems == []


async def test_an_invited_user_sets_a_password_and_signs_in(
    live: Live, chromium: Browser, sessionmaker: SessionMaker
) -> None:
    admin = await person(sessionmaker, role=Role.admin)
    page = await chromium.new_page()
    problems = _watch(page)
    await sign_in(page, live, admin)
    await page.goto(f"{live.url}/users")
    await page.get_by_label("Name", exact=True).first.fill("Ivy Invited")
    await page.locator("#i-email").fill("ivy@example.com")
    await page.get_by_role("button", name="Invite", exact=True).click()
    await expect(page.locator("#invite-result")).to_contain_text("pass this link to Ivy Invited")
    link = await page.locator("#invite-link").input_value()
    assert "/invite/" in link

    newcomer = await (await chromium.new_context()).new_page()
    newcomer_problems = _watch(newcomer)
    await newcomer.goto(link.replace(live.settings.base_url, live.url))
    await expect(newcomer.locator("h1")).to_have_text("Welcome to PageFree, Ivy Invited")
    await newcomer.get_by_label("New password (at least 12 characters)").fill(PASSWORD)
    await newcomer.get_by_label("The same password again").fill(PASSWORD)
    await newcomer.get_by_role("button", name="Set password").click()
    await expect(newcomer.get_by_role("status").first).to_have_text(
        "Your password is set: sign in now."
    )
    await newcomer.get_by_label("E-mail").fill("ivy@example.com")
    await newcomer.get_by_label("Password").fill(PASSWORD)
    await newcomer.get_by_role("button", name="Sign in").click()
    await newcomer.wait_for_url(f"{live.url}/")
    await expect(newcomer.locator(".me-summary")).to_contain_text("my incidents")
    # The link was used up.
    await newcomer.goto(link.replace(live.settings.base_url, live.url))
    await expect(newcomer.locator("h1")).to_have_text("Not found")
    assert problems == [] and [p for p in newcomer_problems if "404" not in p] == []


async def test_deactivating_a_user_signs_them_out_and_takes_them_off_schedules(
    live: Live, chromium: Browser, sessionmaker: SessionMaker
) -> None:
    from datetime import timedelta

    from app.schedules import service as schedules
    from app.schedules.models import LayerIn, ScheduleCreate

    admin = await person(sessionmaker, role=Role.admin)
    leaving = await person(sessionmaker, name="Dora Departing")
    staying = await person(sessionmaker, name="Sam Staying")
    async with sessionmaker() as session:
        await schedules.create_schedule(
            session=session,
            schedule_in=ScheduleCreate(
                name="Nights",
                timezone="UTC",
                layers=[
                    LayerIn(
                        name="all day",
                        start=datetime(2026, 1, 5, 9),
                        rotation_length=timedelta(days=1),
                        users=[staying.id],
                    ),
                    LayerIn(
                        name="nights",
                        start=datetime(2026, 1, 5, 20),
                        rotation_length=timedelta(days=1),
                        users=[leaving.id],
                    ),
                ],
            ),
            actor=SYSTEM,
        )
        await session.commit()
    theirs = await (await chromium.new_context()).new_page()
    await sign_in(theirs, live, leaving)

    page = await chromium.new_page()
    problems = _watch(page)
    await sign_in(page, live, admin)
    await page.goto(f"{live.url}/users")
    row = page.locator("tr", has_text="Dora Departing")
    await row.get_by_role("link", name="Deactivate").click()
    await expect(page.locator("h1")).to_have_text("Deactivate Dora Departing")
    await expect(page.locator("main")).to_contain_text("layers left empty and removed: nights")
    await page.get_by_role("button", name="Deactivate Dora Departing").click()
    await expect(page.get_by_role("status").first).to_have_text("User deactivated.")
    await expect(page.locator("tr", has_text="Dora Departing")).to_contain_text("deactivated")

    await theirs.reload()
    assert "/login" in theirs.url
    await theirs.get_by_label("E-mail").fill(leaving.email)
    await theirs.get_by_label("Password").fill(PASSWORD)
    await theirs.get_by_role("button", name="Sign in").click()
    await expect(theirs.locator("main")).to_contain_text("deactivated")
    assert problems == []


async def test_acknowledge_from_the_list_at_375_px_with_undo_and_swipe_to_resolve(
    live: Live, chromium: Browser, sessionmaker: SessionMaker, ts_env: WorkflowEnvironment
) -> None:
    me = await person(sessionmaker, name="Pia Phone")
    pol = await h.policy(sessionmaker, live.settings, [h.level(300, me)])
    svc = await h.service(sessionmaker, pol)
    await h.opened(
        await h.send_alert(ts_env.client, live.settings, svc, h.alert(summary="Queue backlog"))
    )
    context = await chromium.new_context(
        viewport={"width": 375, "height": 740}, has_touch=True, is_mobile=True
    )
    page = await context.new_page()
    problems = _watch(page)
    await sign_in(page, live, me)
    await expect(page.locator(".me-summary")).to_contain_text("1 my incident")
    nav = page.locator(".bottom-nav")
    await expect(nav).to_be_visible()
    await expect(page.locator(".top nav")).to_be_hidden()
    row = page.locator(".incident", has_text="Queue backlog")
    ack = row.get_by_role("button", name="Acknowledge")
    box = await ack.bounding_box()
    assert box is not None and box["height"] >= 44
    # One-handed: the action sits in the lower part of the screen's reach, full width of a thumb.
    assert box["width"] >= 140
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0

    await ack.tap()
    await expect(page.locator("#toast")).to_contain_text("Acknowledging #")
    await page.get_by_role("button", name="Undo").tap()
    await expect(page.locator("#toast")).to_contain_text("Undone")
    await page.wait_for_timeout(5500)
    await expect(row.locator(".badge")).to_have_text("triggered")

    await row.get_by_role("button", name="Acknowledge").tap()
    await expect(row.locator(".badge")).to_have_text("acknowledged", timeout=10_000)
    await expect(page.locator("#toast")).to_contain_text("Acknowledged #")

    # Swipe the row left: resolve (after the same few seconds to undo).
    target = await row.bounding_box()
    assert target is not None
    y = target["y"] + 20
    for kind, x in (
        ("pointerdown", 300),
        ("pointermove", 200),
        ("pointermove", 120),
        ("pointerup", 120),
    ):
        await row.dispatch_event(
            kind, {"pointerType": "touch", "clientX": x, "clientY": y, "bubbles": True}
        )
    await expect(page.locator("#toast")).to_contain_text("Resolving #")
    await expect(page.locator(".incident", has_text="Queue backlog")).to_have_count(
        0, timeout=10_000
    )
    await context.close()
    assert problems == []


async def test_a_refused_form_shows_the_error_inline_and_keeps_what_was_typed(
    live: Live, chromium: Browser, sessionmaker: SessionMaker
) -> None:
    admin = await person(sessionmaker, role=Role.admin)
    await person(sessionmaker, name="Mo Member")
    async with sessionmaker() as session:
        from app.identity.models import TeamCreate

        await identity.create_team(
            session=session, team_in=TeamCreate(name="Payments"), actor=SYSTEM
        )
        await session.commit()
    page = await chromium.new_page()
    problems = _watch(page)
    await sign_in(page, live, admin)
    await page.goto(f"{live.url}/users")
    await page.locator("summary", has_text="Add a user with a password instead").click()
    await page.locator("#u-name").fill("Typed Twice")
    await page.locator("#u-email").fill(admin.email)
    await page.get_by_role("button", name="Add user").click()
    form = page.locator('form[action="/users"]')
    await expect(form.get_by_role("alert")).to_contain_text("already exists")
    await expect(page.locator("#u-name")).to_have_value("Typed Twice")
    await expect(form.get_by_role("button", name="Add user")).to_be_enabled()

    await page.goto(f"{live.url}/teams")
    await page.locator("#team-name").fill("Payments")
    await page.get_by_label("Mo Member").last.check()
    await page.get_by_role("button", name="Add team").click()
    new = page.locator('form[action="/teams"]')
    await expect(new.get_by_role("alert")).to_contain_text("already exists")
    await expect(page.locator("#team-name")).to_have_value("Payments")
    await expect(page.get_by_label("Mo Member").last).to_be_checked()
    # The browser logs the refused POSTs themselves; nothing else may go wrong.
    assert [p for p in problems if "the server responded with a status of 409" not in p] == []


async def test_desktop_keys_search_select_and_acknowledge(
    live: Live, chromium: Browser, sessionmaker: SessionMaker, ts_env: WorkflowEnvironment
) -> None:
    me = await person(sessionmaker, name="Kai Keys")
    pol = await h.policy(sessionmaker, live.settings, [h.level(300, me)])
    svc = await h.service(sessionmaker, pol)
    for summary, key in (("Disk full on db-1", "disk"), ("CPU hot on web-3", "cpu")):
        await h.opened(
            await h.send_alert(
                ts_env.client, live.settings, svc, h.alert(summary=summary, dedup_key=key)
            )
        )
    page = await chromium.new_page(viewport={"width": 1280, "height": 900})
    problems = _watch(page)
    await sign_in(page, live, me)
    await expect(page.locator(".bottom-nav")).to_be_hidden()
    await page.keyboard.press("/")
    await expect(page.locator("#f-q")).to_be_focused()
    await page.keyboard.type("disk")
    await page.keyboard.press("Enter")
    await expect(page.locator(".incident")).to_have_count(1)
    await page.locator("#f-q").blur()
    await page.keyboard.press("j")
    row = page.locator(".incident.selected")
    await expect(row).to_contain_text("Disk full on db-1")
    await page.keyboard.press("a")
    await expect(page.locator("#toast")).to_contain_text("Acknowledging #")
    await expect(page.locator(".incident .badge")).to_have_text("acknowledged", timeout=10_000)

    # On an incident page, `r` resolves it.
    await page.locator(".incident a").first.click()
    await expect(page.locator("#incident-status")).to_have_text("acknowledged")
    await page.keyboard.press("r")
    await expect(page.locator("#incident-status")).to_have_text("resolved")
    assert problems == []
