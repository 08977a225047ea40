"""Status pages over HTTP: CRUD, components mapped to services, computed status, pins."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import text

from app.catalog.models import Service
from app.db import SessionMaker, utcnow
from app.identity.models import Role
from tests.factories import assert_problem, login
from tests.statuspages.conftest import Api, OpenIncident, SetStatus

URL = "/api/v1/status-pages"


def by_name(page: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in page["components"]}


async def test_create_and_read_a_page_with_grouped_ordered_components(
    api: Api, make_page: Any, services: list[Service]
) -> None:
    page = await make_page()
    assert page["slug"] == "acme" and page["visibility"] == "public"
    assert page["url"].endswith("/status/acme")
    assert [c["name"] for c in page["components"]] == ["API", "Web", "Mail"]
    assert [c["position"] for c in page["components"]] == [0, 1, 2]
    assert by_name(page)["API"]["group"] == "Core"
    assert by_name(page)["API"]["service_ids"] == [str(services[0].id)]
    assert {c["status"] for c in page["components"]} == {"operational"}

    got = await api("GET", f"{URL}/{page['id']}")
    assert got.status_code == 200 and got.json()["components"] == page["components"]
    listed = await api("GET", URL)
    assert listed.json()["count"] == 1


async def test_duplicate_slug_is_409_and_unknown_page_404(api: Api, make_page: Any) -> None:
    page = await make_page()
    again = await api("POST", URL, {"name": "Other", "slug": "acme"})
    assert_problem(again, 409)
    other = await api("POST", URL, {"name": "Other", "slug": "other"})
    renamed = await api("PATCH", f"{URL}/{other.json()['id']}", {"slug": "acme"})
    assert_problem(renamed, 409)
    assert_problem(await api("GET", f"{URL}/{uuid.uuid4()}"), 404)
    assert_problem(await api("PATCH", f"{URL}/{page['id']}/components/{uuid.uuid4()}", {}), 404)


async def test_bad_input_is_422(api: Api) -> None:
    assert_problem(await api("POST", URL, {"name": "X", "slug": "Not A Slug"}), 422)
    body = {
        "name": "X",
        "slug": "x",
        "components": [{"name": "A", "service_ids": [str(uuid.uuid4())]}],
    }
    problem = assert_problem(await api("POST", URL, body), 422)
    assert problem["errors"][0]["field"] == "components.0.service_ids"


async def test_only_admins_change_pages(client: Any, sessionmaker: SessionMaker) -> None:
    responder = await login(sessionmaker, role=Role.responder)
    denied = await client.post(URL, json={"name": "X", "slug": "x"}, headers=responder.headers)
    assert_problem(denied, 403)
    assert_problem(await client.get(URL), 401)


async def test_component_status_is_the_worst_open_incident_of_its_services(
    api: Api,
    make_page: Any,
    services: list[Service],
    open_incident: OpenIncident,
    set_incident_status: SetStatus,
) -> None:
    page = await make_page()
    warning = await open_incident(services[0], "warning")
    await open_incident(services[1], "info")
    critical = await open_incident(services[2], "critical", status="acknowledged")
    got = by_name((await api("GET", f"{URL}/{page['id']}")).json())
    assert got["API"]["status"] == "degraded_performance"
    assert got["Web"]["status"] == "operational"  # info changes nothing
    assert got["Mail"]["status"] == "major_outage"  # acknowledged is still open

    await open_incident(services[0], "error")
    await set_incident_status(critical, "resolved")
    got = by_name((await api("GET", f"{URL}/{page['id']}")).json())
    assert got["API"]["status"] == "partial_outage"
    assert got["Mail"]["status"] == "operational"
    await set_incident_status(warning, "resolved")
    assert (
        by_name((await api("GET", f"{URL}/{page['id']}")).json())["API"]["status"]
        == "partial_outage"
    )


async def test_a_component_maps_several_services_and_can_be_remapped(
    api: Api, make_page: Any, services: list[Service], open_incident: OpenIncident
) -> None:
    page = await make_page()
    api_c = by_name(page)["API"]
    await open_incident(services[2], "critical")
    both = [str(services[0].id), str(services[2].id)]
    changed = await api(
        "PATCH", f"{URL}/{page['id']}/components/{api_c['id']}", {"service_ids": both}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["status"] == "major_outage"
    assert changed.json()["service_ids"] == both


async def test_pinned_override_wins_and_lapses_at_until(
    api: Api,
    make_page: Any,
    services: list[Service],
    open_incident: OpenIncident,
    sessionmaker: SessionMaker,
) -> None:
    page = await make_page()
    mail = by_name(page)["Mail"]
    path = f"{URL}/{page['id']}/components/{mail['id']}"
    await open_incident(services[2], "critical")
    until = (utcnow() + timedelta(hours=1)).isoformat()
    pinned = await api("PATCH", path, {"status_override": "degraded_performance", "until": until})
    assert pinned.status_code == 200, pinned.text
    assert pinned.json()["status"] == "degraded_performance"
    assert pinned.json()["status_override"] == "degraded_performance"

    # The pin's time runs out: the computed status is back, without anyone touching it.
    async with sessionmaker() as session:
        await session.execute(
            text(
                "UPDATE status_components SET override_until = now() - interval '1 s' "
                "WHERE id = :id"
            ),
            {"id": uuid.UUID(mail["id"])},
        )
        await session.commit()
    assert (
        by_name((await api("GET", f"{URL}/{page['id']}")).json())["Mail"]["status"]
        == "major_outage"
    )

    await api("PATCH", path, {"status_override": "partial_outage"})
    unpinned = await api("PATCH", path, {"status_override": None})
    assert (
        unpinned.json()["status"] == "major_outage" and unpinned.json()["status_override"] is None
    )
    past = (utcnow() - timedelta(minutes=1)).isoformat()
    assert_problem(await api("PATCH", path, {"status_override": "operational", "until": past}), 422)
    assert_problem(await api("PATCH", path, {"status_override": "broken"}), 422)


async def test_components_added_last_and_deleted_and_changes_audited(
    api: Api, make_page: Any, sessionmaker: SessionMaker
) -> None:
    page = await make_page()
    added = await api("POST", f"{URL}/{page['id']}/components", {"name": "Billing"})
    assert added.status_code == 201 and added.json()["position"] == 3
    gone = await api("DELETE", f"{URL}/{page['id']}/components/{added.json()['id']}")
    assert gone.status_code == 204
    assert len((await api("GET", f"{URL}/{page['id']}")).json()["components"]) == 3
    assert (await api("DELETE", f"{URL}/{page['id']}")).status_code == 204
    assert_problem(await api("GET", f"{URL}/{page['id']}"), 404)
    async with sessionmaker() as session:
        actions = (
            (await session.execute(text("SELECT action FROM audit_events ORDER BY id")))
            .scalars()
            .all()
        )
    assert [a for a in actions if a.startswith("status_")] == [
        "status_page.create",
        "status_component.create",
        "status_component.delete",
        "status_page.delete",
    ]
