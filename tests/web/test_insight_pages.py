"""The "test this policy" panel on service and policy pages, and its result page."""

from __future__ import annotations

from fastapi import FastAPI

from app.config import Settings
from app.db import SessionMaker
from app.identity.models import Role
from tests import incident_helpers as h
from tests.insight.test_reports import _world
from tests.notify.helpers import reachable_user
from tests.web.conftest import browser_for


async def test_service_page_tests_its_policy_at_a_local_time(
    web_app: FastAPI, sessionmaker: SessionMaker, settings: Settings
) -> None:
    alice, _ = await reachable_user(
        sessionmaker, ("sms", "+15550000011", 0), ("voice", "+15550000011", 120)
    )
    svc = await h.service(
        sessionmaker, await h.policy(sessionmaker, settings, [h.level(600, alice)])
    )
    me = await browser_for(web_app, sessionmaker, Role.observer, timezone="Europe/Berlin")
    page = await me.get(f"/services/{svc.id}")
    assert f'action="/preview/services/{svc.id}"' in page.text and "Test this policy" in page.text
    result = await me.get(
        f"/preview/services/{svc.id}", params={"at": "2026-07-01T09:00", "urgency": "high"}
    )
    assert result.status_code == 200, result.text
    # 09:00 in Berlin (summer time); voice two minutes later.
    assert "2026-07-01 09:00:00" in result.text and "2026-07-01 09:02:00" in result.text
    assert result.text.count(alice.name) == 2 and "voice" in result.text
    bad = await me.get(f"/preview/services/{svc.id}", params={"at": "soon"})
    assert bad.status_code == 422


async def test_policy_page_offers_the_test_and_shows_an_unreachable_user(
    web_app: FastAPI, sessionmaker: SessionMaker, settings: Settings
) -> None:
    bob, _ = await reachable_user(sessionmaker)
    policy = await h.policy(sessionmaker, settings, [h.level(300, bob)])
    me = await browser_for(web_app, sessionmaker, Role.observer)
    page = await me.get("/policies")
    assert f'action="/preview/policies/{policy.id}"' in page.text
    result = await me.get(f"/preview/policies/{policy.id}", params={"urgency": "low"})
    assert result.status_code == 200, result.text
    assert "nobody reachable" in result.text and bob.name in result.text


async def test_reports_page_draws_server_rendered_charts(
    web_app: FastAPI, sessionmaker: SessionMaker, settings: Settings
) -> None:
    w = await _world(sessionmaker, settings)
    me = await browser_for(web_app, sessionmaker, Role.observer)
    r = await me.get("/reports", params={"since": "2026-03-01T00:00", "until": "2026-03-08T00:00"})
    assert r.status_code == 200, r.text
    assert r.text.count("<svg") == 5 and "<script" not in r.text.split("<main")[1]
    checkout = w["checkout"].name  # type: ignore[attr-defined]
    # The longest bar of "Incidents" is checkout's three, drawn full width.
    assert f"<title>{checkout}: 3</title>" in r.text and 'width="320.0"' in r.text
    assert "2 min" in r.text  # checkout's MTTA p50 of 120 s
    assert 'href="/api/v1/reports/incidents?since=2026-03-01' in r.text and "format=csv" in r.text
    backwards = await me.get(
        "/reports", params={"since": "2026-03-08T00:00", "until": "2026-03-01T00:00"}
    )
    assert backwards.status_code == 422
