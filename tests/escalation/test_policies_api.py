"""Escalation policies over HTTP: levels, delays, targets, validation, roles, audit."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from api import create_app
from app.audit.models import AuditEvent
from app.config import Settings
from app.db import SessionMaker
from app.escalation.models import EscalationPolicy
from app.identity.models import Role
from tests.factories import Login, assert_problem, login

URL = "/api/v1/escalation-policies"
Api = Callable[..., Awaitable[httpx.Response]]


def level(delay: Any, *targets: tuple[str, object]) -> dict[str, Any]:
    return {"delay": delay, "targets": [{"type": t, "id": str(i)} for t, i in targets]}


@pytest.fixture
async def admin(sessionmaker: SessionMaker) -> Login:
    return await login(sessionmaker, role=Role.admin)


@pytest.fixture
def api(client: httpx.AsyncClient, admin: Login) -> Api:
    """Call the API as the admin: `await api("POST", URL, body)`."""

    async def call(method: str, path: str, body: Any = None) -> httpx.Response:
        return await client.request(method, path, json=body, headers=admin.headers)

    return call


async def make_team(api: Api, name: str = "Platform") -> str:
    created = await api("POST", "/api/v1/teams", {"name": name})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def make_policy(api: Api, admin: Login, name: str = "P") -> dict[str, Any]:
    created = await api("POST", URL, {"name": name, "levels": [level(60, ("user", admin.user.id))]})
    assert created.status_code == 201, created.text
    return created.json()  # type: ignore[no-any-return]


async def test_policy_lifecycle_with_iso_and_seconds_delays(
    api: Api, admin: Login, sessionmaker: SessionMaker
) -> None:
    team_id = await make_team(api)
    me = ("user", admin.user.id)
    body = {
        "name": "Checkout",
        "repeat": 2,
        "levels": [level("PT5M", me), level(600, ("team", team_id), me)],
    }
    created = await api("POST", URL, body)
    assert created.status_code == 201, created.text
    policy = created.json()
    assert [lv["delay"] for lv in policy["levels"]] == ["PT5M", "PT10M"]
    assert policy["levels"][1]["targets"] == [
        {"type": "team", "id": team_id},
        {"type": "user", "id": str(admin.user.id)},
    ]
    assert policy["repeat"] == 2 and policy["description"] is None
    assert {"created_at", "updated_at"} <= policy.keys()
    async with sessionmaker() as session:
        stored = await session.get(EscalationPolicy, uuid.UUID(policy["id"]))
    assert stored is not None and stored.levels[0] == {
        "delay_seconds": 300.0,
        "targets": [{"type": "user", "id": str(admin.user.id)}],
    }
    assert (await api("GET", f"{URL}/{policy['id']}")).json() == policy
    listed = (await api("GET", f"{URL}?q=check")).json()
    assert listed["count"] == 1 and listed["data"][0]["id"] == policy["id"]

    patch = {"levels": [level("PT1H30M", ("team", team_id))], "description": "d"}
    patched = await api("PATCH", f"{URL}/{policy['id']}", patch)
    assert patched.status_code == 200, patched.text
    assert patched.json()["levels"] == [
        {"delay": "PT1H30M", "targets": [{"type": "team", "id": team_id}]}
    ]
    assert patched.json()["name"] == "Checkout" and patched.json()["repeat"] == 2
    assert patched.json()["description"] == "d" and patched.json()["updated_at"]

    assert (await api("DELETE", f"{URL}/{policy['id']}")).status_code == 204
    assert_problem(await api("GET", f"{URL}/{policy['id']}"), 404)
    async with sessionmaker() as session:
        events = (
            await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.entity_id == policy["id"])
                .order_by(AuditEvent.id)
            )
        ).all()
    assert [e.action for e in events] == [
        "escalation_policy.create",
        "escalation_policy.update",
        "escalation_policy.delete",
    ]
    assert all(e.actor_id == str(admin.user.id) for e in events)
    assert events[0].before is None and events[0].after["name"] == "Checkout"
    assert [lv["delay"] for lv in events[1].before["levels"]] == ["PT5M", "PT10M"]
    assert [lv["delay"] for lv in events[1].after["levels"]] == ["PT1H30M"]
    assert events[2].after is None and events[2].before["description"] == "d"


MISSING = str(uuid.uuid4())
ME = "me"  # replaced by the admin's user id


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"levels": []}, "body.levels", "at least 1"),
        ({"levels": [{"delay": "PT5M", "targets": []}]}, "body.levels.0.targets", "at least 1"),
        ({"levels": [level(60, ("user", MISSING))]}, "levels.0.targets.0.id", "does not exist"),
        ({"levels": [level(60, ("team", MISSING))]}, "levels.0.targets.0.id", "does not exist"),
        (
            {"levels": [level(60, ("user", ME)), level(60, ("schedule", MISSING))]},
            "levels.1.targets.0.id",
            f"schedule {MISSING} does not exist",
        ),
        ({"levels": [level(60, ("user", ME), ("user", ME))]}, "body.levels.0.targets", "twice"),
        ({"levels": [level(0, ("user", ME))]}, "body.levels.0.delay", "greater than zero"),
        ({"levels": [level("-PT5M", ("user", ME))]}, "body.levels.0.delay", "greater than zero"),
        ({"levels": [level(0.5, ("user", ME))]}, "levels.0.delay", "at least 1 s"),
        ({"levels": [level("five minutes", ("user", ME))]}, "body.levels.0.delay", ""),
        ({"levels": [level("P99999999999D", ("user", ME))]}, "body.levels.0.delay", ""),
        ({"levels": [level(60, ("rota", ME))]}, "body.levels.0.targets.0.type", ""),
        ({"levels": [level(60, ("user", "not-a-uuid"))]}, "body.levels.0.targets.0.id", ""),
        ({"levels": [level(60, ("user", ME))] * 21}, "body.levels", "at most 20"),
        ({"levels": "PT5M"}, "body.levels", ""),
        ({"levels": [None]}, "body.levels.0", ""),
        ({"name": None}, "body.name", ""),
        ({"name": ""}, "body.name", ""),
        ({"repeat": 21}, "body.repeat", ""),
        ({"repeat": -1}, "body.repeat", ""),
    ],
)
async def test_invalid_policies_are_422_naming_the_field(
    api: Api, admin: Login, body: dict[str, Any], field: str, message: str
) -> None:
    body = {"name": "P", "levels": [level(60, ("user", ME))], **body}
    raw = json.dumps(body).replace(f'"{ME}"', f'"{admin.user.id}"')
    problem = assert_problem(await api("POST", URL, json.loads(raw)), 422)
    assert field in [e["field"] for e in problem["errors"]], problem
    assert message in problem["detail"]
    assert (await api("GET", URL)).json()["count"] == 0


@pytest.mark.parametrize(
    "content",
    [
        b'{"name": "P", ',
        b'{"name": "P", "levels": [{"delay": NaN, "targets": []}]}',
        b'{"name": "P", "levels": [{"delay": 1e308, "targets": [{"type": "user", "id": 1}]}]}',
        b'["not", "an", "object"]',
    ],
)
async def test_malformed_bodies_are_422_not_500(
    client: httpx.AsyncClient, admin: Login, content: bytes
) -> None:
    headers = {**admin.headers, "content-type": "application/json"}
    assert_problem(await client.post(URL, content=content, headers=headers), 422)


@pytest.fixture
async def strict_client(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    """A client on an app with the production minimum escalation delay of one minute."""
    settings = Settings(
        PAGEFREE_DATA_DIR=tmp_path_factory.mktemp("strict"),
        PAGEFREE_ENV="test",
        PAGEFREE_MIN_ESCALATION_DELAY=timedelta(minutes=1),
        TEMPORAL_ADDRESS=None,
        DATABASE_URL=None,
    )
    application = create_app(settings, database_url=database_url)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


async def test_delay_below_the_configured_minimum_is_422(
    strict_client: httpx.AsyncClient, admin: Login
) -> None:
    me = ("user", admin.user.id)
    short = {"name": "P", "levels": [level(60, me), level("PT59S", me)]}
    problem = assert_problem(await strict_client.post(URL, json=short, headers=admin.headers), 422)
    assert [e["field"] for e in problem["errors"]] == ["levels.1.delay"]
    assert "at least 60 s" in problem["detail"]
    ok = {"name": "P", "levels": [level("PT1M", me)]}
    created = await strict_client.post(URL, json=ok, headers=admin.headers)
    assert created.status_code == 201, created.text
    url = f"{URL}/{created.json()['id']}"
    patch = {"levels": [level(30, me)]}
    assert_problem(await strict_client.patch(url, json=patch, headers=admin.headers), 422)


async def test_invalid_patch_changes_nothing(api: Api, admin: Login) -> None:
    policy = await make_policy(api, admin)
    for patch in (
        {"levels": [level(60, ("user", MISSING))]},
        {"levels": [level(60, ("schedule", MISSING))]},
        {"levels": []},
        {"name": None},
        {"repeat": None},
        {"levels": None},
    ):
        assert_problem(await api("PATCH", f"{URL}/{policy['id']}", patch), 422)
    assert (await api("GET", f"{URL}/{policy['id']}")).json() == policy


async def test_policy_names_are_unique_case_insensitively(api: Api, admin: Login) -> None:
    await make_policy(api, admin, "Core")
    levels = [level(60, ("user", admin.user.id))]
    assert_problem(await api("POST", URL, {"name": "CORE", "levels": levels}), 409)
    other = await make_policy(api, admin, "Edge")
    assert_problem(await api("PATCH", f"{URL}/{other['id']}", {"name": "core"}), 409)


async def test_a_policy_used_by_a_service_cannot_be_deleted(api: Api, admin: Login) -> None:
    policy = await make_policy(api, admin)
    body = {"name": "Billing", "escalation_policy_id": policy["id"]}
    service = await api("POST", "/api/v1/services", body)
    assert service.status_code == 201, service.text
    problem = assert_problem(await api("DELETE", f"{URL}/{policy['id']}"), 409)
    assert "Billing" in problem["detail"] and problem["services"] == ["Billing"]
    assert (await api("GET", f"{URL}/{policy['id']}")).status_code == 200
    await api("DELETE", f"/api/v1/services/{service.json()['id']}")
    assert (await api("DELETE", f"{URL}/{policy['id']}")).status_code == 204


async def test_users_and_teams_targeted_by_a_policy_cannot_be_deleted(
    api: Api, admin: Login, sessionmaker: SessionMaker
) -> None:
    paged = await login(sessionmaker)
    bystander = await login(sessionmaker)
    team_id = await make_team(api)
    other_team = await make_team(api, "Other")
    levels = [level(60, ("user", paged.user.id)), level(60, ("team", team_id))]
    policy = (await api("POST", URL, {"name": "Night shift", "levels": levels})).json()
    user_problem = assert_problem(await api("DELETE", f"/api/v1/users/{paged.user.id}"), 409)
    assert "remove the user from escalation policies first" in user_problem["detail"]
    assert "Night shift" in user_problem["detail"]
    team_problem = assert_problem(await api("DELETE", f"/api/v1/teams/{team_id}"), 409)
    assert "Night shift" in team_problem["detail"]
    # Only the targets themselves are protected.
    assert (await api("DELETE", f"/api/v1/users/{bystander.user.id}")).status_code == 204
    assert (await api("DELETE", f"/api/v1/teams/{other_team}")).status_code == 204

    await api("PATCH", f"{URL}/{policy['id']}", {"levels": [level(60, ("user", admin.user.id))]})
    assert (await api("DELETE", f"/api/v1/users/{paged.user.id}")).status_code == 204
    assert (await api("DELETE", f"/api/v1/teams/{team_id}")).status_code == 204


async def test_observers_and_responders_read_but_cannot_write(
    client: httpx.AsyncClient, api: Api, admin: Login, sessionmaker: SessionMaker
) -> None:
    policy = await make_policy(api, admin)
    url = f"{URL}/{policy['id']}"
    for role in (Role.observer, Role.responder):
        who = await login(sessionmaker, role=role)
        body = {"name": "Q", "levels": policy["levels"]}
        assert_problem(await client.post(URL, json=body, headers=who.headers), 403)
        assert_problem(await client.patch(url, json={"repeat": 1}, headers=who.headers), 403)
        assert_problem(await client.delete(url, headers=who.headers), 403)
        assert (await client.get(url, headers=who.headers)).status_code == 200
        assert (await client.get(URL, headers=who.headers)).json()["count"] == 1
    assert_problem(await client.get(URL), 401)
    assert (await api("GET", url)).json() == policy


async def test_unknown_and_malformed_policy_ids(api: Api) -> None:
    assert_problem(await api("GET", f"{URL}/{MISSING}"), 404)
    assert_problem(await api("PATCH", f"{URL}/{MISSING}", {"repeat": 1}), 404)
    assert_problem(await api("DELETE", f"{URL}/{MISSING}"), 404)
    assert_problem(await api("GET", f"{URL}/not-a-uuid"), 422)
