"""Maintenance windows: the API's rules, and the durable start and end on the time-skipping
server, which tell the services' open incidents by signal (the paging hook for the engine)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from app.config import Settings
from app.db import SessionMaker
from app.identity.models import Role
from app.maintenance import service as maintenance
from app.temporal import LazyClient
from tests import incident_helpers as h
from tests.catalog.test_dependencies import make_services, open_incident
from tests.factories import assert_problem, login
from tests.web.conftest import browser_for
from workflows import incident_rules as rules
from workflows.maintenance_window_types import INCIDENT_SIGNAL, MaintenanceChange

URL = "/api/v1/maintenance-windows"


@workflow.defn(name="MaintenanceListener")
class MaintenanceListener:
    """Stands in for an incident workflow: records the maintenance signals it is sent."""

    def __init__(self) -> None:
        self.changes: list[MaintenanceChange] = []

    @workflow.signal(name=INCIDENT_SIGNAL)
    def maintenance(self, change: MaintenanceChange) -> None:
        self.changes.append(change)

    @workflow.query
    def seen(self) -> list[MaintenanceChange]:
        return self.changes

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: len(self.changes) >= 2)


@pytest.fixture
async def mw_app(
    settings: Settings, database_url: str, ts_env: WorkflowEnvironment, worker: Worker
) -> AsyncIterator[FastAPI]:
    from api import create_app

    app = create_app(settings, database_url=database_url)
    app.state.temporal = LazyClient(settings, None, client=ts_env.client)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def web(mw_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=mw_app, raise_app_exceptions=False),
        base_url="http://test",
    ) as c:
        yield c


def iso(at: datetime) -> str:
    return at.isoformat()


async def test_window_api_refuses_bad_times_and_unknown_services(
    web: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    responder = await login(sessionmaker)
    observer = await login(sessionmaker, role=Role.observer)
    (svc,) = await make_services(sessionmaker, 1, prefix="m")
    now = datetime.now(UTC)

    async def post(body: dict[str, Any], who: Any = responder) -> httpx.Response:
        return await web.post(URL, json=body, headers=who.headers)

    base = {"service_ids": [str(svc)], "reason": "db upgrade"}
    backwards = {**base, "starts_at": iso(now + timedelta(hours=2)), "ends_at": iso(now)}
    assert_problem(await post(backwards), 422)
    assert_problem(await post({**base, "ends_at": iso(now - timedelta(minutes=1))}), 422)
    assert_problem(await post({**base, "ends_at": "2030-01-01T00:00:00"}), 422)  # naive time
    assert_problem(await post({**base, "service_ids": [], "ends_at": iso(now)}), 422)
    unknown = {**base, "service_ids": [str(uuid.uuid4())], "ends_at": iso(now + timedelta(hours=1))}
    assert assert_problem(await post(unknown), 422)["errors"][0]["field"] == "service_ids"
    assert_problem(await post({**base, "ends_at": iso(now + timedelta(hours=1))}, observer), 403)

    created = await post({**base, "ends_at": iso(now + timedelta(hours=1))})
    assert created.status_code == 201, created.text
    window = created.json()
    assert window["active"] is True and window["service_ids"] == [str(svc)]
    listed = await web.get(f"{URL}?service_id={svc}&current=true", headers=observer.headers)
    assert [w["id"] for w in listed.json()["data"]] == [window["id"]]
    async with sessionmaker() as session:
        assert await maintenance.in_maintenance(
            session=session, service_id=svc, at=now + timedelta(minutes=5)
        )
        assert not await maintenance.in_maintenance(
            session=session, service_id=svc, at=now + timedelta(hours=2)
        )
    moved = await web.patch(
        f"{URL}/{window['id']}",
        json={"starts_at": iso(now + timedelta(hours=3))},
        headers=responder.headers,
    )
    assert_problem(moved, 422)  # would start after it ends
    ended = await web.delete(f"{URL}/{window['id']}", headers=responder.headers)
    assert ended.status_code == 200 and ended.json()["active"] is False
    current = await web.get(f"{URL}?current=true", headers=observer.headers)
    assert current.json()["data"] == []


async def test_window_starts_and_ends_on_durable_timers_and_tells_open_incidents(
    web: httpx.AsyncClient,
    sessionmaker: SessionMaker,
    settings: Settings,
    ts_env: WorkflowEnvironment,
) -> None:
    responder = await login(sessionmaker)
    svc, other = await make_services(sessionmaker, 2, prefix="w")
    queue = f"listener-{uuid.uuid4().hex[:6]}"
    listeners = {}
    # Unsandboxed: the stand-in lives in this test module, whose imports are not workflow-safe.
    async with Worker(
        ts_env.client,
        task_queue=queue,
        workflows=[MaintenanceListener],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        for sid, name in ((svc, "in"), (other, "out")):
            incident = await open_incident(sessionmaker, sid, f"listener-{name}")
            wid = f"incident-listener-{name}"
            assert incident
            listeners[name] = await ts_env.client.start_workflow(
                MaintenanceListener.run, id=wid, task_queue=queue
            )
        now = datetime.now(UTC)
        body = {
            "service_ids": [str(svc)],
            "starts_at": iso(now + timedelta(minutes=10)),
            "ends_at": iso(now + timedelta(minutes=40)),
            "reason": "failover drill",
        }
        created = await web.post(URL, json=body, headers=responder.headers)
        assert created.status_code == 201, created.text
        window_wf = ts_env.client.get_workflow_handle(f"maintenance-window:{created.json()['id']}")
        assert await window_wf.query("current_phase") == "scheduled"

        await ts_env.sleep(timedelta(minutes=15))

        async def seen(name: str) -> list[MaintenanceChange]:
            return list(await listeners[name].query(MaintenanceListener.seen))

        started = await h.eventually(lambda: seen("in"), timeout=20)
        assert [(c.active, c.service_id) for c in started] == [(True, str(svc))]
        assert await window_wf.query("current_phase") == "active"
        await ts_env.sleep(timedelta(minutes=30))

        async def both() -> list[MaintenanceChange] | None:
            changes = await seen("in")
            return changes if len(changes) == 2 else None

        changes = await h.eventually(both, timeout=20)
        assert [c.active for c in changes] == [True, False]
        assert await seen("out") == []  # another service's incident is not told
        assert await window_wf.result() == "ended"
        await listeners["out"].terminate()


async def test_service_page_starts_a_preset_window_and_ends_it(
    mw_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    (svc,) = await make_services(sessionmaker, 1, prefix="p")
    me = await browser_for(mw_app, sessionmaker)
    page = await me.get(f"/services/{svc}")
    assert "Not in maintenance." in page.text
    for label in ("15 min", "30 min", "1 h", "2 h", "4 h"):
        assert f">{label}</button>" in page.text
    assert (await me.post(f"/services/{svc}/maintenance", {"minutes": "7"})).status_code == 422
    started = await me.post(f"/services/{svc}/maintenance", {"minutes": "30", "reason": "patching"})
    assert started.status_code == 303
    page = await me.get(f"/services/{svc}")
    assert "<strong>In maintenance</strong> until" in page.text and "patching" in page.text
    async with sessionmaker() as session:
        (window,) = await maintenance.list_windows(session=session, service_id=svc, current=True)
        assert window.ends_at - window.starts_at == timedelta(minutes=30)
    ended = await me.post(f"/maintenance-windows/{window.id}/end", {"service_id": str(svc)})
    assert ended.status_code == 303
    assert "Not in maintenance." in (await me.get(f"/services/{svc}")).text
    observer = await browser_for(mw_app, sessionmaker, role=Role.observer)
    await observer.get(f"/services/{svc}")
    assert (
        await observer.post(f"/services/{svc}/maintenance", {"minutes": "15"})
    ).status_code == 403


async def test_alerts_during_maintenance_show_on_the_service_and_incident_pages(
    mw_app: FastAPI, sessionmaker: SessionMaker, settings: Settings, ts_env: WorkflowEnvironment
) -> None:
    (a,) = await h.users(sessionmaker, 1)
    svc = await h.service(sessionmaker, await h.policy(sessionmaker, settings, [h.level(60, a)]))
    me = await browser_for(mw_app, sessionmaker)
    started = await me.post(f"/services/{svc.id}/maintenance", {"minutes": "60", "reason": "x"})
    assert started.status_code == 303
    handle = await h.send_alert(ts_env.client, settings, svc, h.alert())
    await h.send_alert(ts_env.client, settings, svc, h.alert("again"))

    async def recorded() -> str | None:
        v = await h.view(handle)
        notes = [e.detail.get("maintenance") for e in await h.timeline(sessionmaker, v.incident_id)]
        return v.incident_id if notes.count(rules.NOT_PAGED) == 2 else None

    incident_id = await h.eventually(recorded)
    service_page = (await me.get(f"/services/{svc.id}")).text
    assert "2 alert(s) received during maintenance, not paged" in service_page
    assert "alerts still page" not in service_page
    incident_page = (await me.get(f"/incidents/{incident_id}")).text
    assert incident_page.count(rules.NOT_PAGED) == 2
    assert await h.paged_users(sessionmaker, incident_id) == []
