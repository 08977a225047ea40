"""Status pages in the web UI: admins build a page, pin a component, tell the story, schedule
maintenance, add subscribers and partners, and preview the public page."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import select

from app.config import Settings
from app.db import SessionMaker, utcnow
from app.identity.models import Role
from app.statuspages.models import StatusPage
from tests import incident_helpers as ih
from tests.web.conftest import browser_for


async def _page_id(sessionmaker: SessionMaker, slug: str) -> str:
    async with sessionmaker() as session:
        return str(await session.scalar(select(StatusPage.id).where(StatusPage.slug == slug)))


async def test_admin_builds_a_page_pins_a_component_and_previews_it(
    web_app: FastAPI, sessionmaker: SessionMaker, settings: Settings
) -> None:
    admin = await browser_for(web_app, sessionmaker, role=Role.admin)
    policy = await ih.policy(sessionmaker, settings, [ih.level(300, admin.user)])
    svc = await ih.service(sessionmaker, policy)
    listing = await admin.get("/status-pages")
    assert listing.status_code == 200 and "Add a status page" in listing.text
    created = await admin.post(
        "/status-pages", {"name": "Acme", "slug": "acme", "visibility": "private"}
    )
    assert created.status_code == 303, created.text
    pid = await _page_id(sessionmaker, "acme")
    added = await admin.post(
        f"/status-pages/{pid}/components", {"name": "API", "service_ids": [str(svc.id)]}
    )
    assert added.status_code == 303
    detail = await admin.get(f"/status-pages/{pid}")
    assert "API</strong>: operational" in detail.text and svc.name in detail.text
    cid = detail.text.split(f"/status-pages/{pid}/components/")[1].split("/pin")[0]
    pinned = await admin.post(
        f"/status-pages/{pid}/components/{cid}/pin", {"status_override": "major_outage"}
    )
    assert pinned.status_code == 303
    detail = await admin.get(f"/status-pages/{pid}")
    assert "API</strong>: major outage — pinned" in detail.text

    opened = await admin.post(
        f"/status-pages/{pid}/incidents",
        {"name": "API down", "body": "Looking.", "component_ids": [cid], "published": "on"},
    )
    assert opened.status_code == 303
    preview = await admin.get(f"/status-pages/{pid}/preview")
    assert preview.status_code == 200
    assert "Preview" in preview.text and "API down" in preview.text
    assert "Major System Outage" in preview.text  # a private page, seen by staff
    bad = await admin.post(f"/status-pages/{pid}/incidents", {"name": "", "body": ""})
    assert bad.status_code == 422 and "Please check your input" in bad.text


async def test_observers_see_pages_but_change_nothing(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    admin = await browser_for(web_app, sessionmaker, role=Role.admin)
    await admin.post("/status-pages", {"name": "Acme", "slug": "acme"})
    pid = await _page_id(sessionmaker, "acme")
    observer = await browser_for(web_app, sessionmaker, role=Role.observer)
    seen = await observer.get(f"/status-pages/{pid}")
    assert seen.status_code == 200 and "Open a page incident" not in seen.text
    assert "Subscribers" not in seen.text
    refused = await observer.post("/status-pages", {"name": "X", "slug": "x"})
    assert refused.status_code == 403
    assert (await observer.get("/partners")).status_code == 403


async def test_admin_schedules_and_cancels_a_maintenance_and_adds_subscribers_and_partners(
    live_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    admin = await browser_for(live_app, sessionmaker, role=Role.admin)
    await admin.post("/status-pages", {"name": "Acme", "slug": "acme", "visibility": "private"})
    pid = await _page_id(sessionmaker, "acme")
    start = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    end = (utcnow() + timedelta(days=1, hours=1)).strftime("%Y-%m-%dT%H:%M")
    scheduled = await admin.post(
        f"/status-pages/{pid}/maintenances",
        {"name": "Upgrade", "body": "DB", "scheduled_for": start, "scheduled_until": end},
    )
    assert scheduled.status_code == 303, scheduled.text
    detail = await admin.get(f"/status-pages/{pid}")
    assert "Upgrade</strong> — scheduled" in detail.text
    mid = detail.text.split(f"/status-pages/{pid}/maintenances/")[1].split("/cancel")[0]
    await admin.post(f"/status-pages/{pid}/maintenances/{mid}/cancel")
    assert "Upgrade</strong> — cancelled" in (await admin.get(f"/status-pages/{pid}")).text
    backwards = await admin.post(
        f"/status-pages/{pid}/maintenances",
        {"name": "Oops", "body": "x", "scheduled_for": end, "scheduled_until": start},
    )
    assert backwards.status_code == 422

    added = await admin.post(
        f"/status-pages/{pid}/subscribers", {"type": "email", "address": "ops@example.com"}
    )
    assert added.status_code == 303
    assert "email: ops@example.com" in (await admin.get(f"/status-pages/{pid}")).text

    await admin.get("/partners")
    made = await admin.post(
        "/partners", {"name": "Globex", "email": "it@globex.example", "status_page_ids": [pid]}
    )
    assert made.status_code == 303
    listing = await admin.get("/partners")
    assert "it@globex.example" in listing.text and "Acme" in listing.text
