"""Paging a user runs their rules: each step through its real channel, every attempt logged."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import build_activities
from app.config import Settings
from app.db import SessionMaker
from app.notify.channels import build_channels
from app.notify.models import ContactMethod
from tests import incident_helpers as h
from tests.notify.conftest import Providers, ses_sent, sns_sms, with_chat_channels
from tests.notify.helpers import reachable_user
from workflows.incident_types import ActionIn, Actor
from workflows.registry import WORKFLOWS

pytestmark = pytest.mark.usefixtures("notify_worker")


async def _incident(
    sessionmaker: SessionMaker, settings: Settings, ts_env: WorkflowEnvironment, *levels
):  # type: ignore[no-untyped-def]
    svc = await h.service(sessionmaker, await h.policy(sessionmaker, settings, list(levels)))
    handle = await h.send_alert(ts_env.client, settings, svc, h.alert("Checkout is down"))
    return handle, await h.opened(handle)


async def _rows(sessionmaker: SessionMaker, incident_id: str, n: int):  # type: ignore[no-untyped-def]
    async def enough():  # type: ignore[no-untyped-def]
        rows = await h.deliveries(sessionmaker, incident_id)
        return rows if len(rows) >= n else None

    return await h.eventually(enough, timeout=30)  # retries back off; CI machines are slow


async def test_sms_at_once_and_voice_after_five_minutes(
    ts_env: WorkflowEnvironment,
    sessionmaker: SessionMaker,
    notify_settings: Settings,
    providers: Providers,
) -> None:
    user, _ = await reachable_user(
        sessionmaker, ("sms", "+15552223333", 0), ("voice", "+15552223333", 300)
    )
    _, v = await _incident(sessionmaker, notify_settings, ts_env, h.level(3600, user))
    [row] = await _rows(sessionmaker, v.incident_id, 1)
    assert (row.channel, row.provider, row.status, row.attempt) == ("sms", "twilio", "sent", 1)
    [sms] = providers.twilio.sent()
    assert sms["To"] == "+15552223333" and f"#{v.number} CRITICAL" in sms["Body"]
    assert sms["StatusCallback"] == "https://pagefree.example.com/webhooks/twilio/status"
    assert row.provider_id and row.provider_id.startswith("SM")
    assert providers.twilio.sent("Calls") == []
    await ts_env.sleep(301)
    await _rows(sessionmaker, v.incident_id, 2)
    [call] = providers.twilio.sent("Calls")
    assert f"incident={v.incident_id}&amp;user={user.id}" in call["Twiml"]
    assert (await h.types(sessionmaker, v.incident_id)).count("notified") == 2


async def test_ack_cancels_the_pending_voice_call(
    ts_env: WorkflowEnvironment,
    sessionmaker: SessionMaker,
    notify_settings: Settings,
    providers: Providers,
) -> None:
    user, _ = await reachable_user(
        sessionmaker, ("sms", "+15552223334", 0), ("voice", "+15552223334", 300)
    )
    handle, v = await _incident(sessionmaker, notify_settings, ts_env, h.level(3600, user))
    await _rows(sessionmaker, v.incident_id, 1)
    await handle.execute_update("acknowledge", ActionIn(actor=Actor(type="user", id=str(user.id))))
    await ts_env.sleep(900)
    assert providers.twilio.sent("Calls") == []
    assert len(await h.deliveries(sessionmaker, v.incident_id)) == 1


async def test_twilio_down_fails_over_to_sns(
    ts_env: WorkflowEnvironment,
    sessionmaker: SessionMaker,
    notify_settings: Settings,
    providers: Providers,
) -> None:
    providers.twilio.fail = (503, 20500)
    user, _ = await reachable_user(sessionmaker, ("sms", "+15552223335", 0))
    _, v = await _incident(sessionmaker, notify_settings, ts_env, h.level(3600, user))
    [row] = await _rows(sessionmaker, v.incident_id, 1)
    assert (row.provider, row.status) == ("sns", "sent")
    assert "503" in (row.error or "")  # the primary's failure stays visible
    [text] = sns_sms("+15552223335")
    assert f"#{v.number}" in text
    [notified] = [e for e in await h.timeline(sessionmaker, v.incident_id) if e.type == "notified"]
    assert notified.detail["failed_over_from"] == "twilio"


@pytest.fixture
async def no_failover_worker(
    ts_env: WorkflowEnvironment, sessionmaker: SessionMaker, notify_settings: Settings
) -> AsyncIterator[Worker]:
    s = notify_settings.model_copy(
        update={
            "sns_sms_enabled": False,
            "temporal_task_queue": notify_settings.temporal_task_queue + "-b",
        }
    )
    async with Worker(
        ts_env.client,
        task_queue=s.temporal_task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(sessionmaker, s, build_channels(s)),
    ):
        yield s  # type: ignore[misc]


async def test_transient_failures_retry_with_backoff_one_row_per_attempt(
    ts_env: WorkflowEnvironment,
    sessionmaker: SessionMaker,
    no_failover_worker: Settings,
    providers: Providers,
) -> None:
    s: Settings = no_failover_worker  # type: ignore[assignment]
    providers.twilio.fail, providers.twilio.fail_times = (500, 20500), 2
    user, _ = await reachable_user(sessionmaker, ("sms", "+15552223336", 0))
    _, v = await _incident(sessionmaker, s, ts_env, h.level(3600, user))
    rows = await _rows(sessionmaker, v.incident_id, 3)
    assert [(r.attempt, r.status) for r in rows] == [(1, "failed"), (2, "failed"), (3, "sent")]
    assert "500" in (rows[0].error or "")
    assert rows[1].created_at > rows[0].created_at  # backoff between attempts
    types = await h.types(sessionmaker, v.incident_id)
    assert types.count("notified") == 1 and "notification_failed" not in types


async def test_steps_due_together_go_in_one_activity_and_a_retry_resends_only_the_failed(
    ts_env: WorkflowEnvironment,
    sessionmaker: SessionMaker,
    no_failover_worker: Settings,
    providers: Providers,
) -> None:
    s: Settings = no_failover_worker  # type: ignore[assignment]
    providers.twilio.fail, providers.twilio.fail_times = (500, 20500), 2
    email = "together@example.com"
    user, _ = await reachable_user(sessionmaker, ("sms", "+15552223339", 0), ("email", email, 0))
    handle, v = await _incident(sessionmaker, s, ts_env, h.level(3600, user))
    rows = await _rows(sessionmaker, v.incident_id, 4)
    sms = [(r.attempt, r.status) for r in rows if r.channel == "sms"]
    mails = [(r.attempt, r.status) for r in rows if r.channel == "email"]
    # The SMS was tried three times; the e-mail, sent by the first attempt, never again.
    assert sms == [(1, "failed"), (2, "failed"), (3, "sent")] and mails == [(1, "sent")]
    assert len(ses_sent(email)) == 1
    history = await handle.fetch_history()
    sends = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
        and e.activity_task_scheduled_event_attributes.activity_type.name.startswith("send")
    ]
    assert sends == ["send_notifications"]  # both steps, one activity
    assert (await h.types(sessionmaker, v.incident_id)).count("notified") == 2


async def test_a_permanent_failure_beside_a_sent_step_is_final_and_sends_nothing_twice(
    ts_env: WorkflowEnvironment,
    sessionmaker: SessionMaker,
    notify_settings: Settings,
    providers: Providers,
) -> None:
    providers.twilio.fail = (400, 21211)  # invalid 'To' number: permanent
    email = "together-perm@example.com"
    user, _ = await reachable_user(sessionmaker, ("sms", "+15552223340", 0), ("email", email, 0))
    _, v = await _incident(sessionmaker, notify_settings, ts_env, h.level(3600, user))
    rows = await _rows(sessionmaker, v.incident_id, 2)
    assert sorted((r.channel, r.status, r.attempt) for r in rows) == [
        ("email", "sent", 1),
        ("sms", "failed", 1),
    ]
    await ts_env.sleep(120)  # past every retry the policy would allow
    assert len(await h.deliveries(sessionmaker, v.incident_id)) == 2
    assert len(providers.twilio.requests) == 1 and len(ses_sent(email)) == 1
    types = await h.types(sessionmaker, v.incident_id)
    assert types.count("notified") == 1 and types.count("notification_failed") == 1


async def test_a_step_that_keeps_retrying_does_not_hold_up_the_next_step(
    ts_env: WorkflowEnvironment,
    sessionmaker: SessionMaker,
    no_failover_worker: Settings,
    providers: Providers,
) -> None:
    s: Settings = no_failover_worker  # type: ignore[assignment]
    providers.twilio.fail = (500, 20500)  # Twilio keeps failing: SMS retries with backoff
    email = "next-step@example.com"
    user, _ = await reachable_user(sessionmaker, ("sms", "+15552223338", 0), ("email", email, 5))
    _, v = await _incident(sessionmaker, s, ts_env, h.level(3600, user))
    await ts_env.sleep(6)

    async def email_sent():  # type: ignore[no-untyped-def]
        rows = await h.deliveries(sessionmaker, v.incident_id)
        sent = [r for r in rows if r.channel == "email" and r.status == "sent"]
        return (rows, sent[0]) if sent else None

    rows, mail = await h.eventually(email_sent, timeout=30)
    sms = [r for r in rows if r.channel == "sms"]
    # The e-mail went out at its 5 s while the SMS step was still retrying (it gives up after
    # 5 attempts over ~30 s); it did not wait for that step to end.
    assert sms and all(r.status == "failed" for r in sms) and len(sms) < 5
    assert (mail.created_at - sms[0].created_at).total_seconds() < 15
    assert ses_sent(email)


async def test_permanent_error_is_not_retried_and_the_next_step_still_goes(
    ts_env: WorkflowEnvironment,
    sessionmaker: SessionMaker,
    notify_settings: Settings,
    providers: Providers,
) -> None:
    providers.twilio.fail = (400, 21211)  # invalid 'To' number
    email = "perm-error@example.com"
    user, _ = await reachable_user(sessionmaker, ("sms", "+15552223337", 0), ("email", email, 60))
    _, v = await _incident(sessionmaker, notify_settings, ts_env, h.level(3600, user))
    [row] = await _rows(sessionmaker, v.incident_id, 1)
    assert (row.status, row.attempt) == ("failed", 1) and "21211" in (row.error or "")
    failed = [
        e for e in await h.timeline(sessionmaker, v.incident_id) if e.type == "notification_failed"
    ]
    assert failed and failed[0].detail["channel"] == "sms" and failed[0].detail["permanent"]
    await ts_env.sleep(61)
    rows = await _rows(sessionmaker, v.incident_id, 2)
    assert [r.channel for r in rows] == ["sms", "email"] and rows[1].status == "sent"
    assert len(providers.twilio.requests) == 1  # never retried, never failed over
    assert sns_sms("+15552223337") == [] and ses_sent(email)


async def test_user_without_verified_method_is_on_the_timeline_and_escalation_moves_on(
    ts_env: WorkflowEnvironment,
    sessionmaker: SessionMaker,
    notify_settings: Settings,
    providers: Providers,
) -> None:
    nobody, _ = await reachable_user(sessionmaker, ("sms", "+15552223338", 0), verified=False)
    backup, _ = await reachable_user(sessionmaker, ("sms", "+15552223339", 0))
    _, v = await _incident(
        sessionmaker, notify_settings, ts_env, h.level(60, nobody), h.level(3600, backup)
    )
    paged = [e for e in await h.timeline(sessionmaker, v.incident_id) if e.type == "paged"]
    assert paged[0].detail["reachable"] is False
    assert paged[0].detail["reason"] == "no verified contact method"
    assert providers.twilio.sent() == []
    await ts_env.sleep(61)

    async def backup_texted():  # type: ignore[no-untyped-def]
        return [f for f in providers.twilio.sent() if f["To"] == "+15552223339"]

    await h.eventually(backup_texted)


async def test_email_page_in_the_users_zone_with_action_links(
    ts_env: WorkflowEnvironment,
    sessionmaker: SessionMaker,
    notify_settings: Settings,
) -> None:
    email = "paris@example.com"
    user, _ = await reachable_user(sessionmaker, ("email", email, 0), timezone="Europe/Paris")
    _, v = await _incident(sessionmaker, notify_settings, ts_env, h.level(3600, user))
    [row] = await _rows(sessionmaker, v.incident_id, 1)
    assert (row.channel, row.provider, row.status) == ("email", "ses", "sent")
    [mail] = ses_sent(email)
    assert "CET" in mail.body or "CEST" in mail.body
    # moto keeps the HTML part (test_channels checks the plain-text part on the wire).
    assert mail.body.count('href="https://pagefree.example.com/ack/') == 2


async def test_expired_push_subscription_is_removed(
    ts_env: WorkflowEnvironment,
    sessionmaker: SessionMaker,
    notify_settings: Settings,
    providers: Providers,
) -> None:
    providers.push.gone.add("old")
    sub = providers.push.subscription("old")
    user, [method] = await reachable_user(sessionmaker, ("push", json.dumps(sub.info()), 0))
    _, v = await _incident(sessionmaker, notify_settings, ts_env, h.level(3600, user))
    [row] = await _rows(sessionmaker, v.incident_id, 1)
    assert row.status == "failed" and "subscription expired" in (row.error or "")
    assert row.address == "127.0.0.1:" + providers.push.url.rsplit(":", 1)[1]  # no keys logged
    async with sessionmaker() as s:
        assert await s.get(ContactMethod, method.id) is None


async def test_each_level_is_announced_in_teams_and_the_slack_channel(
    ts_env: WorkflowEnvironment,
    sessionmaker: SessionMaker,
    notify_settings: Settings,
    providers: Providers,
) -> None:
    s = with_chat_channels(notify_settings, providers).model_copy(
        update={"temporal_task_queue": notify_settings.temporal_task_queue + "-chat"}
    )
    user, _ = await reachable_user(sessionmaker, ("sms", "+15552225555", 0))
    providers.slack.error = "ratelimited"  # Slack fails once, then recovers; Teams posts once
    async with Worker(
        ts_env.client,
        task_queue=s.temporal_task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(sessionmaker, s, build_channels(s)),
    ):
        _, v = await _incident(sessionmaker, s, ts_env, h.level(3600, user))

        async def slack_posted():  # type: ignore[no-untyped-def]
            providers.slack.error = None if providers.slack.requests else "ratelimited"
            events = await h.timeline(sessionmaker, v.incident_id)
            chat = {e.detail.get("channel") for e in events if e.type == "notified"}
            return {"teams", "slack"} <= chat

        await h.eventually(slack_posted)
    [card] = [r.json() for r in providers.teams.requests]
    content = card["attachments"][0]["content"]
    assert (
        f"#{v.number} CRITICAL" in content["body"][0]["text"]
        and user.name in content["body"][0]["text"]
    )
    posts = providers.slack.posts()
    assert [p["channel"] for p in posts] == ["C0PAGES", "C0PAGES"]  # the retry, not a duplicate
    assert len(providers.teams.requests) == 1  # a retry skips a channel already posted
