"""Open incidents survive a Temporal dev server restart and a PostgreSQL outage."""

from __future__ import annotations

import asyncio

import pytest

from app.config import Settings
from app.db import SessionMaker
from app.temporal import connect
from tests import incident_helpers as h
from tests.faults.conftest import RestartablePostgres, RestartableTemporal
from tests.integration.conftest import WorkerProcess

pytestmark = pytest.mark.faults


async def _paged(
    sessionmaker: SessionMaker, incident_id: str, n: int, timeout: float = 40
) -> list[str]:
    async def enough() -> list[str] | None:
        got = await h.paged_users(sessionmaker, incident_id)
        return got if len(got) >= n else None

    return await h.eventually(enough, timeout=timeout)  # type: ignore[no-any-return]


async def test_open_incidents_continue_after_the_temporal_server_restarts(
    temporal: RestartableTemporal, start_worker: WorkerProcess, sessionmaker: SessionMaker,
    settings: Settings,
) -> None:  # fmt: skip
    a, b = await h.users(sessionmaker, 2)
    pol = await h.policy(sessionmaker, settings, [h.level(8, a), h.level(8, b)])
    svc = await h.service(sessionmaker, pol)
    start_worker()
    client = await connect(settings, temporal.address)
    handles = [
        await h.send_alert(client, settings, svc, h.alert(dedup_key=f"k{i}")) for i in range(3)
    ]
    views = [await h.opened(x) for x in handles]
    for v in views:
        await _paged(sessionmaker, v.incident_id, 1)

    temporal.stop()
    await asyncio.sleep(2)
    temporal.start()  # same SQLite file, same port: the worker reconnects by itself

    for v in views:  # level 2 still fires for every incident, once
        assert await _paged(sessionmaker, v.incident_id, 2) == [str(a.id), str(b.id)]
    client = await connect(settings, temporal.address)
    done = await client.get_workflow_handle(handles[0].id).execute_update(
        "resolve", h.ActionIn(actor=h.Actor(type="user", id="u")), result_type=h.IncidentView
    )
    assert done.status == "resolved"
    await asyncio.sleep(1)
    for v in views:
        assert await h.paged_users(sessionmaker, v.incident_id) == [str(a.id), str(b.id)]


@pytest.fixture
def database_url(own_pg: RestartablePostgres) -> str:
    """This module's tests use a PostgreSQL of their own, which they stop."""
    return own_pg.handle.url()


async def test_postgres_outage_delays_projection_but_loses_nothing(
    own_pg: RestartablePostgres, temporal: RestartableTemporal, start_worker: WorkerProcess,
    sessionmaker: SessionMaker, settings: Settings,
) -> None:  # fmt: skip
    a, b = await h.users(sessionmaker, 2)
    pol = await h.policy(sessionmaker, settings, [h.level(5, a), h.level(5, b)])
    svc = await h.service(sessionmaker, pol)
    start_worker()
    client = await connect(settings, temporal.address)
    handle = await h.send_alert(client, settings, svc, h.alert())
    v = await h.opened(handle)
    await _paged(sessionmaker, v.incident_id, 1)

    own_pg.stop()
    await asyncio.sleep(8)  # level 2's deadline passes while PostgreSQL is down
    assert (await h.view(handle)).escalation_level == 2  # Temporal holds the truth
    own_pg.start()
    assert await _paged(sessionmaker, v.incident_id, 2, timeout=60) == [str(a.id), str(b.id)]

    # Acting during an outage answers at once from the workflow; the projection follows later.
    own_pg.stop()
    # PostgreSQL stays down until the answer is in: a blocked Update would never return.
    ack = await asyncio.wait_for(
        handle.execute_update(
            "acknowledge",
            h.ActionIn(actor=h.Actor(type="user", id=str(b.id))),
            result_type=h.IncidentView,
        ),
        timeout=30,
    )
    assert ack.status == "acknowledged"
    own_pg.start()

    async def caught_up() -> bool:
        row = await h.incident_row(sessionmaker, v.incident_id)
        return row is not None and row.status == "acknowledged" and row.escalation_level == 2

    await h.eventually(caught_up, timeout=60)
    types = await h.types(sessionmaker, v.incident_id)
    assert types.count("paged") == 2 and types.count("notified") == 2
    assert types.count("acknowledged") == 1 and types.count("escalated") == 1
    assert await h.paged_users(sessionmaker, v.incident_id) == [str(a.id), str(b.id)]
