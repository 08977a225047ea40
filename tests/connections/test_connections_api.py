"""Connections: admin CRUD, write-only encrypted secrets, SSRF checks, the connection test."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.config import Settings
from app.connections import crypto
from app.connections.models import Connection
from app.db import SessionMaker
from app.errors import Conflict
from app.identity.models import Role
from tests.connections import standins
from tests.factories import Login, assert_problem, login
from tests.live_server import serve


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Tests reach their stand-ins on loopback: private targets allowed."""
    return settings.model_copy(update={"allow_private_targets": True})


@pytest.fixture
def recorded() -> standins.Recorded:
    return standins.Recorded()


@pytest.fixture
async def jira_url(recorded: standins.Recorded) -> AsyncIterator[str]:
    async with serve(standins.jira(recorded)) as url:
        yield url


@pytest.fixture
async def linear_url(recorded: standins.Recorded) -> AsyncIterator[str]:
    async with serve(standins.linear(recorded)) as url:
        yield f"{url}/graphql"


@pytest.fixture
async def admin(sessionmaker: SessionMaker) -> Login:
    return await login(sessionmaker, role=Role.admin)


def jira_body(url: str, token: str = standins.JIRA_TOKEN) -> dict[str, object]:
    return {
        "type": "jira",
        "name": "Jira Cloud",
        "config": {"base_url": url, "email": standins.JIRA_EMAIL, "api_token": token},
    }


async def test_secrets_are_write_only_and_encrypted_at_rest(
    client: httpx.AsyncClient, admin: Login, jira_url: str, sessionmaker: SessionMaker
) -> None:
    r = await client.post("/api/v1/connections", json=jira_body(jira_url), headers=admin.headers)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["config"] == {"base_url": f"{jira_url}/", "email": standins.JIRA_EMAIL}
    assert created["secrets_set"] == ["api_token"]
    cid = created["id"]
    for answer in (
        r,
        await client.get(f"/api/v1/connections/{cid}", headers=admin.headers),
        await client.get("/api/v1/connections", headers=admin.headers),
        await client.patch(
            f"/api/v1/connections/{cid}", json={"name": "Jira"}, headers=admin.headers
        ),
    ):
        assert answer.status_code == 200 or answer.status_code == 201
        assert standins.JIRA_TOKEN not in answer.text
    async with sessionmaker() as session:
        row = (await session.scalars(select(Connection))).one()
        assert standins.JIRA_TOKEN not in row.secrets and standins.JIRA_TOKEN not in str(row.config)
        audits = (
            await session.scalars(select(AuditEvent).where(AuditEvent.entity_id == cid))
        ).all()
    assert [a.action for a in audits] == ["connection.create", "connection.update"]
    assert all(standins.JIRA_TOKEN not in str(a.before) + str(a.after) for a in audits)
    # A rename kept the secret: the credentials still work.
    r = await client.post(f"/api/v1/connections/{cid}/test", headers=admin.headers)
    assert r.json() == {"ok": True, "detail": "signed in to Jira as Jira Bot"}


async def test_the_connection_test_reports_bad_credentials_and_a_new_secret_fixes_them(
    client: httpx.AsyncClient, admin: Login, jira_url: str, linear_url: str
) -> None:
    r = await client.post(
        "/api/v1/connections", json=jira_body(jira_url, "wrong-token"), headers=admin.headers
    )
    cid = r.json()["id"]
    r = await client.post(f"/api/v1/connections/{cid}/test", headers=admin.headers)
    assert r.json() == {"ok": False, "detail": "Jira answered 401"}
    await client.patch(
        f"/api/v1/connections/{cid}",
        json={"config": {"api_token": standins.JIRA_TOKEN}},
        headers=admin.headers,
    )
    assert (await client.post(f"/api/v1/connections/{cid}/test", headers=admin.headers)).json()[
        "ok"
    ]
    r = await client.post(
        "/api/v1/connections",
        json={
            "type": "linear",
            "name": "Linear",
            "config": {"api_key": standins.LINEAR_KEY, "api_url": linear_url},
        },
        headers=admin.headers,
    )
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/v1/connections/{r.json()['id']}/test", headers=admin.headers)
    assert r.json() == {"ok": True, "detail": "signed in to Linear as Lin Bot"}
    r = await client.post(
        "/api/v1/connections",
        json={"type": "hmac", "name": "Signer", "config": {"secret": "s" * 32}},
        headers=admin.headers,
    )
    assert r.json()["config"] == {} and r.json()["secrets_set"] == ["secret"]


async def test_bad_configs_are_422_without_echoing_secrets_and_only_admins_manage(
    client: httpx.AsyncClient, admin: Login, sessionmaker: SessionMaker, jira_url: str
) -> None:
    r = await client.post(
        "/api/v1/connections",
        json={
            "type": "jira",
            "name": "x",
            "config": {"email": "a@b.c", "api_token": "tok-secret-1"},
        },
        headers=admin.headers,
    )
    body = assert_problem(r, 422)
    assert body["errors"][0]["field"] == "config.base_url" and "tok-secret-1" not in r.text
    r = await client.post(
        "/api/v1/connections",
        json={
            "type": "basic",
            "name": "x",
            "config": {"username": "u", "password": "pw-secret-2", "extra": 1},
        },
        headers=admin.headers,
    )
    assert (
        assert_problem(r, 422)["errors"][0]["field"] == "config.extra"
        and "pw-secret-2" not in r.text
    )
    responder = await login(sessionmaker)
    assert_problem(await client.get("/api/v1/connections", headers=responder.headers), 403)
    r = await client.post(
        "/api/v1/connections", json=jira_body(jira_url), headers=responder.headers
    )
    assert_problem(r, 403)


async def test_private_targets_are_refused_unless_allowed(
    client: httpx.AsyncClient, admin: Login, settings: Settings, app: object
) -> None:
    app.state.settings = settings.model_copy(update={"allow_private_targets": False})  # type: ignore[attr-defined]
    r = await client.post(
        "/api/v1/connections", json=jira_body("https://127.0.0.1:8443"), headers=admin.headers
    )
    body = assert_problem(r, 422)
    assert body["errors"][0]["field"] == "config.base_url"
    r = await client.post(
        "/api/v1/connections", json=jira_body("http://jira.example.com"), headers=admin.headers
    )
    assert "https" in assert_problem(r, 422)["detail"]


def test_a_dev_key_is_generated_once_into_the_data_dir_and_a_set_key_wins(
    settings: Settings,
) -> None:
    sealed = crypto.seal(settings, {"api_token": "t"})
    path = settings.resolved_data_dir / crypto.KEY_FILE
    assert path.exists() and (os.stat(path).st_mode & 0o777) == 0o600
    assert crypto.unseal(settings, sealed) == {"api_token": "t"}  # the same key, read back
    keyed = settings.model_copy(update={"secret_key": SecretStr("a long random operator secret")})
    with pytest.raises(Conflict, match="PAGEFREE_SECRET_KEY changed"):
        crypto.unseal(keyed, sealed)
    assert crypto.unseal(keyed, crypto.seal(keyed, {"k": 1})) == {"k": 1}
    production = settings.model_copy(update={"environment": "production"})
    with pytest.raises(Conflict, match="set PAGEFREE_SECRET_KEY"):
        crypto.seal(production, {})
