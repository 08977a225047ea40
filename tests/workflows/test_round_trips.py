"""What opening an incident costs: activities and workflow tasks until it rests on level 1's
timer, counted from its history (docs/benchmarks.md has the figures).

Before the second edition of the engine: 5 activities (open_incident, record_incident,
page_level, record_incident, send_notification) and 6 workflow tasks. Now: open_incident
(which also pages level 1 and writes its assignees) and one send_notifications for the steps
due at once (with Slack configured it also carries the first chat sync), in 3 workflow tasks.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import col
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import build_activities
from app.config import Settings
from app.db import SessionMaker
from app.incidents import service as incidents
from app.incidents.models import Alert, Incident, Notification, TimelineEvent
from tests import incident_helpers as h
from workflows.incident_types import AlertIn
from workflows.registry import WORKFLOWS, workflow_runner

MAX_ACTIVITIES = 2
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


@pytest.fixture(params=["tests' sandbox", "worker's runner"])
async def any_runner(
    request: pytest.FixtureRequest,
    ts_env: WorkflowEnvironment,
    sessionmaker: SessionMaker,
    settings: Settings,
) -> AsyncIterator[Worker]:
    """The tests' default sandbox, and the runner worker.py uses (its incident module shared)."""
    runner = {} if request.param == "tests' sandbox" else {"workflow_runner": workflow_runner()}
    async with Worker(
        ts_env.client,
        task_queue=settings.temporal_task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(sessionmaker, settings),
        **runner,
    ) as w:
        yield w


