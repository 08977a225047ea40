"""Action items over the API: their states, filters across postmortems, who may change them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
from sqlalchemy import select

from app.db import SessionMaker
from app.postmortems.action_items import due_instant
from app.postmortems.models import ActionItem
from tests.factories import Login, assert_problem
from tests.postmortems.conftest import World


async def _postmortem(client: httpx.AsyncClient, world: World) -> str:
    r = await client.post(
        "/api/v1/postmortems",
        json={"incident_ids": [str(world.incident.id)]},
        headers=world.responder.headers,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _item(
    client: httpx.AsyncClient, pm_id: str, by: Login, assignee: Login, **extra: object
) -> httpx.Response:
    return await client.post(
        f"/api/v1/postmortems/{pm_id}/action-items",
        json={"title": "Add a canary stage", "assignee_id": str(assignee.user.id), **extra},
        headers=by.headers,
    )


async def test_items_move_open_in_progress_completed_and_reopen_and_nothing_else(
    client: httpx.AsyncClient, world: World
) -> None:
    pm_id = await _postmortem(client, world)
    r = await _item(client, pm_id, world.responder, world.colleague, priority="high")
    assert r.status_code == 201, r.text
    item = r.json()
    assert (item["status"], item["priority"], item["overdue"]) == ("open", "high", False)
    url = f"/api/v1/action-items/{item['id']}"
    h = world.colleague.headers

    async def move(to: str) -> httpx.Response:
        return await client.patch(url, json={"status": to}, headers=h)

    body = assert_problem(await move("completed"), 409)  # open → completed skips a step
    assert "in_progress" in body["detail"]
    assert (await move("in_progress")).json()["status"] == "in_progress"
    done = (await move("completed")).json()
    assert done["status"] == "completed" and done["completed_at"]
    assert_problem(await move("in_progress"), 409)
    reopened = (await move("open")).json()
    assert reopened["status"] == "open" and reopened["completed_at"] is None
    assert_problem(await client.patch(url, json={"status": "closed"}, headers=h), 422)
    r = await client.patch(url, json={"title": "Add a canary stage to deploys"}, headers=h)
    assert r.json()["title"] == "Add a canary stage to deploys"


async def test_list_filters_by_assignee_status_and_overdue_across_postmortems(
    client: httpx.AsyncClient, world: World, sessionmaker: SessionMaker
) -> None:
    first, second = await _postmortem(client, world), await _postmortem(client, world)
    a = (await _item(client, first, world.responder, world.colleague)).json()
    b = (await _item(client, second, world.responder, world.colleague)).json()
    c = (await _item(client, second, world.responder, world.responder)).json()
    await client.patch(
        f"/api/v1/action-items/{b['id']}",
        json={"status": "in_progress"},
        headers=world.colleague.headers,
    )
    async with sessionmaker() as session:  # a was due yesterday (its reminder is tested elsewhere)
        row = await session.get(ActionItem, a["id"])
        assert row is not None
        row.due_date = date.today() - timedelta(days=1)
        row.due_at = datetime.now(UTC) - timedelta(hours=1)
        await session.commit()

    async def ids(**params: str) -> list[str]:
        r = await client.get("/api/v1/action-items", params=params, headers=world.responder.headers)
        assert r.status_code == 200, r.text
        return sorted(i["id"] for i in r.json()["data"])

    assert await ids(assignee_id=str(world.colleague.user.id)) == sorted([a["id"], b["id"]])
    assert await ids(status="in_progress") == [b["id"]]
    assert await ids(overdue="true") == [a["id"]]
    assert await ids(overdue="false") == sorted([b["id"], c["id"]])
    assert await ids() == sorted([a["id"], b["id"], c["id"]])
    overdue = (
        await client.get(f"/api/v1/action-items/{a['id']}", headers=world.responder.headers)
    ).json()
    assert overdue["overdue"] is True
    # An outsider sees none of a draft's items.
    r = await client.get("/api/v1/action-items", headers=world.outsider.headers)
    assert r.json()["data"] == []


async def test_the_assignee_and_the_team_change_items_observers_and_outsiders_do_not(
    client: httpx.AsyncClient, world: World
) -> None:
    pm_id = await _postmortem(client, world)
    assert_problem(await _item(client, pm_id, world.outsider, world.outsider), 404)  # draft unseen
    assert_problem(await _item(client, pm_id, world.observer, world.observer), 404)
    await client.post(f"/api/v1/postmortems/{pm_id}/review", headers=world.responder.headers)
    await client.post(f"/api/v1/postmortems/{pm_id}/publish", headers=world.responder.headers)
    assert_problem(await _item(client, pm_id, world.outsider, world.outsider), 403)
    assert_problem(await _item(client, pm_id, world.observer, world.observer), 403)
    item = (await _item(client, pm_id, world.responder, world.outsider)).json()
    url = f"/api/v1/action-items/{item['id']}"
    r = await client.patch(url, json={"status": "in_progress"}, headers=world.outsider.headers)
    assert r.status_code == 200, r.text  # the assignee moves their own item
    assert_problem(
        await client.patch(url, json={"title": "x"}, headers=world.observer.headers), 403
    )
    bad = await _item(
        client,
        pm_id,
        world.responder,
        world.responder,
        assignee_id="00000000-0000-0000-0000-000000000000",
    )
    assert assert_problem(bad, 422)["errors"][0]["field"] == "assignee_id"


async def test_an_item_with_a_due_date_is_refused_whole_while_temporal_is_down(
    client: httpx.AsyncClient, world: World, sessionmaker: SessionMaker
) -> None:
    pm_id = await _postmortem(client, world)
    r = await _item(client, pm_id, world.responder, world.colleague, due_date="2030-01-31")
    assert_problem(r, 503)
    async with sessionmaker() as session:
        assert (await session.scalars(select(ActionItem))).all() == []


async def test_a_due_date_ends_where_the_assignee_lives() -> None:
    assert due_instant(date(2026, 3, 28), "Europe/Berlin") == datetime(
        2026, 3, 28, 23, 0, tzinfo=UTC
    )
    assert due_instant(date(2026, 3, 29), "Europe/Berlin") == datetime(
        2026, 3, 29, 22, 0, tzinfo=UTC
    )
    assert due_instant(date(2026, 3, 29), "UTC") == datetime(2026, 3, 30, tzinfo=UTC)
    assert due_instant(None, "UTC") is None
