"""Signing in and out, session cookies, expiry, CSRF, and where sign-in leads."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from app.audit.models import AuditEvent
from app.config import Settings
from app.db import SessionMaker, utcnow
from app.identity.models import Role
from app.web.models import WebSession
from tests.factories import make_user
from tests.local_redis import drop_keys, needs_redis
from tests.web.conftest import PASSWORD, _client, browser_for, csrf_of, sign_in


async def test_pages_send_strangers_to_sign_in_and_back(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/oncall?x=1")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Foncall%3Fx%3D1"
    form = await anonymous.get(response.headers["location"])
    assert form.status_code == 200 and 'name="next" value="/oncall?x=1"' in form.text
    csp = form.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert form.headers["x-frame-options"] == "DENY"


async def test_sign_in_sets_a_secret_http_only_same_site_cookie(
    anonymous: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    async with sessionmaker() as session:
        user = await make_user(session, password=PASSWORD, email="ann@example.com")
    form = await anonymous.get("/login?next=/oncall")
    response = await anonymous.post(
        "/login",
        data={
            "email": "ANN@example.com",
            "password": PASSWORD,
            "csrf_token": csrf_of(form.text),
            "next": "/oncall",
        },
    )
    assert response.status_code == 303 and response.headers["location"] == "/oncall"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("pf_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    raw = cookie.split(";")[0].split("=", 1)[1]
    async with sessionmaker() as session:
        rows = (await session.scalars(select(WebSession))).all()
    # Only a hash of the cookie is stored.
    assert [r.user_id for r in rows] == [user.id] and rows[0].id_hash != raw
    page = await anonymous.get("/")
    assert page.status_code == 200 and user.name in page.text


async def test_wrong_password_is_refused_and_audited(
    anonymous: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    async with sessionmaker() as session:
        await make_user(session, password=PASSWORD, email="bo@example.com")
    response = await sign_in(anonymous, "bo@example.com", "wrong password!!")
    assert response.status_code == 401
    assert "Wrong e-mail address or password" in response.text
    assert "pf_session" not in response.headers.get("set-cookie", "")
    unknown = await sign_in(anonymous, "nobody@example.com")
    assert unknown.status_code == 401
    async with sessionmaker() as session:
        events = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == "web_session.failed")
            )
        ).all()
    assert len(events) == 2


async def test_sign_in_form_needs_its_csrf_cookie(
    anonymous: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    async with sessionmaker() as session:
        await make_user(session, password=PASSWORD, email="cy@example.com")
    response = await anonymous.post(
        "/login", data={"email": "cy@example.com", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "expired" in response.text


async def test_sign_in_never_redirects_to_another_site(
    anonymous: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    async with sessionmaker() as session:
        await make_user(session, password=PASSWORD, email="di@example.com")
    form = await anonymous.get("/login")
    response = await anonymous.post(
        "/login",
        data={
            "email": "di@example.com",
            "password": PASSWORD,
            "csrf_token": csrf_of(form.text),
            "next": "//evil.example/phish",
        },
    )
    assert response.status_code == 303 and response.headers["location"] == "/"


async def test_posts_without_the_session_csrf_token_are_refused(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    browser = await browser_for(web_app, sessionmaker)
    missing = await browser.client.post("/profile/tokens", data={"name": "x"})
    forged = await browser.client.post("/profile/tokens", data={"name": "x", "csrf_token": "no"})
    for response in (missing, forged):
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("text/html")
    ok = await browser.post("/profile/tokens", {"name": "x"})
    assert ok.status_code == 200 and "shown once" in ok.text


async def test_sign_out_ends_the_session_and_clears_the_offline_copy(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    browser = await browser_for(web_app, sessionmaker)
    cookie = browser.client.cookies.get("pf_session")
    response = await browser.post("/logout")
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert response.headers["clear-site-data"] == '"cache", "storage"'
    browser.client.cookies.set("pf_session", cookie or "")
    again = await browser.client.get("/")
    assert again.status_code == 303 and again.headers["location"].startswith("/login")


async def test_sessions_expire_after_their_lifetime_and_when_idle(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    for column in (WebSession.expires_at, WebSession.idle_expires_at):
        browser = await browser_for(web_app, sessionmaker)
        assert (await browser.client.get("/")).status_code == 200
        async with sessionmaker() as session:
            await session.execute(
                update(WebSession)
                .where(WebSession.user_id == browser.user.id)
                .values({column: utcnow() - timedelta(seconds=1)})
            )
            await session.commit()
        assert (await browser.client.get("/")).status_code == 303
        async with sessionmaker() as session:
            left = await session.scalars(
                select(WebSession).where(WebSession.user_id == browser.user.id)
            )
            assert left.all() == []


async def test_observers_may_not_change_configuration(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    browser = await browser_for(web_app, sessionmaker, role=Role.observer)
    page = await browser.get("/users")
    assert page.status_code == 200 and "Add a user" not in page.text
    response = await browser.post("/users", {"name": "Eve", "email": "eve@example.com"})
    assert response.status_code == 403 and "admin role" in response.text


async def test_password_guessing_is_slowed_down(
    anonymous: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    async with sessionmaker() as session:
        await make_user(session, password=PASSWORD, email="gus@example.com")
    for _ in range(10):
        assert (await sign_in(anonymous, "gus@example.com", "guess guess guess")).status_code == 401
    limited = await sign_in(anonymous, "gus@example.com", PASSWORD)
    assert limited.status_code == 429 and "Too many sign-in attempts" in limited.text
    assert int(limited.headers["retry-after"]) > 0
    assert "pf_session" not in limited.headers.get("set-cookie", "")


REDIS_URL = "redis://127.0.0.1:6379/0"


@asynccontextmanager
async def _api_process(
    settings: Settings, database_url: str, prefix: str
) -> AsyncIterator[httpx.AsyncClient]:
    """One API 'process': its own app and limiter, counting in Redis under `prefix`."""
    from api import create_app

    app = create_app(settings, database_url=database_url)
    async with app.router.lifespan_context(app):
        app.state.login_limiter.prefix = prefix
        async with _client(app) as client:
            yield client


@needs_redis
async def test_sign_in_limits_are_shared_by_api_processes_through_redis(
    settings: Settings, database_url: str, sessionmaker: SessionMaker
) -> None:
    async with sessionmaker() as session:
        await make_user(session, password=PASSWORD, email="hal@example.com")
    prefix = f"pagefree-test-{uuid.uuid4().hex[:8]}:"
    shared = settings.model_copy(update={"redis_url": REDIS_URL})
    try:
        async with (
            _api_process(shared, database_url, prefix) as a,
            _api_process(shared, database_url, prefix) as b,
        ):
            for client in [a, b] * 5:  # ten wrong guesses, five through each process
                assert (await sign_in(client, "hal@example.com", "guess")).status_code == 401
            limited = await sign_in(a, "hal@example.com", PASSWORD)
            assert limited.status_code == 429
            assert (await sign_in(b, "hal@example.com", PASSWORD)).status_code == 429
    finally:
        keys = await drop_keys(prefix)
    assert any(k.decode().startswith(f"{prefix}email:") for k in keys)
    assert not any(b"hal@example.com" in k for k in keys)  # addresses are hashed


async def test_signing_in_again_replaces_the_session_and_sweeps_expired_ones(
    anonymous: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    async with sessionmaker() as session:
        user = await make_user(session, password=PASSWORD, email="flo@example.com")
    assert (await sign_in(anonymous, "flo@example.com")).status_code == 303
    first = anonymous.cookies.get("pf_session")
    async with sessionmaker() as session:
        stale = WebSession(
            id_hash="0" * 64,
            user_id=user.id,
            csrf_token="x",
            method="password",
            expires_at=utcnow() - timedelta(days=1),
            idle_expires_at=utcnow() - timedelta(days=1),
        )
        session.add(stale)
        await session.commit()
    form = await anonymous.get("/login")  # signed in: sent on, no form
    assert form.status_code == 303
    anonymous.cookies.delete("pf_login_csrf")
    page = await anonymous.get("/profile")
    token = csrf_of(page.text)
    # The form of another tab, posted while signed in.
    anonymous.cookies.set("pf_login_csrf", token, path="/login")
    again = await anonymous.post(
        "/login", data={"email": "flo@example.com", "password": PASSWORD, "csrf_token": token}
    )
    assert again.status_code == 303
    assert anonymous.cookies.get("pf_session") != first
    async with sessionmaker() as session:
        rows = (await session.scalars(select(WebSession))).all()
    assert len(rows) == 1 and rows[0].id_hash != "0" * 64
