"""A page sent as a Slack DM is remembered, acts like the channel message, and is kept current."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app.config import Settings
from app.db import SessionMaker
from app.incidents.models import Notification
from app.notify.models import ContactMethod, ContactType
from app.slack import messages
from app.slack import service as slack
from app.slack.models import SlackMessage
from tests import incident_helpers as h
from tests.slack.conftest import CHANNEL, Org, block_action, open_incident, press, updated_to
from tests.slack_stand_in import SlackStandIn


async def test_a_dm_page_is_updated_in_place_with_the_channel_message(
    slack_http: httpx.AsyncClient,
    ts_env: WorkflowEnvironment,
    settings: Settings,
    org: Org,
    slack_api: SlackStandIn,
    sessionmaker: SessionMaker,
) -> None:
    handle, view, channel_ts = await open_incident(ts_env, settings, org, slack_api)
    async with sessionmaker() as session:
        dm_ts = await messages.post_incident(
            session=session,
            client=slack.web_client(settings),
            settings=settings,
            incident_id=uuid.UUID(view.incident_id),
            channel="UBOB",
        )

    async def both_remembered() -> dict[str, tuple[str, str]] | None:
        async with sessionmaker() as session:
            rows = await session.scalars(select(SlackMessage))
            refs = {m.channel: (m.ts, m.kind) for m in rows}
        return refs if len(refs) == 2 else None

    refs = await h.eventually(both_remembered)
    assert refs == {CHANNEL: (channel_ts, "channel"), "DBOB": (dm_ts, "dm")}
    payload = block_action("incident_acknowledge", view.incident_id, user="UBOB", ts=str(dm_ts))
    payload["container"]["channel_id"] = payload["channel"]["id"] = "DBOB"
    await press(slack_http, payload)
    (reply,) = await slack_api.wait_for("chat.postEphemeral")
    assert reply.args["channel"] == "DBOB" and reply.args["user"] == "UBOB"
    assert (await h.view(handle)).status == "acknowledged"

    async def both_updated() -> set[tuple[str, str]] | None:
        shown = {
            (c.args["channel"], c.args["ts"])
            for c in slack_api.to("chat.update")
            if "[ACKNOWLEDGED]" in c.args["text"]
        }
        return shown if len(shown) == 2 else None

    assert await h.eventually(both_updated) == {(CHANNEL, channel_ts), ("DBOB", dm_ts)}
    assert (await updated_to(slack_api, "[ACKNOWLEDGED]")).args["blocks"]


async def test_a_channel_the_app_is_not_in_does_not_stop_dm_updates(
    slack_http: httpx.AsyncClient,
    ts_env: WorkflowEnvironment,
    settings: Settings,
    org: Org,
    slack_api: SlackStandIn,
    sessionmaker: SessionMaker,
) -> None:
    slack_api.refuse[CHANNEL] = "not_in_channel"
    handle = await h.send_alert(ts_env.client, settings, org.service, h.alert())
    view = await h.opened(handle)
    await slack_api.wait_for("chat.postMessage")  # refused
    async with sessionmaker() as session:
        dm_ts = await messages.post_incident(
            session=session,
            client=slack.web_client(settings),
            settings=settings,
            incident_id=uuid.UUID(view.incident_id),
            channel="UBOB",
        )
    payload = block_action("incident_acknowledge", view.incident_id, user="UBOB", ts=str(dm_ts))
    payload["container"]["channel_id"] = payload["channel"]["id"] = "DBOB"
    await press(slack_http, payload)
    update = await updated_to(slack_api, "[ACKNOWLEDGED]")
    assert (update.args["channel"], update.args["ts"]) == ("DBOB", dm_ts)
    # Each sync tries the channel again (someone may have invited the app since), never retries.
    posts = [c for c in slack_api.to("chat.postMessage") if c.args["channel"] == CHANNEL]
    assert len(posts) >= 2
    assert (await h.view(handle)).status == "acknowledged"


async def _page_bob_on_slack(
    ts_env: WorkflowEnvironment,
    settings: Settings,
    org: Org,
    sessionmaker: SessionMaker,
    *slack_ids: str,
) -> tuple[WorkflowHandle[Any, Any], h.IncidentView]:
    """Give Bob verified Slack contact methods and open an incident that pages only him.

    The service has no channel, so the DMs are the only Slack messages.
    """
    async with sessionmaker() as session:
        session.add_all(
            ContactMethod(user_id=org.bob.id, type=ContactType.slack, address=a, verified=True)
            for a in slack_ids
        )
        await session.commit()
    pol = await h.policy(sessionmaker, settings, [h.level(300, org.bob)])
    svc = await h.service(sessionmaker, pol)
    handle = await h.send_alert(ts_env.client, settings, svc, h.alert())
    return handle, await h.opened(handle)


async def test_a_page_to_a_slack_contact_method_is_the_card_and_follows_the_incident(
    slack_http: httpx.AsyncClient,
    ts_env: WorkflowEnvironment,
    settings: Settings,
    org: Org,
    slack_api: SlackStandIn,
    sessionmaker: SessionMaker,
) -> None:
    handle, view = await _page_bob_on_slack(ts_env, settings, org, sessionmaker, "UBOB")

    (dm,) = await slack_api.wait_for("chat.postMessage")
    assert dm.args["channel"] == "UBOB"
    buttons = [e["action_id"] for b in dm.args["blocks"] if b["type"] == "actions"
               for e in b["elements"]]  # fmt: skip
    assert "incident_acknowledge" in buttons

    async def delivered() -> list[Notification] | None:
        async with sessionmaker() as session:
            rows = (await session.scalars(select(Notification))).all()
        return list(rows) if rows else None

    (row,) = await h.eventually(delivered)
    assert (row.channel, row.provider, row.status) == ("slack", "slack", "sent")
    assert row.provider_id == dm.answer["ts"]
    # Acknowledged from the web or the API: the DM shows it, in place.
    await handle.execute_update("acknowledge", h.ActionIn(actor=h.Actor(type="user")))
    update = await updated_to(slack_api, "[ACKNOWLEDGED]")
    assert (update.args["channel"], update.args["ts"]) == (dm.answer["channel"], dm.answer["ts"])
    assert view.incident_id


async def test_a_card_page_to_an_unknown_slack_user_fails_at_once_and_other_methods_go(
    worker: Worker,
    ts_env: WorkflowEnvironment,
    settings: Settings,
    org: Org,
    slack_api: SlackStandIn,
    sessionmaker: SessionMaker,
) -> None:
    """Slack says the user is gone: the card is not retried; the user's other method pages."""
    slack_api.refuse["UGONE"] = "user_not_found"
    await _page_bob_on_slack(ts_env, settings, org, sessionmaker, "UGONE", "UBOB")

    async def both_settled() -> dict[str | None, Notification] | None:
        async with sessionmaker() as session:
            rows = {r.address: r for r in await session.scalars(select(Notification))}
        settled = len(rows) == 2 and "sending" not in {r.status for r in rows.values()}
        return rows if settled else None

    await h.eventually(both_settled)
    await ts_env.sleep(120)  # past every retry a transient error would get (2 s, 4 s, 8 s...)
    rows = await h.eventually(both_settled)
    gone, reached = rows["UGONE"], rows["UBOB"]
    assert (gone.address, gone.status, gone.attempt) == ("UGONE", "failed", 1)
    assert "user_not_found" in (gone.error or "")
    assert (reached.address, reached.status) == ("UBOB", "sent")
    posts = [c.args["channel"] for c in slack_api.to("chat.postMessage")]
    assert posts.count("UGONE") == 1  # never retried
