"""Severe incidents get a Slack channel of their own: responders invited, timeline mirrored."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from temporalio.testing import WorkflowEnvironment

from app.catalog.models import Service
from app.config import Settings
from app.db import SessionMaker
from app.incidents.models import Incident, TimelineEvent
from app.slack.incident_channel import channel_name, timeline_line, wanted
from tests import incident_helpers as h
from tests.slack.conftest import Org, block_action, press
from tests.slack_stand_in import SlackStandIn


def test_channel_names_and_the_severity_threshold() -> None:
    assert channel_name(42, "Checkout: 5xx > 50%!") == "inc-42-checkout-5xx-50"
    assert len(channel_name(7, "x" * 200)) == 80
    svc = Service(name="s", escalation_policy_id=None, routing_key="s")  # type: ignore[arg-type]
    inc = Incident(severity="error")  # type: ignore[call-arg]
    assert not wanted(svc, inc)
    svc.slack_incident_channel_severity = "error"
    assert wanted(svc, inc)
    svc.slack_incident_channel_severity = "critical"
    assert not wanted(svc, inc)


def test_timeline_lines_name_the_actor_and_the_door() -> None:
    at = datetime(2026, 11, 30, 3, 4, 5, tzinfo=UTC)
    ack = TimelineEvent(
        type="acknowledged", at=at, actor={"type": "user", "id": "u1", "via": "slack"}, detail={}
    )  # type: ignore[call-arg]
    assert (
        timeline_line(ack, {"u1": "Bob <3"}) == "`03:04:05` *acknowledged* by Bob &lt;3 via slack"
    )
    notified = TimelineEvent(type="notified", at=at, actor={}, detail={})  # type: ignore[call-arg]
    assert timeline_line(notified, {}) is None


async def test_a_critical_incident_gets_its_own_channel_with_the_responders(
    slack_http: httpx.AsyncClient,
    ts_env: WorkflowEnvironment,
    settings: Settings,
    org: Org,
    slack_api: SlackStandIn,
    sessionmaker: SessionMaker,
) -> None:
    pol = await h.policy(sessionmaker, settings, [h.level(300, org.bob)])
    svc = await h.service(
        sessionmaker, pol, slack_channel_id="C0OPS", slack_incident_channel_severity="critical"
    )
    slack_api.taken_names.add("inc-1-cpu-on-fire")  # left over from an older installation
    handle = await h.send_alert(ts_env.client, settings, svc, h.alert())
    view = await h.opened(handle)
    created = await slack_api.wait_for("conversations.create", 2)
    assert created[0].args["name"] == f"inc-{view.number}-cpu-on-fire"
    assert created[1].args["name"].startswith(f"inc-{view.number}-cpu-on-fire-")
    room = created[1].answer["channel"]["id"]

    async def invited() -> bool:
        return any(
            c.args == {"channel": room, "users": "UBOB"}
            for c in slack_api.to("conversations.invite")
        )

    await h.eventually(invited)
    cards = [c for c in slack_api.to("chat.postMessage") if c.args.get("blocks")]
    assert {c.args["channel"] for c in cards} == {"C0OPS", room}
    await press(slack_http, block_action("incident_acknowledge", view.incident_id, user="UBOB"))

    async def mirrored() -> str | None:
        lines = "\n".join(
            c.args["text"]
            for c in slack_api.to("chat.postMessage")
            if c.args["channel"] == room and not c.args.get("blocks")
        )
        return lines if "*acknowledged* by Bob via slack" in lines else None

    lines = await h.eventually(mirrored)
    assert "*triggered*" in lines and "*paged*: Bob (level 1)" in lines
    assert lines.count("*acknowledged*") == 1
    assert len(slack_api.to("conversations.invite")) == 1  # each responder invited once


async def test_a_warning_gets_no_channel(
    ts_env: WorkflowEnvironment,
    settings: Settings,
    org: Org,
    slack_api: SlackStandIn,
    sessionmaker: SessionMaker,
    slack_http: httpx.AsyncClient,
) -> None:
    pol = await h.policy(sessionmaker, settings, [h.level(300, org.bob)])
    svc = await h.service(
        sessionmaker, pol, slack_channel_id="C0OPS", slack_incident_channel_severity="critical"
    )
    handle = await h.send_alert(ts_env.client, settings, svc, h.alert(severity="warning"))
    await h.opened(handle)
    await slack_api.wait_for("chat.postMessage")

    async def synced() -> bool:  # the sync that posted has finished: no channel came of it
        return not (await handle.describe()).raw_description.pending_activities

    await h.eventually(synced)
    assert slack_api.to("conversations.create") == []
