"""The API with the Slack app on, the Slack Web API stand-in, a worker, and a small org.

Alice (responder) is known to Slack only by e-mail, Bob (responder) and Olly (observer) by a
stored Slack id; the service posts its incidents to #ops (C0OPS) and pages Alice, then Bob.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app.catalog.models import Service
from app.config import Settings
from app.db import SessionMaker
from app.identity.models import Role, User
from app.temporal import LazyClient
from tests import incident_helpers as h
from tests.factories import make_user
from tests.slack_stand_in import (
    BOT_TOKEN,
    SIGNING_SECRET,
    Call,
    SlackStandIn,
    block_actions_body,
    sign,
    slash_command_body,
)

CHANNEL = "C0OPS"
FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "slack_block_actions.json").read_text())


@pytest.fixture
async def slack_api() -> AsyncIterator[SlackStandIn]:
    stand_in = SlackStandIn()
    await stand_in.start()
    yield stand_in
    await stand_in.stop()


@pytest.fixture
def settings(tmp_path_factory: pytest.TempPathFactory, slack_api: SlackStandIn) -> Settings:
    """The test settings with the Slack app configured against the stand-in."""
    return Settings(
        PAGEFREE_DATA_DIR=tmp_path_factory.mktemp("pagefree"),
        PAGEFREE_ENV="test",
        PAGEFREE_MIN_ESCALATION_DELAY=timedelta(seconds=1),
        TEMPORAL_ADDRESS=None,
        DATABASE_URL=None,
        TEMPORAL_TASK_QUEUE=f"test-{uuid.uuid4().hex[:8]}",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_api.api_url,
    )


@pytest.fixture
async def slack_http(
    settings: Settings, database_url: str, ts_env: WorkflowEnvironment, worker: Worker
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the API (Slack app mounted), its Temporal the test server's."""
    from api import create_app

    app = create_app(settings, database_url=database_url)
    app.state.temporal = LazyClient(settings, None, client=ts_env.client)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


@dataclass
class Org:
    alice: User
    bob: User
    olly: User
    service: Service


@pytest.fixture
async def org(sessionmaker: SessionMaker, settings: Settings, slack_api: SlackStandIn) -> Org:
    async with sessionmaker() as session:
        alice = await make_user(session, name="Alice", email="alice@example.com")
        bob = await make_user(session, name="Bob", email="bob@example.com")
        olly = await make_user(session, name="Olly", email="olly@example.com", role=Role.observer)
        bob.slack_user_id, olly.slack_user_id = "UBOB", "UOBS"
        await session.commit()
    slack_api.add_user("UALICE", "Alice@Example.com")
    slack_api.add_user("UBOB", "bob@example.com")
    slack_api.add_user("UOBS", "olly@example.com")
    pol = await h.policy(sessionmaker, settings, [h.level(300, alice), h.level(300, bob)])
    svc = await h.service(sessionmaker, pol, slack_channel_id=CHANNEL)
    return Org(alice=alice, bob=bob, olly=olly, service=svc)


async def open_incident(
    ts_env: WorkflowEnvironment, settings: Settings, org: Org, slack_api: SlackStandIn
) -> tuple[WorkflowHandle[Any, Any], h.IncidentView, str]:
    """Open an incident; wait for its page and its #ops message. Return handle, view, ts."""
    handle = await h.send_alert(ts_env.client, settings, org.service, h.alert())
    view = await h.opened(handle)
    posted = await slack_api.wait_for("chat.postMessage")
    assert posted[0].args["channel"] == CHANNEL
    return handle, view, posted[0].answer["ts"]


def block_action(
    action_id: str,
    incident_id: str,
    *,
    user: str,
    ts: str = "1795300000.000001",
    selected_user: str | None = None,
) -> dict[str, Any]:
    """Return a block_actions payload shaped like Slack's (the shared fixture), for a control."""
    payload = copy.deepcopy(FIXTURE)
    payload["user"] = {"id": user, "username": user.lower(), "team_id": "T0001"}
    payload["container"]["message_ts"] = ts
    payload["container"]["channel_id"] = CHANNEL
    payload["channel"]["id"] = CHANNEL
    action = payload["actions"][0]
    action["action_id"] = action_id
    action["block_id"] = f"incident_actions:{incident_id}"
    if selected_user is None:
        action["value"] = incident_id
    else:
        for key in ("value", "text"):
            action.pop(key, None)
        action["type"] = "users_select"
        action["selected_user"] = selected_user
    return payload


async def press(http: httpx.AsyncClient, payload: dict[str, Any]) -> httpx.Response:
    """Send a signed interactivity request, as Slack does when a button is pressed."""
    body = block_actions_body(payload)
    return await http.post("/slack/events", content=body, headers=sign(body))


async def command(
    http: httpx.AsyncClient, slack_api: SlackStandIn, text: str, *, user: str
) -> httpx.Response:
    """Send a signed `/oncall` slash command."""
    body = slash_command_body(text, user_id=user, response_url=slack_api.response_url())
    return await http.post("/slack/events", content=body, headers=sign(body))


async def updated_to(slack_api: SlackStandIn, marker: str) -> Call:
    """Wait for a chat.update whose text contains `marker`; return it."""

    async def found() -> Call | None:
        return next((c for c in slack_api.to("chat.update") if marker in c.args["text"]), None)

    return await h.eventually(found)  # type: ignore[no-any-return]