async def test_opening_and_paging_level_one_costs_at_most_three_round_trips(
    ts_env: WorkflowEnvironment, any_runner: Worker, sessionmaker: SessionMaker, settings: Settings
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


def _payload_alert(marker: str, **extra: Any) -> AlertIn:
    """A trigger with a payload like an ingested one (about 1.5 kB of details)."""
    raw = {"labels": {f"label{i}": "x" * 120 for i in range(10)}, "marker": marker}
    return h.alert(source=f"src-{marker}", details={"raw": raw}, **extra)


def _count_in_history(history: WorkflowHistory, needle: str) -> int:
    """How many history events carry `needle` in their payloads."""
    return sum(needle.encode() in e.SerializeToString() for e in history.events)


async def _storm_history(
    ts_env: WorkflowEnvironment, sessionmaker: SessionMaker, svc: Any, settings: Settings,
    n: int, *, staged: bool,
) -> int:  # fmt: skip
    (
        """Send one alert, then `n - 1` more in batches of 10; return the history's bytes at rest.

    Bytes of the events as Temporal stores them (protobuf), once the run rests on its timer.
    """
        ""
    )
    key = f"storm-{uuid.uuid4().hex[:6]}"
    batches = [[_payload_alert(key, dedup_key=key)]]
    batches += [
        [_payload_alert(key, dedup_key=key) for _ in range(10)] for _ in range((n - 1) // 10)
    ]
    for batch in batches:
        if staged:
            batch = await incidents.stage_alerts(sessionmaker, batch)
        await incidents.signal_alerts(
            client=ts_env.client, settings=settings, service=svc, dedup_key=key, alerts=batch
        )
    handle = ts_env.client.get_workflow_handle(incidents.workflow_id_for(svc.routing_key, key))

    async def counted() -> list[str] | None:
        async with sessionmaker() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(Alert)
                .where(col(Alert.dedup_key) == key, col(Alert.incident_id).is_not(None))
            )
            row = await session.scalar(select(Incident).where(col(Incident.dedup_key) == key))
        if count != n or row is None or row.alert_count != n:
            return None
        return await resting(handle)

    await h.eventually(counted, timeout=30)
    return sum(e.ByteSize() for e in (await handle.fetch_history()).events)


async def test_a_stored_alert_is_carried_once_in_history(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> None:
    (a,) = await h.users(sessionmaker, 1)
    svc = await h.service(sessionmaker, await h.policy(sessionmaker, settings, [h.level(3600, a)]))
    marker = uuid.uuid4().hex
    # As ingestion hands it off: the row (payload included) first, then the signal.
    (alert,) = await incidents.stage_alerts(sessionmaker, [_payload_alert(marker)])
    assert alert.stored and alert.details == {}
    wid = await incidents.signal_alerts(
        client=ts_env.client, settings=settings, service=svc, dedup_key="cpu", alerts=[alert]
    )
    handle = ts_env.client.get_workflow_handle(wid)

    async def attached() -> list[str] | None:
        async with sessionmaker() as session:
            row = await session.get(Alert, alert.id)
            sent = await session.scalar(select(func.count()).select_from(Notification))
        return await resting(handle) if row and row.incident_id and sent else None

    types = await h.eventually(attached)
    # Still the same round trips.
    assert types.count("EVENT_TYPE_ACTIVITY_TASK_SCHEDULED") <= MAX_ACTIVITIES, types
    assert types.count("EVENT_TYPE_WORKFLOW_TASK_COMPLETED") <= MAX_WORKFLOW_TASKS, types
    history = await handle.fetch_history()
    # The alert is in one event (its signal); its payload is in PostgreSQL only.
    assert _count_in_history(history, f"src-{marker}") == 1
    assert _count_in_history(history, marker) == 1  # the source, not the payload
    async with sessionmaker() as session:
        row = await session.get(Alert, alert.id)
        incident = await session.scalar(select(Incident))
    assert row is not None and incident is not None
    assert row.incident_id == incident.id and row.details == {
        "raw": _payload_alert(marker).details["raw"]
    }


async def test_history_bytes_per_incident_with_and_without_stored_alerts(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> None:
    (a,) = await h.users(sessionmaker, 1)
    svc = await h.service(sessionmaker, await h.policy(sessionmaker, settings, [h.level(3600, a)]))
    sizes = {
        (n, staged): await _storm_history(ts_env, sessionmaker, svc, settings, n, staged=staged)
        for n in (1, 101)
        for staged in (False, True)
    }
    print("history bytes (alerts, stored): " + ", ".join(f"{k}: {v}" for k, v in sizes.items()))
    # Whole alerts are carried twice (signal, write); stored ones once, without the payload,
    # and folded: a batch of identical ones is one alert and the others' ids.
    assert sizes[(101, True)] < sizes[(101, False)] / 10
    assert sizes[(1, True)] < sizes[(1, False)]


async def test_a_first_batch_of_one_alert_repeated_opens_one_incident_with_every_row(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> None:
    (a,) = await h.users(sessionmaker, 1)
    svc = await h.service(sessionmaker, await h.policy(sessionmaker, settings, [h.level(3600, a)]))
    sent = [_payload_alert("same") for _ in range(5)]
    folded = await incidents.stage_alerts(sessionmaker, sent)
    assert [[x.id, *x.repeats] for x in folded] == [[x.id for x in sent]]
    wid = await incidents.signal_alerts(
        client=ts_env.client, settings=settings, service=svc, dedup_key="cpu", alerts=folded
    )

    async def opened() -> Incident | None:
        async with sessionmaker() as session:
            row = await session.scalar(select(Incident).where(col(Incident.workflow_id) == wid))
            attached = await session.scalar(
                select(func.count()).select_from(Alert).where(col(Alert.incident_id) == row.id)
            ) if row else 0  # fmt: skip
        return row if row is not None and row.alert_count == 5 and attached == 5 else None

    row = await h.eventually(opened)
    timeline = await h.eventually(lambda: _timeline(sessionmaker, row.id, "alert"))
    alerts = [e for e in timeline if e.type in ("triggered", "alert")]
    assert [(e.type, e.detail.get("count")) for e in alerts] == [("triggered", None), ("alert", 4)]
    assert alerts[1].detail["alert_ids"] == [x.id for x in sent[1:]]


async def _timeline(sessionmaker: SessionMaker, incident_id: Any, until: str) -> list[Any] | None:
    async with sessionmaker() as session:
        rows = list(
            await session.scalars(
                select(TimelineEvent)
                .where(col(TimelineEvent.incident_id) == incident_id)
                .order_by(
                    col(TimelineEvent.at), col(TimelineEvent.position), col(TimelineEvent.seq)
                )
            )
        )
    return rows if any(e.type == until for e in rows) else None


async def test_an_alert_staged_and_then_sent_whole_is_not_lost(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> None:
    (a,) = await h.users(sessionmaker, 1)
    svc = await h.service(sessionmaker, await h.policy(sessionmaker, settings, [h.level(3600, a)]))
    alert = _payload_alert(uuid.uuid4().hex)
    # The staging committed, but too late for the sender, which signalled the alert whole.
    await incidents.stage_alerts(sessionmaker, [alert])
    await incidents.signal_alerts(
        client=ts_env.client, settings=settings, service=svc, dedup_key="cpu", alerts=[alert]
    )

    async def taken() -> Alert | None:
        async with sessionmaker() as session:
            row = await session.get(Alert, alert.id)
        return row if row is not None and row.incident_id is not None else None

    row = await h.eventually(taken)
    assert row.details == alert.details
