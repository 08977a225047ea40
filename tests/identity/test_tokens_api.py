"""API tokens: shown once, stored hashed, revocable, expiring, last-used tracked."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select, text

from app.db import SessionMaker, utcnow
from app.identity.models import ApiToken, Role
from tests.factories import assert_problem, login


async def test_requests_without_or_with_bad_token_are_401(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer pf_nope"}, {"Authorization": "Basic abc"}):
        problem = assert_problem(await client.get("/api/v1/users", headers=headers), 401)
        assert "token" in problem["detail"]


async def test_token_is_shown_once_and_stored_only_as_hash(
    client: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    me = await login(sessionmaker, role=Role.responder)
    created = await client.post(
        f"/api/v1/users/{me.user.id}/tokens", json={"name": "laptop"}, headers=me.headers
    )
    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith("pf_") and len(token) > 40

    listed = await client.get(f"/api/v1/users/{me.user.id}/tokens", headers=me.headers)
    assert token not in listed.text
    assert {t["name"] for t in listed.json()} == {"test", "laptop"}

    async with sessionmaker() as session:
        dump = (await session.execute(text("SELECT * FROM api_tokens"))).all()
    assert token not in repr(dump)

    # The new token works.
    assert (
        await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    ).status_code == 200


async def test_revoked_token_stops_working_at_once(
    client: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    me = await login(sessionmaker, role=Role.observer)
    second = (await client.post(f"/api/v1/users/{me.user.id}/tokens", headers=me.headers)).json()
    auth = {"Authorization": f"Bearer {second['token']}"}
    assert (await client.get("/api/v1/users/me", headers=auth)).status_code == 200
    revoked = await client.delete(
        f"/api/v1/users/{me.user.id}/tokens/{second['id']}", headers=me.headers
    )
    assert revoked.status_code == 204
    assert_problem(await client.get("/api/v1/users/me", headers=auth), 401)
    # The other token is untouched.
    assert (await client.get("/api/v1/users/me", headers=me.headers)).status_code == 200


async def test_expired_token_is_401(client: httpx.AsyncClient, sessionmaker: SessionMaker) -> None:
    me = await login(sessionmaker)
    soon = (utcnow() + timedelta(hours=1)).isoformat()
    created = (
        await client.post(
            f"/api/v1/users/{me.user.id}/tokens",
            json={"name": "short", "expires_at": soon},
            headers=me.headers,
        )
    ).json()
    async with sessionmaker() as session:
        row = await session.get(ApiToken, created["id"])
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)
        await session.commit()
    assert_problem(
        await client.get(
            "/api/v1/users/me", headers={"Authorization": f"Bearer {created['token']}"}
        ),
        401,
    )


async def test_last_used_time_is_recorded(
    client: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    me = await login(sessionmaker)
    assert (await client.get("/api/v1/users/me", headers=me.headers)).status_code == 200
    async with sessionmaker() as session:
        row = await session.scalar(select(ApiToken).where(ApiToken.user_id == me.user.id))
    assert row is not None and row.last_used_at is not None
    assert utcnow() - row.last_used_at < timedelta(minutes=1)


async def test_users_cannot_manage_others_tokens_but_admins_can(
    client: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    alice = await login(sessionmaker, role=Role.responder)
    bob = await login(sessionmaker, role=Role.responder)
    admin = await login(sessionmaker, role=Role.admin)
    assert_problem(
        await client.post(f"/api/v1/users/{bob.user.id}/tokens", headers=alice.headers), 403
    )
    assert_problem(
        await client.get(f"/api/v1/users/{bob.user.id}/tokens", headers=alice.headers), 403
    )
    made = await client.post(f"/api/v1/users/{bob.user.id}/tokens", headers=admin.headers)
    assert made.status_code == 201
    assert_problem(
        await client.delete(
            f"/api/v1/users/{bob.user.id}/tokens/{made.json()['id']}", headers=alice.headers
        ),
        403,
    )
