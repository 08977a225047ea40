"""The incident's Slack message follows its state (patch `slack-sync`), never delaying a page."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app.config import Settings
from app.db import SessionMaker
from tests import incident_helpers as h
from tests.slack_stand_in import BOT_TOKEN, SIGNING_SECRET, SlackStandIn
from workflows.incident_types import ActionIn, Actor, ResolveIn

ALICE = Actor(type="user", id="alice", via="api")


@pytest.fixture
async def slack_api() -> AsyncIterator[SlackStandIn]:
    stand_in = SlackStandIn()
    await stand_in.start()
    yield stand_in
    await stand_in.stop()


@pytest.fixture
def settings(tmp_path_factory: pytest.TempPathFactory, slack_api: SlackStandIn) -> Settings:
    return Settings(
        PAGEFREE_DATA_DIR=tmp_path_factory.mktemp("pagefree"),
        PAGEFREE_ENV="test",
        PAGEFREE_MIN_ESCALATION_DELAY=timedelta(seconds=1),
        TEMPORAL_TASK_QUEUE=f"test-{uuid.uuid4().hex[:8]}",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_api.api_url,
    )


async def _open(  # type: ignore[no-untyped-def]
    sessionmaker: SessionMaker, settings: Settings, ts_env: WorkflowEnvironment, delay: float = 60
):
    people = await h.users(sessionmaker, 2)
    pol = await h.policy(sessionmaker, settings, [h.level(delay, p) for p in people])
    svc = await h.service(sessionmaker, pol, slack_channel_id="C0OPS")
    handle = await h.send_alert(ts_env.client, settings, svc, h.alert())
    return people, handle, await h.opened(handle)


async def test_message_is_posted_once_updated_on_each_change_and_shows_resolved_at_the_end(
    ts_env: WorkflowEnvironment,
    worker: Worker,
    sessionmaker: SessionMaker,
    settings: Settings,
    slack_api: SlackStandIn,
) -> None:
    _, handle, v = await _open(sessionmaker, settings, ts_env)
    (post,) = await slack_api.wait_for("chat.postMessage")
    ts = post.answer["ts"]
    await handle.execute_update("acknowledge", ActionIn(actor=ALICE, incident_id=v.incident_id))

    async def acknowledged_shown() -> bool:
        return any("[ACKNOWLEDGED]" in u.args["text"] for u in slack_api.to("chat.update"))

    await h.eventually(acknowledged_shown)
    await handle.execute_update(
        "resolve", ResolveIn(actor=ALICE, incident_id=v.incident_id, note="fixed")
    )
    await handle.result()
    updates = slack_api.to("chat.update")
    assert updates and all(u.args["ts"] == ts and u.args["channel"] == "C0OPS" for u in updates)
    last = updates[-1]
    assert last.args["text"].startswith(f"#{v.number} [RESOLVED]")
    blocks = last.args["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    assert all(b["type"] != "actions" for b in blocks)
    assert len(slack_api.to("chat.postMessage")) == 1


async def test_a_slack_outage_never_delays_escalation(
    ts_env: WorkflowEnvironment,
    worker: Worker,
    sessionmaker: SessionMaker,
    settings: Settings,
    slack_api: SlackStandIn,
) -> None:
    slack_api.down = True
    people, handle, v = await _open(sessionmaker, settings, ts_env)
    await slack_api.wait_for("chat.postMessage")  # tried, and failed
    await ts_env.sleep(61)  # level 1's delay passes while Slack keeps failing

    async def second_level_paged() -> bool:
        return str(people[1].id) in await h.paged_users(sessionmaker, v.incident_id)

    await h.eventually(second_level_paged)
    assert (await h.view(handle)).escalation_level == 2
    assert len(slack_api.to("chat.postMessage")) >= 2  # retried, bounded
    slack_api.down = False
    await handle.execute_update("resolve", ResolveIn(actor=ALICE, incident_id=v.incident_id))
    await handle.result()  # the run still ends, and its last sync shows the incident resolved
    shown = [c for c in slack_api.calls if c.method.startswith("chat.") and c.answer.get("ok")]
    assert "[RESOLVED]" in shown[-1].args["text"]


async def test_a_hanging_slack_does_not_hold_up_paging_or_escalation(
    ts_env: WorkflowEnvironment,
    worker: Worker,
    sessionmaker: SessionMaker,
    settings: Settings,
    slack_api: SlackStandIn,
) -> None:
    # Real time here: the test server does not skip time while an activity runs, so this
    # measures that the run loop never waits for Slack (a 10 s client timeout, then retries).
    slack_api.hold = asyncio.Event()
    started = time.monotonic()
    people, handle, v = await _open(sessionmaker, settings, ts_env, delay=2)
    await slack_api.wait_for("chat.postMessage")  # under way, and hanging

    async def second_level_paged() -> bool:
        return str(people[1].id) in await h.paged_users(sessionmaker, v.incident_id)

    await h.eventually(second_level_paged, timeout=8)
    assert time.monotonic() - started < 8
    assert len(slack_api.to("chat.postMessage")) == 1  # the one post is still hanging
    slack_api.hold.set()
    await handle.execute_update("resolve", ResolveIn(actor=ALICE, incident_id=v.incident_id))
    await handle.result()
    assert len(slack_api.to("chat.postMessage")) == 1  # answered late, but only once
