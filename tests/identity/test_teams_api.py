"""Teams over HTTP: members, validation, roles, audit."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.db import SessionMaker
from app.identity.models import Role
from tests.factories import assert_problem, login


async def test_team_lifecycle_with_members(
    client: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    admin = await login(sessionmaker, role=Role.admin)
    a = await login(sessionmaker)
    b = await login(sessionmaker)
    created = await client.post(
        "/api/v1/teams",
        json={
            "name": "Payments",
            "members": [
                {"user_id": str(a.user.id), "role": "manager"},
                {"user_id": str(b.user.id)},
            ],
        },
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    team = created.json()
    roles = {m["user_id"]: m["role"] for m in team["members"]}
    assert roles == {str(a.user.id): "manager", str(b.user.id): "member"}

    patched = await client.patch(
        f"/api/v1/teams/{team['id']}",
        json={"members": [{"user_id": str(b.user.id)}]},
        headers=admin.headers,
    )
    assert [m["user_id"] for m in patched.json()["members"]] == [str(b.user.id)]
    assert patched.json()["name"] == "Payments"

    listed = await client.get("/api/v1/teams", headers=a.headers)
    assert listed.json()["count"] == 1

    assert (
        await client.delete(f"/api/v1/teams/{team['id']}", headers=admin.headers)
    ).status_code == 204
    assert_problem(await client.get(f"/api/v1/teams/{team['id']}", headers=admin.headers), 404)

    async with sessionmaker() as session:
        actions = (
            await session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.entity_id == team["id"])
                .order_by(AuditEvent.id)
            )
        ).all()
    assert actions == ["team.create", "team.update", "team.delete"]


async def test_deleting_a_user_removes_their_memberships(
    client: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    admin = await login(sessionmaker, role=Role.admin)
    member = await login(sessionmaker)
    team = (
        await client.post(
            "/api/v1/teams",
            json={"name": "Ops", "members": [{"user_id": str(member.user.id)}]},
            headers=admin.headers,
        )
    ).json()
    await client.delete(f"/api/v1/users/{member.user.id}", headers=admin.headers)
    after = await client.get(f"/api/v1/teams/{team['id']}", headers=admin.headers)
    assert after.json()["members"] == []


async def test_team_validation(client: httpx.AsyncClient, sessionmaker: SessionMaker) -> None:
    admin = await login(sessionmaker, role=Role.admin)
    unknown = "00000000-0000-0000-0000-000000000001"
    bad = await client.post(
        "/api/v1/teams",
        json={"name": "X", "members": [{"user_id": unknown}]},
        headers=admin.headers,
    )
    assert unknown in assert_problem(bad, 422)["detail"]
    twice = await client.post(
        "/api/v1/teams",
        json={
            "name": "X",
            "members": [{"user_id": str(admin.user.id)}, {"user_id": str(admin.user.id)}],
        },
        headers=admin.headers,
    )
    assert_problem(twice, 422)
    assert (
        await client.post("/api/v1/teams", json={"name": "SRE"}, headers=admin.headers)
    ).status_code == 201
    assert_problem(
        await client.post("/api/v1/teams", json={"name": "sre"}, headers=admin.headers), 409
    )
    assert_problem(
        await client.post("/api/v1/teams", json={"members": []}, headers=admin.headers), 422
    )


async def test_only_admins_manage_teams(
    client: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    responder = await login(sessionmaker, role=Role.responder)
    assert_problem(
        await client.post("/api/v1/teams", json={"name": "T"}, headers=responder.headers), 403
    )
