"""Who is on call over HTTP: per schedule, every schedule, per service, and a user's shifts."""

from __future__ import annotations

import uuid

import pytest

from tests.factories import Login, assert_problem
from tests.schedules.conftest import URL, Api, layer_body, make_schedule


async def test_on_call_names_the_user_and_their_shift(api: Api, bob: Login, carol: Login) -> None:
    schedule = await make_schedule(api, bob, carol)
    answer = await api("GET", f"{URL}/{schedule['id']}/on-call", at="2026-03-03T12:00:00Z")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "at": "2026-03-03T12:00:00Z",
        "schedule_id": schedule["id"],
        "schedule_name": "Checkout primary",
        "timezone": "Europe/Berlin",
        "users": [
            {
                "id": str(carol.user.id),
                "name": "Carol",
                "start": "2026-03-03T08:00:00Z",
                "end": "2026-03-04T08:00:00Z",
            }
        ],
        "warnings": [],
    }
    # Without `at` the answer is about now (the layer started in March 2026).
    now = (await api("GET", f"{URL}/{schedule['id']}/on-call")).json()
    assert len(now["users"]) == 1 and now["warnings"] == []


async def test_a_gap_is_a_visible_warning(api: Api, bob: Login) -> None:
    schedule = await make_schedule(api, bob)
    answer = (await api("GET", f"{URL}/{schedule['id']}/on-call", at="2026-03-02T07:59:00Z")).json()
    assert answer["users"] == []
    assert answer["warnings"] == [
        "nobody is on call in schedule 'Checkout primary' at 2026-03-02T07:59:00+00:00"
    ]


async def test_shifts_are_the_final_rendering_with_layers_and_gaps(
    api: Api, bob: Login, carol: Login
) -> None:
    nights = {"type": "daily", "start_time": "22:00", "duration": "PT10H"}
    schedule = await make_schedule(
        api,
        bob,
        layers=[
            layer_body(bob, start="2026-03-02T09:00:00"),
            layer_body(carol, name="Nights", restrictions=[nights]),
        ],
    )
    answer = await api(
        "GET",
        f"{URL}/{schedule['id']}/shifts",
        since="2026-03-02T00:00:00Z",
        until="2026-03-03T12:00:00Z",
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [(s["name"], s["start"], s["end"]) for s in body["data"]] == [
        ("Bob", "2026-03-02T08:00:00Z", "2026-03-02T21:00:00Z"),
        ("Carol", "2026-03-02T21:00:00Z", "2026-03-03T07:00:00Z"),
        ("Bob", "2026-03-03T07:00:00Z", "2026-03-03T12:00:00Z"),
    ]
    assert body["gaps"] == [{"start": "2026-03-02T00:00:00Z", "end": "2026-03-02T08:00:00Z"}]
    assert body["warnings"] == [
        "nobody is on call from 2026-03-02T00:00:00+00:00 to 2026-03-02T08:00:00+00:00"
    ]
    assert [layer["name"] for layer in body["layers"]] == ["Primary", "Nights"]
    assert [s["start"] for s in body["layers"][1]["shifts"]] == ["2026-03-02T21:00:00Z"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2026-03-03T00:00:00Z", "until": "2026-03-02T00:00:00Z"}, "until"),
        ({"since": "2026-03-03T00:00:00Z", "until": "2026-03-03T00:00:00Z"}, "until"),
        ({"since": "2026-01-01T00:00:00Z", "until": "2027-06-01T00:00:00Z"}, "until"),
        ({"since": "1900-01-01T00:00:00Z", "until": "1900-01-02T00:00:00Z"}, "since"),
        ({"since": "soon"}, "query.since"),
    ],
)
async def test_bad_shift_ranges_are_422(api: Api, bob: Login, params: dict, field: str) -> None:  # type: ignore[type-arg]
    schedule = await make_schedule(api, bob)
    problem = assert_problem(await api("GET", f"{URL}/{schedule['id']}/shifts", **params), 422)
    assert field in [e["field"] for e in problem["errors"]]


async def test_bad_on_call_instants_are_422_and_unknown_schedules_404(api: Api, bob: Login) -> None:
    schedule = await make_schedule(api, bob)
    for at, field in (("tomorrow", "query.at"), ("9999-12-31T23:59:59Z", "at")):
        problem = assert_problem(await api("GET", f"{URL}/{schedule['id']}/on-call", at=at), 422)
        assert field in [e["field"] for e in problem["errors"]]
    assert_problem(await api("GET", f"{URL}/{uuid.uuid4()}/on-call"), 404)
    assert_problem(await api("GET", f"{URL}/{uuid.uuid4()}/shifts"), 404)


