"""Buttons on an incident's Slack message act through the workflow, as the person who pressed."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from app.audit.models import AuditEvent
from app.config import Settings
from app.db import SessionMaker
from app.identity.models import User
from app.slack.models import SlackMessage
from tests import incident_helpers as h
from tests.slack.conftest import CHANNEL, Org, block_action, open_incident, press, updated_to
from tests.slack_stand_in import SlackStandIn


def _texts(slack_api: SlackStandIn) -> list[str]:
    return [c.args["text"] for c in slack_api.to("chat.postEphemeral")]


def _blocks(call_args: dict[str, object]) -> list[dict[str, object]]:
    raw = call_args["blocks"]
    return json.loads(raw) if isinstance(raw, str) else raw  # type: ignore[return-value]


async def test_incident_is_posted_to_the_services_channel_with_its_buttons(
    slack_http: httpx.AsyncClient,
    ts_env: WorkflowEnvironment,
    settings: Settings,
    org: Org,
    slack_api: SlackStandIn,
    sessionmaker: SessionMaker,
) -> None:
    _, view, ts = await open_incident(ts_env, settings, org, slack_api)
    post = slack_api.to("chat.postMessage")[0]
    assert f"#{view.number}" in post.args["text"]
    blocks = _blocks(post.args)
    actions = next(b for b in blocks if b["type"] == "actions")
    ids = [e["action_id"] for e in actions["elements"]]  # type: ignore[index]
    assert ids == [
        "incident_acknowledge",
        "incident_resolve",
        "incident_escalate",
        "incident_run_runbook",
        "incident_reassign",
    ]

    async def remembered() -> SlackMessage | None:
        # Written by the activity right after Slack answered.
        async with sessionmaker() as session:
            return await session.scalar(select(SlackMessage))

    ref = await h.eventually(remembered)
    assert (ref.channel, ref.ts, ref.kind) == (CHANNEL, ts, "channel")


async def test_acknowledge_from_slack_acts_as_the_linked_user_and_updates_the_message(
    slack_http: httpx.AsyncClient,
    ts_env: WorkflowEnvironment,
    settings: Settings,
    org: Org,
    slack_api: SlackStandIn,
    sessionmaker: SessionMaker,
) -> None:
    handle, view, ts = await open_incident(ts_env, settings, org, slack_api)
    # Alice has no Slack id in PageFree yet: she is found by her Slack profile's e-mail.
    r = await press(
        slack_http, block_action("incident_acknowledge", view.incident_id, user="UALICE", ts=ts)
    )
    assert r.status_code == 200 and r.content == b""
    await slack_api.wait_for("chat.postEphemeral")
    assert _texts(slack_api) == [f"You acknowledged #{view.number}: escalation stopped."]
    live = await h.view(handle)
    assert live.status == "acknowledged" and live.acknowledged_by == str(org.alice.id)
    events = await h.timeline(sessionmaker, view.incident_id)
    ack = [e for e in events if e.type == "acknowledged"]
    assert len(ack) == 1
    assert ack[0].actor == {"type": "user", "id": str(org.alice.id), "via": "slack"}
    # The same message, updated in place: now acknowledged, without the Acknowledge button.
    update = await updated_to(slack_api, "[ACKNOWLEDGED]")
    assert (update.args["channel"], update.args["ts"]) == (CHANNEL, ts)
    assert "[ACKNOWLEDGED]" in update.args["text"]
    rendered = json.dumps(_blocks(update.args))
    assert "Acknowledged by Alice" in rendered or "Acknowledged by <@UALICE>" in rendered
    assert "incident_acknowledge" not in rendered and "incident_resolve" in rendered
    assert len(slack_api.to("chat.postMessage")) == 1  # never posted twice
    async with sessionmaker() as session:
        alice = await session.get(User, org.alice.id)
        link = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "user.slack_link")
        )
    assert alice is not None and alice.slack_user_id == "UALICE"
    assert link is not None and link.via == "slack" and link.entity_id == str(org.alice.id)


async def test_double_click_acknowledges_once_and_says_so(
    slack_http: httpx.AsyncClient,
    ts_env: WorkflowEnvironment,
    settings: Settings,
    org: Org,
    slack_api: SlackStandIn,
    sessionmaker: SessionMaker,
) -> None:
    _, view, ts = await open_incident(ts_env, settings, org, slack_api)
    payload = block_action("incident_acknowledge", view.incident_id, user="UBOB", ts=ts)
    assert (await press(slack_http, payload)).status_code == 200
    await slack_api.wait_for("chat.postEphemeral")
    assert (await press(slack_http, payload)).status_code == 200
    await slack_api.wait_for("chat.postEphemeral", 2)
    first, second = _texts(slack_api)
    assert first == f"You acknowledged #{view.number}: escalation stopped."
    assert second == f"#{view.number} is already acknowledged (by <@UBOB>); nothing to do."
    types = await h.types(sessionmaker, view.incident_id)
    assert types.count("acknowledged") == 1


async def test_pressing_on_a_resolved_incident_gets_a_clear_ephemeral_reply(
    slack_http: httpx.AsyncClient,
    ts_env: WorkflowEnvironment,
    settings: Settings,
    org: Org,
    slack_api: SlackStandIn,
    sessionmaker: SessionMaker,
) -> None:
    handle, view, ts = await open_incident(ts_env, settings, org, slack_api)
    await press(slack_http, block_action("incident_resolve", view.incident_id, user="UBOB", ts=ts))
    await slack_api.wait_for("chat.postEphemeral")
    assert _texts(slack_api) == [f"You resolved #{view.number}."]
    await handle.result()  # the run ends only after its last Slack update
    last = slack_api.to("chat.update")[-1]
    assert "[RESOLVED]" in last.args["text"] and last.args["ts"] == ts
    assert not [b for b in _blocks(last.args) if b["type"] == "actions"]  # no more buttons
    await press(
        slack_http, block_action("incident_acknowledge", view.incident_id, user="UBOB", ts=ts)
    )
    await slack_api.wait_for("chat.postEphemeral", 2)
    assert _texts(slack_api)[1] == (
        f"#{view.number} is already resolved (by <@UBOB>); there is nothing left to do."
    )
    assert (await h.types(sessionmaker, view.incident_id)).count("resolved") == 1


async def test_an_unknown_slack_user_is_told_why_and_nothing_changes(
    slack_http: httpx.AsyncClient,
    ts_env: WorkflowEnvironment,
    settings: Settings,
    org: Org,
    slack_api: SlackStandIn,
) -> None:
    handle, view, ts = await open_incident(ts_env, settings, org, slack_api)
    slack_api.add_user("UCAROL", "carol@elsewhere.example")  # in Slack, not in PageFree
    for user in ("UNOBODY", "UCAROL"):
        await press(
            slack_http, block_action("incident_acknowledge", view.incident_id, user=user, ts=ts)
        )
    await slack_api.wait_for("chat.postEphemeral", 2)
    for call in slack_api.to("chat.postEphemeral"):
        assert "not linked to a PageFree user" in call.args["text"]
    assert [c.args["user"] for c in slack_api.to("chat.postEphemeral")] == ["UNOBODY", "UCAROL"]
    assert (await h.view(handle)).status == "triggered"


async def test_an_observer_cannot_act(
    slack_http: httpx.AsyncClient,
    ts_env: WorkflowEnvironment,
    settings: Settings,
    org: Org,
    slack_api: SlackStandIn,
    sessionmaker: SessionMaker,
) -> None:
    handle, view, ts = await open_incident(ts_env, settings, org, slack_api)
    await press(slack_http, block_action("incident_resolve", view.incident_id, user="UOBS", ts=ts))
    (reply,) = await slack_api.wait_for("chat.postEphemeral")
    assert reply.args["user"] == "UOBS" and "*observer*" in reply.args["text"]
    assert (await h.view(handle)).status == "triggered"
    assert "resolved" not in await h.types(sessionmaker, view.incident_id)


async def test_reassign_pages_the_picked_user_and_escalate_moves_on(
    slack_http: httpx.AsyncClient,
    ts_env: WorkflowEnvironment,
    settings: Settings,
    org: Org,
    slack_api: SlackStandIn,
    sessionmaker: SessionMaker,
) -> None:
    handle, view, ts = await open_incident(ts_env, settings, org, slack_api)
    await press(
        slack_http,
        block_action(
            "incident_reassign", view.incident_id, user="UALICE", ts=ts, selected_user="UBOB"
        ),
    )
    await slack_api.wait_for("chat.postEphemeral")
    assert (
        _texts(slack_api)[0] == f"You reassigned #{view.number} to <@UBOB>; they are being paged."
    )

    async def bob_paged() -> bool:
        return str(org.bob.id) in await h.paged_users(sessionmaker, view.incident_id)

    await h.eventually(bob_paged)
    reassigned = [
        e for e in await h.timeline(sessionmaker, view.incident_id) if e.type == "reassigned"
    ]
    assert reassigned[0].detail["user_ids"] == [str(org.bob.id)]
    assert reassigned[0].actor["via"] == "slack"

    await press(
        slack_http,
        block_action(
            "incident_reassign", view.incident_id, user="UALICE", ts=ts, selected_user="UNOBODY"
        ),
    )
    await slack_api.wait_for("chat.postEphemeral", 2)
    assert (
        _texts(slack_api)[1]
        == f"<@UNOBODY> has no PageFree account, so #{view.number} was not reassigned."
    )

    await press(slack_http, block_action("incident_escalate", view.incident_id, user="UBOB", ts=ts))
    await slack_api.wait_for("chat.postEphemeral", 3)
    assert _texts(slack_api)[2] == f"You escalated #{view.number} to level 2."
    assert (await h.view(handle)).escalation_level == 2
