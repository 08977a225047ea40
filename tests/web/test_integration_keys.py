"""Integration keys open and resolve incidents: the web UI shows them to admins only."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.config import Settings
from app.db import SessionMaker
from app.identity.models import Role
from app.ingest.models import Integration
from tests import incident_helpers as h
from tests.web.conftest import browser_for


@pytest.mark.parametrize("role", [Role.observer, Role.responder])
async def test_service_page_masks_integration_keys_and_urls_for_non_admins(
    web_app: FastAPI, sessionmaker: SessionMaker, settings: Settings, role: Role
) -> None:
    people = await h.users(sessionmaker, 1)
    pol = await h.policy(sessionmaker, settings, [h.level(300, people[0])])
    admin = await browser_for(web_app, sessionmaker, role=Role.admin)
    created = await admin.post(
        "/services", {"name": "Checkout", "escalation_policy_id": str(pol.id)}
    )
    where = created.headers["location"]
    for kind in ("generic", "pagerduty"):
        await admin.post(f"{where}/integrations", {"type": kind, "name": kind})
    async with sessionmaker() as session:
        keys = [i.key for i in await session.scalars(select(Integration))]
    assert len(keys) == 2

    admin_page = await admin.get(where)
    assert all(key in admin_page.text for key in keys)

    viewer = await browser_for(web_app, sessionmaker, role=role)
    page = await viewer.get(where)
    assert page.status_code == 200
    assert not any(key in page.text for key in keys)
    assert "shown to admins only" in page.text and "ask an admin" in page.text
    assert "/integrations/••••••••/generic" in page.text
