"""Page incidents over HTTP: the public story with its updates, drafts, and what is announced."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from app.db import SessionMaker
from app.identity.models import Role
from tests.factories import assert_problem, login
from tests.statuspages.conftest import Api

URL = "/api/v1/status-pages"


async def test_an_incident_moves_through_its_updates_to_resolved(
    client: httpx.AsyncClient, api: Api, make_page: Any
) -> None:
    page = await make_page()
    base = f"{URL}/{page['id']}/incidents"
    api_id = page["components"][0]["id"]
    opened = await api(
        "POST",
        base,
        {
            "name": "API errors",
            "body": "Investigating.",
            "component_ids": [api_id],
            "impact": "minor",
        },
    )
    assert opened.status_code == 201, opened.text
    pid = opened.json()["id"]
    assert opened.json()["status"] == "investigating" and opened.json()["impact"] == "minor"
    for status in ("identified", "monitoring", "resolved"):
        moved = await api(
            "POST", f"{base}/{pid}/updates", {"status": status, "body": f"Now {status}."}
        )
        assert moved.status_code == 201, moved.text
        assert moved.json()["status"] == status
    got = (await api("GET", f"{base}/{pid}")).json()
    assert [u["status"] for u in got["updates"]] == [
        "resolved",
        "monitoring",
        "identified",
        "investigating",
    ]
    assert got["resolved_at"] is not None
    assert_problem(
        await api("POST", f"{base}/{pid}/updates", {"status": "monitoring", "body": "x"}), 409
    )

    public = (await client.get("/status/acme/api/v2/incidents.json")).json()["incidents"][0]
    assert public["status"] == "resolved"
    assert public["monitoring_at"] is not None and public["resolved_at"] is not None
    assert (await client.get("/status/acme/api/v2/incidents/unresolved.json")).json()[
        "incidents"
    ] == []


async def test_every_published_update_is_announced_and_a_draft_only_when_published(
    api: Api, make_page: Any
) -> None:
    page = await make_page()
    base = f"{URL}/{page['id']}/incidents"
    draft = await api("POST", base, {"name": "Quiet", "body": "Draft words.", "published": False})
    live = await api("POST", base, {"name": "Loud", "body": "Investigating."})
    await api(
        "POST", f"{base}/{live.json()['id']}/updates", {"status": "identified", "body": "Found it."}
    )

    def subjects(r: httpx.Response) -> list[str]:
        return [a["subject"] for a in r.json()["data"]]

    told = await api("GET", f"{URL}/{page['id']}/announcements")
    assert sorted(subjects(told)) == ["[Acme] Loud: identified", "[Acme] Loud: investigating"]
    published = await api("PATCH", f"{base}/{draft.json()['id']}", {"published": True})
    assert published.status_code == 200 and published.json()["published"] is True
    told = await api("GET", f"{URL}/{page['id']}/announcements")
    assert "[Acme] Quiet: investigating" in subjects(told)
    assert len(told.json()["data"]) == 3


async def test_bad_references_are_422_and_unknown_ids_404(api: Api, make_page: Any) -> None:
    page = await make_page()
    other = await make_page(slug="other")
    base = f"{URL}/{page['id']}/incidents"
    foreign = other["components"][0]["id"]
    problem = assert_problem(
        await api("POST", base, {"name": "X", "body": "Y", "component_ids": [foreign]}), 422
    )
    assert problem["errors"][0]["field"] == "component_ids"
    bad = await api("POST", base, {"name": "X", "body": "Y", "incident_ids": [str(uuid.uuid4())]})
    assert assert_problem(bad, 422)["errors"][0]["field"] == "incident_ids"
    assert_problem(await api("POST", base, {"name": "X", "body": "Y", "status": "fixed"}), 422)
    assert_problem(await api("GET", f"{base}/{uuid.uuid4()}"), 404)
    assert_problem(
        await api("POST", f"{URL}/{uuid.uuid4()}/incidents", {"name": "X", "body": "Y"}), 404
    )


async def test_observers_read_but_do_not_write_incidents(
    client: httpx.AsyncClient, make_page: Any, sessionmaker: SessionMaker
) -> None:
    page = await make_page()
    observer = await login(sessionmaker, role=Role.observer)
    base = f"{URL}/{page['id']}/incidents"
    denied = await client.post(base, json={"name": "X", "body": "Y"}, headers=observer.headers)
    assert_problem(denied, 403)
    assert (await client.get(base, headers=observer.headers)).status_code == 200
