"""Single sign-on against a stand-in OpenID Connect provider on a loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from fastapi import FastAPI
from joserfc.jwk import RSAKey
from pydantic import SecretStr
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.config import Settings
from app.db import SessionMaker
from app.identity.models import User
from app.web.models import WebSession
from tests.factories import make_user
from tests.live_server import free_port, serve
from tests.web import oidc_provider
from tests.web.oidc_provider import Provider


@pytest.fixture
async def provider() -> AsyncIterator[Provider]:
    port = free_port()
    p = Provider(issuer=f"http://127.0.0.1:{port}")
    async with serve(oidc_provider.build(p), port):
        yield p


@pytest.fixture
async def sso_app(
    settings: Settings, database_url: str, provider: Provider
) -> AsyncIterator[httpx.AsyncClient]:
    async with _sso_client(settings, database_url, provider) as client:
        yield client


@asynccontextmanager
async def _sso_client(
    settings: Settings, database_url: str, provider: Provider, **extra: object
) -> AsyncIterator[httpx.AsyncClient]:
    from api import create_app

    configured = settings.model_copy(
        update={
            "public_url": "http://test",
            "oidc_issuer": provider.issuer,
            "oidc_client_id": oidc_provider.CLIENT_ID,
            "oidc_client_secret": SecretStr(oidc_provider.CLIENT_SECRET),
            "oidc_provider_name": "Example SSO",
            **extra,
        }
    )
    app: FastAPI = create_app(configured, database_url=database_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def _through_provider(client: httpx.AsyncClient, next_path: str = "/") -> httpx.Response:
    """Start SSO, let the provider answer, and bring its redirect back to the app."""
    start = await client.get(f"/login/oidc?next={next_path}")
    assert start.status_code == 303, start.text
    authorize = start.headers["location"]
    async with httpx.AsyncClient() as browser_to_provider:
        answer = await browser_to_provider.get(authorize)
    assert answer.status_code == 307, answer.text
    back = urlparse(answer.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == "http://test/login/oidc/callback"
    return await client.get(f"{back.path}?{back.query}")


async def test_sign_in_with_sso_starts_a_session(
    sso_app: httpx.AsyncClient, provider: Provider, sessionmaker: SessionMaker
) -> None:
    async with sessionmaker() as session:
        user = await make_user(session, email="sso@example.com", name="Sam Sso")
    login = await sso_app.get("/login")
    assert "Sign in with Example SSO" in login.text
    start = await sso_app.get("/login/oidc?next=/oncall")
    query = parse_qs(urlparse(start.headers["location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    flow_cookie = next(c for c in start.headers.get_list("set-cookie") if c.startswith("pf_oidc="))
    assert "HttpOnly" in flow_cookie
    done = await _through_provider(sso_app, "/oncall")
    assert done.status_code == 303 and done.headers["location"] == "/oncall"
    page = await sso_app.get("/oncall")
    assert page.status_code == 200 and "Sam Sso" in page.text
    async with sessionmaker() as session:
        sessions = (await session.scalars(select(WebSession))).all()
        audit = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == "web_session.create")
            )
        ).all()
    assert [(s.user_id, s.method) for s in sessions] == [(user.id, "oidc")]
    assert audit[0].after == {"method": "oidc"}


async def test_sso_user_without_an_account_is_refused(
    sso_app: httpx.AsyncClient, provider: Provider
) -> None:
    provider.email = "stranger@example.com"
    done = await _through_provider(sso_app)
    assert done.status_code == 403 and "No PageFree account" in done.text
    assert "pf_session" not in done.headers.get("set-cookie", "")


async def test_unverified_email_forged_token_and_wrong_nonce_are_refused(
    sso_app: httpx.AsyncClient, provider: Provider, sessionmaker: SessionMaker
) -> None:
    async with sessionmaker() as session:
        await make_user(session, email="sso@example.com")
    provider.email_verified = False
    unverified = await _through_provider(sso_app)
    assert unverified.status_code == 401 and "verified e-mail" in unverified.text
    provider.email_verified = True
    provider.signing_key = RSAKey.generate_key(2048, {"kid": "k1"})
    forged = await _through_provider(sso_app)
    assert forged.status_code == 401 and "could not be verified" in forged.text
    provider.signing_key = None
    provider.nonce_override = "replayed"
    replayed = await _through_provider(sso_app)
    assert replayed.status_code == 401 and "could not be verified" in replayed.text
    async with sessionmaker() as session:
        assert (await session.scalars(select(WebSession))).all() == []


async def test_a_callback_that_is_not_ours_is_refused(
    sso_app: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    no_flow = await sso_app.get("/login/oidc/callback?code=x&state=y")
    assert no_flow.status_code == 401 and "try again" in no_flow.text
    await sso_app.get("/login/oidc")
    wrong_state = await sso_app.get("/login/oidc/callback?code=x&state=not-the-one")
    assert wrong_state.status_code == 401 and "does not belong" in wrong_state.text
    denied = await sso_app.get("/login/oidc/callback?error=access_denied")
    assert denied.status_code == 401 and "access_denied" in denied.text


async def test_sso_is_absent_when_not_configured(anonymous: httpx.AsyncClient) -> None:
    assert "Sign in with" not in (await anonymous.get("/login")).text
    assert (await anonymous.get("/login/oidc")).status_code == 404


async def test_a_missing_email_verified_is_refused_unless_the_issuer_is_trusted(
    settings: Settings, database_url: str, provider: Provider, sessionmaker: SessionMaker
) -> None:
    async with sessionmaker() as session:
        await make_user(session, email="sso@example.com")
    provider.email_verified = None
    async with _sso_client(settings, database_url, provider) as strict:
        refused = await _through_provider(strict)
        assert refused.status_code == 401 and "verified e-mail" in refused.text
    async with _sso_client(settings, database_url, provider, oidc_trust_email=True) as trusting:
        assert (await _through_provider(trusting)).status_code == 303


async def test_the_first_sign_in_binds_sub_and_later_ones_must_present_it(
    sso_app: httpx.AsyncClient, provider: Provider, sessionmaker: SessionMaker
) -> None:
    async with sessionmaker() as session:
        user = await make_user(session, email="sso@example.com")
    assert (await _through_provider(sso_app)).status_code == 303
    async with sessionmaker() as session:
        bound = await session.get(User, user.id)
        assert bound is not None and bound.oidc_subject == "user-1"
    # Someone else at the provider who gets the same address (nOAuth) does not get the account.
    sso_app.cookies.clear()
    provider.sub = "someone-else"
    taken = await _through_provider(sso_app)
    assert taken.status_code == 401 and "bound to another identity" in taken.text
    assert "pf_session" not in taken.headers.get("set-cookie", "")
    # The bound identity signs in even after its address changed at the provider.
    provider.sub, provider.email = "user-1", "sam.renamed@example.com"
    again = await _through_provider(sso_app)
    assert again.status_code == 303
    async with sessionmaker() as session:
        rows = (
            await session.scalars(select(WebSession).where(WebSession.user_id == user.id))
        ).all()
    assert len(rows) == 2
