"""A storm that piles up while no worker runs: every alert is projected, in chunks that each
stay under Temporal's payload limit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import build_activities
from app.config import Settings
from app.db import SessionMaker
from app.incidents import service as incidents
from app.incidents.models import Alert, Incident
from tests import incident_helpers as h
from workflows.incident import PROJECTION_MAX_ALERTS, PROJECTION_MAX_BYTES
from workflows.incident_types import Actor, AlertIn
from workflows.registry import WORKFLOWS


def _storm(n: int, dedup_key: str, *, big: bool = True) -> list[AlertIn]:
    now = datetime.now(UTC)
    actor = Actor(type="integration", via="events")
    # About 1.6 kB each, like an alert with its payload: 1,500 make 2.4 MB, over the limit.
    details = {"raw": {"labels": {f"label{i}": "x" * 150 for i in range(10)}}} if big else {}
    return [
        AlertIn(
            id=str(uuid.uuid4()),
            summary="disk full",
            dedup_key=dedup_key,
            received_at=now,
            details=details,
            actor=actor,
        )
        for _ in range(n)
    ]


async def _incident(sessionmaker: SessionMaker, alert_count: int) -> Incident | None:
    """The one incident, once its projected alert count is `alert_count`."""
    async with sessionmaker() as session:
        row = await session.scalar(select(Incident))
    return row if row is not None and row.alert_count == alert_count else None


async def test_alerts_that_piled_up_are_written_in_chunks(
    ts_env: WorkflowEnvironment, sessionmaker: SessionMaker, settings: Settings
) -> None:
    people = await h.users(sessionmaker, 1)
    pol = await h.policy(sessionmaker, settings, [h.level(300, people[0])])
    svc = await h.service(sessionmaker, pol)
    total = 0
    wid = incidents.workflow_id_for(svc.routing_key, "storm")
    for batch in (_storm(1, "storm"), *(_storm(PROJECTION_MAX_ALERTS, "storm") for _ in range(3))):
        # No worker yet: the signals wait in history, as behind a busy worker. (Not recorded
        # for replay: megabytes of history; the small test below is.)
        await incidents.signal_alerts(
            client=ts_env.client, settings=settings, service=svc, dedup_key="storm", alerts=batch
        )
        total += len(batch)
    async with Worker(
        ts_env.client,
        task_queue=settings.temporal_task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(sessionmaker, settings),
    ):

        async def projected() -> bool:
            async with sessionmaker() as session:
                return await session.scalar(select(func.count()).select_from(Alert)) == total

        await h.eventually(projected, timeout=60)
        row = await h.eventually(lambda: _incident(sessionmaker, total), timeout=60)
    # Each write stayed well under the 2 MB limit (the time-skipping server does not enforce it).
    first_run = ts_env.client.get_workflow_handle(wid, run_id=row.run_id)
    writes = []
    async for event in first_run.fetch_history_events():
        if event.HasField("activity_task_scheduled_event_attributes"):
            attrs = event.activity_task_scheduled_event_attributes
            if attrs.activity_type.name == "record_incident":
                writes.append(sum(p.ByteSize() for p in attrs.input.payloads))
    assert max(writes) <= PROJECTION_MAX_BYTES + 10_000, writes
    assert sum(writes) > 2 * 1024 * 1024 and len(writes) >= 3


async def test_more_alerts_than_one_write_holds_are_all_counted(
    ts_env: WorkflowEnvironment, sessionmaker: SessionMaker, settings: Settings
) -> None:
    people = await h.users(sessionmaker, 1)
    pol = await h.policy(sessionmaker, settings, [h.level(300, people[0])])
    svc = await h.service(sessionmaker, pol)
    first, *rest = _storm(PROJECTION_MAX_ALERTS + 20, "many", big=False)
    handle = await h.send_alert(ts_env.client, settings, svc, first)
    await handle.signal("alerts", rest)
    async with Worker(
        ts_env.client,
        task_queue=settings.temporal_task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(sessionmaker, settings),
    ):

        async def projected() -> bool:
            async with sessionmaker() as session:
                count = await session.scalar(select(func.count()).select_from(Alert))
                return count == PROJECTION_MAX_ALERTS + 20

        await h.eventually(projected, timeout=60)
        await h.eventually(lambda: _incident(sessionmaker, PROJECTION_MAX_ALERTS + 20), timeout=60)
