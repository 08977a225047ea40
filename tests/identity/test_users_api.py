"""Users over HTTP: CRUD, roles, validation and the audit trail."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.db import SessionMaker
from app.identity.models import Role, User
from tests.factories import assert_problem, login


@pytest.fixture
async def admin(sessionmaker: SessionMaker):  # type: ignore[no-untyped-def]
    return await login(sessionmaker, role=Role.admin)


async def test_admin_creates_reads_updates_and_deletes_a_user(client: httpx.AsyncClient, admin):  # type: ignore[no-untyped-def]
    created = await client.post(
        "/api/v1/users",
        json={
            "name": "Erin",
            "email": "Erin@Example.com",
            "timezone": "Europe/Berlin",
            "role": "responder",
        },
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["email"] == "erin@example.com"
    assert user["timezone"] == "Europe/Berlin"
    assert "password_hash" not in user

    got = await client.get(f"/api/v1/users/{user['id']}", headers=admin.headers)
    assert got.json()["name"] == "Erin"

    patched = await client.patch(
        f"/api/v1/users/{user['id']}",
        json={"name": "Erin K", "role": "observer"},
        headers=admin.headers,
    )
    assert patched.status_code == 200
    assert patched.json()["role"] == "observer"

    listed = await client.get("/api/v1/users", params={"q": "erin"}, headers=admin.headers)
    assert [u["name"] for u in listed.json()["data"]] == ["Erin K"]
    assert listed.json()["count"] == 1

    deleted = await client.delete(f"/api/v1/users/{user['id']}", headers=admin.headers)
    assert deleted.status_code == 204
    assert_problem(await client.get(f"/api/v1/users/{user['id']}", headers=admin.headers), 404)


async def test_every_user_change_is_audited_with_before_and_after(
    client: httpx.AsyncClient,
    admin,
    sessionmaker: SessionMaker,  # type: ignore[no-untyped-def]
) -> None:
    user = (
        await client.post(
            "/api/v1/users", json={"name": "F", "email": "f@example.com"}, headers=admin.headers
        )
    ).json()
    await client.patch(
        f"/api/v1/users/{user['id']}", json={"timezone": "Asia/Tokyo"}, headers=admin.headers
    )
    await client.delete(f"/api/v1/users/{user['id']}", headers=admin.headers)

    async with sessionmaker() as session:
        events = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.entity_id == user["id"]).order_by(AuditEvent.id)
            )
        ).all()
    assert [e.action for e in events] == ["user.create", "user.update", "user.delete"]
    assert all(e.actor_id == str(admin.user.id) and e.via == "api" for e in events)
    assert events[1].before["timezone"] == "UTC"
    assert events[1].after["timezone"] == "Asia/Tokyo"
    assert events[2].after is None and events[2].before["email"] == "f@example.com"

    audit = await client.get(
        "/api/v1/audit", params={"entity_id": user["id"]}, headers=admin.headers
    )
    assert [e["action"] for e in audit.json()["data"]] == [
        "user.delete",
        "user.update",
        "user.create",
    ]


async def test_passwords_never_reach_the_audit_log(
    client: httpx.AsyncClient,
    admin,
    sessionmaker: SessionMaker,  # type: ignore[no-untyped-def]
) -> None:
    secret = "correct horse battery staple"
    user = (
        await client.post(
            "/api/v1/users",
            json={"name": "G", "email": "g@example.com", "password": secret},
            headers=admin.headers,
        )
    ).json()
    await client.patch(
        f"/api/v1/users/{user['id']}", json={"password": secret + "!"}, headers=admin.headers
    )
    async with sessionmaker() as session:
        events = (await session.scalars(select(AuditEvent))).all()
        stored = await session.get(User, user["id"])
    assert secret not in repr([(e.before, e.after) for e in events])
    assert (
        stored is not None and stored.password_hash and stored.password_hash.startswith("$argon2")
    )


async def test_duplicate_email_is_409_case_insensitively(client: httpx.AsyncClient, admin) -> None:  # type: ignore[no-untyped-def]
    body = {"name": "H", "email": "h@example.com"}
    assert (await client.post("/api/v1/users", json=body, headers=admin.headers)).status_code == 201
    again = await client.post(
        "/api/v1/users", json={**body, "email": "H@EXAMPLE.COM"}, headers=admin.headers
    )
    assert "already exists" in assert_problem(again, 409)["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "email": "not-an-email"}, "body.email"),
        ({"name": "", "email": "a@example.com"}, "body.name"),
        ({"name": "x", "email": "a@example.com", "timezone": "Mars/Olympus"}, "body.timezone"),
        ({"name": "x", "email": "a@example.com", "role": "owner"}, "body.role"),
        ({"name": "x", "email": "a@example.com", "password": "short"}, "body.password"),
        ({"email": "a@example.com"}, "body.name"),
    ],
)
async def test_invalid_user_fields_are_422_naming_the_field(
    client: httpx.AsyncClient,
    admin,
    body: dict,
    field: str,  # type: ignore[no-untyped-def, type-arg]
) -> None:
    problem = assert_problem(
        await client.post("/api/v1/users", json=body, headers=admin.headers), 422
    )
    assert field in [e["field"] for e in problem["errors"]]


async def test_malformed_json_is_422_not_500(client: httpx.AsyncClient, admin) -> None:  # type: ignore[no-untyped-def]
    response = await client.post(
        "/api/v1/users",
        content=b'{"name": "x", ',
        headers={**admin.headers, "content-type": "application/json"},
    )
    assert_problem(response, 422)


async def test_unknown_user_id_and_malformed_id(client: httpx.AsyncClient, admin) -> None:  # type: ignore[no-untyped-def]
    assert_problem(
        await client.get(
            "/api/v1/users/00000000-0000-0000-0000-000000000000", headers=admin.headers
        ),
        404,
    )
    assert_problem(await client.get("/api/v1/users/not-a-uuid", headers=admin.headers), 422)


async def test_observer_and_responder_cannot_manage_users(
    client: httpx.AsyncClient,
    sessionmaker: SessionMaker,
    admin,  # type: ignore[no-untyped-def]
) -> None:
    for role in (Role.observer, Role.responder):
        who = await login(sessionmaker, role=role)
        body = {"name": "I", "email": f"i-{role}@example.com"}
        assert_problem(await client.post("/api/v1/users", json=body, headers=who.headers), 403)
        assert_problem(
            await client.patch(
                f"/api/v1/users/{admin.user.id}", json={"name": "x"}, headers=who.headers
            ),
            403,
        )
        assert_problem(
            await client.delete(f"/api/v1/users/{admin.user.id}", headers=who.headers), 403
        )
        # …but they may read.
        assert (await client.get("/api/v1/users", headers=who.headers)).status_code == 200


async def test_user_edits_own_profile_but_not_own_role(
    client: httpx.AsyncClient,
    sessionmaker: SessionMaker,  # type: ignore[no-untyped-def]
) -> None:
    me = await login(sessionmaker, role=Role.responder)
    ok = await client.patch(
        f"/api/v1/users/{me.user.id}", json={"timezone": "America/Chicago"}, headers=me.headers
    )
    assert ok.status_code == 200 and ok.json()["timezone"] == "America/Chicago"
    assert_problem(
        await client.patch(
            f"/api/v1/users/{me.user.id}", json={"role": "admin"}, headers=me.headers
        ),
        403,
    )
    assert (await client.get("/api/v1/users/me", headers=me.headers)).json()["id"] == str(
        me.user.id
    )


async def test_admin_cannot_delete_themself(client: httpx.AsyncClient, admin) -> None:  # type: ignore[no-untyped-def]
    assert_problem(
        await client.delete(f"/api/v1/users/{admin.user.id}", headers=admin.headers), 409
    )


async def test_audit_log_is_admin_only(
    client: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    responder = await login(sessionmaker, role=Role.responder)
    assert_problem(await client.get("/api/v1/audit", headers=responder.headers), 403)
