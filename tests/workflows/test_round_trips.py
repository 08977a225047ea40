"""What opening an incident costs: activities and workflow tasks until it rests on level 1's
timer, counted from its history (docs/benchmarks.md has the figures).

Before the second edition of the engine: 5 activities (open_incident, record_incident,
page_level, record_incident, send_notification) and 6 workflow tasks. Now: open_incident
(which also pages level 1 and writes its assignees) and the send, in 3 workflow tasks.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app.config import Settings
from app.db import SessionMaker
from app.incidents.models import Notification
from tests import incident_helpers as h

MAX_ACTIVITIES = 3
MAX_WORKFLOW_TASKS = 3


async def resting(handle: WorkflowHandle[Any, Any]) -> list[str] | None:
    """Return the history's event types once the run waits on its timer and nothing else."""
    if (await handle.describe()).raw_description.pending_activities:
        return None
    types = [EventType.Name(e.event_type) async for e in handle.fetch_history_events()]
    busy = ("WORKFLOW_TASK_SCHEDULED", "WORKFLOW_TASK_STARTED", "ACTIVITY_TASK_COMPLETED")
    if "EVENT_TYPE_TIMER_STARTED" not in types or types[-1].endswith(busy):
        return None
    return types


async def test_opening_and_paging_level_one_costs_at_most_three_round_trips(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> None:
    (a,) = await h.users(sessionmaker, 1)
    svc = await h.service(sessionmaker, await h.policy(sessionmaker, settings, [h.level(3600, a)]))
    handle = await h.send_alert(ts_env.client, settings, svc, h.alert())

    # Watched through PostgreSQL and describe, not the Query: on the time-skipping server a
    # Query adds workflow tasks to the history.
    async def notified() -> list[str] | None:
        async with sessionmaker() as session:
            sent = await session.scalar(select(func.count()).select_from(Notification))
        return await resting(handle) if sent else None

    types = await h.eventually(notified)
    activities = types.count("EVENT_TYPE_ACTIVITY_TASK_SCHEDULED")
    tasks = types.count("EVENT_TYPE_WORKFLOW_TASK_COMPLETED")
    assert activities <= MAX_ACTIVITIES and tasks <= MAX_WORKFLOW_TASKS, types
