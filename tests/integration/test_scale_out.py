"""Scale out, shown: two worker processes and two API processes on one dev server, one
PostgreSQL and one Redis. Incidents are shared between the workers, an integration's rate
limit holds across both APIs, live updates (SSE) reach clients of either API, and nothing is
paged twice."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from app.config import Settings
from app.db import SessionMaker
from app.identity.models import Role
from app.incidents.models import Incident, Notification, TimelineEvent
from tests import incident_helpers as h
from tests.factories import Login, login
from tests.integration.conftest import ROOT, ApiProcess, WorkerProcess, _free_port

pytestmark = pytest.mark.integration

REDIS_URL = "redis://127.0.0.1:6379/0"
INCIDENTS = 16


@pytest.fixture
async def apis(
    dev_server: str, database_url: str, settings: Settings, tmp_path: Path
) -> AsyncIterator[list[ApiProcess]]:
    """Two `uvicorn api:app` processes limiting through the same Redis."""
    procs = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "TEMPORAL_ADDRESS": dev_server,
            "TEMPORAL_TASK_QUEUE": settings.temporal_task_queue,
            "PAGEFREE_DATA_DIR": str(tmp_path / name),
            "REDIS_URL": REDIS_URL,
            "PYTHONPATH": str(ROOT),
        }
        procs.append(ApiProcess(env, _free_port(), tmp_path / name))
    yield procs
    for p in procs:
        if p.proc is not None and p.proc.poll() is None:
            p.kill()


async def _ready(url: str) -> None:
    """Wait for an API process (four processes start at once: slow on a shared machine)."""
    async with httpx.AsyncClient() as client:
        for _ in range(900):
            try:
                if (await client.get(f"{url}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} did not become ready")


async def _listen(url: str, who: Login, seen: list[dict[str, Any]]) -> None:
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(5, read=None)) as client,
        client.stream("GET", f"{url}/api/v1/events", headers=who.headers) as r,
    ):
        async for line in r.aiter_lines():
            if line.startswith("data: "):
                seen.append(json.loads(line[6:]))


async def _integration(url: str, who: Login, service_id: object, **extra: Any) -> str:
    async with httpx.AsyncClient() as client:
        r = await client.post(
            f"{url}/api/v1/services/{service_id}/integrations",
            json={"type": "pagerduty", "name": f"pd-{_free_port()}", **extra},
            headers=who.headers,
        )
    assert r.status_code == 201, r.text
    return str(r.json()["key"])


def _event(key: str, dedup_key: str) -> dict[str, Any]:
    return {
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {"summary": f"{dedup_key} down", "source": "probe", "severity": "critical"},
    }


async def test_two_workers_and_two_apis_share_the_work_and_page_once(
    dev_client: Client,
    start_worker: WorkerProcess,
    apis: list[ApiProcess],
    sessionmaker: SessionMaker,
    settings: Settings,
) -> None:
    (oncall,) = await h.users(sessionmaker, 1)
    svc = await h.service(
        sessionmaker, await h.policy(sessionmaker, settings, [h.level(300, oncall)])
    )
    admin = await login(sessionmaker, role=Role.admin)
    start_worker(), start_worker()
    for api in apis:
        api.spawn()
    await asyncio.gather(*(_ready(api.url) for api in apis))
    a, b = (api.url for api in apis)
    seen: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])
    listeners = [
        asyncio.create_task(_listen(url, admin, s)) for url, s in zip((a, b), seen, strict=True)
    ]
    try:
        # The rate limit of one integration is shared: three at once, the fourth is refused,
        # whichever API each request reaches.
        limited = await _integration(a, admin, svc.id, rate_limit={"per_second": 0.1, "burst": 3})
        async with httpx.AsyncClient() as client:
            codes = [
                (
                    await client.post(f"{url}/v2/enqueue", json=_event(limited, "limited"))
                ).status_code
                for url in (a, b, a, b)
            ]
            assert codes == [202, 202, 202, 429]

            # Distinct incidents, alternately through both APIs.
            key = await _integration(b, admin, svc.id)
            sent = await asyncio.gather(
                *(
                    client.post(f"{(a, b)[i % 2]}/v2/enqueue", json=_event(key, f"host-{i}"))
                    for i in range(INCIDENTS)
                )
            )
            assert [r.status_code for r in sent] == [202] * INCIDENTS

        async def all_paged() -> list[Incident] | None:
            async with sessionmaker() as session:
                rows = list((await session.scalars(select(Incident))).all())
                notified = await session.scalar(select(func.count()).select_from(Notification))
            return rows if len(rows) == INCIDENTS + 1 and notified == INCIDENTS + 1 else None

        rows = await h.eventually(all_paged, timeout=40)

        async def streamed() -> bool:  # both APIs' clients saw every incident open
            return all(
                {e["incident_id"] for e in s if e.get("kind") == "opened"}
                >= {str(r.id) for r in rows}
                for s in seen
            )

        await h.eventually(streamed, timeout=10)
    finally:
        for task in listeners:
            task.cancel()

    await asyncio.sleep(1)  # let any duplicate page show itself
    async with sessionmaker() as session:
        notified = await session.scalar(select(func.count()).select_from(Notification))
        paged = await session.scalar(
            select(func.count()).select_from(TimelineEvent).where(TimelineEvent.type == "paged")
        )
    assert notified == INCIDENTS + 1 and paged == INCIDENTS + 1  # each incident paged once

    # Both workers ran incidents: the workflow tasks were started by two identities.
    workers = set()
    for row in rows:
        handle = dev_client.get_workflow_handle(row.workflow_id, run_id=row.run_id)
        async for event in handle.fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
                workers.add(event.workflow_task_started_event_attributes.identity)
    assert len(workers) == 2, workers
