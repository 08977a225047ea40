"""Passwords beside single sign-on: break-glass only, current password asked, other sessions
ended; sign-in lockout per e-mail and client; every answer costs one argon2 check, off the loop."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.config import Settings
from app.db import SessionMaker
from app.identity import service as identity
from app.identity.models import Role, User
from app.web.models import WebSession
from tests.factories import login, make_user
from tests.web.conftest import PASSWORD, browser_for, sign_in

NEW = "a brand new passphrase 42"


@pytest.fixture
async def sso_on(settings: Settings, database_url: str) -> AsyncIterator[FastAPI]:
    """The app with single sign-on configured (no provider is asked in these tests)."""
    from api import create_app

    configured = settings.model_copy(
        update={"oidc_issuer": "https://sso.example.com", "oidc_client_id": "pagefree"}
    )
    app = create_app(configured, database_url=database_url)
    async with app.router.lifespan_context(app):
        yield app


def _client(app: FastAPI, host: str = "127.0.0.1") -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(host, 5000)),
        base_url="http://test",
    )


async def test_with_sso_on_password_sign_in_is_only_for_break_glass_accounts(
    sso_on: FastAPI, sessionmaker: SessionMaker
) -> None:
    async with sessionmaker() as session:
        user = await make_user(session, email="kim@example.com", password=PASSWORD)
    async with _client(sso_on) as browser:
        refused = await sign_in(browser, "kim@example.com")
        assert refused.status_code == 403 and "break-glass" in refused.text
        assert "pf_session" not in refused.headers.get("set-cookie", "")
    admin = await login(sessionmaker, role=Role.admin)
    async with _client(sso_on) as api:
        flagged = await api.patch(
            f"/api/v1/users/{user.id}", json={"break_glass": True}, headers=admin.headers
        )
        assert flagged.status_code == 200 and flagged.json()["break_glass"] is True
    async with _client(sso_on) as browser:
        assert (await sign_in(browser, "kim@example.com")).status_code == 303


async def test_with_sso_on_only_break_glass_accounts_get_a_password_and_only_admins_flag_them(
    sso_on: FastAPI, sessionmaker: SessionMaker
) -> None:
    me = await login(sessionmaker)
    admin = await login(sessionmaker, role=Role.admin)
    async with _client(sso_on) as api:
        own = await api.patch(
            f"/api/v1/users/{me.user.id}", json={"password": NEW}, headers=me.headers
        )
        assert own.status_code == 403 and "break-glass" in own.json()["detail"]
        flag_myself = await api.patch(
            f"/api/v1/users/{me.user.id}", json={"break_glass": True}, headers=me.headers
        )
        assert flag_myself.status_code == 403
        by_admin = await api.patch(
            f"/api/v1/users/{me.user.id}", json={"password": NEW}, headers=admin.headers
        )
        assert by_admin.status_code == 403
        break_glass = await api.patch(
            f"/api/v1/users/{me.user.id}",
            json={"password": NEW, "break_glass": True},
            headers=admin.headers,
        )
        assert break_glass.status_code == 200, break_glass.text
    async with sessionmaker() as session:
        stored = await session.get(User, me.user.id)
        assert stored is not None and identity.verify_password(stored.password_hash, NEW)


async def test_changing_my_password_asks_for_the_current_one_and_ends_my_other_sessions(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    here = await browser_for(web_app, sessionmaker)
    elsewhere = _client(web_app)
    assert (await sign_in(elsewhere, here.user.email)).status_code == 303
    form = {"name": here.user.name, "timezone": "UTC", "password": NEW}
    missing = await here.post("/profile", form)
    assert missing.status_code == 422 and "current password" in missing.text
    wrong = await here.post("/profile", {**form, "current_password": "not my password"})
    assert wrong.status_code == 422
    assert (await elsewhere.get("/profile")).status_code == 200  # nothing changed yet
    changed = await here.post("/profile", {**form, "current_password": PASSWORD})
    assert changed.status_code == 303, changed.text
    assert (await here.get("/profile")).status_code == 200  # this session goes on
    ended = await elsewhere.get("/profile")
    assert ended.status_code == 303 and ended.headers["location"].startswith("/login")
    async with sessionmaker() as session:
        rows = (
            await session.scalars(select(WebSession).where(WebSession.user_id == here.user.id))
        ).all()
    assert len(rows) == 1
    await elsewhere.aclose()


async def test_changing_my_password_over_the_api_asks_for_the_current_one(
    client: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    me = await login(sessionmaker, password=PASSWORD)
    url = f"/api/v1/users/{me.user.id}"
    missing = await client.patch(url, json={"password": NEW}, headers=me.headers)
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "current_password"
    ok = await client.patch(
        url, json={"password": NEW, "current_password": PASSWORD}, headers=me.headers
    )
    assert ok.status_code == 200


async def test_wrong_guesses_from_one_client_do_not_lock_the_user_out_elsewhere(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    async with sessionmaker() as session:
        await make_user(session, email="lee@example.com", password=PASSWORD)
    async with _client(web_app, "198.51.100.7") as attacker, _client(web_app, "10.0.0.5") as lee:
        for _ in range(10):
            assert (await sign_in(attacker, "lee@example.com", "guess")).status_code == 401
        assert (await sign_in(attacker, "lee@example.com")).status_code == 429
        assert (await sign_in(lee, "lee@example.com")).status_code == 303


async def test_every_sign_in_answer_costs_one_argon2_check_in_a_worker_thread(
    web_app: FastAPI, sessionmaker: SessionMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unknown, single-sign-on-only and password accounts answer alike (no timing oracle)."""
    async with sessionmaker() as session:
        await make_user(session, email="sso-only@example.com")
        await make_user(session, email="pat@example.com", password=PASSWORD)
    checks: list[tuple[str, bool]] = []
    real = identity.verify_password

    def recording(password_hash: str | None, password: str) -> bool:
        on_main = threading.current_thread() is threading.main_thread()
        checks.append((str(password_hash)[:10], on_main))
        return real(password_hash, password)

    monkeypatch.setattr(identity, "verify_password", recording)
    async with _client(web_app) as browser:
        for email in ("nobody@example.com", "sso-only@example.com", "pat@example.com"):
            assert (await sign_in(browser, email, "wrong password")).status_code == 401
    assert checks == [("$argon2id$", False)] * 3


async def test_the_first_admin_made_with_a_password_on_the_command_line_is_break_glass(
    database_url: str, sessionmaker: SessionMaker
) -> None:
    from app.identity.bootstrap import create_admin

    await create_admin(database_url, email="root@example.com", name=None, password=PASSWORD)
    await create_admin(database_url, email="sso-admin@example.com", name=None, password=None)
    async with sessionmaker() as session:
        root = await identity.get_user_by_email(session=session, email="root@example.com")
        sso = await identity.get_user_by_email(session=session, email="sso-admin@example.com")
    assert root is not None and root.break_glass
    assert sso is not None and not sso.break_glass
