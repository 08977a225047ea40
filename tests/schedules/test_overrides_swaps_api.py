"""Overrides and swaps over HTTP: conflicts, who may make them, audit, and their effect."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.db import SessionMaker
from app.identity.models import Role
from tests.factories import Login, assert_problem, login
from tests.schedules.conftest import URL, Api, layer_body, make_schedule


async def _who(api: Api, schedule: dict, at: str) -> list[str]:  # type: ignore[type-arg]
    answer = await api("GET", f"{URL}/{schedule['id']}/on-call", at=at)
    assert answer.status_code == 200, answer.text
    return [u["name"] for u in answer.json()["users"]]


async def test_override_covers_its_range_and_is_audited(
    api: Api, admin: Login, bob: Login, carol: Login, sessionmaker: SessionMaker
) -> None:
    schedule = await make_schedule(api, bob)
    url = f"{URL}/{schedule['id']}/overrides"
    # Naive times are wall-clock times in the schedule's zone (Berlin, UTC+1 in March).
    body = {"user_id": str(carol.user.id), "start": "2026-03-03T20:00", "end": "2026-03-04T10:00"}
    created = await api("POST", url, body)
    assert created.status_code == 201, created.text
    override = created.json()
    assert (override["start"], override["end"]) == ("2026-03-03T19:00:00Z", "2026-03-04T09:00:00Z")
    assert override["created_by"] == str(admin.user.id)
    assert await _who(api, schedule, "2026-03-03T18:59:00Z") == ["Bob"]
    assert await _who(api, schedule, "2026-03-04T08:00:00Z") == ["Carol"]  # across the hand-off
    assert await _who(api, schedule, "2026-03-04T09:00:00Z") == ["Bob"]
    assert (await api("GET", url)).json() == [override]
    assert (await api("GET", url, since="2026-03-05T00:00:00Z")).json() == []

    assert (await api("DELETE", f"{url}/{override['id']}")).status_code == 204
    assert await _who(api, schedule, "2026-03-04T08:00:00Z") == ["Bob"]
    assert_problem(await api("DELETE", f"{url}/{override['id']}"), 404)
    async with sessionmaker() as session:
        events = (
            await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.entity_id == override["id"])
                .order_by(AuditEvent.id)
            )
        ).all()
    assert [e.action for e in events] == ["schedule_override.create", "schedule_override.delete"]
    assert events[0].after["schedule_id"] == schedule["id"]


async def test_overlapping_overrides_are_422_and_touching_ones_are_fine(
    api: Api, bob: Login, carol: Login
) -> None:
    schedule = await make_schedule(api, bob)
    url = f"{URL}/{schedule['id']}/overrides"
    first = {
        "user_id": str(carol.user.id),
        "start": "2026-03-03T08:00Z",
        "end": "2026-03-03T12:00Z",
    }
    made = (await api("POST", url, first)).json()
    clash = {**first, "start": "2026-03-03T11:00Z", "end": "2026-03-03T13:00Z"}
    problem = assert_problem(await api("POST", url, clash), 422)
    assert problem["errors"][0]["field"] == "start" and made["id"] in problem["detail"]
    assert problem["conflicts_with"] == [made["id"]]
    inside = {**first, "start": "2026-03-03T09:00Z", "end": "2026-03-03T10:00Z"}
    assert_problem(await api("POST", url, inside), 422)
    touching = {**first, "start": "2026-03-03T12:00Z", "end": "2026-03-03T13:00Z"}
    assert (await api("POST", url, touching)).status_code == 201
    assert len((await api("GET", url)).json()) == 2


async def test_bad_overrides_are_422_naming_the_field(api: Api, bob: Login) -> None:
    schedule = await make_schedule(api, bob)
    url = f"{URL}/{schedule['id']}/overrides"
    me = str(bob.user.id)
    cases = [
        ({"user_id": me, "start": "2026-03-03T10:00Z", "end": "2026-03-03T09:00Z"}, "body.end"),
        ({"user_id": me, "start": "2026-03-03T10:00Z", "end": "2026-03-03T10:00Z"}, "body.end"),
        ({"user_id": str(uuid.uuid4()), "start": "2026-03-03", "end": "2026-03-04"}, "user_id"),
        ({"user_id": me, "start": "1800-01-01T00:00Z", "end": "2026-03-04"}, "start"),
        ({"user_id": me, "start": "yesterday", "end": "2026-03-04"}, "body.start"),
        ({"user_id": me, "end": "2026-03-04"}, "body.start"),
    ]
    for body, field in cases:
        problem = assert_problem(await api("POST", url, body), 422)
        assert field in [e["field"] for e in problem["errors"]], (body, problem)
    valid = {"user_id": me, "start": "2026-03-03T09:00Z", "end": "2026-03-03T10:00Z"}
    assert_problem(await api("POST", f"{URL}/{uuid.uuid4()}/overrides", valid), 404)
    assert (await api("GET", url)).json() == []


async def test_responders_override_only_for_themselves_and_observers_not_at_all(
    api: Api, bob: Login, carol: Login, sessionmaker: SessionMaker
) -> None:
    schedule = await make_schedule(api, bob)
    url = f"{URL}/{schedule['id']}/overrides"
    mine = {"user_id": str(carol.user.id), "start": "2026-03-03T08:00Z", "end": "2026-03-03T12:00Z"}
    theirs = {
        **mine,
        "user_id": str(bob.user.id),
        "start": "2026-03-05T08:00Z",
        "end": "2026-03-05T09:00Z",
    }
    made = await api("POST", url, mine, as_=carol)
    assert made.status_code == 201, made.text
    assert_problem(await api("POST", url, theirs, as_=carol), 403)
    by_admin = (await api("POST", url, theirs)).json()
    assert_problem(await api("DELETE", f"{url}/{by_admin['id']}", as_=carol), 403)
    observer = await login(sessionmaker, role=Role.observer)
    mine_too = {**mine, "user_id": str(observer.user.id), "start": "2026-03-06T08:00Z"}
    assert_problem(await api("POST", url, mine_too, as_=observer), 403)
    assert (await api("GET", url, as_=observer)).status_code == 200
    assert (await api("DELETE", f"{url}/{made.json()['id']}", as_=carol)).status_code == 204


async def test_a_swap_trades_two_shifts_and_can_be_undone(
    api: Api, bob: Login, carol: Login, sessionmaker: SessionMaker
) -> None:
    schedule = await make_schedule(api, bob, carol)  # Bob on 2 March, Carol on the 3rd, ...
    layer_id = schedule["layers"][0]["id"]
    url = f"{URL}/{schedule['id']}/swaps"
    swap = {
        "layer_id": layer_id,
        "user_id": str(bob.user.id),
        "start": "2026-03-04T09:00",  # Bob's Wednesday (local time)
        "with_user_id": str(carol.user.id),
        "with_start": "2026-03-05T08:00Z",  # Carol's Thursday (an instant)
    }
    made = await api("POST", url, swap, as_=bob)
    assert made.status_code == 201, made.text
    assert made.json()["start"] == "2026-03-04T08:00:00Z"
    assert await _who(api, schedule, "2026-03-04T12:00:00Z") == ["Carol"]
    assert await _who(api, schedule, "2026-03-05T12:00:00Z") == ["Bob"]
    assert await _who(api, schedule, "2026-03-06T12:00:00Z") == ["Bob"]  # untouched
    assert (await api("GET", url)).json() == [made.json()]
    assert (await api("GET", f"{URL}/{schedule['id']}")).json()["swaps"] == [made.json()]

    again = {**swap, "with_start": "2026-03-07T08:00Z"}
    problem = assert_problem(await api("POST", url, again), 422)
    assert "already traded" in problem["detail"]
    assert (await api("DELETE", f"{url}/{made.json()['id']}", as_=carol)).status_code == 204
    assert await _who(api, schedule, "2026-03-04T12:00:00Z") == ["Bob"]
    async with sessionmaker() as session:
        actions = (
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.entity_id == made.json()["id"])
            )
        ).all()
    assert sorted(actions) == ["schedule_swap.create", "schedule_swap.delete"]


async def test_bad_swaps_are_422_naming_the_field(
    api: Api, bob: Login, carol: Login, sessionmaker: SessionMaker
) -> None:
    dave = await login(sessionmaker)
    schedule = await make_schedule(api, bob, carol)
    url = f"{URL}/{schedule['id']}/swaps"
    ok = {
        "layer_id": schedule["layers"][0]["id"],
        "user_id": str(bob.user.id),
        "start": "2026-03-04T09:00",
        "with_user_id": str(carol.user.id),
        "with_start": "2026-03-05T09:00",
    }
    cases = [
        ({"layer_id": str(uuid.uuid4())}, "layer_id", "not in the schedule"),
        ({"with_user_id": str(dave.user.id)}, "with_user_id", "is not in layer"),
        ({"with_user_id": str(bob.user.id)}, "with_user_id", "two different users"),
        ({"start": "2026-03-04T10:00"}, "start", "no shift of user"),  # not a hand-off
        ({"start": "2026-03-05T09:00"}, "start", "no shift of user"),  # Carol's shift
        ({"with_start": "not-a-date"}, "body.with_start", ""),
    ]
    for change, field, message in cases:
        problem = assert_problem(await api("POST", url, {**ok, **change}), 422)
        assert field in [e["field"] for e in problem["errors"]], (change, problem)
        assert message in problem["detail"]
    # Only a party to the swap (or an admin) may make it.
    assert_problem(await api("POST", url, ok, as_=dave), 403)
    assert (await api("GET", url)).json() == []


async def test_replacing_layers_drops_swaps_of_removed_layers_only(
    api: Api, bob: Login, carol: Login
) -> None:
    schedule = await make_schedule(api, bob, carol)
    layer = schedule["layers"][0]
    swap = {
        "layer_id": layer["id"],
        "user_id": str(bob.user.id),
        "start": "2026-03-04T09:00",
        "with_user_id": str(carol.user.id),
        "with_start": "2026-03-05T09:00",
    }
    assert (await api("POST", f"{URL}/{schedule['id']}/swaps", swap)).status_code == 201
    url = f"{URL}/{schedule['id']}"
    kept = await api("PATCH", url, {"layers": [{**layer, "name": "Renamed"}]})
    assert len(kept.json()["swaps"]) == 1
    dropped = await api("PATCH", url, {"layers": [layer_body(bob, carol)]})
    assert dropped.json()["swaps"] == []
