"""Services over HTTP: routing keys, references, timeouts, validation, roles, audit."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import httpx
import psycopg
import pytest

from app.catalog.models import ROUTING_KEY_PATTERN
from app.catalog.service import slugify
from app.db import SessionMaker
from app.demo import seed
from app.identity.models import Role
from tests.factories import Login, assert_problem, login

URL = "/api/v1/services"
MISSING = str(uuid.uuid4())
Api = Callable[..., Awaitable[httpx.Response]]


@pytest.fixture
async def admin(sessionmaker: SessionMaker) -> Login:
    return await login(sessionmaker, role=Role.admin)


@pytest.fixture
def api(client: httpx.AsyncClient, admin: Login) -> Api:
    """Call the API as the admin: `await api("POST", URL, body)`."""

    async def call(method: str, path: str, body: Any = None) -> httpx.Response:
        return await client.request(method, path, json=body, headers=admin.headers)

    return call


@pytest.fixture
async def policy_id(api: Api, admin: Login) -> str:
    targets = [{"type": "user", "id": str(admin.user.id)}]
    body = {"name": "Primary", "levels": [{"delay": "PT5M", "targets": targets}]}
    created = await api("POST", "/api/v1/escalation-policies", body)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


@pytest.fixture
def create(api: Api, policy_id: str) -> Api:
    """Create a service on the default policy: `await create(name="S", ...)`."""

    async def call(**fields: Any) -> httpx.Response:
        return await api("POST", URL, {"escalation_policy_id": policy_id, **fields})

    return call


async def make_team(api: Api, name: str = "Platform") -> str:
    created = await api("POST", "/api/v1/teams", {"name": name})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def test_service_lifecycle(api: Api, create: Api, admin: Login, policy_id: str) -> None:
    team_id = await make_team(api)
    timeouts = {"acknowledgement_timeout": "PT30M", "auto_resolve_timeout": 14400}
    created = await create(name="Checkout API", team_id=team_id, **timeouts)
    assert created.status_code == 201, created.text
    svc = created.json()
    assert svc["routing_key"] == "checkout-api"
    assert (svc["status"], svc["urgency"]) == ("active", "high")
    assert (svc["acknowledgement_timeout"], svc["auto_resolve_timeout"]) == ("PT30M", "PT4H")
    assert svc["team_id"] == team_id and svc["escalation_policy_id"] == policy_id
    assert (await api("GET", f"{URL}/{svc['id']}")).json() == svc

    patch = {
        "status": "deprecated",
        "urgency": "low",
        "acknowledgement_timeout": None,
        "team_id": None,
        "routing_key": "checkout-api",  # unchanged: a client may send the key back
    }
    patched = await api("PATCH", f"{URL}/{svc['id']}", patch)
    assert patched.status_code == 200, patched.text
    after = patched.json()
    assert (after["status"], after["urgency"], after["team_id"]) == ("deprecated", "low", None)
    assert after["acknowledgement_timeout"] is None and after["auto_resolve_timeout"] == "PT4H"
    assert after["name"] == "Checkout API" and after["updated_at"]

    assert (await api("DELETE", f"{URL}/{svc['id']}")).status_code == 204
    assert_problem(await api("GET", f"{URL}/{svc['id']}"), 404)
    audit = await api("GET", f"/api/v1/audit?entity_id={svc['id']}")
    events = [SimpleNamespace(**e) for e in reversed(audit.json()["data"])]
    assert [e.action for e in events] == ["service.create", "service.update", "service.delete"]
    assert all(e.actor_id == str(admin.user.id) and e.entity_type == "service" for e in events)
    assert events[0].before is None and events[0].after["routing_key"] == "checkout-api"
    assert events[1].before["status"] == "active" and events[1].after["status"] == "deprecated"
    assert events[1].before["acknowledgement_timeout"] == "PT30M"
    assert events[1].after["acknowledgement_timeout"] is None
    assert events[2].after is None and events[2].before["status"] == "deprecated"


async def test_list_filters_by_team_status_and_name(api: Api, create: Api) -> None:
    team_id = await make_team(api)
    await create(name="Search", team_id=team_id)
    await create(name="Search indexer", status="archived")
    await create(name="Payments", team_id=team_id)

    async def names(query: str = "") -> list[str]:
        page = (await api("GET", f"{URL}?{query}")).json()
        assert page["count"] == len(page["data"])
        return [s["name"] for s in page["data"]]

    assert await names() == ["Payments", "Search", "Search indexer"]
    assert await names(f"team_id={team_id}") == ["Payments", "Search"]
    assert await names("status=archived") == ["Search indexer"]
    assert await names("q=SEARCH&status=active") == ["Search"]
    assert await names("q=%25") == []
    assert_problem(await api("GET", f"{URL}?status=gone"), 422)


async def test_routing_keys_are_derived_from_the_name_and_stay_unique(create: Api) -> None:
    keys = []
    for name in ("Checkout API", "Checkout  API", "Checkout API.", "Ünïcödé Sérvice", "☃"):
        created = await create(name=name)
        assert created.status_code == 201, created.text
        keys.append(created.json()["routing_key"])
    assert keys == [
        "checkout-api",
        "checkout-api-2",
        "checkout-api-3",
        "unicode-service",
        "service",
    ]
    first, second = await create(name="a" * 100), await create(name="a" * 99)
    assert first.json()["routing_key"] == "a" * 63
    assert second.json()["routing_key"] == "a" * 61 + "-2"


def test_slugify_always_yields_a_valid_routing_key() -> None:
    names = ["Checkout API", " --Edge.Proxy__v2-- ", "x", "!!!", "a" * 100]
    keys = ["checkout-api", "edge.proxy__v2", "service-x", "service", "a" * 63]
    assert [slugify(n) for n in names] == keys
    assert all(re.fullmatch(ROUTING_KEY_PATTERN, k) for k in keys)


async def test_names_and_routing_keys_are_unique(api: Api, create: Api) -> None:
    assert (await create(name="Search", routing_key="search")).status_code == 201
    taken = assert_problem(await create(name="O", routing_key="search"), 409)
    assert "routing key" in taken["detail"]
    assert_problem(await create(name="SEARCH"), 409)
    other = (await create(name="Other")).json()
    assert_problem(await api("PATCH", f"{URL}/{other['id']}", {"name": "search"}), 409)


async def test_routing_key_is_immutable(api: Api, create: Api) -> None:
    svc = (await create(name="Search")).json()
    for key in ("search-v2", None):
        patch = {"routing_key": key, "name": "X"}
        problem = assert_problem(await api("PATCH", f"{URL}/{svc['id']}", patch), 422)
        assert problem["detail"] == "routing_key: routing_key is immutable"
        assert [e["field"] for e in problem["errors"]] == ["routing_key"]
    assert (await api("GET", f"{URL}/{svc['id']}")).json() == svc


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        *[
            ({"name": "S", "routing_key": key}, "body.routing_key")
            for key in ("A", "a", "-abc", "has space", "UPPER", "a" * 64, "é-x", "", 7)
        ],
        ({"name": ""}, "body.name"),
        ({"name": ["S"]}, "body.name"),
        ({"name": "S", "status": "retired"}, "body.status"),
        ({"name": "S", "urgency": "medium"}, "body.urgency"),
        ({"name": "S", "acknowledgement_timeout": 0}, "body.acknowledgement_timeout"),
        ({"name": "S", "acknowledgement_timeout": 1e308}, "body.acknowledgement_timeout"),
        ({"name": "S", "auto_resolve_timeout": "-PT1H"}, "body.auto_resolve_timeout"),
        ({"name": "S", "auto_resolve_timeout": "forever"}, "body.auto_resolve_timeout"),
        ({"name": "S", "team_id": "nope"}, "body.team_id"),
        ({"name": "S", "escalation_policy_id": 7}, "body.escalation_policy_id"),
    ],
)
async def test_invalid_service_fields_are_422(
    create: Api, fields: dict[str, Any], field: str
) -> None:
    problem = assert_problem(await create(**fields), 422)
    assert [e["field"] for e in problem["errors"]] == [field]


async def test_team_and_policy_must_exist(api: Api, create: Api) -> None:
    body = {"name": "S", "team_id": MISSING, "escalation_policy_id": MISSING}
    both = assert_problem(await api("POST", URL, body), 422)
    assert [e["field"] for e in both["errors"]] == ["team_id", "escalation_policy_id"]
    no_policy = assert_problem(await api("POST", URL, {"name": "S"}), 422)
    # Without a team whose default could page for it, a service needs its own policy.
    assert [e["field"] for e in no_policy["errors"]] == ["escalation_policy_id"]

    svc = (await create(name="S")).json()
    for patch, field in (
        ({"team_id": MISSING}, "team_id"),
        ({"escalation_policy_id": MISSING}, "escalation_policy_id"),
        ({"escalation_policy_id": None}, "escalation_policy_id"),
        ({"name": None}, "name"),
        ({"status": None}, "status"),
    ):
        problem = assert_problem(await api("PATCH", f"{URL}/{svc['id']}", patch), 422)
        assert [e["field"] for e in problem["errors"]] == [field]
    assert (await api("GET", f"{URL}/{svc['id']}")).json() == svc


async def test_a_service_with_incidents_cannot_be_deleted_and_nothing_is_half_written(
    api: Api, create: Api, database_url: str
) -> None:
    svc = (await create(name="Search")).json()
    # Stands in for the incidents table, which refers to services the same way.
    with psycopg.connect(database_url.replace("postgresql+psycopg", "postgresql")) as conn:
        conn.execute(
            "CREATE TABLE incident_probe "
            "(service_id uuid NOT NULL REFERENCES services(id) ON DELETE RESTRICT)"
        )
        conn.execute("INSERT INTO incident_probe VALUES (%s)", (svc["id"],))
    problem = assert_problem(await api("DELETE", f"{URL}/{svc['id']}"), 409)
    assert problem["detail"] == "the service has incidents; archive it instead"

    assert (await api("GET", f"{URL}/{svc['id']}")).json() == svc
    archived = await api("PATCH", f"{URL}/{svc['id']}", {"status": "archived"})
    assert archived.json()["status"] == "archived"
    audit = (await api("GET", f"/api/v1/audit?entity_id={svc['id']}")).json()
    assert [e["action"] for e in audit["data"]] == ["service.update", "service.create"]


async def test_a_team_owning_a_service_cannot_be_deleted(api: Api, create: Api) -> None:
    team_id = await make_team(api)
    svc = (await create(name="Search", team_id=team_id)).json()
    problem = assert_problem(await api("DELETE", f"/api/v1/teams/{team_id}"), 409)
    assert "Search" in problem["detail"] and problem["services"] == ["Search"]
    await api("PATCH", f"{URL}/{svc['id']}", {"team_id": None})
    assert (await api("DELETE", f"/api/v1/teams/{team_id}")).status_code == 204


async def test_observers_and_responders_read_but_cannot_write(
    client: httpx.AsyncClient, api: Api, create: Api, policy_id: str, sessionmaker: SessionMaker
) -> None:
    svc = (await create(name="Search")).json()
    url = f"{URL}/{svc['id']}"
    for role in (Role.observer, Role.responder):
        who = await login(sessionmaker, role=role)
        body = {"name": "T", "escalation_policy_id": policy_id}
        assert_problem(await client.post(URL, json=body, headers=who.headers), 403)
        assert_problem(await client.patch(url, json={"name": "x"}, headers=who.headers), 403)
        assert_problem(await client.delete(url, headers=who.headers), 403)
        assert (await client.get(url, headers=who.headers)).status_code == 200
        assert (await client.get(URL, headers=who.headers)).json()["count"] == 1
    assert_problem(await client.get(URL), 401)
    assert (await api("GET", url)).json() == svc


async def test_unknown_ids_and_malformed_requests(
    api: Api, client: httpx.AsyncClient, admin: Login
) -> None:
    assert_problem(await api("GET", f"{URL}/{MISSING}"), 404)
    assert_problem(await api("PATCH", f"{URL}/{MISSING}", {"name": "x"}), 404)
    assert_problem(await api("DELETE", f"{URL}/{MISSING}"), 404)
    assert_problem(await api("GET", f"{URL}/not-a-uuid"), 422)
    headers = {**admin.headers, "content-type": "application/json"}
    for content in (b'{"name": "S", ', b"null", b"[]"):
        assert_problem(await client.post(URL, content=content, headers=headers), 422)


async def test_demo_seeds_the_checkout_service_and_its_policy(
    client: httpx.AsyncClient, database_url: str
) -> None:
    lines = await seed(database_url)
    assert "  service: Checkout API (routing key checkout-api)" in lines
    headers = {"Authorization": f"Bearer {lines[-1].rsplit(' ', 1)[-1]}"}

    async def get(path: str) -> Any:
        response = await client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    svc = (await get(f"{URL}?q=checkout"))["data"][0]
    assert svc["routing_key"] == "checkout-api"
    assert (svc["acknowledgement_timeout"], svc["auto_resolve_timeout"]) == ("PT30M", "PT4H")
    assert (await get(f"/api/v1/teams/{svc['team_id']}"))["name"] == "Platform"
    policy = await get(f"/api/v1/escalation-policies/{svc['escalation_policy_id']}")
    assert policy["name"] == "Checkout on-call" and policy["repeat"] == 1
    assert [lv["delay"] for lv in policy["levels"]] == ["PT5M", "PT10M"]
    targets = [lv["targets"] for lv in policy["levels"]]
    primary = (await get("/api/v1/schedules?q=checkout primary"))["data"][0]
    assert targets == [
        [{"type": "schedule", "id": primary["id"]}],
        [{"type": "team", "id": svc["team_id"]}],
    ]
    # Level 1 pages whoever the weekly rotation of Bob and Carol has on call.
    on_call = await get(f"/api/v1/services/{svc['id']}/oncall")
    assert [u["name"] for u in on_call["levels"][0]["users"]] in (
        ["Bob Responder"],
        ["Carol Responder"],
    )
