"""Kill -9 the worker during an alert storm; many clients acknowledge and resolve at once."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from app.config import Settings
from app.db import SessionMaker
from app.identity.models import Role
from app.incidents import service as incidents
from app.temporal import LazyClient, connect
from tests import incident_helpers as h
from tests.factories import login
from tests.faults.conftest import RestartableTemporal
from tests.integration.conftest import WorkerProcess

pytestmark = pytest.mark.faults


async def test_worker_killed_during_an_alert_storm_loses_no_alert(
    temporal: RestartableTemporal, start_worker: WorkerProcess, sessionmaker: SessionMaker,
    settings: Settings,
) -> None:  # fmt: skip
    (a,) = await h.users(sessionmaker, 1)
    svc = await h.service(sessionmaker, await h.policy(sessionmaker, settings, [h.level(60, a)]))
    worker = start_worker()
    client = await connect(settings, temporal.address)
    first = await h.send_alert(client, settings, svc, h.alert(dedup_key="storm"))
    v = await h.opened(first)

    async def burst(n: int, start: int) -> None:
        await asyncio.gather(*(h.send_alert(client, settings, svc,
                                            h.alert(dedup_key="storm", summary=f"#{start + i}"))
                               for i in range(n)))  # fmt: skip

    await burst(100, 0)
    worker.send_signal(signal.SIGKILL)  # mid-storm
    worker.wait()
    await burst(100, 100)  # accepted by Temporal with no worker running
    start_worker()

    async def all_counted() -> bool:
        row = await h.incident_row(sessionmaker, v.incident_id)
        return row is not None and row.alert_count == 201

    await h.eventually(all_counted, timeout=60)
    assert (await h.view(first)).alert_count == 201
    async with sessionmaker() as session:
        from sqlalchemy import func, select

        from app.incidents.models import Alert, Incident

        assert await session.scalar(select(func.count()).select_from(Incident)) == 1
        assert await session.scalar(select(func.count()).select_from(Alert)) == 201
    assert await h.paged_users(sessionmaker, v.incident_id) == [str(a.id)]  # paged once


async def test_concurrent_acknowledge_and_resolve_have_one_consistent_outcome(
    temporal: RestartableTemporal, start_worker: WorkerProcess, sessionmaker: SessionMaker,
    settings: Settings, database_url: str,
) -> None:  # fmt: skip
    from api import create_app

    (a,) = await h.users(sessionmaker, 1)
    svc = await h.service(sessionmaker, await h.policy(sessionmaker, settings, [h.level(60, a)]))
    start_worker()
    responders = [await login(sessionmaker, role=Role.responder) for _ in range(6)]
    app = create_app(settings, database_url=database_url)
    app.state.temporal = LazyClient(settings, temporal.address)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=60) as api:
            made = await api.post("/api/v1/incidents", json={"service_id": str(svc.id),
                                                              "title": "race"},
                                  headers=responders[0].headers)  # fmt: skip
            inc = made.json()
            if made.status_code == 202:  # a slow worker start: the incident opens a bit later
                row = await incidents.wait_for_incident(
                    sessionmaker=sessionmaker, workflow_id=inc["workflow_id"],
                    since=datetime.now(UTC) - timedelta(minutes=1), timeout=30,
                )  # fmt: skip
                assert row is not None
                inc = {"id": str(row.id)}
            await h.eventually(lambda: h.paged_users(sessionmaker, inc["id"]), timeout=20)
            calls = [
                api.post(f"/api/v1/incidents/{inc['id']}/{action}", headers=who.headers)
                for who in responders for action in ("acknowledge", "acknowledge", "resolve")
            ]  # fmt: skip
            results = await asyncio.gather(*calls)
    statuses = Counter(r.status_code for r in results)
    assert set(statuses) <= {200, 409, 429}, statuses
    assert statuses[200] >= 1
    assert all(r.headers["content-type"].startswith("application/problem+json")
               for r in results if r.status_code != 200)  # fmt: skip

    async def resolved() -> bool:
        row = await h.incident_row(sessionmaker, inc["id"])
        return row is not None and row.status == "resolved"

    await h.eventually(resolved, timeout=30)
    types = Counter(await h.types(sessionmaker, inc["id"]))
    assert types["resolved"] == 1 and types["acknowledged"] <= 1 and types["triggered"] == 1
