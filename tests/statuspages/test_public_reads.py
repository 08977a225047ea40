"""Public reads: Statuspage v2 JSON field by field, the HTML page, Atom, privacy, rate limits."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any
from xml.etree import ElementTree

import httpx
from fastapi import FastAPI

from app.audit.models import Actor
from app.catalog.models import Service
from app.db import SessionMaker, utcnow
from app.statuspages import incidents as page_incidents
from app.statuspages.models import MaintenanceCreate, MaintenanceStatus
from app.web import auth as web_auth
from tests.factories import Login, assert_problem
from tests.statuspages.conftest import Api, OpenIncident

PAGE_KEYS = {"id", "name", "url", "time_zone", "updated_at"}
STATUS_KEYS = {"indicator", "description"}
COMPONENT_KEYS = {
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "position",
    "description",
    "showcase",
    "start_date",
    "group_id",
    "page_id",
    "group",
    "only_show_if_degraded",
}
INCIDENT_KEYS = {
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "monitoring_at",
    "resolved_at",
    "impact",
    "shortlink",
    "started_at",
    "page_id",
    "incident_updates",
    "components",
}
UPDATE_KEYS = {
    "id",
    "status",
    "body",
    "incident_id",
    "created_at",
    "updated_at",
    "display_at",
    "affected_components",
    "deliver_notifications",
    "custom_tweet",
    "tweet_id",
}
MAINTENANCE_KEYS = INCIDENT_KEYS | {"scheduled_for", "scheduled_until"}
SECRET_TITLE = "db-primary OOM on 10.0.0.5 (ask Bob)"


def v2(slug: str, path: str) -> str:
    return f"/status/{slug}/api/v2/{path}"


async def _maintenance(
    sessionmaker: SessionMaker, page: dict[str, Any], component: str, *, start: bool
) -> str:
    comp = next(c for c in page["components"] if c["name"] == component)
    async with sessionmaker() as session:
        m = await page_incidents.create_maintenance(
            session=session,
            page_id=uuid.UUID(page["id"]),
            maintenance_in=MaintenanceCreate(
                name="Database upgrade",
                body="We upgrade the database.",
                component_ids=[comp["id"]],
                scheduled_for=utcnow() + timedelta(hours=1),
                scheduled_until=utcnow() + timedelta(hours=2),
            ),
            actor=Actor.system(via="test"),
        )
        if start:
            await page_incidents.advance_maintenance(
                session=session, maintenance_id=m.id, to=MaintenanceStatus.in_progress, at=utcnow()
            )
        await session.commit()
        return str(m.id)


async def test_summary_and_friends_meet_statuspage_shapes_field_by_field(
    client: httpx.AsyncClient,
    api: Api,
    make_page: Any,
    services: list[Service],
    open_incident: OpenIncident,
    sessionmaker: SessionMaker,
) -> None:
    page = await make_page()
    await open_incident(services[0], "error", title=SECRET_TITLE)
    opened = await api(
        "POST",
        f"/api/v1/status-pages/{page['id']}/incidents",
        {
            "name": "Elevated API errors",
            "body": "We are looking into it.",
            "component_ids": [page["components"][0]["id"]],
        },
    )
    assert opened.status_code == 201, opened.text
    assert opened.json()["impact"] == "major"  # from the component's partial outage
    await _maintenance(sessionmaker, page, "Mail", start=True)
    await _maintenance(sessionmaker, page, "Web", start=False)

    summary = (await client.get(v2("acme", "summary.json"))).json()
    assert set(summary) == {"page", "components", "incidents", "scheduled_maintenances", "status"}
    assert set(summary["page"]) == PAGE_KEYS
    assert summary["page"]["id"] == page["id"] and summary["page"]["url"].endswith("/status/acme")
    assert set(summary["status"]) == STATUS_KEYS
    # API partial outage, Web operational, Mail under maintenance → a minor outage overall;
    # the unresolved incident's impact (major) is worse and wins.
    assert summary["status"] == {"indicator": "major", "description": "Partial System Outage"}

    comps = summary["components"]
    group = comps[0]
    assert set(group) == COMPONENT_KEYS | {"components"}
    assert group["group"] is True and group["name"] == "Core" and group["group_id"] is None
    assert group["status"] == "partial_outage"  # its worst member
    children = [c for c in comps if c["group_id"] == group["id"]]
    assert [c["name"] for c in children] == ["API", "Web"]
    assert group["components"] == [c["id"] for c in children]
    for c in comps[1:]:
        assert set(c) == COMPONENT_KEYS and c["page_id"] == page["id"] and c["group"] is False
    statuses = {c["name"]: c["status"] for c in comps}
    assert statuses == {
        "Core": "partial_outage",
        "API": "partial_outage",
        "Web": "operational",
        "Mail": "under_maintenance",
    }

    [incident] = summary["incidents"]
    assert set(incident) == INCIDENT_KEYS
    assert incident["status"] == "investigating" and incident["impact"] == "major"
    assert incident["shortlink"].startswith(summary["page"]["url"])
    [update] = incident["incident_updates"]
    assert set(update) == UPDATE_KEYS
    assert update["incident_id"] == incident["id"] and update["body"] == "We are looking into it."
    assert [c["name"] for c in incident["components"]] == ["API"]

    maints = summary["scheduled_maintenances"]
    assert [m["status"] for m in maints] == ["in_progress", "scheduled"]
    for m in maints:
        assert set(m) == MAINTENANCE_KEYS and m["impact"] == "maintenance"

    status = (await client.get(v2("acme", "status.json"))).json()
    assert status == {"page": summary["page"], "status": summary["status"]}
    components = (await client.get(v2("acme", "components.json"))).json()
    assert components == {"page": summary["page"], "components": comps}
    assert (await client.get(v2("acme", "incidents.json"))).json()["incidents"] == [incident]
    unresolved = (await client.get(v2("acme", "incidents/unresolved.json"))).json()
    assert set(unresolved) == {"page", "incidents"} and unresolved["incidents"] == [incident]
    every = (await client.get(v2("acme", "scheduled-maintenances.json"))).json()
    assert (
        set(every) == {"page", "scheduled_maintenances"}
        and len(every["scheduled_maintenances"]) == 2
    )
    upcoming = (await client.get(v2("acme", "scheduled-maintenances/upcoming.json"))).json()
    assert [m["status"] for m in upcoming["scheduled_maintenances"]] == ["scheduled"]
    active = (await client.get(v2("acme", "scheduled-maintenances/active.json"))).json()
    assert [m["status"] for m in active["scheduled_maintenances"]] == ["in_progress"]


async def test_public_reads_never_reveal_internal_titles_people_or_services(
    client: httpx.AsyncClient,
    api: Api,
    admin: Login,
    make_page: Any,
    services: list[Service],
    open_incident: OpenIncident,
) -> None:
    page = await make_page()
    internal = await open_incident(services[0], "critical", title=SECRET_TITLE)
    await api(
        "POST",
        f"/api/v1/status-pages/{page['id']}/incidents",
        {"name": "API outage", "body": "Investigating.", "incident_ids": [internal]},
    )
    paths = [
        "/status/acme",
        "/status/acme/history.atom",
        *[
            v2("acme", p)
            for p in ("summary.json", "incidents.json", "components.json", "status.json")
        ],
    ]
    for path in paths:
        text = (await client.get(path)).text
        for secret in (SECRET_TITLE, internal, admin.user.name, admin.user.email):
            assert secret not in text, (path, secret)
        for s in services:
            assert s.name not in text and str(s.id) not in text, path


async def test_drafts_are_not_public(client: httpx.AsyncClient, api: Api, make_page: Any) -> None:
    page = await make_page()
    await api(
        "POST",
        f"/api/v1/status-pages/{page['id']}/incidents",
        {"name": "Draft story", "body": "Not yet.", "published": False},
    )
    summary = (await client.get(v2("acme", "summary.json"))).json()
    assert summary["incidents"] == [] and summary["status"]["indicator"] == "none"
    assert "Draft story" not in (await client.get("/status/acme")).text


async def test_html_page_is_server_rendered_accessible_and_cacheable(
    client: httpx.AsyncClient, make_page: Any, services: list[Service], open_incident: OpenIncident
) -> None:
    await make_page()
    await open_incident(services[2], "critical")
    got = await client.get("/status/acme")
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("text/html")
    assert got.headers["cache-control"].startswith("public, max-age=")
    assert "script-src" not in got.headers["content-security-policy"]  # default-src 'none'
    html = got.text
    assert '<html lang="en">' in html and 'name="viewport"' in html and "<script" not in html
    assert "<h1>Acme</h1>" in html
    assert "Partial System Outage" in html  # one of three components down
    assert "Major outage" in html  # status in words, not colour alone
    again = await client.get("/status/acme", headers={"If-None-Match": got.headers["etag"]})
    assert again.status_code == 304


async def test_unknown_slug_is_404_page_and_problem(client: httpx.AsyncClient) -> None:
    page = await client.get("/status/nope")
    assert page.status_code == 404 and "not found" in page.text.lower()
    assert_problem(await client.get(v2("nope", "summary.json")), 404)
    assert_problem(await client.get("/status/nope/history.atom"), 404)


async def test_private_page_is_seen_only_by_signed_in_staff(
    client: httpx.AsyncClient,
    make_page: Any,
    admin: Login,
    app: FastAPI,
    sessionmaker: SessionMaker,
) -> None:
    await make_page(slug="inside", visibility="private")
    assert (await client.get("/status/inside")).status_code == 404
    assert_problem(await client.get(v2("inside", "summary.json")), 404)
    async with sessionmaker() as session:
        raw, _ = await web_auth.start_session(
            session=session, settings=app.state.settings, user=admin.user, method="password"
        )
        await session.commit()
    client.cookies.set(web_auth.SESSION_COOKIE, raw)
    seen = await client.get(v2("inside", "summary.json"))
    assert seen.status_code == 200 and seen.headers["cache-control"] == "private, no-store"
    assert "access-control-allow-origin" not in seen.headers


async def test_atom_feed_lists_incidents_and_maintenances(
    client: httpx.AsyncClient, api: Api, make_page: Any, sessionmaker: SessionMaker
) -> None:
    page = await make_page()
    await api(
        "POST",
        f"/api/v1/status-pages/{page['id']}/incidents",
        {"name": "Slow <checkout>", "body": "Looking & fixing."},
    )
    await _maintenance(sessionmaker, page, "Mail", start=False)
    got = await client.get("/status/acme/history.atom")
    assert got.headers["content-type"].startswith("application/atom+xml")
    ns = {"a": "http://www.w3.org/2005/Atom"}
    feed = ElementTree.fromstring(got.content)  # noqa: S314 - our own feed
    titles = [e.findtext("a:title", namespaces=ns) for e in feed.findall("a:entry", ns)]
    assert sorted(titles) == ["Database upgrade", "Slow <checkout>"]
    content = feed.find("a:entry/a:content", ns)
    assert content is not None and content.get("type") == "text"


async def test_public_reads_are_rate_limited_per_client(
    client: httpx.AsyncClient, make_page: Any, app: FastAPI
) -> None:
    await make_page()
    app.state.settings.status_rate_burst = 3
    app.state.settings.status_rate_per_second = 0.01
    answers = [(await client.get(v2("acme", "status.json"))).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    limited = await client.get("/status/acme")
    problem = assert_problem(limited, 429)
    assert int(limited.headers["retry-after"]) >= 1 and problem["title"]


async def test_the_page_form_subscribes_to_chosen_components(
    client: httpx.AsyncClient, api: Api, make_page: Any
) -> None:
    page = await make_page()
    html = (await client.get("/status/acme")).text
    mail = next(c for c in page["components"] if c["name"] == "Mail")
    assert f'name="component_ids" value="{mail["id"]}"' in html
    asked = await client.post(
        "/status/acme/subscribe",
        data={"email": "picky@example.com", "component_ids": [mail["id"]]},
        headers={"accept": "text/html"},
    )
    assert asked.status_code == 202 and "Check your inbox" in asked.text
    [sub] = (await api("GET", f"/api/v1/status-pages/{page['id']}/subscribers")).json()["data"]
    assert sub["component_ids"] == [mail["id"]] and sub["confirmed"] is False
