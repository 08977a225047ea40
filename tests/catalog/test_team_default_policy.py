"""A service without an escalation policy of its own pages through its team's default."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from app.catalog import service as catalog
from app.catalog.models import PolicySource
from app.db import SessionMaker
from app.identity.models import Role
from app.oncall.policy import service_on_call
from tests.factories import Login, assert_problem, login

Api = Callable[..., Awaitable[httpx.Response]]


@pytest.fixture
async def admin(sessionmaker: SessionMaker) -> Login:
    return await login(sessionmaker, role=Role.admin)


@pytest.fixture
def api(client: httpx.AsyncClient, admin: Login) -> Api:
    async def call(method: str, path: str, body: Any = None) -> httpx.Response:
        return await client.request(method, path, json=body, headers=admin.headers)

    return call


async def make_policy(api: Api, admin: Login, name: str) -> str:
    targets = [{"type": "user", "id": str(admin.user.id)}]
    body = {"name": name, "levels": [{"delay": "PT5M", "targets": targets}]}
    created = await api("POST", "/api/v1/escalation-policies", body)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def test_service_uses_its_team_default_unless_it_names_its_own(
    api: Api, admin: Login, sessionmaker: SessionMaker
) -> None:
    team_policy = await make_policy(api, admin, "Team policy")
    own_policy = await make_policy(api, admin, "Own policy")
    bare = (await api("POST", "/api/v1/teams", {"name": "Bare"})).json()["id"]
    # Neither its own policy nor a team default: the service would page nobody.
    refused = assert_problem(
        await api("POST", "/api/v1/services", {"name": "X", "team_id": bare}), 422
    )
    assert refused["errors"][0]["field"] == "escalation_policy_id"
    assert_problem(await api("POST", "/api/v1/services", {"name": "X"}), 422)
    bad = {"name": "T", "default_escalation_policy_id": str(uuid.uuid4())}
    assert assert_problem(await api("POST", "/api/v1/teams", bad), 422)["errors"][0]["field"] == (
        "default_escalation_policy_id"
    )

    team = await api(
        "POST", "/api/v1/teams", {"name": "Payments", "default_escalation_policy_id": team_policy}
    )
    assert team.status_code == 201, team.text
    assert team.json()["default_escalation_policy_id"] == team_policy
    team_id = team.json()["id"]
    created = await api("POST", "/api/v1/services", {"name": "Ledger", "team_id": team_id})
    assert created.status_code == 201, created.text
    svc = created.json()
    assert svc["escalation_policy_id"] is None
    assert svc["escalation_policy_source"] == "team"
    assert svc["effective_escalation_policy_id"] == team_policy
    listed = (await api("GET", "/api/v1/services")).json()["data"]
    assert [s["escalation_policy_source"] for s in listed] == ["team"]

    # The service-layer function the incident's first activity reads the policy through.
    async with sessionmaker() as session:
        row = await catalog.get_service(session=session, service_id=uuid.UUID(svc["id"]))
        chosen = await catalog.effective_policy(session=session, service=row)
        assert (str(chosen.policy.id), chosen.source) == (team_policy, PolicySource.team)
        on_call = await service_on_call(session=session, service_id=row.id, at=datetime.now(UTC))
        assert str(on_call.escalation_policy_id) == team_policy
        assert on_call.levels[0].users[0].id == admin.user.id

    # The team's default cannot go while a service relies on it, nor can the policy.
    kept = assert_problem(
        await api("PATCH", f"/api/v1/teams/{team_id}", {"default_escalation_policy_id": None}), 409
    )
    assert kept["services"] == ["Ledger"]
    in_use = assert_problem(await api("DELETE", f"/api/v1/escalation-policies/{team_policy}"), 409)
    assert in_use["teams"] == ["Payments"]
    # Moving the service to a team without a default needs a policy of its own.
    assert_problem(await api("PATCH", f"/api/v1/services/{svc['id']}", {"team_id": bare}), 422)

    own = await api("PATCH", f"/api/v1/services/{svc['id']}", {"escalation_policy_id": own_policy})
    assert own.status_code == 200, own.text
    assert own.json()["escalation_policy_source"] == "service"
    assert own.json()["effective_escalation_policy_id"] == own_policy
    cleared = await api("PATCH", f"/api/v1/teams/{team_id}", {"default_escalation_policy_id": None})
    assert cleared.status_code == 200, cleared.text
    # Back to the team's default: refused while the team has none.
    assert_problem(
        await api("PATCH", f"/api/v1/services/{svc['id']}", {"escalation_policy_id": None}), 422
    )
    await api("PATCH", f"/api/v1/teams/{team_id}", {"default_escalation_policy_id": team_policy})
    back = await api("PATCH", f"/api/v1/services/{svc['id']}", {"escalation_policy_id": None})
    assert back.status_code == 200, back.text
    assert back.json()["escalation_policy_source"] == "team"
