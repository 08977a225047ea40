"""Postmortem pages: started from the incident page, edited with a sanitised preview, published."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from app.config import Settings
from app.db import SessionMaker
from app.incidents.models import Incident
from tests.postmortems import helpers
from tests.web.conftest import Browser, browser_for


async def _setup(
    web_app: FastAPI, sessionmaker: SessionMaker, settings: Settings
) -> tuple[Browser, Incident]:
    me = await browser_for(web_app, sessionmaker, name="Wendy Web")
    team = await helpers.team(sessionmaker, me.user)
    service = await helpers.service(sessionmaker, settings, "Search", team)
    incident = await helpers.incident(
        sessionmaker, service, title="Search down", events=helpers.story(me.user, me.user)
    )
    return me, incident


async def _start(me: Browser, incident: Incident) -> str:
    page = await me.get(f"/incidents/{incident.id}")
    assert "Start a postmortem" in page.text
    r = await me.post("/postmortems", {"incident_id": str(incident.id)})
    assert r.status_code == 303, r.text
    match = re.fullmatch(r"/postmortems/([0-9a-f-]{36})", r.headers["location"])
    assert match
    return match.group(1)


async def test_a_postmortem_is_started_from_the_incident_page_which_then_links_it(
    web_app: FastAPI, sessionmaker: SessionMaker, settings: Settings
) -> None:
    me, incident = await _setup(web_app, sessionmaker, settings)
    pm_id = await _start(me, incident)
    page = await me.get(f"/incidents/{incident.id}")
    assert f'href="/postmortems/{pm_id}"' in page.text
    assert "Start a postmortem" not in page.text
    editor = await me.get(f"/postmortems/{pm_id}")
    assert editor.status_code == 200
    assert "default-src 'self'" in editor.headers["content-security-policy"]
    assert "script-src" not in editor.headers["content-security-policy"]  # no inline exceptions
    assert '<script src="/static/postmortem.js" defer></script>' in editor.text
    assert "<h2>Root cause</h2>" in editor.text  # the preview, rendered on the server
    listing = await me.get("/postmortems")
    assert f"/postmortems/{pm_id}" in listing.text


async def test_the_preview_and_the_saved_document_never_carry_script(
    web_app: FastAPI, sessionmaker: SessionMaker, settings: Settings
) -> None:
    me, incident = await _setup(web_app, sessionmaker, settings)
    pm_id = await _start(me, incident)
    hostile = (
        "# Hi\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1))\n\n"
        "<img src=x onerror=alert(1)>"
    )
    r = await me.client.post(
        f"/postmortems/{pm_id}/preview", data={"body": hostile}, headers={"X-CSRF-Token": me.csrf}
    )
    assert r.status_code == 200
    assert "<h1>Hi</h1>" in r.text
    assert "<script" not in r.text and 'href="javascript' not in r.text and "<img" not in r.text
    no_csrf = await me.client.post(f"/postmortems/{pm_id}/preview", data={"body": "x"})
    assert no_csrf.status_code == 403
    r = await me.post(f"/postmortems/{pm_id}/edit", {"title": "Search outage", "body": hostile})
    assert r.status_code == 303
    page = await me.get(f"/postmortems/{pm_id}")
    preview = page.text.split('id="pm-preview"', 1)[1].split("</div>", 1)[0]
    assert "<script" not in preview and "<img" not in preview
    assert "&lt;script&gt;" in page.text  # in the textarea, escaped


async def test_review_and_publish_from_the_page_and_out_of_order_is_refused(
    web_app: FastAPI, sessionmaker: SessionMaker, settings: Settings
) -> None:
    me, incident = await _setup(web_app, sessionmaker, settings)
    pm_id = await _start(me, incident)
    refused = await me.post(f"/postmortems/{pm_id}/state/publish")
    assert refused.status_code == 409 and "only from in_review" in refused.text
    assert (await me.post(f"/postmortems/{pm_id}/state/review")).status_code == 303
    assert (await me.post(f"/postmortems/{pm_id}/state/publish")).status_code == 303
    page = await me.get(f"/postmortems/{pm_id}")
    assert 'id="pm-status">published' in page.text and "by Wendy Web" in page.text
    export = await me.get(f"/postmortems/{pm_id}/export.md")
    assert export.headers["content-type"].startswith("text/markdown")
    assert "published" in export.text


async def test_timeline_entries_are_hidden_restored_and_added_from_the_page(
    web_app: FastAPI, sessionmaker: SessionMaker, settings: Settings
) -> None:
    me, incident = await _setup(web_app, sessionmaker, settings)
    pm_id = await _start(me, incident)
    page = await me.get(f"/postmortems/{pm_id}")
    hidden_ids = re.findall(r'hidden-entry" data-entry-id="([^"]+)"', page.text)
    assert len(hidden_ids) == 3  # the notified row and two repeated alerts
    r = await me.post(f"/postmortems/{pm_id}/timeline/{hidden_ids[0]}", {"hidden": "false"})
    assert r.status_code == 303
    page = await me.get(f"/postmortems/{pm_id}")
    assert len(re.findall(r"hidden-entry", page.text)) == 2
    r = await me.post(
        f"/postmortems/{pm_id}/timeline",
        {"at": "2026-11-03T14:20:00", "text": "Status page updated"},
    )
    assert r.status_code == 303
    page = await me.get(f"/postmortems/{pm_id}")
    assert "Status page updated" in page.text and "added by hand" in page.text


async def test_action_items_are_added_and_moved_on_the_board(
    web_app: FastAPI, sessionmaker: SessionMaker, settings: Settings
) -> None:
    me, incident = await _setup(web_app, sessionmaker, settings)
    pm_id = await _start(me, incident)
    r = await me.post(
        f"/postmortems/{pm_id}/action-items",
        {"title": "Add search canaries", "assignee_id": str(me.user.id), "priority": "high"},
    )
    assert r.status_code == 303, r.text
    board = await me.get("/action-items?mine=true")
    assert "Add search canaries" in board.text
    item_id = re.search(r"/action-items/([0-9a-f-]{36})/status", board.text)
    assert item_id
    wrong = await me.post(f"/action-items/{item_id.group(1)}/status", {"status": "completed"})
    assert wrong.status_code == 409
    moved = await me.post(f"/action-items/{item_id.group(1)}/status", {"status": "in_progress"})
    assert moved.status_code == 303
    board = await me.get("/action-items")
    column = board.text.split('id="col-in_progress"', 1)[1].split("</section>", 1)[0]
    assert "Add search canaries" in column


async def test_other_teams_do_not_see_a_draft_page(
    web_app: FastAPI, sessionmaker: SessionMaker, settings: Settings, anonymous: httpx.AsyncClient
) -> None:
    me, incident = await _setup(web_app, sessionmaker, settings)
    pm_id = await _start(me, incident)
    other = await browser_for(web_app, sessionmaker)
    assert (await other.get(f"/postmortems/{pm_id}")).status_code == 404
    r = await anonymous.get(f"/postmortems/{pm_id}")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_an_action_item_is_pushed_to_jira_from_the_page(
    web_app: FastAPI, sessionmaker: SessionMaker, settings: Settings
) -> None:
    from app.audit.models import Actor
    from app.connections import service as connections
    from app.connections.models import ConnectionCreate, ConnectionType
    from tests.connections import standins
    from tests.live_server import serve

    allowing = settings.model_copy(update={"allow_private_targets": True})
    web_app.state.settings = allowing
    me, incident = await _setup(web_app, sessionmaker, settings)
    pm_id = await _start(me, incident)
    await me.post(
        f"/postmortems/{pm_id}/action-items",
        {"title": "Rate-limit the indexer", "assignee_id": str(me.user.id)},
    )
    async with serve(standins.jira(standins.Recorded())) as jira:
        async with sessionmaker() as session:
            connection = await connections.create(
                session=session,
                settings=allowing,
                connection_in=ConnectionCreate(
                    type=ConnectionType.jira,
                    name="Jira",
                    config={
                        "base_url": jira,
                        "email": standins.JIRA_EMAIL,
                        "api_token": standins.JIRA_TOKEN,
                    },
                ),
                actor=Actor.system(via="test"),
            )
            await session.commit()
        page = await me.get(f"/postmortems/{pm_id}")
        item_id = re.search(r'action="/action-items/([0-9a-f-]{36})/push"', page.text)
        assert item_id, "no push form"
        r = await me.post(
            f"/action-items/{item_id.group(1)}/push",
            {"connection_id": str(connection.id), "target": "ops"},
        )
        assert r.status_code == 303, r.text
    page = await me.get(f"/postmortems/{pm_id}")
    assert f'href="{jira}/browse/OPS-1"' in page.text
    assert "/push" not in page.text  # pushed once; no second form


async def test_admins_manage_templates_on_their_page_and_others_may_not(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    from app.identity.models import Role

    admin = await browser_for(web_app, sessionmaker, role=Role.admin)
    page = await admin.get("/postmortem-templates")
    assert page.status_code == 200 and "Standard postmortem (default)" in page.text
    r = await admin.post(
        "/postmortem-templates",
        {"name": "Brief", "body": "# {{ title }}\n\n{{ duration }}\n", "is_default": "on"},
    )
    assert r.status_code == 303, r.text
    page = await admin.get("/postmortem-templates")
    assert "Brief (default)" in page.text and "Standard postmortem (default)" not in page.text
    broken = await admin.post("/postmortem-templates", {"name": "Broken", "body": "{% if %}"})
    assert broken.status_code == 422 and "does not parse" in broken.text
    responder = await browser_for(web_app, sessionmaker)
    assert (await responder.get("/postmortem-templates")).status_code == 403
