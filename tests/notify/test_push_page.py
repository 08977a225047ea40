"""A push page carries the incident's URL and a signed acknowledge link that works once."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from app.config import Settings
from app.db import SessionMaker
from app.notify import messages
from tests import incident_helpers as h
from tests.factories import assert_problem
from tests.notify.conftest import Providers
from tests.notify.helpers import reachable_user

PUBLIC = "https://pagefree.example.com"


@pytest.mark.usefixtures("notify_worker")
async def test_push_page_opens_the_incident_and_its_ack_link_acknowledges_once(
    notify_api: httpx.AsyncClient,
    ts_env: WorkflowEnvironment,
    sessionmaker: SessionMaker,
    notify_settings: Settings,
    providers: Providers,
) -> None:
    sub = providers.push.subscription("phone")
    user, _ = await reachable_user(sessionmaker, ("push", json.dumps(sub.info()), 0))
    svc = await h.service(
        sessionmaker, await h.policy(sessionmaker, notify_settings, [h.level(3600, user)])
    )
    handle = await h.send_alert(ts_env.client, notify_settings, svc, h.alert("Checkout is down"))
    v = await h.opened(handle)
    await h.eventually(lambda: h.deliveries(sessionmaker, v.incident_id), timeout=30)
    [req] = providers.push.requests
    payload = json.loads(sub.decrypt(req.body))
    assert payload["url"] == f"{PUBLIC}/incidents/{v.incident_id}"
    assert payload["title"].startswith(f"#{v.number} ") and payload["tag"] == f"incident-{v.number}"
    ack: str = payload["ack_url"]
    assert ack.startswith(f"{PUBLIC}/ack/")

    # What the service worker's "Acknowledge" action does: POST the link, no session.
    r = await notify_api.post(ack.removeprefix(PUBLIC))
    assert r.status_code == 200 and f"#{v.number} is acknowledged" in r.text, r.text
    view = await h.view(handle)
    assert view.status == "acknowledged" and view.acknowledged_by == str(user.id)

    async def acked() -> Any:
        return [
            e for e in await h.timeline(sessionmaker, v.incident_id) if e.type == "acknowledged"
        ]

    [event] = await h.eventually(acked)
    assert event.actor == {"type": "user", "id": str(user.id), "via": "push"}
    assert (
        "used already"
        in assert_problem(await notify_api.post(ack.removeprefix(PUBLIC)), 409)["detail"]
    )


def test_push_payload_has_no_ack_link_when_links_are_off() -> None:
    facts = messages.PageFacts(
        number=7, title="Disk full", service="db", severity="warning", url="https://x/i/1", level=1
    )
    assert "ack_url" not in messages.push(facts)
    with_link = messages.push(messages.PageFacts(**{**facts.__dict__, "ack_url": "https://x/a"}))
    assert with_link["ack_url"] == "https://x/a" and with_link["url"] == "https://x/i/1"
