"""Kill -9 the worker in the middle of an escalation: the next level still pages, exactly once."""

from __future__ import annotations

import asyncio
import signal

import pytest
from temporalio.client import Client

from app.config import Settings
from app.db import SessionMaker
from tests import incident_helpers as h
from tests.integration.conftest import WorkerProcess

pytestmark = pytest.mark.integration


async def test_next_level_pages_exactly_once_after_the_worker_is_killed(
    dev_client: Client, start_worker: WorkerProcess, sessionmaker: SessionMaker, settings: Settings
) -> None:
    a, b = await h.users(sessionmaker, 2)
    pol = await h.policy(sessionmaker, settings, [h.level(4, a), h.level(4, b)])
    svc = await h.service(sessionmaker, pol)
    worker = start_worker()
    handle = await h.send_alert(dev_client, settings, svc, h.alert())
    v = await h.opened(handle)

    async def paged(n: int) -> list[str] | None:
        got = await h.paged_users(sessionmaker, v.incident_id)
        return got if len(got) >= n else None

    assert await h.eventually(lambda: paged(1), timeout=20) == [str(a.id)]
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    await asyncio.sleep(6)  # level 1's deadline passes while no worker runs
    assert await h.paged_users(sessionmaker, v.incident_id) == [str(a.id)]

    start_worker()
    assert await h.eventually(lambda: paged(2), timeout=30) == [str(a.id), str(b.id)]
    await asyncio.sleep(2)  # let any duplicate show itself
    assert await h.paged_users(sessionmaker, v.incident_id) == [str(a.id), str(b.id)]
    types = await h.types(sessionmaker, v.incident_id)
    assert types.count("paged") == 2 and types.count("notified") == 2
    assert types.count("escalated") == 1
    row = await h.incident_row(sessionmaker, v.incident_id)
    assert row is not None and row.escalation_level == 2 and row.assigned_to == [b.id]
