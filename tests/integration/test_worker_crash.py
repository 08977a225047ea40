"""Kill -9 the worker in the middle of an escalation: the next level still pages, exactly once,
and within RECOVERY of a worker being available again (docs/design.md, "Recovery")."""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.client import Client

from app.config import Settings
from app.db import SessionMaker
from tests import incident_helpers as h
from tests.integration.conftest import WorkerProcess

pytestmark = pytest.mark.integration

RECOVERY = 10.0  # seconds from a worker being available (and the level due) to its page
LEVEL_ONE = 6.0  # level 1's delay


async def _available(log: Path) -> float:
    """Wait until the worker logged that it polls; return that instant (monotonic)."""
    for _ in range(600):
        if "worker started" in log.read_text(errors="replace"):  # noqa: ASYNC240 - small file
            return time.monotonic()
        await asyncio.sleep(0.05)
    raise AssertionError("the worker did not start")


async def test_next_level_pages_exactly_once_after_the_worker_is_killed(
    dev_client: Client,
    start_worker: WorkerProcess,
    sessionmaker: SessionMaker,
    settings: Settings,
    tmp_path: Path,
) -> None:
    a, b = await h.users(sessionmaker, 2)
    pol = await h.policy(sessionmaker, settings, [h.level(LEVEL_ONE, a), h.level(60, b)])
    svc = await h.service(sessionmaker, pol)
    worker = start_worker()
    await _available(tmp_path / "worker-0.log")
    handle = await h.send_alert(dev_client, settings, svc, h.alert())
    v = await h.opened(handle)

    async def paged(n: int) -> list[str] | None:
        got = await h.paged_users(sessionmaker, v.incident_id)
        return got if len(got) >= n else None

    assert await h.eventually(lambda: paged(1), timeout=20) == [str(a.id)]
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    # Restarted at once, as `pagefree dev` does: the new worker polls before level 1 is due,
    # and the timer fires into the dead worker's sticky queue.
    start_worker()
    available = await _available(tmp_path / "worker-1.log")
    assert v.created_at is not None
    due = (
        time.monotonic()
        + (v.created_at + timedelta(seconds=LEVEL_ONE) - datetime.now(UTC)).total_seconds()
    )
    assert await h.eventually(lambda: paged(2), timeout=30) == [str(a.id), str(b.id)]
    recovered = time.monotonic() - max(available, due)
    print(f"level 2 paged {recovered:.1f}s after it was due with a worker available")
    assert recovered <= RECOVERY
    await asyncio.sleep(2)  # let any duplicate show itself
    assert await h.paged_users(sessionmaker, v.incident_id) == [str(a.id), str(b.id)]
    types = await h.types(sessionmaker, v.incident_id)
    assert types.count("paged") == 2 and types.count("notified") == 2
    assert types.count("escalated") == 1
    row = await h.incident_row(sessionmaker, v.incident_id)
    assert row is not None and row.escalation_level == 2 and row.assigned_to == [b.id]