async def test_who_is_on_call_in_every_schedule(api: Api, bob: Login, carol: Login) -> None:
    await make_schedule(api, bob, carol)
    await make_schedule(api, carol, name="Search", timezone="Asia/Kolkata")
    late = {"start": "2027-01-01T00:00:00"}
    await make_schedule(api, bob, name="Future", layers=[layer_body(bob, **late)])
    answer = (await api("GET", "/api/v1/oncall", at="2026-03-02T12:00:00Z")).json()
    assert answer["count"] == 3
    assert [(s["schedule_name"], [u["name"] for u in s["users"]]) for s in answer["data"]] == [
        ("Checkout primary", ["Bob"]),
        ("Future", []),
        ("Search", ["Carol"]),
    ]
    assert answer["data"][1]["warnings"] and not answer["data"][0]["warnings"]


async def test_who_a_service_would_page_level_by_level(
    api: Api, admin: Login, bob: Login, carol: Login
) -> None:
    schedule = await make_schedule(api, bob, carol)
    gap = await make_schedule(api, bob, name="Later", layers=[layer_body(bob, start="2027-01-01")])
    levels = [
        {"delay": 300, "targets": [{"type": "schedule", "id": schedule["id"]}]},
        {
            "delay": 300,
            "targets": [
                {"type": "user", "id": str(carol.user.id)},
                {"type": "schedule", "id": schedule["id"]},
            ],
        },
        {"delay": 300, "targets": [{"type": "schedule", "id": gap["id"]}]},
    ]
    policy = (
        await api("POST", "/api/v1/escalation-policies", {"name": "P", "levels": levels})
    ).json()
    service = (
        await api(
            "POST", "/api/v1/services", {"name": "Checkout", "escalation_policy_id": policy["id"]}
        )
    ).json()
    answer = await api("GET", f"/api/v1/services/{service['id']}/oncall", at="2026-03-03T12:00:00Z")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["escalation_policy_id"] == policy["id"]
    one, two, three = body["levels"]
    assert [(u["name"], u["start"]) for u in one["users"]] == [("Carol", "2026-03-03T08:00:00Z")]
    assert [u["name"] for u in two["users"]] == ["Carol"]
    assert [v["type"] for v in two["users"][0]["via"]] == ["user", "schedule"]
    assert three["users"] == [] and "nobody is on call" in three["warnings"][0]
    assert body["warnings"] == ["level 3 reaches nobody"]
    assert_problem(await api("GET", f"/api/v1/services/{uuid.uuid4()}/oncall"), 404)


async def test_a_users_upcoming_shifts_across_schedules(api: Api, bob: Login, carol: Login) -> None:
    checkout = await make_schedule(api, bob, carol)
    search = await make_schedule(api, carol, name="Search", timezone="UTC")
    cover = {"user_id": str(bob.user.id), "start": "2026-03-04T00:00Z", "end": "2026-03-04T06:00Z"}
    assert (await api("POST", f"{URL}/{search['id']}/overrides", cover)).status_code == 201
    answer = await api(
        "GET",
        f"/api/v1/users/{bob.user.id}/shifts",
        since="2026-03-02T00:00:00Z",
        until="2026-03-05T00:00:00Z",
        as_=bob,
    )
    assert answer.status_code == 200, answer.text
    assert [(s["schedule_name"], s["start"], s["end"]) for s in answer.json()["data"]] == [
        ("Checkout primary", "2026-03-02T08:00:00Z", "2026-03-03T08:00:00Z"),
        ("Search", "2026-03-04T00:00:00Z", "2026-03-04T06:00:00Z"),
        ("Checkout primary", "2026-03-04T08:00:00Z", "2026-03-05T00:00:00Z"),
    ]
    assert checkout["id"] in {s["schedule_id"] for s in answer.json()["data"]}
    default = (await api("GET", f"/api/v1/users/{bob.user.id}/shifts")).json()
    assert len(default["data"]) >= 13  # every other day for 28 days
    assert_problem(await api("GET", f"/api/v1/users/{uuid.uuid4()}/shifts"), 404)
    bad = {"since": "2026-03-05T00:00:00Z", "until": "2026-03-02T00:00:00Z"}
    assert_problem(await api("GET", f"/api/v1/users/{bob.user.id}/shifts", **bad), 422)


async def test_too_many_shifts_for_one_answer_is_422_and_on_call_still_answers(
    api: Api, bob: Login, carol: Login
) -> None:
    minutes = layer_body(bob, carol, rotation_length="PT1M")
    schedule = await make_schedule(api, bob, layers=[minutes])
    url = f"{URL}/{schedule['id']}"
    month = {"since": "2026-03-03T00:00:00Z", "until": "2026-04-03T00:00:00Z"}
    problem = assert_problem(await api("GET", f"{url}/shifts", **month), 422)
    assert problem["errors"][0]["field"] == "until" and "shorter range" in problem["detail"]
    answer = (await api("GET", f"{url}/on-call", at="2026-03-03T00:00:30Z")).json()
    assert answer["users"][0]["end"] == "2026-03-03T00:01:00Z"
