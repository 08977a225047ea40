"""Maintenance windows and the incident workflow on the time-skipping server: alerts in a window
are recorded but page nobody, an escalating incident stops, and one that keeps firing across
the window's end pages from level 1 (one that was resolved meanwhile does not)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app.catalog.models import Service
from app.config import Settings
from app.db import SessionMaker
from app.maintenance import service as maintenance
from app.maintenance.models import MaintenanceWindowCreate
from tests import incident_helpers as h
from workflows import incident_rules as rules
from workflows.maintenance_window_types import workflow_id


async def _window(
    ts_env: WorkflowEnvironment,
    sessionmaker: SessionMaker,
    settings: Settings,
    svc: Service,
    minutes: float = 60,
) -> tuple[str, datetime]:
    """Start a window over `svc` now (the server's clock); return its id and its end."""
    now = await ts_env.get_current_time()
    ends_at = now + timedelta(minutes=minutes)
    async with sessionmaker() as session:
        window = await maintenance.create_window(
            session=session,
            client=ts_env.client,
            settings=settings,
            window_in=MaintenanceWindowCreate(
                service_ids=[svc.id], starts_at=now, ends_at=ends_at, reason="db upgrade"
            ),
            actor=h.SYSTEM,
        )
        await session.commit()
    return str(window.id), ends_at


async def _notes(sessionmaker: SessionMaker, incident_id: str) -> list[str]:
    """The timeline's maintenance notes, in order (the alerts' ones included)."""
    return [
        e.detail["maintenance"]
        for e in await h.timeline(sessionmaker, incident_id)
        if e.detail and "maintenance" in e.detail
    ]


async def _opened_held(handle: WorkflowHandle[Any, Any]) -> h.IncidentView:
    async def check() -> h.IncidentView | None:
        v = await h.view(handle)
        return v if v.number else None

    return await h.eventually(check)  # type: ignore[no-any-return]


async def _window_ended(ts_env: WorkflowEnvironment, window_id: str) -> None:
    assert await ts_env.client.get_workflow_handle(workflow_id(window_id)).result() == "ended"


async def test_an_incident_that_keeps_firing_across_the_end_of_a_window_pages_from_level_1(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> None:
    (a, b) = await h.users(sessionmaker, 2)
    pol = await h.policy(sessionmaker, settings, [h.level(300, a), h.level(300, b)])
    svc = await h.service(sessionmaker, pol)
    window_id, _ = await _window(ts_env, sessionmaker, settings, svc)

    handle = await h.send_alert(ts_env.client, settings, svc, h.alert())
    v = await _opened_held(handle)
    assert v.status == "triggered" and v.assigned_to == []
    await h.send_alert(ts_env.client, settings, svc, h.alert("CPU still on fire"))
    await h.eventually(lambda: _has(_notes(sessionmaker, v.incident_id), rules.NOT_PAGED, 2))
    await ts_env.sleep(timedelta(minutes=20))  # far past level 1's delay: still nobody
    assert await h.paged_users(sessionmaker, v.incident_id) == []
    assert (await h.view(handle)).escalation_level == 1
    types = await h.types(sessionmaker, v.incident_id)
    assert "paged" not in types and "escalated" not in types

    await ts_env.sleep(timedelta(minutes=41))  # the window ends: level 1 pages, then level 2
    await _window_ended(ts_env, window_id)
    await h.eventually(lambda: h.paged_users(sessionmaker, v.incident_id))
    assert await h.paged_users(sessionmaker, v.incident_id) == [str(a.id)]
    notes = await _notes(sessionmaker, v.incident_id)
    assert notes == [rules.NOT_PAGED, rules.NOT_PAGED, rules.FROM_LEVEL_ONE]
    after = await h.view(handle)
    assert after.escalation_level == 1 and after.assigned_to == [str(a.id)]
    await ts_env.sleep(timedelta(seconds=301))  # escalation goes on as usual
    await h.eventually(lambda: _count(h.paged_users(sessionmaker, v.incident_id), 2))
    assert await h.paged_users(sessionmaker, v.incident_id) == [str(a.id), str(b.id)]


async def test_an_escalating_incident_stops_paging_when_a_window_starts(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> None:
    (a, b) = await h.users(sessionmaker, 2)
    pol = await h.policy(sessionmaker, settings, [h.level(120, a), h.level(120, b)])
    svc = await h.service(sessionmaker, pol)
    handle = await h.send_alert(ts_env.client, settings, svc, h.alert())
    v = await h.opened(handle)
    await h.eventually(lambda: h.paged_users(sessionmaker, v.incident_id))

    await _window(ts_env, sessionmaker, settings, svc, minutes=120)
    await h.eventually(lambda: _has(_notes(sessionmaker, v.incident_id), rules.PAGING_STOPPED))
    await ts_env.sleep(timedelta(minutes=30))  # level 2 was due after 2 minutes
    assert await h.paged_users(sessionmaker, v.incident_id) == [str(a.id)]
    now = await h.view(handle)
    assert now.status == "triggered" and now.escalation_level == 1
    assert "escalated" not in await h.types(sessionmaker, v.incident_id)


async def test_an_incident_resolved_during_the_window_is_not_paged_at_its_end(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> None:
    (a,) = await h.users(sessionmaker, 1)
    svc = await h.service(sessionmaker, await h.policy(sessionmaker, settings, [h.level(60, a)]))
    window_id, _ = await _window(ts_env, sessionmaker, settings, svc, minutes=30)
    handle = await h.send_alert(ts_env.client, settings, svc, h.alert())
    v = await _opened_held(handle)
    await h.send_alert(ts_env.client, settings, svc, h.alert(action="resolve"))
    assert (await handle.result())["status"] == "resolved"

    await ts_env.sleep(timedelta(minutes=31))
    await _window_ended(ts_env, window_id)
    assert await h.paged_users(sessionmaker, v.incident_id) == []
    assert await _notes(sessionmaker, v.incident_id) == [rules.NOT_PAGED]


async def _has(notes: Any, note: str, n: int = 1) -> bool:
    return (await notes).count(note) >= n


async def _count(rows: Any, n: int) -> bool:
    return len(await rows) >= n
