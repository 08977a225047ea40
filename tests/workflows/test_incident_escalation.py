"""IncidentWorkflow on the time-skipping server: escalation, repeats, targets and timeouts."""

from __future__ import annotations

from typing import Any

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app.config import Settings
from app.db import SessionMaker
from tests import incident_helpers as h


async def _setup(
    sessionmaker: SessionMaker,
    settings: Settings,
    n_users: int,
    make_levels: Any,
    repeat: int = 0,
    **svc: Any,
):  # type: ignore[no-untyped-def]
    people = await h.users(sessionmaker, n_users)
    pol = await h.policy(sessionmaker, settings, make_levels(people), repeat=repeat)
    return people, await h.service(sessionmaker, pol, **svc)


async def test_level_one_pages_then_level_two_after_its_delay(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> None:
    (a, b), svc = await _setup(
        sessionmaker, settings, 2, lambda p: [h.level(300, p[0]), h.level(300, p[1])]
    )
    handle = await h.send_alert(ts_env.client, settings, svc, h.alert())
    v = await h.opened(handle)
    assert v.number > 0 and v.status == "triggered" and v.escalation_level == 1
    assert v.assigned_to == [str(a.id)]
    await h.eventually(lambda: h.paged_users(sessionmaker, v.incident_id))
    assert await h.paged_users(sessionmaker, v.incident_id) == [str(a.id)]

    await ts_env.sleep(200)  # not yet
    assert (await h.view(handle)).escalation_level == 1
    await ts_env.sleep(101)
    await h.eventually(lambda: _count(h.paged_users(sessionmaker, v.incident_id), 2))
    assert await h.paged_users(sessionmaker, v.incident_id) == [str(a.id), str(b.id)]
    now = await h.view(handle)
    assert now.escalation_level == 2 and now.assigned_to == [str(b.id)]
    types = await h.types(sessionmaker, v.incident_id)
    assert types[:3] == ["triggered", "paged", "notified"]
    assert "escalated" in types and types.count("paged") == 2
    row = await h.incident_row(sessionmaker, v.incident_id)
    assert row is not None and row.escalation_level == 2 and row.number == v.number


async def _count(rows: Any, n: int) -> bool:
    return len(await rows) >= n


async def test_acknowledge_stops_escalation_and_cancels_pending_notifications(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> None:
    (a, b), svc = await _setup(
        sessionmaker, settings, 2, lambda p: [h.level(60, p[0]), h.level(60, p[1])]
    )
    handle = await h.send_alert(ts_env.client, settings, svc, h.alert())
    v = await h.opened(handle)
    acked = await handle.execute_update(
        "acknowledge",
        h.ActionIn(actor=h.Actor(type="user", id=str(a.id), via="api")),
        result_type=h.IncidentView,
    )
    assert acked.status == "acknowledged" and acked.acknowledged_by == str(a.id)
    await ts_env.sleep(600)
    assert (await h.view(handle)).escalation_level == 1
    assert str(b.id) not in await h.paged_users(sessionmaker, v.incident_id)
    row = await h.incident_row(sessionmaker, v.incident_id)
    assert row is not None and row.status == "acknowledged" and row.acknowledged_at is not None
    assert "acknowledged" in await h.types(sessionmaker, v.incident_id)


async def test_repeat_loops_the_policy_then_stops(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> None:
    (a, b), svc = await _setup(
        sessionmaker, settings, 2, lambda p: [h.level(60, p[0]), h.level(60, p[1])], repeat=1
    )
    handle = await h.send_alert(ts_env.client, settings, svc, h.alert())
    v = await h.opened(handle)
    for expected in (2, 3, 4):
        await ts_env.sleep(61)
        await h.eventually(lambda n=expected: _count(h.paged_users(sessionmaker, v.incident_id), n))
    await ts_env.sleep(3600)  # exhausted: nobody else
    paged = await h.paged_users(sessionmaker, v.incident_id)
    assert paged == [str(a.id), str(b.id), str(a.id), str(b.id)]
    assert "escalation_exhausted" in await h.types(sessionmaker, v.incident_id)
    assert (await h.view(handle)).status == "triggered"


async def test_user_reached_directly_and_through_a_team_is_paged_once(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> None:
    a, b = await h.users(sessionmaker, 2)
    team_id = await h.team(sessionmaker, [a, b])
    pol = await h.policy(sessionmaker, settings, [h.level(60, a, ("team", team_id))])
    svc = await h.service(sessionmaker, pol)
    handle = await h.send_alert(ts_env.client, settings, svc, h.alert())
    v = await h.opened(handle)
    await h.eventually(lambda: _count(h.paged_users(sessionmaker, v.incident_id), 2))
    assert sorted(await h.paged_users(sessionmaker, v.incident_id)) == sorted(
        [str(a.id), str(b.id)]
    )
    assert sorted(v.assigned_to) == sorted([str(a.id), str(b.id)])
    assert (await h.types(sessionmaker, v.incident_id)).count("paged") == 2


async def test_level_that_resolves_to_nobody_is_recorded_and_skipped_at_once(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> None:
    (a,) = await h.users(sessionmaker, 1)
    empty_team = await h.team(sessionmaker, [])
    pol = await h.policy(
        sessionmaker, settings, [h.level(3600, ("team", empty_team)), h.level(3600, a)]
    )
    svc = await h.service(sessionmaker, pol)
    handle = await h.send_alert(ts_env.client, settings, svc, h.alert())
    v = await h.opened(handle)  # no time skipped: level 2 paged without waiting out level 1
    assert v.escalation_level == 2 and v.assigned_to == [str(a.id)]
    events = await h.timeline(sessionmaker, v.incident_id)
    empty = next(e for e in events if e.type == "level_empty")
    assert empty.detail is not None and empty.detail["level"] == 1
    assert "no members" in empty.detail["reasons"][0]


async def test_ack_timeout_retriggers_and_pages_again(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> None:
    from datetime import timedelta

    (a,), svc = await _setup(
        sessionmaker,
        settings,
        1,
        lambda p: [h.level(3600, p[0])],
        acknowledgement_timeout=timedelta(minutes=30),
    )
    handle = await h.send_alert(ts_env.client, settings, svc, h.alert())
    v = await h.opened(handle)
    await handle.execute_update("acknowledge", h.ActionIn(actor=h.Actor(type="user", id=str(a.id))))
    await ts_env.sleep(1801)
    await h.eventually(lambda: _count(h.paged_users(sessionmaker, v.incident_id), 2))
    assert (await h.view(handle)).status == "triggered"
    types = await h.types(sessionmaker, v.incident_id)
    assert "unacknowledged" in types and types.count("paged") == 2


async def test_auto_resolve_timeout_resolves_and_completes(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> None:
    from datetime import timedelta

    _, svc = await _setup(
        sessionmaker,
        settings,
        1,
        lambda p: [h.level(600, p[0])],
        auto_resolve_timeout=timedelta(hours=4),
    )
    handle = await h.send_alert(ts_env.client, settings, svc, h.alert())
    v = await h.opened(handle)
    await ts_env.sleep(3 * 3600)
    assert (await h.view(handle)).status == "triggered"
    await ts_env.sleep(3601)

    async def resolved() -> bool:
        row = await h.incident_row(sessionmaker, v.incident_id)
        return row is not None and row.status == "resolved"

    await h.eventually(resolved)
    desc = await handle.describe()
    assert desc.status is not None and desc.status.name == "COMPLETED"
    events = await h.timeline(sessionmaker, v.incident_id)
    assert events[-1].type == "resolved" and "auto-resolved" in (events[-1].detail or {})["note"]
