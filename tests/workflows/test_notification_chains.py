"""A paged user's notification chain (push now, SMS later, voice later still) and its cancellation.

Here `open_incident` and `page_level` (the activities that page a level) are wrapped so that
each user gets a three-step plan on the `log` channel, and
the workflow's handling of the chain is what is observed (tests/notify covers real channels).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.incident import IncidentActivities
from activities.notify import NotifyActivities
from app.config import Settings
from app.db import SessionMaker
from app.notify.channels import Channels
from tests import incident_helpers as h
from workflows.incident_types import (
    ActionIn,
    Actor,
    AnnouncePage,
    Deliveries,
    NotificationStep,
    OpenedIncident,
    OpenIncident,
    PagedLevel,
    PageLevel,
    ResolveIn,
    SendNotifications,
)
from workflows.registry import WORKFLOWS

PLAN = [0, 120, 300]  # seconds after the page: "push", "SMS", "voice"


@pytest.fixture
async def chain_worker(
    ts_env: WorkflowEnvironment, sessionmaker: SessionMaker, settings: Settings
) -> AsyncIterator[Worker]:
    real = IncidentActivities(sessionmaker, settings)
    notify = NotifyActivities(sessionmaker, settings, Channels())

    def planned(paged: PagedLevel) -> PagedLevel:
        for user in paged.users:
            user.steps = [NotificationStep(channel="log", address=f"step-{d}", delay_seconds=d)
                          for d in PLAN]  # fmt: skip
        return paged

    @activity.defn(name="open_incident")
    async def open_incident(inp: OpenIncident) -> OpenedIncident:
        opened = await real.open_incident(inp)
        opened.paged = planned(opened.paged)
        return opened

    @activity.defn(name="page_level")
    async def page_level(inp: PageLevel) -> PagedLevel:
        return planned(await real.page_level(inp))

    acts = [open_incident, real.record_incident, real.load_policy, page_level,
            notify.send_notifications]  # fmt: skip
    async with Worker(ts_env.client, task_queue=settings.temporal_task_queue,
                      workflows=WORKFLOWS, activities=acts) as w:  # fmt: skip
        yield w


async def _addresses(sessionmaker: SessionMaker, incident_id: str) -> list[str | None]:
    return [n.address for n in await h.deliveries(sessionmaker, incident_id)]


async def test_chain_steps_go_out_at_their_delays(
    ts_env: WorkflowEnvironment,
    chain_worker: Worker,
    sessionmaker: SessionMaker,
    settings: Settings,
) -> None:
    (a,) = await h.users(sessionmaker, 1)
    svc = await h.service(sessionmaker, await h.policy(sessionmaker, settings, [h.level(3600, a)]))
    handle = await h.send_alert(ts_env.client, settings, svc, h.alert())
    v = await h.opened(handle)

    async def sent(n: int) -> bool:
        return len(await _addresses(sessionmaker, v.incident_id)) >= n

    await h.eventually(lambda: sent(1))
    await ts_env.sleep(100)
    assert await _addresses(sessionmaker, v.incident_id) == ["step-0"]
    await ts_env.sleep(21)
    await h.eventually(lambda: sent(2))
    await ts_env.sleep(181)
    await h.eventually(lambda: sent(3))
    assert await _addresses(sessionmaker, v.incident_id) == ["step-0", "step-120", "step-300"]
    logged = await h.deliveries(sessionmaker, v.incident_id)
    assert len({n.created_at for n in logged}) == 3  # each step at its own time


async def test_ack_cancels_pending_sms_and_voice(
    ts_env: WorkflowEnvironment,
    chain_worker: Worker,
    sessionmaker: SessionMaker,
    settings: Settings,
) -> None:
    (a,) = await h.users(sessionmaker, 1)
    svc = await h.service(sessionmaker, await h.policy(sessionmaker, settings, [h.level(3600, a)]))
    handle = await h.send_alert(ts_env.client, settings, svc, h.alert())
    v = await h.opened(handle)
    await h.eventually(lambda: _addresses(sessionmaker, v.incident_id))
    await ts_env.sleep(60)
    await handle.execute_update("acknowledge", ActionIn(actor=Actor(type="user", id=str(a.id))))
    await ts_env.sleep(600)
    assert await _addresses(sessionmaker, v.incident_id) == ["step-0"]
    assert (await h.types(sessionmaker, v.incident_id)).count("notified") == 1


async def test_escalation_stops_the_previous_levels_chain(
    ts_env: WorkflowEnvironment,
    chain_worker: Worker,
    sessionmaker: SessionMaker,
    settings: Settings,
) -> None:
    a, b = await h.users(sessionmaker, 2)
    pol = await h.policy(sessionmaker, settings, [h.level(60, a), h.level(3600, b)])
    handle = await h.send_alert(
        ts_env.client, settings, await h.service(sessionmaker, pol), h.alert()
    )
    v = await h.opened(handle)
    await ts_env.sleep(61)  # level 2 before a's SMS at 120 s

    async def two() -> bool:
        return len(await h.deliveries(sessionmaker, v.incident_id)) >= 2

    await h.eventually(two)
    await ts_env.sleep(400)
    await h.eventually(lambda: _count_for(sessionmaker, v.incident_id, str(b.id), 3))
    rows = await h.deliveries(sessionmaker, v.incident_id)
    assert [n.address for n in rows if str(n.user_id) == str(a.id)] == ["step-0"]


async def _count_for(sessionmaker: SessionMaker, incident_id: str, user_id: str, n: int) -> bool:
    rows = await h.deliveries(sessionmaker, incident_id)
    return len([r for r in rows if str(r.user_id) == user_id]) >= n


@pytest.fixture
async def announcing_worker(
    request: pytest.FixtureRequest,
    ts_env: WorkflowEnvironment,
    sessionmaker: SessionMaker,
    settings: Settings,
) -> AsyncIterator[list[tuple[str, AnnouncePage]]]:
    """A worker whose levels say a chat channel is configured and whose users' first step
    waits `request.param` seconds; announcements are observed with the activity that made them."""
    real = IncidentActivities(sessionmaker, settings)
    notify = NotifyActivities(sessionmaker, settings, Channels())
    seen: list[tuple[str, AnnouncePage]] = []

    def announcing(paged: PagedLevel) -> PagedLevel:
        paged.announce = True
        for user in paged.users:
            first = NotificationStep(channel="log", address="now", delay_seconds=request.param)
            user.steps = [first]
        return paged

    @activity.defn(name="open_incident")
    async def open_incident(inp: OpenIncident) -> OpenedIncident:
        opened = await real.open_incident(inp)
        opened.paged = announcing(opened.paged)
        return opened

    @activity.defn(name="page_level")
    async def page_level(inp: PageLevel) -> PagedLevel:
        return announcing(await real.page_level(inp))

    @activity.defn(name="send_notifications")
    async def send_notifications(inp: SendNotifications) -> Deliveries:
        if inp.announce is not None:
            seen.append(("send_notifications", inp.announce))
        return await notify.send_notifications(inp.model_copy(update={"announce": None}))

    @activity.defn(name="announce_page")
    async def announce_page(inp: AnnouncePage) -> None:
        seen.append(("announce_page", inp))

    acts = [open_incident, real.record_incident, real.load_policy, page_level,
            send_notifications, announce_page]  # fmt: skip
    async with Worker(ts_env.client, task_queue=settings.temporal_task_queue,
                      workflows=WORKFLOWS, activities=acts):  # fmt: skip
        yield seen


@pytest.mark.parametrize(
    ("announcing_worker", "carried_by"),
    [(0, "send_notifications"), (30, "announce_page")],
    indirect=["announcing_worker"],
    ids=["with-the-first-sends", "alone-when-the-first-step-waits"],
)
async def test_each_paged_level_is_announced_once_in_chat(
    ts_env: WorkflowEnvironment,
    announcing_worker: list[tuple[str, AnnouncePage]],
    carried_by: str,
    sessionmaker: SessionMaker,
    settings: Settings,
) -> None:
    """The announcement rides in the level's first send when that is due at once (one
    activity, not two); when every first step waits, it goes out alone, still at once."""
    a, b = await h.users(sessionmaker, 2)
    pol = await h.policy(sessionmaker, settings, [h.level(60, a), h.level(3600, b)])
    handle = await h.send_alert(
        ts_env.client, settings, await h.service(sessionmaker, pol), h.alert()
    )
    v = await h.opened(handle)

    async def first() -> bool:
        return len(announcing_worker) >= 1

    await h.eventually(first)  # before the first step's delay has passed
    await ts_env.sleep(61)

    async def both() -> bool:
        return len(announcing_worker) >= 2

    await h.eventually(both)
    await handle.execute_update("resolve", ResolveIn(actor=Actor(type="user", id=str(b.id))))
    assert [(how, x.level, x.user_names) for how, x in announcing_worker] == [
        (carried_by, 1, [a.name]),
        (carried_by, 2, [b.name]),
    ]
    assert {x.number for _, x in announcing_worker} == {v.number}
