"""A schedule target pages whoever is on call when its level fires; a gap moves on at once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app.config import Settings
from app.db import SessionMaker
from app.identity.models import User
from app.schedules import service as schedules
from app.schedules.models import LayerIn, ScheduleCreate
from tests import incident_helpers as h


async def _schedule(sessionmaker: SessionMaker, users: list[User], start: datetime) -> str:
    """Create an hourly rotation of `users` starting at `start`; return its id."""
    async with sessionmaker() as session:
        created = await schedules.create_schedule(
            session=session,
            schedule_in=ScheduleCreate(
                name=f"sched-{uuid.uuid4().hex[:6]}",
                timezone="Australia/Lord_Howe",
                layers=[
                    LayerIn(
                        name="hourly",
                        start=start,
                        rotation_length=timedelta(hours=1),
                        users=[u.id for u in users],
                    )
                ],
            ),
            actor=h.SYSTEM,
        )
        await session.commit()
        return str(created.id)


def _target(schedule_id: str) -> tuple[str, str]:
    return ("schedule", schedule_id)


async def _count(rows: Any, n: int) -> bool:
    return len(await rows) >= n


async def test_a_schedule_level_pages_whoever_is_on_call_when_it_fires(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> None:
    a, b = await h.users(sessionmaker, 2)
    # The test server's clock starts at the real time: a's hour began five minutes ago.
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    schedule_id = await _schedule(sessionmaker, [a, b], now - timedelta(minutes=5))
    # One level, repeated: it fires again an hour later, when b has taken over.
    pol = await h.policy(sessionmaker, settings, [h.level(3600, _target(schedule_id))], repeat=1)
    svc = await h.service(sessionmaker, pol)
    handle = await h.send_alert(ts_env.client, settings, svc, h.alert())
    v = await h.opened(handle)
    assert v.assigned_to == [str(a.id)]
    await h.eventually(lambda: h.paged_users(sessionmaker, v.incident_id))
    assert await h.paged_users(sessionmaker, v.incident_id) == [str(a.id)]

    await ts_env.sleep(3601)
    await h.eventually(lambda: _count(h.paged_users(sessionmaker, v.incident_id), 2))
    assert await h.paged_users(sessionmaker, v.incident_id) == [str(a.id), str(b.id)]
    assert (await h.view(handle)).assigned_to == [str(b.id)]
    assert "level_empty" not in await h.types(sessionmaker, v.incident_id)


async def test_a_schedule_with_nobody_on_call_is_recorded_and_skipped_at_once(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> None:
    a, c = await h.users(sessionmaker, 2)
    # The rotation starts tomorrow: nobody is on call today.
    later = datetime.now(UTC) + timedelta(days=1)
    schedule_id = await _schedule(sessionmaker, [a], later)
    levels = [h.level(3600, _target(schedule_id)), h.level(3600, c)]
    pol = await h.policy(sessionmaker, settings, levels)
    svc = await h.service(sessionmaker, pol)
    handle = await h.send_alert(ts_env.client, settings, svc, h.alert())
    v = await h.opened(handle)  # no time skipped: level 2 paged without waiting out level 1
    assert v.escalation_level == 2 and v.assigned_to == [str(c.id)]

    async def recorded() -> Any:
        events = await h.timeline(sessionmaker, v.incident_id)
        return next((e for e in events if e.type == "level_empty"), None)

    # The projection is written by an activity after the state the query sees.
    empty = await h.eventually(recorded)
    assert empty.detail is not None and empty.detail["level"] == 1
    assert empty.detail["reasons"] == [
        f"schedule {await _name(sessionmaker, schedule_id)} has nobody on call"
    ]
    await h.eventually(lambda: h.paged_users(sessionmaker, v.incident_id))
    assert await h.paged_users(sessionmaker, v.incident_id) == [str(c.id)]


async def _name(sessionmaker: SessionMaker, schedule_id: str) -> str:
    async with sessionmaker() as session:
        found = await schedules.get_schedule(session=session, schedule_id=uuid.UUID(schedule_id))
        return found.name
