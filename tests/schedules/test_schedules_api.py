"""Schedules over HTTP: create, read, change, delete; validation, roles, audit, references."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.db import SessionMaker
from app.identity.models import Role
from tests.factories import Login, assert_problem, login
from tests.schedules.conftest import URL, Api, layer_body, make_schedule

MISSING = str(uuid.uuid4())


async def _audit(sessionmaker: SessionMaker, entity_id: str) -> list[AuditEvent]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(AuditEvent).where(AuditEvent.entity_id == entity_id).order_by(AuditEvent.id)
        )
        return list(rows.all())


async def test_schedule_lifecycle_is_audited(
    api: Api, admin: Login, bob: Login, carol: Login, sessionmaker: SessionMaker
) -> None:
    weekend = {"type": "weekly", "start_time": "18:00", "duration": "P2DT14H", "start_day": "fri"}
    body = {
        "name": "Checkout primary",
        "description": "Payments",
        "timezone": "Europe/Berlin",
        "layers": [
            layer_body(bob, carol, bob),
            # An aware start is kept as the wall-clock time it means in the schedule's zone.
            layer_body(carol, name="Weekend", start="2026-03-02T08:00:00Z", restrictions=[weekend]),
        ],
    }
    created = await api("POST", URL, body)
    assert created.status_code == 201, created.text
    schedule = created.json()
    first, second = schedule["layers"]
    assert first["start"] == "2026-03-02T09:00:00" and first["rotation_length"] == "P1D"
    assert first["users"] == [str(bob.user.id), str(carol.user.id), str(bob.user.id)]
    assert second["start"] == "2026-03-02T09:00:00" and second["restrictions"] == [
        {"type": "weekly", "start_time": "18:00", "duration": "P2DT14H", "start_day": "fri"}
    ]
    assert uuid.UUID(first["id"]) and schedule["overrides"] == [] and schedule["swaps"] == []
    assert (await api("GET", f"{URL}/{schedule['id']}")).json() == schedule
    listed = (await api("GET", URL, q="checkout")).json()
    assert listed["count"] == 1 and listed["data"][0]["id"] == schedule["id"]

    patch = {"timezone": "America/New_York", "layers": [{**first, "users": [str(carol.user.id)]}]}
    patched = await api("PATCH", f"{URL}/{schedule['id']}", patch)
    assert patched.status_code == 200, patched.text
    assert patched.json()["timezone"] == "America/New_York"
    assert [lv["id"] for lv in patched.json()["layers"]] == [first["id"]]
    assert patched.json()["name"] == "Checkout primary" and patched.json()["updated_at"]

    assert (await api("DELETE", f"{URL}/{schedule['id']}")).status_code == 204
    assert_problem(await api("GET", f"{URL}/{schedule['id']}"), 404)
    events = await _audit(sessionmaker, schedule["id"])
    assert [e.action for e in events] == ["schedule.create", "schedule.update", "schedule.delete"]
    assert all(e.actor_id == str(admin.user.id) for e in events)
    assert events[1].before["timezone"] == "Europe/Berlin"
    assert events[1].after["layers"][0]["users"] == [str(carol.user.id)]
    assert events[2].before["name"] == "Checkout primary" and events[2].after is None


ME = "me"  # replaced by the admin's user id
OK_LAYER = {"name": "L", "start": "2026-03-02T09:00:00", "rotation_length": "P1D", "users": [ME]}


def _with_layer(**change: Any) -> dict[str, Any]:
    return {"layers": [{**OK_LAYER, **change}]}


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "body.timezone", "unknown IANA time zone"),
        ({"timezone": "EST5EDT-ish"}, "body.timezone", "unknown IANA time zone"),
        ({"layers": []}, "body.layers", "at least 1"),
        (_with_layer(users=[]), "body.layers.0.users", "at least 1"),
        (_with_layer(users=[MISSING]), "layers.0.users.0", "does not exist"),
        (_with_layer(rotation_length=None), "body.layers.0.rotation_length", "handoff_rrule"),
        (_with_layer(rotation_length="PT30S"), "body.layers.0.rotation_length", "between"),
        (_with_layer(rotation_length="P400D"), "body.layers.0.rotation_length", "between"),
        (_with_layer(rotation_length="weekly"), "body.layers.0.rotation_length", ""),
        (
            _with_layer(handoff_rrule="FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"),
            "body.layers.0.handoff_rrule",
            "never fires",
        ),
        (
            _with_layer(handoff_rrule="FREQ=MINUTELY;BYSECOND=0,30"),
            "body.layers.0.handoff_rrule",
            "more than once a minute",
        ),
        (_with_layer(handoff_rrule="FREQ=SECONDLY"), "body.layers.0.handoff_rrule", "minute"),
        (_with_layer(handoff_rrule="FREQ=DAILY;BYHOUR=24"), "body.layers.0.handoff_rrule", ""),
        (_with_layer(start="1900-01-01T00:00:00"), "body.layers.0.start", "between 1971"),
        (_with_layer(start="not a date"), "body.layers.0.start", ""),
        (
            _with_layer(
                restrictions=[{"type": "daily", "start_time": "25:00", "duration": "PT1H"}]
            ),
            "body.layers.0.restrictions.0.start_time",
            "",
        ),
        (
            _with_layer(
                restrictions=[{"type": "weekly", "start_time": "09:00", "duration": "PT8H"}]
            ),
            "body.layers.0.restrictions.0",
            "start_day",
        ),
        (
            _with_layer(restrictions=[{"type": "daily", "start_time": "09:00", "duration": "P2D"}]),
            "body.layers.0.restrictions.0",
            "at most 1 day",
        ),
        (
            _with_layer(
                restrictions=[{"type": "daily", "start_time": "09:00", "duration": "PT0S"}]
            ),
            "body.layers.0.restrictions.0",
            "more than 0",
        ),
        (
            {
                "overrides": [
                    {"user_id": ME, "start": "2026-03-03T10:00", "end": "2026-03-03T09:00"}
                ]
            },
            "body.overrides.0.end",
            "end must be after start",
        ),
        (
            {
                "overrides": [
                    {"user_id": ME, "start": "2026-03-03T09:00", "end": "2026-03-03T12:00"},
                    {"user_id": ME, "start": "2026-03-03T11:00", "end": "2026-03-03T13:00"},
                ]
            },
            "overrides.1.start",
            "overlaps another override",
        ),
        (
            {"overrides": [{"user_id": MISSING, "start": "2026-03-03", "end": "2026-03-04"}]},
            "overrides.0.user_id",
            "does not exist",
        ),
        ({"name": ""}, "body.name", ""),
        ({"layers": "P1D"}, "body.layers", ""),
    ],
)
async def test_invalid_schedules_are_422_naming_the_field(
    api: Api, admin: Login, body: dict[str, Any], field: str, message: str
) -> None:
    full = {"name": "S", "timezone": "Europe/Berlin", **_with_layer(), **body}
    raw = json.dumps(full).replace(f'"{ME}"', f'"{admin.user.id}"')
    problem = assert_problem(await api("POST", URL, json.loads(raw)), 422)
    assert field in [e["field"] for e in problem["errors"]], problem
    assert message in problem["detail"]
    assert (await api("GET", URL)).json()["count"] == 0


async def test_invalid_patch_changes_nothing(api: Api, bob: Login) -> None:
    schedule = await make_schedule(api, bob)
    url = f"{URL}/{schedule['id']}"
    for patch in (
        {"timezone": "Nowhere/Special"},
        {"timezone": None},
        {"layers": None},
        {"name": None},
        {"layers": [layer_body(bob, handoff_rrule="FREQ=WEEKLY;COUNT=2")]},
        {"layers": [{**layer_body(bob), "users": [MISSING]}]},
    ):
        assert_problem(await api("PATCH", url, patch), 422)
    assert (await api("GET", url)).json() == schedule


async def test_names_are_unique_case_insensitively(api: Api, bob: Login) -> None:
    await make_schedule(api, bob)
    body = {"name": "CHECKOUT PRIMARY", "timezone": "UTC", "layers": [layer_body(bob)]}
    assert_problem(await api("POST", URL, body), 409)


async def test_observers_and_responders_read_but_only_admins_write(
    api: Api, bob: Login, sessionmaker: SessionMaker
) -> None:
    schedule = await make_schedule(api, bob)
    url = f"{URL}/{schedule['id']}"
    for role in (Role.observer, Role.responder):
        who = await login(sessionmaker, role=role)
        body = {"name": "X", "timezone": "UTC", "layers": [layer_body(bob)]}
        assert_problem(await api("POST", URL, body, as_=who), 403)
        assert_problem(await api("PATCH", url, {"name": "Y"}, as_=who), 403)
        assert_problem(await api("DELETE", url, as_=who), 403)
        assert (await api("GET", url, as_=who)).json() == schedule
    anonymous = Login(user=bob.user, token="pf_nope")
    assert_problem(await api("GET", URL, as_=anonymous), 401)


async def test_unknown_and_malformed_ids(api: Api) -> None:
    assert_problem(await api("GET", f"{URL}/{MISSING}"), 404)
    assert_problem(await api("PATCH", f"{URL}/{MISSING}", {"name": "x"}), 404)
    assert_problem(await api("DELETE", f"{URL}/{MISSING}"), 404)
    assert_problem(await api("GET", f"{URL}/not-a-uuid"), 422)


async def test_a_schedule_targeted_by_a_policy_cannot_be_deleted(api: Api, bob: Login) -> None:
    schedule = await make_schedule(api, bob)
    target = {"type": "schedule", "id": schedule["id"]}
    policy = await api(
        "POST",
        "/api/v1/escalation-policies",
        {"name": "Night", "levels": [{"delay": 60, "targets": [target]}]},
    )
    assert policy.status_code == 201, policy.text
    problem = assert_problem(await api("DELETE", f"{URL}/{schedule['id']}"), 409)
    assert "Night" in problem["detail"] and problem["escalation_policies"] == ["Night"]
    await api("DELETE", f"/api/v1/escalation-policies/{policy.json()['id']}")
    assert (await api("DELETE", f"{URL}/{schedule['id']}")).status_code == 204


async def test_users_on_a_layer_or_with_upcoming_overrides_cannot_be_deleted(
    api: Api, bob: Login, carol: Login, sessionmaker: SessionMaker
) -> None:
    dave = await login(sessionmaker)
    erin = await login(sessionmaker)
    schedule = await make_schedule(api, bob)
    url = f"{URL}/{schedule['id']}/overrides"
    upcoming = {
        "user_id": str(carol.user.id),
        "start": "2099-01-01T00:00Z",
        "end": "2099-01-02T00:00Z",
    }
    past = {"user_id": str(dave.user.id), "start": "2020-01-01T00:00Z", "end": "2020-01-02T00:00Z"}
    assert (await api("POST", url, upcoming)).status_code == 201
    assert (await api("POST", url, past)).status_code == 201
    for who in (bob, carol):
        problem = assert_problem(await api("DELETE", f"/api/v1/users/{who.user.id}"), 409)
        assert "Checkout primary" in problem["detail"]
        assert problem["schedules"] == ["Checkout primary"]
    # A past override does not hold a user back; a bystander never was.
    assert (await api("DELETE", f"/api/v1/users/{dave.user.id}")).status_code == 204
    assert (await api("DELETE", f"/api/v1/users/{erin.user.id}")).status_code == 204
    # Dave's past override went with him.
    assert [o["user_id"] for o in (await api("GET", url)).json()] == [str(carol.user.id)]
