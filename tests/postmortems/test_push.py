"""Pushing action items to Jira and Linear through connections (stand-ins on loopback)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.config import Settings
from tests.connections import standins
from tests.factories import assert_problem
from tests.live_server import serve
from tests.postmortems.conftest import World


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"allow_private_targets": True})


@pytest.fixture
def recorded() -> standins.Recorded:
    return standins.Recorded()


@pytest.fixture
async def urls(recorded: standins.Recorded) -> AsyncIterator[tuple[str, str]]:
    async with serve(standins.jira(recorded)) as jira, serve(standins.linear(recorded)) as linear:
        yield jira, f"{linear}/graphql"


async def _item(client: httpx.AsyncClient, world: World) -> str:
    r = await client.post(
        "/api/v1/postmortems",
        json={"incident_ids": [str(world.incident.id)], "title": "Checkout outage"},
        headers=world.responder.headers,
    )
    r = await client.post(
        f"/api/v1/postmortems/{r.json()['id']}/action-items",
        json={
            "title": "Alert on queue depth",
            "assignee_id": str(world.colleague.user.id),
            "priority": "high",
        },
        headers=world.responder.headers,
    )
    return str(r.json()["id"])


async def _connection(client: httpx.AsyncClient, world: World, body: dict[str, object]) -> str:
    r = await client.post("/api/v1/connections", json=body, headers=world.admin.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_an_item_pushed_to_jira_keeps_the_issue_link_and_is_pushed_once(
    client: httpx.AsyncClient, world: World, urls: tuple[str, str], recorded: standins.Recorded
) -> None:
    jira, _ = urls
    cid = await _connection(
        client,
        world,
        {
            "type": "jira",
            "name": "Jira",
            "config": {
                "base_url": jira,
                "email": standins.JIRA_EMAIL,
                "api_token": standins.JIRA_TOKEN,
            },
        },
    )
    item = await _item(client, world)
    url = f"/api/v1/action-items/{item}/push"
    missing = await client.post(url, json={"connection_id": cid}, headers=world.responder.headers)
    assert assert_problem(missing, 422)["errors"][0]["field"] == "project_key"
    wrong = await client.post(
        url, json={"connection_id": cid, "project_key": "NOPE"}, headers=world.responder.headers
    )
    assert "valid project is required" in assert_problem(wrong, 409)["detail"]
    r = await client.post(
        url, json={"connection_id": cid, "project_key": "OPS"}, headers=world.responder.headers
    )
    assert r.status_code == 200, r.text
    pushed = r.json()
    assert pushed["external_key"] == "OPS-2"
    assert pushed["external_url"] == f"{jira}/browse/OPS-2"
    fields = recorded.requests[-1]["body"]["fields"]
    assert fields["summary"] == "Alert on queue depth"
    assert fields["issuetype"] == {"name": "Task"}
    assert fields["description"]["type"] == "doc" and fields["description"]["version"] == 1
    first = fields["description"]["content"][0]["content"][0]
    assert first == {"type": "text", "text": "Action item from the postmortem “Checkout outage”."}
    again = await client.post(
        url, json={"connection_id": cid, "project_key": "OPS"}, headers=world.responder.headers
    )
    assert_problem(again, 409)
    assert len(recorded.requests) == 2
    got = (await client.get(f"/api/v1/action-items/{item}", headers=world.colleague.headers)).json()
    assert got["external_url"] == pushed["external_url"]


async def test_an_item_pushed_to_linear_keeps_the_issue_url(
    client: httpx.AsyncClient, world: World, urls: tuple[str, str], recorded: standins.Recorded
) -> None:
    _, linear = urls
    cid = await _connection(
        client,
        world,
        {
            "type": "linear",
            "name": "Linear",
            "config": {"api_key": standins.LINEAR_KEY, "api_url": linear},
        },
    )
    item = await _item(client, world)
    url = f"/api/v1/action-items/{item}/push"
    r = await client.post(
        url, json={"connection_id": cid, "team_id": "team-nope"}, headers=world.responder.headers
    )
    assert "Entity not found: Team" in assert_problem(r, 409)["detail"]
    r = await client.post(
        url, json={"connection_id": cid, "team_id": "team-eng"}, headers=world.responder.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["external_url"] == "https://linear.app/acme/issue/ENG-2/title"
    assert r.json()["external_key"] == "ENG-2"
    sent = recorded.requests[-1]
    assert "issueCreate(input: $input)" in sent["query"]
    assert sent["variables"]["input"]["teamId"] == "team-eng"
    assert sent["variables"]["input"]["title"] == "Alert on queue depth"
    assert "Priority: high" in sent["variables"]["input"]["description"]


async def test_only_those_who_may_change_the_item_push_it_and_only_to_issue_trackers(
    client: httpx.AsyncClient, world: World, urls: tuple[str, str]
) -> None:
    cid = await _connection(
        client,
        world,
        {"type": "basic", "name": "Basic", "config": {"username": "u", "password": "p"}},
    )
    item = await _item(client, world)
    url = f"/api/v1/action-items/{item}/push"
    r = await client.post(
        url, json={"connection_id": cid, "project_key": "OPS"}, headers=world.responder.headers
    )
    assert assert_problem(r, 422)["errors"][0]["field"] == "connection_id"
    assert_problem(
        await client.post(url, json={"connection_id": cid}, headers=world.outsider.headers), 404
    )
    assert_problem(
        await client.post(url, json={"connection_id": cid}, headers=world.observer.headers), 404
    )
