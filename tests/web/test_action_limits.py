"""The web UI and the API take the snooze limits from one place and refuse the same durations.

Slack has no snooze action (buttons acknowledge, resolve, escalate and reassign), so there is
no third caller to compare; the workflow's validator imports the same `MAX_SNOOZE`.
"""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.db import SessionMaker
from app.identity.models import Role
from tests import incident_helpers as h
from tests.factories import assert_problem, login
from tests.web.conftest import browser_for
from workflows import limits

# Just outside the bounds, and the bounds themselves.
REFUSED = [0, int(limits.MAX_SNOOZE.total_seconds()) + 1]
ALLOWED = [int(limits.MIN_SNOOZE.total_seconds()), int(limits.MAX_SNOOZE.total_seconds())]


@pytest.mark.parametrize("seconds", REFUSED)
async def test_web_and_api_refuse_the_same_out_of_range_snooze(
    live_app: FastAPI, sessionmaker: SessionMaker, settings: Settings, seconds: int
) -> None:
    people = await h.users(sessionmaker, 1)
    pol = await h.policy(sessionmaker, settings, [h.level(300, people[0])])
    svc = await h.service(sessionmaker, pol)
    handle = await h.send_alert(await live_app.state.temporal.get(), settings, svc, h.alert())
    opened = await h.opened(handle)

    me = await browser_for(live_app, sessionmaker)
    url = f"/incidents/{opened.incident_id}"
    await me.get(url)
    page = await me.post(f"{url}/snooze", {"seconds": str(seconds)})
    assert page.status_code == 422
    assert limits.SNOOZE_RANGE in page.text

    responder = await login(sessionmaker, role=Role.responder)
    transport = httpx.ASGITransport(app=live_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
        answer = await api.post(
            f"/api/v1/incidents/{opened.incident_id}/snooze",
            json={"duration": seconds},
            headers=responder.headers,
        )
    body = assert_problem(answer, 422)
    assert body["type"] == "/problems/validation"
    assert limits.SNOOZE_RANGE in body["detail"]
    assert [e["field"] for e in body["errors"]] == ["body.duration"]
    assert "snoozed" not in await h.types(sessionmaker, opened.incident_id)


async def test_web_and_api_accept_the_bounds_themselves(
    live_app: FastAPI, sessionmaker: SessionMaker, settings: Settings
) -> None:
    people = await h.users(sessionmaker, 1)
    pol = await h.policy(sessionmaker, settings, [h.level(300, people[0])])
    svc = await h.service(sessionmaker, pol)
    client = await live_app.state.temporal.get()
    first = await h.opened(await h.send_alert(client, settings, svc, h.alert(dedup_key="a")))
    second = await h.opened(await h.send_alert(client, settings, svc, h.alert(dedup_key="b")))

    me = await browser_for(live_app, sessionmaker)
    await me.get(f"/incidents/{first.incident_id}")
    web = await me.post(f"/incidents/{first.incident_id}/snooze", {"seconds": str(ALLOWED[0])})
    assert web.status_code == 303

    responder = await login(sessionmaker, role=Role.responder)
    transport = httpx.ASGITransport(app=live_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
        answer = await api.post(
            f"/api/v1/incidents/{second.incident_id}/snooze",
            json={"duration": ALLOWED[1]},
            headers=responder.headers,
        )
    assert answer.status_code == 200, answer.text
