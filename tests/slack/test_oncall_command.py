"""`/oncall`: who, ack, resolve, trigger and help, answered through the command's response_url."""

from __future__ import annotations

import httpx
from temporalio.testing import WorkflowEnvironment

from app.config import Settings
from app.db import SessionMaker
from tests import incident_helpers as h
from tests.slack.conftest import Org, command, open_incident
from tests.slack_stand_in import SlackStandIn


async def _answer(slack_api: SlackStandIn, n: int = 1) -> dict[str, object]:
    return (await slack_api.wait_for("response_url", n))[n - 1].args


async def test_help_is_ephemeral_and_share_posts_to_the_channel(
    slack_http: httpx.AsyncClient, slack_api: SlackStandIn, org: Org
) -> None:
    r = await command(slack_http, slack_api, "help", user="UNOBODY")
    assert r.status_code == 200
    answer = await _answer(slack_api)
    assert answer["response_type"] == "ephemeral"
    assert "/oncall ack N" in str(answer["text"])
    await command(slack_http, slack_api, "who checkout --share", user="UBOB")
    answer = await _answer(slack_api, 2)
    assert answer["response_type"] == "in_channel"
    await command(slack_http, slack_api, "dance", user="UBOB")
    assert str((await _answer(slack_api, 3))["text"]).startswith("I don't know `dance`")


async def test_who_names_the_people_each_level_pages_now(
    slack_http: httpx.AsyncClient, slack_api: SlackStandIn, org: Org
) -> None:
    await command(slack_http, slack_api, f"who {org.service.routing_key}", user="UOBS")
    text = str((await _answer(slack_api))["text"])
    assert text == f"*{org.service.name}* pages now:\n• level 1: Alice\n• level 2: Bob"
    await command(slack_http, slack_api, "who nothing-like-this", user="UOBS")
    assert "no service or schedule called" in str((await _answer(slack_api, 2))["text"])


async def test_ack_and_resolve_by_number_go_through_the_workflow(
    slack_http: httpx.AsyncClient,
    ts_env: WorkflowEnvironment,
    settings: Settings,
    org: Org,
    slack_api: SlackStandIn,
    sessionmaker: SessionMaker,
) -> None:
    handle, view, _ = await open_incident(ts_env, settings, org, slack_api)
    n = view.number
    await command(slack_http, slack_api, f"ack #{n}", user="UBOB")
    assert (await _answer(slack_api))["text"] == f"You acknowledged #{n}: CPU on fire"
    assert (await h.view(handle)).acknowledged_by == str(org.bob.id)
    await command(slack_http, slack_api, f"ack {n}", user="UBOB")
    assert "already acknowledged" in str((await _answer(slack_api, 2))["text"])
    await command(slack_http, slack_api, f"resolve {n} disk cleaned up", user="UALICE")
    assert (await _answer(slack_api, 3))["text"] == f"You resolved #{n}: CPU on fire"
    await handle.result()
    events = await h.timeline(sessionmaker, view.incident_id)
    resolved = next(e for e in events if e.type == "resolved")
    assert resolved.detail == {"note": "disk cleaned up"}
    assert resolved.actor == {"type": "user", "id": str(org.alice.id), "via": "slack"}
    await command(slack_http, slack_api, f"resolve {n}", user="UBOB")
    assert "already resolved" in str((await _answer(slack_api, 4))["text"])
    await command(slack_http, slack_api, "ack 999999", user="UBOB")
    assert (await _answer(slack_api, 5))["text"] == "There is no incident #999999."


async def test_trigger_opens_an_incident_on_the_named_service(
    slack_http: httpx.AsyncClient, org: Org, slack_api: SlackStandIn, sessionmaker: SessionMaker
) -> None:
    await command(
        slack_http, slack_api, f'trigger "{org.service.name}" Checkout is down', user="UBOB"
    )
    text = str((await _answer(slack_api))["text"])
    assert text.startswith("Opened #") and text.endswith(f"on {org.service.name}: Checkout is down")
    number = int(text.removeprefix("Opened #").split()[0])
    from app.slack import service as slack

    async with sessionmaker() as session:
        incident = await slack.incident_by_number(session=session, number=number)
    assert incident is not None and incident.title == "Checkout is down"
    events = await h.timeline(sessionmaker, str(incident.id))
    assert events[0].type == "triggered"
    assert events[0].actor == {"type": "user", "id": str(org.bob.id), "via": "slack"}
    await command(slack_http, slack_api, "trigger no-such-service Oops", user="UBOB")
    assert "no service called `no-such-service`" in str((await _answer(slack_api, 2))["text"])


async def test_unknown_users_and_observers_are_told_why(
    slack_http: httpx.AsyncClient,
    ts_env: WorkflowEnvironment,
    settings: Settings,
    org: Org,
    slack_api: SlackStandIn,
) -> None:
    handle, view, _ = await open_incident(ts_env, settings, org, slack_api)
    await command(slack_http, slack_api, f"ack {view.number}", user="UNOBODY")
    assert "not linked to a PageFree user" in str((await _answer(slack_api))["text"])
    await command(slack_http, slack_api, f"resolve {view.number}", user="UOBS")
    assert "*observer*" in str((await _answer(slack_api, 2))["text"])
    await command(slack_http, slack_api, f"trigger {org.service.routing_key} x", user="UOBS")
    assert "*observer*" in str((await _answer(slack_api, 3))["text"])
    assert (await h.view(handle)).status == "triggered"
