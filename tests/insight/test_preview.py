"""The escalation preview says exactly what the workflow pages, when and how."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.incident import IncidentActivities
from app.config import Settings
from app.db import SessionMaker
from app.identity.models import Role, User
from app.insight import preview as previews
from app.schedules import overrides as override_ops
from app.schedules import service as schedules
from app.schedules.models import LayerIn, OverrideIn, ScheduleCreate
from tests import incident_helpers as h
from tests.factories import assert_problem, login
from tests.notify.helpers import reachable_user
from workflows.incident_types import (
    Deliveries,
    DeliveryResult,
    SendNotification,
    SendNotifications,
)
from workflows.registry import WORKFLOWS

Sent = tuple[
    int, int, str, str, str | None
]  # (seconds after opening, level, user, channel, method)


@pytest.fixture
async def sends() -> list[SendNotification]:
    return []


@pytest.fixture
async def recording_worker(
    ts_env: WorkflowEnvironment,
    sessionmaker: SessionMaker,
    settings: Settings,
    sends: list[SendNotification],
) -> AsyncIterator[Worker]:
    """The real paging activities; sends are recorded with the workflow's instant, not sent."""
    real = IncidentActivities(sessionmaker, settings)

    @activity.defn(name="send_notifications")
    async def send_notifications(inp: SendNotifications) -> Deliveries:
        sends.extend(inp.sends)
        return Deliveries(
            results=[
                DeliveryResult(
                    notification_id=str(uuid.uuid4()),
                    status="sent",
                    channel=one.step.channel,
                    provider="test",
                )
                for one in inp.sends
            ]
        )

    acts = [
        real.open_incident,
        real.record_incident,
        real.load_policy,
        real.page_level,
        send_notifications,
    ]
    async with Worker(
        ts_env.client, task_queue=settings.temporal_task_queue, workflows=WORKFLOWS, activities=acts
    ) as w:
        yield w


async def _schedule(sessionmaker: SessionMaker, user: User) -> str:
    async with sessionmaker() as session:
        created = await schedules.create_schedule(
            session=session,
            schedule_in=ScheduleCreate(
                name=f"sched-{uuid.uuid4().hex[:6]}",
                timezone="UTC",
                layers=[
                    LayerIn(
                        name="all day",
                        start=datetime(2020, 1, 1),
                        rotation_length=timedelta(days=7),
                        users=[user.id],
                    )
                ],
            ),
            actor=h.SYSTEM,
        )
        await session.commit()
        return str(created.id)


async def _override(
    sessionmaker: SessionMaker, schedule_id: str, user: User, start: datetime, end: datetime
) -> None:
    async with sessionmaker() as session:
        await override_ops.create_override(
            session=session,
            schedule_id=uuid.UUID(schedule_id),
            override_in=OverrideIn(user_id=user.id, start=start, end=end),
            actor=h.SYSTEM,
        )
        await session.commit()


def _rounded(seconds: float) -> int:
    return round(seconds)


