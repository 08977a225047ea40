"""Postmortems over the API: generation, the document's workflow, visibility, export, audit."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.config import Settings
from app.db import SessionMaker
from tests.factories import assert_problem
from tests.postmortems import helpers
from tests.postmortems.conftest import World


async def _create(client: httpx.AsyncClient, world: World, **body: object) -> dict:  # type: ignore[type-arg]
    r = await client.post(
        "/api/v1/postmortems",
        json={"incident_ids": [str(world.incident.id)], **body},
        headers=world.responder.headers,
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_a_draft_is_generated_with_a_sorted_timeline_and_noise_hidden(
    client: httpx.AsyncClient, world: World
) -> None:
    pm = await _create(client, world)
    assert pm["status"] == "draft"
    assert pm["owner_id"] == str(world.responder.user.id)
    assert pm["team_id"] == str(world.team_id)
    assert pm["title"] == f"Postmortem: #{world.incident.number} Checkout 500s"
    timeline = pm["timeline"]
    assert [e["at"] for e in timeline] == sorted(e["at"] for e in timeline)
    visible = [e["text"] for e in timeline if not e["hidden"]]
    assert visible == [
        "Incident triggered: HTTP 500 rate above 5%",
        "Another alert joined: HTTP 500 rate above 5%",
        "Paged Rita Responder (level 1)",
        "Acknowledged by Rita Responder via slack",
        "Note by Carl Colleague via web: rolled back deploy 4711",
        "Resolved by Carl Colleague via web: error rate normal",
    ]
    hidden = {e["type"] for e in timeline if e["hidden"]}
    assert hidden == {"notified", "alert"}
    assert len(timeline) == 9  # nothing dropped: hidden entries can be restored
    assert all(e["source_event_id"].startswith(str(world.incident.id)) for e in timeline)


async def test_the_body_is_the_template_filled_with_the_incidents_facts(
    client: httpx.AsyncClient, world: World
) -> None:
    body = (await _create(client, world))["body"]
    assert "**Services:** Checkout API" in body
    assert "**Duration:** 42 min" in body
    assert "**Alerts:** 4" in body
    assert "**Paged:** Rita Responder" in body
    assert "**Acted:** Carl Colleague, Rita Responder" in body
    assert (
        f"| #{world.incident.number} Checkout 500s | Checkout API | critical | 4 | 4 min | 42 min |"
        in body
    )
    for section in ("## Summary", "## Impact", "## Root cause", "## Resolution", "## Lessons"):
        assert section in body


async def test_several_incidents_make_one_timeline_and_the_facts_of_each(
    client: httpx.AsyncClient, world: World, sessionmaker: SessionMaker, settings: Settings
) -> None:
    other_service = await helpers.service(sessionmaker, settings, "Payments", world.team_id)
    second = await helpers.incident(
        sessionmaker,
        other_service,
        title="Card auth timeouts",
        start=helpers.T0 + timedelta(minutes=2),
        ack_after=None,
        resolve_after=timedelta(minutes=60),
        events=[(timedelta(0), "triggered", helpers.SYSTEM_ACTOR, {"summary": "timeouts"})],
    )
    pm = await _create(client, world, incident_ids=[str(second.id), str(world.incident.id)])
    assert "**Services:** Checkout API, Payments" in pm["body"]
    assert "**Duration:** 1 h 2 min" in pm["body"]
    assert "| — | 1 h |" in pm["body"]  # never acknowledged
    texts = [e["text"] for e in pm["timeline"] if not e["hidden"]]
    assert texts[0].startswith(f"#{world.incident.number} Incident triggered")
    assert f"#{second.number} Incident triggered: timeouts" in texts
    assert pm["incident_ids"] == [str(world.incident.id), str(second.id)]


async def test_unknown_incident_ids_are_named_in_a_422(
    client: httpx.AsyncClient, world: World
) -> None:
    ghost = uuid.uuid4()
    r = await client.post(
        "/api/v1/postmortems",
        json={"incident_ids": [str(world.incident.id), str(ghost)]},
        headers=world.responder.headers,
    )
    body = assert_problem(r, 422)
    assert str(ghost) in body["detail"]
    assert body["errors"][0]["field"] == "incident_ids"
    r = await client.post(
        "/api/v1/postmortems", json={"incident_ids": []}, headers=world.responder.headers
    )
    assert_problem(r, 422)
    r = await client.get(f"/api/v1/postmortems/{ghost}", headers=world.responder.headers)
    assert_problem(r, 404)


async def test_timeline_entries_are_hidden_restored_edited_and_added_by_hand(
    client: httpx.AsyncClient, world: World
) -> None:
    pm = await _create(client, world)
    url = f"/api/v1/postmortems/{pm['id']}"
    notified = next(e for e in pm["timeline"] if e["type"] == "notified")
    r = await client.patch(
        f"{url}/timeline/{notified['id']}", json={"hidden": False}, headers=world.colleague.headers
    )
    assert r.status_code == 200, r.text
    restored = next(e for e in r.json()["timeline"] if e["id"] == notified["id"])
    assert (
        restored["hidden"] is False and restored["source_event_id"] == notified["source_event_id"]
    )
    note = next(e for e in pm["timeline"] if e["type"] == "note")
    r = await client.patch(
        f"{url}/timeline/{note['id']}",
        json={"text": "Rolled back deploy 4711 (the bad one)"},
        headers=world.responder.headers,
    )
    assert any(e["text"] == "Rolled back deploy 4711 (the bad one)" for e in r.json()["timeline"])
    at = (helpers.T0 + timedelta(minutes=30)).isoformat()
    r = await client.post(
        f"{url}/timeline",
        json={"at": at, "text": "Customer support notified"},
        headers=world.responder.headers,
    )
    assert r.status_code == 201, r.text
    entries = r.json()["timeline"]
    added = next(e for e in entries if e["text"] == "Customer support notified")
    assert added["source_event_id"] is None and added["type"] == "manual"
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)
    r = await client.patch(
        f"{url}/timeline/nope", json={"hidden": True}, headers=world.responder.headers
    )
    assert_problem(r, 404)


async def test_draft_review_publish_and_edits_after_publish_make_a_draft_again(
    client: httpx.AsyncClient, world: World
) -> None:
    pm = await _create(client, world)
    url = f"/api/v1/postmortems/{pm['id']}"
    h = world.responder.headers
    assert_problem(await client.post(f"{url}/publish", headers=h), 409)  # not reviewed yet
    r = await client.post(f"{url}/review", headers=h)
    assert r.json()["status"] == "in_review"
    assert_problem(await client.post(f"{url}/review", headers=h), 409)
    r = await client.post(f"{url}/publish", headers=world.colleague.headers)
    published = r.json()
    assert published["status"] == "published"
    assert published["published_by"] == str(world.colleague.user.id)
    assert published["published_at"]
    assert_problem(await client.post(f"{url}/publish", headers=h), 409)
    r = await client.patch(url, json={"body": "# Better words"}, headers=h)
    assert r.json()["status"] == "draft"
    assert r.json()["body"] == "# Better words"
    versions = (await client.get(f"{url}/versions", headers=h)).json()
    assert [(v["version"], v["status"]) for v in versions] == [
        (1, "draft"),
        (2, "in_review"),
        (3, "published"),
        (4, "draft"),
    ]
    assert versions[2]["body"] == pm["body"] and versions[3]["body"] == "# Better words"


async def test_drafts_are_seen_by_the_team_and_admins_published_ones_by_everyone(
    client: httpx.AsyncClient, world: World
) -> None:
    pm = await _create(client, world)
    url = f"/api/v1/postmortems/{pm['id']}"
    assert (await client.get(url, headers=world.colleague.headers)).status_code == 200
    assert (await client.get(url, headers=world.admin.headers)).status_code == 200
    assert_problem(await client.get(url, headers=world.outsider.headers), 404)
    assert_problem(await client.get(url, headers=world.observer.headers), 404)
    listed = (await client.get("/api/v1/postmortems", headers=world.outsider.headers)).json()
    assert listed["count"] == 0
    await client.post(f"{url}/review", headers=world.responder.headers)
    await client.post(f"{url}/publish", headers=world.responder.headers)
    assert (await client.get(url, headers=world.outsider.headers)).status_code == 200
    assert (await client.get(url, headers=world.observer.headers)).status_code == 200
    listed = (await client.get("/api/v1/postmortems", headers=world.observer.headers)).json()
    assert [p["id"] for p in listed["data"]] == [pm["id"]]
    # Reading is not editing: outsiders and observers change nothing.
    assert_problem(
        await client.patch(url, json={"title": "x"}, headers=world.outsider.headers), 403
    )
    assert_problem(
        await client.patch(url, json={"title": "x"}, headers=world.observer.headers), 403
    )
    r = await client.post(
        "/api/v1/postmortems",
        json={"incident_ids": [str(world.incident.id)]},
        headers=world.observer.headers,
    )
    assert_problem(r, 403)


async def test_markdown_export_has_the_body_the_visible_timeline_and_action_items(
    client: httpx.AsyncClient, world: World
) -> None:
    pm = await _create(client, world)
    r = await client.post(
        f"/api/v1/postmortems/{pm['id']}/action-items",
        json={"title": "Alert on error budget burn", "assignee_id": str(world.colleague.user.id)},
        headers=world.responder.headers,
    )
    assert r.status_code == 201, r.text
    r = await client.get(f"/api/v1/postmortems/{pm['id']}.md", headers=world.responder.headers)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/markdown")
    text = r.text
    assert text.startswith(f"# Postmortem: #{world.incident.number} Checkout 500s")
    assert "- **2026-11-03 14:04:00 UTC** Acknowledged by Rita Responder via slack" in text
    assert "Notified" not in text  # hidden entries stay out
    assert "- [ ] Alert on error budget burn (Carl Colleague)" in text
    assert_problem(
        await client.get(f"/api/v1/postmortems/{pm['id']}.md", headers=world.outsider.headers), 404
    )


async def test_every_change_is_audited(
    client: httpx.AsyncClient, world: World, sessionmaker: SessionMaker
) -> None:
    pm = await _create(client, world)
    url = f"/api/v1/postmortems/{pm['id']}"
    await client.patch(url, json={"title": "New title"}, headers=world.responder.headers)
    await client.post(f"{url}/review", headers=world.responder.headers)
    await client.post(f"{url}/publish", headers=world.responder.headers)
    async with sessionmaker() as session:
        rows = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.entity_id == pm["id"]).order_by(AuditEvent.id)
            )
        ).all()
    assert [r.action for r in rows] == [
        "postmortem.create",
        "postmortem.update",
        "postmortem.review",
        "postmortem.publish",
    ]
    assert all(r.actor_id == str(world.responder.user.id) for r in rows)
    assert rows[1].before["title"] != rows[1].after["title"] == "New title"


async def test_admins_manage_templates_and_a_chosen_template_fills_the_body(
    client: httpx.AsyncClient, world: World
) -> None:
    templates = (
        await client.get("/api/v1/postmortem-templates", headers=world.responder.headers)
    ).json()
    assert [t["is_default"] for t in templates] == [True]  # seeded
    body = {
        "name": "Short",
        "body": "# {{ title }}\nServices: {{ services | join(', ') }}; "
        "{{ incidents[0].time_to_acknowledge }}\n",
    }
    assert_problem(
        await client.post(
            "/api/v1/postmortem-templates", json=body, headers=world.responder.headers
        ),
        403,
    )
    r = await client.post("/api/v1/postmortem-templates", json=body, headers=world.admin.headers)
    assert r.status_code == 201, r.text
    template = r.json()
    bad = {"name": "Broken", "body": "{% for %}"}
    assert_problem(
        await client.post("/api/v1/postmortem-templates", json=bad, headers=world.admin.headers),
        422,
    )
    hostile = {"name": "Hostile", "body": "{{ ''.__class__.__mro__ }}"}
    r = await client.post("/api/v1/postmortem-templates", json=hostile, headers=world.admin.headers)
    pm = await _create(client, world, template_id=template["id"], title="Checkout outage")
    assert pm["body"] == "# Checkout outage\nServices: Checkout API; 4 min\n"
    assert r.status_code == 201, r.text  # it parses; the sandbox refuses it when filled
    r = await client.post(
        "/api/v1/postmortems",
        json={"incident_ids": [str(world.incident.id)], "template_id": r.json()["id"]},
        headers=world.responder.headers,
    )
    assert "unsafe" in assert_problem(r, 422)["detail"]
    r = await client.post(
        "/api/v1/postmortems",
        json={"incident_ids": [str(world.incident.id)], "template_id": str(uuid.uuid4())},
        headers=world.responder.headers,
    )
    assert assert_problem(r, 422)["errors"][0]["field"] == "template_id"
    r = await client.patch(
        f"/api/v1/postmortem-templates/{template['id']}",
        json={"is_default": True},
        headers=world.admin.headers,
    )
    assert r.json()["is_default"] is True
    templates = (
        await client.get("/api/v1/postmortem-templates", headers=world.admin.headers)
    ).json()
    assert [t["name"] for t in templates if t["is_default"]] == ["Short"]
    r = await client.delete(
        f"/api/v1/postmortem-templates/{template['id']}", headers=world.admin.headers
    )
    assert r.status_code == 204


async def test_concurrent_edits_each_make_their_own_version(
    client: httpx.AsyncClient, world: World
) -> None:
    pm = await _create(client, world)
    url = f"/api/v1/postmortems/{pm['id']}"
    answers = await asyncio.gather(
        *(
            client.patch(url, json={"title": f"Title {n}"}, headers=world.responder.headers)
            for n in range(6)
        )
    )
    assert [a.status_code for a in answers] == [200] * 6
    versions = (await client.get(f"{url}/versions", headers=world.responder.headers)).json()
    assert [v["version"] for v in versions] == list(range(1, 8))
