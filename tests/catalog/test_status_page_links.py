"""The catalog on status pages: a maintenance with `suppress_paging` is a maintenance window over
its components' services, and a page that asks shows the impact of dependencies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app.catalog.models import Service
from app.config import Settings
from app.db import SessionMaker
from app.identity.models import Role
from app.maintenance.models import MaintenanceWindow
from app.statuspages import rules as page_rules
from app.statuspages.models import ComponentStatus
from app.temporal import LazyClient
from tests import incident_helpers as h
from tests.catalog.test_dependencies import open_incident
from tests.factories import Login, assert_problem, login
from tests.statuspages.conftest import Api
from workflows import incident_rules as rules

URL = "/api/v1/status-pages"


@pytest.fixture
async def admin(sessionmaker: SessionMaker) -> Login:
    return await login(sessionmaker, role=Role.admin)


@pytest.fixture
def api(client: httpx.AsyncClient, admin: Login) -> Api:
    async def call(method: str, path: str, body: Any = None) -> httpx.Response:
        return await client.request(method, path, json=body, headers=admin.headers)

    return call


@pytest.fixture
async def services(sessionmaker: SessionMaker, settings: Settings, admin: Login) -> list[Service]:
    policy = await h.policy(sessionmaker, settings, [h.level(300, admin.user)])
    return [await h.service(sessionmaker, policy) for _ in range(3)]


@pytest.fixture
def temporal(app: FastAPI, settings: Settings, ts_env: WorkflowEnvironment, worker: Worker) -> None:
    app.state.temporal = LazyClient(settings, None, client=ts_env.client)


async def _page(api: Api, slug: str, components: list[dict[str, Any]], **extra: Any) -> Any:
    made = await api("POST", URL, {"name": slug, "slug": slug, "components": components, **extra})
    assert made.status_code == 201, made.text
    return made.json()


def _ids(page: Any) -> dict[str, str]:
    return {c["name"]: c["id"] for c in page["components"]}


async def test_a_maintenance_that_suppresses_paging_is_a_window_over_its_services(
    api: Api,
    temporal: None,
    services: list[Service],
    sessionmaker: SessionMaker,
    settings: Settings,
    ts_env: WorkflowEnvironment,
) -> None:
    svc = services[0]
    page = await _page(
        api,
        "links",
        [
            {"name": "API", "service_ids": [str(svc.id)]},
            {"name": "Docs", "service_ids": []},
        ],
    )
    now = await ts_env.get_current_time()
    body = {
        "name": "Database upgrade",
        "body": "PostgreSQL 17.",
        "component_ids": [_ids(page)["API"]],
        "scheduled_for": now.isoformat(),
        "scheduled_until": (now + timedelta(hours=1)).isoformat(),
        "suppress_paging": True,
    }
    nothing = {**body, "component_ids": [_ids(page)["Docs"]]}
    refused = assert_problem(await api("POST", f"{URL}/{page['id']}/maintenances", nothing), 422)
    assert refused["errors"][0]["field"] == "suppress_paging"
    made = await api("POST", f"{URL}/{page['id']}/maintenances", body)
    assert made.status_code == 201, made.text
    mid = made.json()["id"]
    async with sessionmaker() as session:
        window = await session.get(MaintenanceWindow, mid)
        assert window is not None and window.service_ids == [svc.id]
        assert "Database upgrade" in window.reason

    handle = await h.send_alert(ts_env.client, settings, svc, h.alert())

    async def held() -> str | None:
        v = await h.view(handle)
        notes = [e.detail.get("maintenance") for e in await h.timeline(sessionmaker, v.incident_id)]
        return v.incident_id if rules.NOT_PAGED in notes else None

    incident_id = await h.eventually(held)
    assert await h.paged_users(sessionmaker, incident_id) == []

    cancelled = await api("DELETE", f"{URL}/{page['id']}/maintenances/{mid}")
    assert cancelled.status_code == 200, cancelled.text
    async with sessionmaker() as session:
        window = await session.get(MaintenanceWindow, mid)
        assert window is not None and window.ends_at <= datetime.now(UTC)
    # The window's end pages the incident, still firing, from level 1.
    await h.eventually(lambda: h.paged_users(sessionmaker, incident_id), timeout=20)


def test_dependency_impact_degrades_only_an_operational_component() -> None:
    op, maint = ComponentStatus.operational, ComponentStatus.under_maintenance
    degraded = ComponentStatus.degraded_performance
    assert page_rules.with_dependency_impact(op, True) is degraded
    assert page_rules.with_dependency_impact(op, False) is op
    assert page_rules.with_dependency_impact(maint, True) is maint
    major = ComponentStatus.major_outage
    assert page_rules.with_dependency_impact(major, True) is major


async def test_a_page_that_asks_shows_upstream_incidents_as_degraded_dependency(
    api: Api, client: httpx.AsyncClient, services: list[Service], sessionmaker: SessionMaker
) -> None:
    web, db, other = services
    assert (
        await api("POST", f"/api/v1/services/{web.id}/dependencies", {"depends_on": str(other.id)})
    ).status_code == 201
    assert (
        await api("POST", f"/api/v1/services/{other.id}/dependencies", {"depends_on": str(db.id)})
    ).status_code == 201
    components = [{"name": "Web", "service_ids": [str(web.id)]}]
    asking = await _page(api, "deps", components, dependency_impact=True)
    plain = await _page(api, "plain", components)
    assert asking["dependency_impact"] is True and plain["dependency_impact"] is False

    async def status(page: Any) -> str:
        got = await api("GET", f"{URL}/{page['id']}")
        return got.json()["components"][0]["status"]  # type: ignore[no-any-return]

    assert await status(asking) == "operational"
    await open_incident(sessionmaker, db.id, "db-down")  # two edges up
    assert await status(asking) == "degraded_performance"
    assert await status(plain) == "operational"
    html = (await client.get("/status/deps")).text
    assert "Degraded performance (dependency)" in html
    assert "(dependency)" not in (await client.get("/status/plain")).text
    summary = (await client.get("/status/deps/api/v2/summary.json")).json()
    assert summary["components"][0]["status"] == "degraded_performance"

    off = await api("PATCH", f"{URL}/{asking['id']}", {"dependency_impact": False})
    assert off.status_code == 200 and off.json()["dependency_impact"] is False
    assert await status(asking) == "operational"
    assert_problem(await api("PATCH", f"{URL}/{asking['id']}", {"dependency_impact": None}), 422)
