"""Every request to /slack/events is verified by Bolt: signature and timestamp."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx

from app.config import Settings
from tests.slack.conftest import block_action, press
from tests.slack_stand_in import SlackStandIn, block_actions_body, sign


async def test_a_bad_signature_is_refused_with_a_problem(
    slack_http: httpx.AsyncClient, slack_api: SlackStandIn
) -> None:
    body = block_actions_body(block_action("incident_acknowledge", "x", user="UBOB"))
    headers = sign(body, secret="not-the-signing-secret")
    r = await slack_http.post("/slack/events", content=body, headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "/problems/slack-signature"
    assert slack_api.calls == []  # nothing was done for it


async def test_a_tampered_body_is_refused(slack_http: httpx.AsyncClient) -> None:
    body = block_actions_body(block_action("incident_acknowledge", "x", user="UBOB"))
    headers = sign(body)
    r = await slack_http.post(
        "/slack/events", content=body.replace("UBOB", "UADM"), headers=headers
    )
    assert r.status_code == 401


async def test_a_stale_timestamp_is_refused_even_when_signed(
    slack_http: httpx.AsyncClient, slack_api: SlackStandIn
) -> None:
    body = block_actions_body(block_action("incident_acknowledge", "x", user="UBOB"))
    r = await slack_http.post(
        "/slack/events", content=body, headers=sign(body, at=int(time.time()) - 6 * 60)
    )
    assert r.status_code == 401
    assert r.json()["status"] == 401
    assert slack_api.calls == []


async def test_missing_signature_headers_are_refused(slack_http: httpx.AsyncClient) -> None:
    r = await slack_http.post(
        "/slack/events",
        content="payload=%7B%7D",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 401


async def test_url_verification_answers_the_challenge(slack_http: httpx.AsyncClient) -> None:
    body = json.dumps(
        {"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV", "type": "url_verification"}
    )
    headers = {**sign(body), "Content-Type": "application/json"}
    r = await slack_http.post("/slack/events", content=body, headers=headers)
    assert r.status_code == 200
    assert r.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV"}


async def test_a_signed_press_is_acknowledged_at_once(
    slack_http: httpx.AsyncClient, slack_api: SlackStandIn
) -> None:
    r = await press(slack_http, block_action("incident_acknowledge", "not-a-uuid", user="UBOB"))
    assert r.status_code == 200
    (reply,) = await slack_api.wait_for("chat.postEphemeral")
    assert reply.args["user"] == "UBOB"
    assert "does not name a PageFree incident" in reply.args["text"]


async def test_without_slack_settings_the_endpoint_is_a_404_problem(settings: Settings) -> None:
    from api import create_app

    bare = create_app(Settings(PAGEFREE_DATA_DIR=settings.data_dir, PAGEFREE_ENV="test"))
    transport = httpx.ASGITransport(app=bare, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        r = await c.post("/slack/events", content="x=1")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_slack_gets_its_answer_before_the_work_is_done(
    slack_http: httpx.AsyncClient, slack_api: SlackStandIn
) -> None:
    await press(slack_http, block_action("incident_acknowledge", "warm-up", user="UBOB"))
    await slack_api.wait_for("chat.postEphemeral")  # Bolt's one-time auth.test is behind us
    slack_api.hold, slack_api.held = asyncio.Event(), ("users.info",)
    payload = block_action("incident_acknowledge", str(uuid.uuid4()), user="USLOW")
    started = time.monotonic()
    r = await press(slack_http, payload)
    answered = time.monotonic() - started
    assert r.status_code == 200 and answered < 1.0  # Slack's limit is 3 s
    await slack_api.wait_for("users.info")  # the work goes on after the answer...
    assert len(slack_api.to("chat.postEphemeral")) == 1  # ...and has not replied yet
    slack_api.hold.set()
    await slack_api.wait_for("chat.postEphemeral", 2)
    assert "not linked to a PageFree user" in slack_api.to("chat.postEphemeral")[1].args["text"]
