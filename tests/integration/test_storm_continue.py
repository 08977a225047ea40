"""A storm's incident continues as new after the storm, not during it (`continue_now`).

A continue-as-new decided while signals keep coming races the next one: the server refuses the
task, the worker replays the run and the sender waits ~1 s (docs/benchmarks.md). The dev server
here suggests continuing as new after SUGGEST_AT events, as it would after ~4,000.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from activities import build_activities
from app import devstack
from app.config import Settings
from app.db import SessionMaker
from app.temporal import connect
from tests import incident_helpers as h
from tests.integration.conftest import _free_port
from workflows.incident import IncidentWorkflow
from workflows.incident_rules import QUIET_BEFORE_CONTINUE
from workflows.incident_types import ActionIn, Actor, NoteIn
from workflows.registry import WORKFLOWS, workflow_runner

pytestmark = pytest.mark.integration

SUGGEST_AT = 60  # events
STORM = 40  # signals, back to back


@pytest.fixture
def eager_server(tmp_path: Path) -> Iterator[str]:
    proc, info = devstack.start_temporal(
        tmp_path / "temporal",
        port=_free_port(),
        ui_port=_free_port(),
        dynamic_config={"limit.historyCount.suggestContinueAsNew": SUGGEST_AT},
    )
    yield info.address
    devstack.stop_process(proc)


async def test_a_storm_continues_as_new_once_it_is_quiet(
    eager_server: str, sessionmaker: SessionMaker, settings: Settings
) -> None:
    client: Client = await connect(settings, eager_server)
    (a,) = await h.users(sessionmaker, 1)
    svc = await h.service(sessionmaker, await h.policy(sessionmaker, settings, [h.level(600, a)]))
    async with Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(sessionmaker, settings),
        workflow_runner=workflow_runner(),
    ):
        handle = await h.send_alert(client, settings, svc, h.alert())
        v = await h.opened(handle)
        first_run = (await handle.describe()).run_id
        for i in range(STORM):  # each its own signal, well within QUIET_BEFORE_CONTINUE
            await h.send_alert(client, settings, svc, h.alert(summary=f"more {i}"))

        async def counted() -> bool:
            return (await h.view(handle)).alert_count == STORM + 1

        await h.eventually(counted, timeout=30)
        during = await handle.describe()
        # Suggested long ago, but not taken while the alerts kept coming.
        assert during.run_id == first_run
        assert during.raw_description.workflow_execution_info.history_length > 2 * SUGGEST_AT
        # Quiet now: the next thing the run does (a note) ends with the continue-as-new.
        await asyncio.sleep(QUIET_BEFORE_CONTINUE.total_seconds() + 0.2)
        await handle.execute_update(
            IncidentWorkflow.add_note,
            NoteIn(actor=Actor(type="user", id=str(a.id)), body="after the storm"),
        )

        async def continued() -> str | None:
            run = (await handle.describe()).run_id
            return run if run != first_run else None

        await h.eventually(continued, timeout=30)
        after = await h.view(handle)
        assert after.incident_id == v.incident_id and after.alert_count == STORM + 1
        assert after.status == "triggered" and after.escalation_level == 1
        # The carried run still takes actions.
        await handle.execute_update(
            IncidentWorkflow.acknowledge, ActionIn(actor=Actor(type="user", id=str(a.id)))
        )
        assert (await h.view(handle)).status == "acknowledged"
