"""Alerts into incidents: coalescing, source resolve, reopening, snapshots, continue-as-new."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app.config import Settings
from app.db import SessionMaker
from app.escalation import service as escalation
from app.escalation.models import EscalationPolicyUpdate
from tests import incident_helpers as h
from workflows.incident_types import ActionIn, Actor


async def _service(sessionmaker: SessionMaker, settings: Settings, delay: float = 300):  # type: ignore[no-untyped-def]
    people = await h.users(sessionmaker, 2)
    pol = await h.policy(sessionmaker, settings, [h.level(delay, p) for p in people])
    return people, pol, await h.service(sessionmaker, pol)


async def test_identical_alerts_coalesce_into_one_incident(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> None:
    _, _, svc = await _service(sessionmaker, settings)
    handles = await asyncio.gather(
        *(
            h.send_alert(ts_env.client, settings, svc, h.alert(summary=f"disk {i}"))
            for i in range(50)
        )
    )
    assert len({x.id for x in handles}) == 1
    handle = handles[0]
    await h.opened(handle)

    async def all_counted() -> bool:
        return (await h.view(handle)).alert_count == 50

    await h.eventually(all_counted)
    v = await h.view(handle)
    async with sessionmaker() as session:
        from sqlalchemy import func, select

        from app.incidents.models import Alert, Incident

        assert await session.scalar(select(func.count()).select_from(Incident)) == 1
        await h.eventually(lambda: _alerts_written(sessionmaker, 50))
    row = await h.incident_row(sessionmaker, v.incident_id)
    assert row is not None and row.alert_count == 50
    # Paged once, not fifty times.
    assert len(await h.paged_users(sessionmaker, v.incident_id)) == 1
    del Alert


async def _alerts_written(sessionmaker: SessionMaker, n: int) -> bool:
    from sqlalchemy import func, select

    from app.incidents.models import Alert

    async with sessionmaker() as session:
        return (await session.scalar(select(func.count()).select_from(Alert))) == n


async def test_resolve_event_from_the_source_resolves_the_incident(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> None:
    _, _, svc = await _service(sessionmaker, settings)
    handle = await h.send_alert(ts_env.client, settings, svc, h.alert())
    v = await h.opened(handle)
    await h.send_alert(ts_env.client, settings, svc, h.alert(summary="", action="resolve"))

    async def resolved() -> bool:
        row = await h.incident_row(sessionmaker, v.incident_id)
        return row is not None and row.status == "resolved"

    await h.eventually(resolved)
    last = (await h.timeline(sessionmaker, v.incident_id))[-1]
    assert last.type == "resolved" and last.actor == {
        "type": "integration",
        "id": None,
        "via": "events",
    }


async def test_acknowledge_or_resolve_for_an_unknown_key_opens_nothing(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> None:
    _, _, svc = await _service(sessionmaker, settings)
    handle = await h.send_alert(
        ts_env.client, settings, svc, h.alert(action="resolve", dedup_key="x")
    )
    await h.eventually(lambda: _closed(handle))
    async with sessionmaker() as session:
        from sqlalchemy import func, select

        from app.incidents.models import Incident

        assert await session.scalar(select(func.count()).select_from(Incident)) == 0


async def _closed(handle) -> bool:  # type: ignore[no-untyped-def]
    desc = await handle.describe()
    return desc.status is not None and desc.status.name == "COMPLETED"


async def test_an_alert_after_resolve_opens_a_new_incident(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> None:
    _, _, svc = await _service(sessionmaker, settings)
    handle = await h.send_alert(ts_env.client, settings, svc, h.alert())
    first = await h.opened(handle)
    await handle.execute_update("resolve", ActionIn(actor=Actor(type="user", id="u")))
    await h.eventually(lambda: _closed(handle))
    again = await h.send_alert(ts_env.client, settings, svc, h.alert(summary="again"))
    second = await h.opened(again)
    assert again.id == handle.id
    assert second.incident_id != first.incident_id and second.number == first.number + 1
    assert second.status == "triggered" and second.title == "again"


async def test_editing_the_policy_does_not_change_an_open_incident(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> None:
    (a, b), pol, svc = await _service(sessionmaker, settings, delay=60)
    handle = await h.send_alert(ts_env.client, settings, svc, h.alert())
    v = await h.opened(handle)
    (c,) = await h.users(sessionmaker, 1)
    async with sessionmaker() as session:
        await escalation.update_policy(
            session=session,
            policy_id=pol.id,
            policy_in=EscalationPolicyUpdate(levels=[h.level(60, c)]),  # type: ignore[list-item]
            actor=h.SYSTEM,
            settings=settings,
        )
        await session.commit()
    await ts_env.sleep(61)

    async def two() -> list[str] | None:
        got = await h.paged_users(sessionmaker, v.incident_id)
        return got if len(got) == 2 else None

    assert await h.eventually(two) == [str(a.id), str(b.id)]  # the snapshot, not user c


async def test_continue_as_new_carries_the_incident_and_its_escalation(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> None:
    (a, b), _, svc = await _service(sessionmaker, settings, delay=600)
    handle = await h.send_alert(ts_env.client, settings, svc, h.alert(), max_history_events=60)
    v = await h.opened(handle)
    first_run = (await handle.describe()).run_id
    for i in range(40):  # one signal each: the history outgrows 60 events
        await h.send_alert(ts_env.client, settings, svc, h.alert(summary=f"more {i}"))

    async def new_run() -> bool:
        return (await handle.describe()).run_id != first_run

    await h.eventually(new_run, timeout=20)

    async def all_counted() -> bool:
        return (await h.view(handle)).alert_count == 41

    await h.eventually(all_counted, timeout=20)
    after = await h.view(handle)
    assert after.incident_id == v.incident_id and after.number == v.number
    assert after.status == "triggered" and after.escalation_level == 1
    await ts_env.sleep(timedelta(seconds=601).total_seconds())

    async def level_two() -> list[str] | None:
        got = await h.paged_users(sessionmaker, v.incident_id)
        return got if len(got) == 2 else None

    assert await h.eventually(level_two) == [str(a.id), str(b.id)]
