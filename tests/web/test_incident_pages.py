"""The dashboard and the incident page, with actions sent to the real workflow."""

from __future__ import annotations

import uuid

from fastapi import FastAPI

from app.config import Settings
from app.db import SessionMaker
from app.identity.models import Role
from tests import incident_helpers as h
from tests.web.conftest import browser_for


async def _incident(live_app: FastAPI, sessionmaker: SessionMaker, settings: Settings, **kw):  # type: ignore[no-untyped-def]
    people = await h.users(sessionmaker, 1)
    pol = await h.policy(sessionmaker, settings, [h.level(300, people[0])])
    svc = await h.service(sessionmaker, pol)
    client = await live_app.state.temporal.get()
    handle = await h.send_alert(client, settings, svc, h.alert(**kw))
    opened = await h.opened(handle)
    return svc, opened, people[0]


async def test_dashboard_lists_open_incidents_with_counts_and_filters(
    live_app: FastAPI, sessionmaker: SessionMaker, settings: Settings
) -> None:
    svc, opened, pager = await _incident(live_app, sessionmaker, settings, summary="Disk full")
    me = await browser_for(live_app, sessionmaker)
    page = await me.get("/")
    assert page.status_code == 200
    assert f"#{opened.number} Disk full" in page.text and svc.name in page.text
    assert 'data-triggered="1"' in page.text
    assert pager.name in page.text  # who it is assigned to
    # What the filter form sends when nothing is chosen.
    everything = await me.get("/?status=open&service_id=&team_id=")
    assert everything.status_code == 200 and "Disk full" in everything.text
    mine = await me.get("/?mine=1")
    assert "Disk full" not in mine.text and 'data-triggered="0"' in mine.text
    other = await me.get(f"/?service_id={uuid.uuid4()}")
    assert "Disk full" not in other.text
    fragment = await me.get(f"/web/incidents?service_id={svc.id}")
    assert "Disk full" in fragment.text and "<html" not in fragment.text
    resolved = await me.get("/?status=resolved")
    assert "Disk full" not in resolved.text
    bad = await me.get("/?status=bogus")
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("text/html")
    assert (await me.get("/?service_id=nope")).status_code == 422


async def test_acknowledge_note_and_resolve_from_the_incident_page(
    live_app: FastAPI, sessionmaker: SessionMaker, settings: Settings
) -> None:
    _, opened, pager = await _incident(live_app, sessionmaker, settings)
    await h.eventually(lambda: h.deliveries(sessionmaker, opened.incident_id))
    me = await browser_for(live_app, sessionmaker, timezone="Asia/Tokyo")
    url = f"/incidents/{opened.incident_id}"
    page = await me.get(url)
    assert ">Acknowledge</button>" in page.text and "Open in Temporal UI" in page.text
    # The delivery log: the level-1 page to the on-call person, on the log channel.
    deliveries = page.text.split('id="dl-h"')[1].split("</section>")[0]
    assert (
        "Deliveries (1)" in deliveries and pager.name in deliveries and "<td>log</td>" in deliveries
    )
    assert "(times in Asia/Tokyo)" in page.text

    acked = await me.post(f"{url}/acknowledge")
    assert acked.status_code == 303 and acked.headers["location"] == f"{url}?done=acknowledge"
    page = await me.get(acked.headers["location"])
    assert "Acknowledged: escalation stopped." in page.text
    assert 'id="incident-status">acknowledged<' in page.text
    assert ">Acknowledge</button>" not in page.text

    noted = await me.post(f"{url}/notes", {"body": "restarting the pod"})
    assert noted.status_code == 303
    done = await me.post(f"{url}/resolve", {"note": "pod restarted"})
    assert done.status_code == 303
    page = await me.get(url)
    assert 'id="incident-status">resolved<' in page.text
    assert "“restarting the pod”" in page.text and "“pod restarted”" in page.text
    assert f"{me.user.name} via web" in page.text
    timeline = await h.types(sessionmaker, opened.incident_id)
    assert {"acknowledged", "note", "resolved"} <= set(timeline)
    events = await h.timeline(sessionmaker, opened.incident_id)
    ack = next(e for e in events if e.type == "acknowledged")
    assert ack.actor == {"type": "user", "id": str(me.user.id), "via": "web"}

    # A second resolve is a friendly 409 on the incident page, not a JSON problem.
    again = await me.post(f"{url}/acknowledge")
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("text/html")
    assert "That did not work: the incident is already resolved." in again.text


async def test_snooze_escalate_and_reassign(
    live_app: FastAPI, sessionmaker: SessionMaker, settings: Settings
) -> None:
    _, opened, _ = await _incident(live_app, sessionmaker, settings)
    me = await browser_for(live_app, sessionmaker)
    url = f"/incidents/{opened.incident_id}"
    await me.get(url)
    assert (await me.post(f"{url}/escalate")).status_code == 303
    assert (await me.post(f"{url}/snooze", {"seconds": "900"})).status_code == 303
    assert "snoozed until" in (await me.get("/")).text
    moved = await me.post(f"{url}/reassign", {"target": f"user:{me.user.id}"})
    assert moved.status_code == 303
    page = await me.get(moved.headers["location"])
    assert "Reassigned." in page.text
    types = await h.types(sessionmaker, opened.incident_id)
    assert {"escalated", "snoozed", "reassigned"} <= set(types)

    async def assigned_to_me() -> bool:
        row = await h.incident_row(sessionmaker, opened.incident_id)
        return row is not None and me.user.id in row.assigned_to

    await h.eventually(assigned_to_me)
    bad = await me.post(f"{url}/reassign", {"target": "user:not-an-id"})
    assert bad.status_code == 422 and "choose a person or a policy" in bad.text
    nobody = await me.post(f"{url}/reassign", {"target": f"user:{uuid.uuid4()}"})
    assert nobody.status_code == 404 and "does not exist" in nobody.text


async def test_observers_see_no_action_buttons_and_cannot_act(
    live_app: FastAPI, sessionmaker: SessionMaker, settings: Settings
) -> None:
    _, opened, _ = await _incident(live_app, sessionmaker, settings)
    watcher = await browser_for(live_app, sessionmaker, role=Role.observer)
    url = f"/incidents/{opened.incident_id}"
    page = await watcher.get(url)
    assert page.status_code == 200 and "CPU on fire" in page.text
    assert "/acknowledge" not in page.text and "Add a note" not in page.text
    refused = await watcher.post(f"{url}/acknowledge")
    assert refused.status_code == 403 and "responder role" in refused.text
    assert (await h.incident_row(sessionmaker, opened.incident_id)).status == "triggered"  # type: ignore[union-attr]


async def test_alert_payloads_are_shown_escaped(
    live_app: FastAPI, sessionmaker: SessionMaker, settings: Settings
) -> None:
    _, opened, _ = await _incident(
        live_app,
        sessionmaker,
        settings,
        summary="<script>alert(1)</script>",
        details={"host": "db-1", "html": "<b>x</b>"},
    )
    me = await browser_for(live_app, sessionmaker)
    page = await me.get(f"/incidents/{opened.incident_id}")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "&#34;host&#34;: &#34;db-1&#34;" in page.text  # the raw payload, escaped
    assert "&lt;b&gt;x&lt;/b&gt;" in page.text


async def test_live_stream_needs_a_session(anonymous) -> None:  # type: ignore[no-untyped-def]
    response = await anonymous.get("/web/events")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
