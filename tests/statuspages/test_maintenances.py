"""Maintenances on durable timers (time-skipping server): scheduled → in progress → completed,
an optional reminder, cancellation, and bad schedules refused."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app.config import Settings
from app.temporal import LazyClient
from tests import incident_helpers as ih
from tests.factories import assert_problem
from tests.statuspages.conftest import Api
from tests.statuspages.histories import record

URL = "/api/v1/status-pages"


@pytest.fixture
def temporal(app: FastAPI, settings: Settings, ts_env: WorkflowEnvironment, worker: Worker) -> None:
    """Give the API the time-skipping server's client."""
    app.state.temporal = LazyClient(settings, None, client=ts_env.client)


async def _now(ts_env: WorkflowEnvironment) -> datetime:
    return await ts_env.get_current_time()


def _component(page: dict[str, Any], name: str) -> str:
    return next(c["id"] for c in page["components"] if c["name"] == name)


async def _schedule(
    api: Api, page: dict[str, Any], start: datetime, end: datetime, **extra: Any
) -> httpx.Response:
    return await api(
        "POST",
        f"{URL}/{page['id']}/maintenances",
        {
            "name": "Database upgrade",
            "body": "PostgreSQL 17.",
            "component_ids": [_component(page, "Mail")],
            "scheduled_for": start.isoformat(),
            "scheduled_until": end.isoformat(),
            **extra,
        },
    )


async def _status_of(api: Api, page: dict[str, Any], mid: str) -> str:
    got = await api("GET", f"{URL}/{page['id']}/maintenances/{mid}")
    return got.json()["status"]  # type: ignore[no-any-return]


async def _mail_status(client: httpx.AsyncClient) -> str:
    comps = (await client.get("/status/acme/api/v2/components.json")).json()["components"]
    return next(c["status"] for c in comps if c["name"] == "Mail")  # type: ignore[no-any-return]


async def _kinds(api: Api, page: dict[str, Any]) -> list[str]:
    rows = (await api("GET", f"{URL}/{page['id']}/announcements")).json()["data"]
    return sorted(a["kind"] for a in rows)


async def test_timers_move_a_maintenance_along_with_a_reminder_before_start(
    ts_env: WorkflowEnvironment, temporal: None, api: Api, client: httpx.AsyncClient, make_page: Any
) -> None:
    page = await make_page()
    now = await _now(ts_env)
    created = await _schedule(
        api, page, now + timedelta(hours=1), now + timedelta(hours=2), remind_before="PT30M"
    )
    assert created.status_code == 201, created.text
    m = created.json()
    assert m["status"] == "scheduled" and m["workflow_id"] == f"maintenance:{m['id']}"
    assert await _mail_status(client) == "operational"
    upcoming = (await client.get("/status/acme/api/v2/scheduled-maintenances/upcoming.json")).json()
    assert [x["name"] for x in upcoming["scheduled_maintenances"]] == ["Database upgrade"]

    await ts_env.sleep(timedelta(minutes=35))

    async def reminded() -> bool:
        return await _kinds(api, page) == ["maintenance_reminder"]

    await ih.eventually(reminded)
    assert await _status_of(api, page, m["id"]) == "scheduled"

    await ts_env.sleep(timedelta(minutes=30))

    async def started() -> bool:
        return await _status_of(api, page, m["id"]) == "in_progress"

    await ih.eventually(started)
    assert await _mail_status(client) == "under_maintenance"
    summary = (await client.get("/status/acme/api/v2/summary.json")).json()
    assert summary["status"]["description"] == "Service Under Maintenance"
    active = (await client.get("/status/acme/api/v2/scheduled-maintenances/active.json")).json()
    assert [x["status"] for x in active["scheduled_maintenances"]] == ["in_progress"]

    await ts_env.sleep(timedelta(hours=1))

    async def completed() -> bool:
        return await _status_of(api, page, m["id"]) == "completed"

    await ih.eventually(completed)
    assert await _mail_status(client) == "operational"
    got = (await api("GET", f"{URL}/{page['id']}/maintenances/{m['id']}")).json()
    assert [u["status"] for u in got["updates"]] == ["completed", "in_progress", "scheduled"]
    assert await _kinds(api, page) == [
        "maintenance_completed",
        "maintenance_reminder",
        "maintenance_started",
    ]
    handle = ts_env.client.get_workflow_handle(m["workflow_id"])
    assert await handle.result() == "completed"
    await record(handle, "maintenance_reminded_started_completed")