def _order(sent: Sent) -> tuple[object, ...]:
    """Sort key: predicted instants are whole minutes and real ones a few seconds later."""
    return (sent[0] // 30, *sent[1:4], sent[4] or "")


async def test_preview_matches_the_workflows_paging_over_two_cycles(
    ts_env: WorkflowEnvironment,
    sessionmaker: SessionMaker,
    settings: Settings,
    recording_worker: Worker,
    sends: list[SendNotification],
) -> None:
    alice, (a_sms, a_voice) = await reachable_user(
        sessionmaker, ("sms", "+15550000001", 0), ("voice", "+15550000001", 120)
    )
    # Bob's SMS after 400 s comes after level 1's 300 s: the workflow never sends it.
    bob, (b_mail, _) = await reachable_user(
        sessionmaker, ("email", "bob@example.com", 0), ("sms", "+15550000002", 400)
    )
    carol, (c_push,) = await reachable_user(sessionmaker, ("email", "carol@example.com", 60))
    dave, _ = await reachable_user(sessionmaker)  # no verified method: the "log" channel
    team = await h.team(sessionmaker, [alice, bob])
    schedule = await _schedule(sessionmaker, dave)
    policy = await h.policy(
        sessionmaker,
        settings,
        [h.level(300, alice, ("team", team)), h.level(600, ("schedule", schedule))],
        repeat=1,
    )
    svc = await h.service(sessionmaker, policy)
    handle = await h.send_alert(ts_env.client, settings, svc, h.alert("Checkout is down"))
    v = await h.opened(handle)
    assert v.created_at is not None
    opened_at = v.created_at
    # Carol covers the schedule for its first 10 minutes: level 2 fires at +300 s (Carol) and
    # again at +1200 s (Dave), each resolved at its own instant.
    await _override(
        sessionmaker,
        schedule,
        carol,
        opened_at - timedelta(minutes=1),
        opened_at + timedelta(minutes=10),
    )

    async with sessionmaker() as session:
        expected = await previews.preview(session=session, service_id=svc.id, at=opened_at)
    await ts_env.sleep(2000)
    await h.eventually(lambda: _at_least(sends, len(expected.steps)), timeout=30)

    real: list[Sent] = [
        (
            _rounded((s.attempt_at - opened_at).total_seconds()),
            s.level,
            s.user_id,
            s.step.channel,
            s.step.contact_method_id,
        )
        for s in sends
    ]
    predicted: list[Sent] = [
        (
            _rounded((p.at - opened_at).total_seconds()),
            p.level,
            str(p.user_id),
            p.channel,
            str(p.contact_method) if p.contact_method else None,
        )
        for p in expected.steps
    ]
    real.sort(key=_order)
    predicted.sort(key=_order)
    # Same sends in the same order; each within 3 s of its predicted instant (a chain starts
    # when its level's paging activity returns, which takes real time on a busy machine).
    assert [r[1:] for r in real] == [p[1:] for p in predicted]
    drift = [r[0] - p[0] for r, p in zip(real, predicted, strict=True)]
    assert all(0 <= d <= 3 for d in drift), (real, predicted)
    a, b, c, d = str(alice.id), str(bob.id), str(carol.id), str(dave.id)
    # Sends of one instant are ordered by user id (random uuids): compare as sorted lists.
    assert sorted((t, lv, u, ch) for t, lv, u, ch, _ in predicted) == sorted(
        [
            (0, 1, a, "sms"),
            (0, 1, b, "email"),
            (120, 1, a, "voice"),
            (360, 2, c, "email"),
            (900, 1, a, "sms"),
            (900, 1, b, "email"),
            (1020, 1, a, "voice"),
            (1200, 2, d, "log"),
        ]
    )
    assert [s.via for s in expected.steps[:2]] == ["user", "team"]
    assert expected.ends_because == "exhausted"
    assert expected.ends_at == opened_at + timedelta(seconds=1800)
    del a_sms, a_voice, b_mail, c_push


async def _at_least(sends: list[SendNotification], n: int) -> bool:
    return len(sends) >= n


async def test_a_level_that_reaches_nobody_escalates_at_once_in_the_preview(
    sessionmaker: SessionMaker, settings: Settings
) -> None:
    alice, _ = await reachable_user(sessionmaker, ("sms", "+15550000003", 0))
    empty_team = await h.team(sessionmaker, [])
    policy = await h.policy(
        sessionmaker, settings, [h.level(300, ("team", empty_team)), h.level(600, alice)]
    )
    svc = await h.service(sessionmaker, policy)
    at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    async with sessionmaker() as session:
        found = await previews.preview(session=session, service_id=svc.id, at=at)
    assert [(s.at, s.level, s.user_id) for s in found.steps] == [(at, 2, alice.id)]
    assert found.levels[0].users == 0 and "has no members" in found.levels[0].unresolved[0]
    assert found.ends_at == at + timedelta(seconds=600)


async def test_low_urgency_follows_the_low_urgency_rules_and_auto_resolve_stops_it(
    sessionmaker: SessionMaker, settings: Settings
) -> None:
    from app.notify.models import NotificationRule, Urgency

    alice, (sms, voice) = await reachable_user(
        sessionmaker, ("sms", "+15550000004", 0), ("voice", "+15550000004", 30)
    )
    async with sessionmaker() as session:
        session.add(
            NotificationRule(
                user_id=alice.id, contact_method_id=voice.id, delay_seconds=600, urgency=Urgency.low
            )
        )
        await session.commit()
    policy = await h.policy(sessionmaker, settings, [h.level(3600, alice)], repeat=3)
    svc = await h.service(sessionmaker, policy, auto_resolve_timeout=timedelta(hours=2))
    at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    async with sessionmaker() as session:
        low = await previews.preview(session=session, service_id=svc.id, at=at, urgency="low")
        high = await previews.preview(session=session, service_id=svc.id, at=at)
    assert [(s.at - at, s.channel) for s in low.steps] == [
        (timedelta(minutes=10), "voice"),
        (timedelta(minutes=70), "voice"),
    ]
    assert len(high.steps) == 4  # two levels fire before the auto-resolve at two hours
    assert (high.ends_at, high.ends_because) == (at + timedelta(hours=2), "auto-resolved")
    del sms


async def test_preview_api_answers_the_contract_and_refuses_bad_input(
    client: httpx.AsyncClient, sessionmaker: SessionMaker, settings: Settings
) -> None:
    me = await login(sessionmaker, role=Role.observer)
    alice, (sms,) = await reachable_user(sessionmaker, ("sms", "+15550000005", 0))
    svc = await h.service(
        sessionmaker, await h.policy(sessionmaker, settings, [h.level(300, alice)])
    )
    url = f"/api/v1/services/{svc.id}/escalation-preview"
    r = await client.get(
        url, params={"at": "2026-03-01T12:00:00Z", "urgency": "high"}, headers=me.headers
    )
    assert r.status_code == 200, r.text
    [step] = r.json()
    assert step["at"].startswith("2026-03-01T12:00:00")
    assert (step["level"], step["user_id"], step["contact_method"], step["via"]) == (
        1,
        str(alice.id),
        str(sms.id),
        "user",
    )
    for params in ({"at": "yesterday"}, {"urgency": "urgent"}, {"at": "1900-01-01T00:00:00Z"}):
        assert_problem(await client.get(url, params=params, headers=me.headers), 422)
    assert_problem(await client.get(url), 401)
    missing = f"/api/v1/services/{uuid.uuid4()}/escalation-preview"
    assert_problem(await client.get(missing, headers=me.headers), 404)