async def test_cancelled_before_its_start_a_maintenance_never_starts(
    ts_env: WorkflowEnvironment, temporal: None, api: Api, client: httpx.AsyncClient, make_page: Any
) -> None:
    page = await make_page()
    now = await _now(ts_env)
    m = (await _schedule(api, page, now + timedelta(hours=1), now + timedelta(hours=2))).json()
    cancelled = await api("DELETE", f"{URL}/{page['id']}/maintenances/{m['id']}")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    handle = ts_env.client.get_workflow_handle(m["workflow_id"])
    assert await handle.result() == "cancelled"
    await record(handle, "maintenance_cancelled_before_start")
    await ts_env.sleep(timedelta(hours=3))
    assert await _status_of(api, page, m["id"]) == "cancelled"
    assert await _mail_status(client) == "operational"
    every = (await client.get("/status/acme/api/v2/scheduled-maintenances.json")).json()
    assert every["scheduled_maintenances"] == []  # a cancelled one is not shown
    again = await api("DELETE", f"{URL}/{page['id']}/maintenances/{m['id']}")
    assert_problem(again, 409)


async def test_cancelled_while_in_progress_a_maintenance_completes_early(
    ts_env: WorkflowEnvironment, temporal: None, api: Api, client: httpx.AsyncClient, make_page: Any
) -> None:
    page = await make_page()
    now = await _now(ts_env)
    m = (await _schedule(api, page, now + timedelta(minutes=10), now + timedelta(hours=5))).json()
    await ts_env.sleep(timedelta(minutes=11))

    async def started() -> bool:
        return await _status_of(api, page, m["id"]) == "in_progress"

    await ih.eventually(started)
    done = await api("DELETE", f"{URL}/{page['id']}/maintenances/{m['id']}")
    assert done.json()["status"] == "completed"
    assert await _mail_status(client) == "operational"
    desc = await ts_env.client.get_workflow_handle(m["workflow_id"]).describe()
    assert desc.status in (WorkflowExecutionStatus.COMPLETED, WorkflowExecutionStatus.CANCELED)


async def test_bad_schedules_are_422_and_store_nothing(
    ts_env: WorkflowEnvironment, temporal: None, api: Api, make_page: Any
) -> None:
    page = await make_page()
    now = await _now(ts_env)
    before = await _schedule(api, page, now + timedelta(hours=2), now + timedelta(hours=1))
    problem = assert_problem(before, 422)
    assert problem["errors"][0]["field"] == "scheduled_until"
    assert_problem(
        await _schedule(api, page, now - timedelta(hours=2), now - timedelta(hours=1)), 422
    )
    naive = await _schedule(
        api, page, (now + timedelta(hours=1)).replace(tzinfo=None), now + timedelta(hours=2)
    )
    assert_problem(naive, 422)
    assert_problem(
        await _schedule(api, page, now, now + timedelta(hours=1), remind_before="P30D"), 422
    )
    listed = await api("GET", f"{URL}/{page['id']}/maintenances")
    assert listed.json()["data"] == []


async def test_without_temporal_a_maintenance_is_refused_and_not_stored(
    api: Api, make_page: Any
) -> None:
    from app.db import utcnow

    page = await make_page()
    now = utcnow()
    refused = await _schedule(api, page, now + timedelta(hours=1), now + timedelta(hours=2))
    assert_problem(refused, 503)
    assert (await api("GET", f"{URL}/{page['id']}/maintenances")).json()["data"] == []
