"""Outbound webhook calls: auth per connection type, OAuth2 token cache, failure classes, SSRF.

Real HTTP on loopback against the stand-ins in tests/connections/standins.py.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from app import netguard
from app.automations import outbound
from app.automations.outbound import OutboundResult, PermanentFailure, TransientFailure
from app.config import Settings
from app.connections import crypto, oauth2, providers
from app.connections.models import SECRET_KEYS, Connection, ConnectionType, JiraConfig
from app.connections.pinning import pinned
from app.db import SessionMaker
from app.identity.models import Role
from tests.connections import standins
from tests.factories import login
from tests.live_server import free_port, serve


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The stand-ins are on loopback: private targets allowed (PAGEFREE_ALLOW_PRIVATE_TARGETS)."""
    return settings.model_copy(update={"allow_private_targets": True})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """A fresh token cache per test, on a clock the test moves."""
    fake = Clock()
    monkeypatch.setattr(oauth2, "TOKENS", oauth2.TokenCache(clock=fake))
    return fake


@pytest.fixture
def tokens() -> standins.TokenEndpoint:
    return standins.TokenEndpoint()


@pytest.fixture
async def token_url(tokens: standins.TokenEndpoint) -> AsyncIterator[str]:
    async with serve(standins.oauth2_token(tokens)) as url:
        yield f"{url}/token"


@pytest.fixture
def receiver(tokens: standins.TokenEndpoint) -> standins.Receiver:
    return standins.Receiver(tokens=tokens)


@pytest.fixture
async def base(receiver: standins.Receiver) -> AsyncIterator[str]:
    async with serve(standins.webhook_receiver(receiver)) as url:
        yield url


async def make_connection(
    sessionmaker: SessionMaker, settings: Settings, kind: str, config: dict[str, Any]
) -> UUID:
    secret_keys = SECRET_KEYS[ConnectionType(kind)]
    row = Connection(
        type=kind,
        name=f"{kind}-{uuid4().hex[:8]}",
        config={k: v for k, v in config.items() if k not in secret_keys},
        secrets=crypto.seal(settings, {k: v for k, v in config.items() if k in secret_keys}),
    )
    async with sessionmaker() as session:
        session.add(row)
        await session.commit()
        return row.id


def oauth_config(token_url: str, secret: str = standins.OAUTH_CLIENT_SECRET) -> dict[str, Any]:
    return {
        "token_url": token_url,
        "client_id": standins.OAUTH_CLIENT_ID,
        "client_secret": secret,
        "scope": "hooks:write",
    }


async def send(
    settings: Settings,
    sessionmaker: SessionMaker,
    url: str,
    connection_id: UUID | None = None,
    *,
    key: str = "automation:a:i:0",
    method: str = "POST",
    headers: dict[str, str] | None = None,
    body: str | None = '{"incident": "INC-1"}',
) -> OutboundResult:
    return await outbound.send_webhook(
        settings,
        sessionmaker,
        url=url,
        method=method,
        headers=headers or {},
        body=body,
        connection_id=connection_id,
        idempotency_key=key,
    )


async def test_hmac_is_signed_like_generic_webhooks_and_reserved_headers_stay_ours(
    settings: Settings, sessionmaker: SessionMaker, receiver: standins.Receiver, base: str
) -> None:
    receiver.expect = "hmac"
    cid = await make_connection(sessionmaker, settings, "hmac", {"secret": standins.HMAC_SECRET})
    user_headers = {
        "X-Team": "payments",
        "idempotency-key": "forged",
        "Host": "evil.example",
        "Content-Length": "1",
        "X-PageFree-Signature": "sha256=00",
        "Authorization": "Bearer forged",
    }
    for _ in range(2):  # a retry: the same key again
        result = await send(
            settings, sessionmaker, f"{base}/hook", cid, key="run-7:step-0", headers=user_headers
        )
        assert result.status == 202 and json.loads(result.excerpt) == {
            "received": len(receiver.requests)
        }
    assert [r["authorised"] for r in receiver.requests] == [True, True]
    for seen in receiver.requests:
        headers = seen["headers"]
        assert headers["idempotency-key"] == "run-7:step-0"
        assert headers["x-team"] == "payments"
        assert headers["host"].startswith("127.0.0.1:")
        assert headers["content-length"] == str(len(b'{"incident": "INC-1"}'))
        assert "authorization" not in headers
        assert headers["user-agent"] == outbound.USER_AGENT
        assert headers["content-type"] == "application/json"
        assert seen["body"] == b'{"incident": "INC-1"}'


async def test_basic_auth_and_no_auth(
    settings: Settings, sessionmaker: SessionMaker, receiver: standins.Receiver, base: str
) -> None:
    receiver.expect = "basic"
    cid = await make_connection(
        sessionmaker,
        settings,
        "basic",
        {"username": standins.BASIC_USER, "password": standins.BASIC_PASSWORD},
    )
    result = await send(
        settings, sessionmaker, f"{base}/hook", cid, headers={"Authorization": "Basic Zm9yZ2Vk"}
    )
    assert result.status == 202 and receiver.requests[-1]["authorised"]
    receiver.expect = None
    result = await send(settings, sessionmaker, f"{base}/hook", method="get", body=None)
    assert result.status == 202
    seen = receiver.requests[-1]
    assert (
        seen["method"] == "GET" and seen["body"] == b"" and "authorization" not in seen["headers"]
    )
    assert seen["headers"]["idempotency-key"] == "automation:a:i:0"
    # Basic credentials that the target refuses: 401 is a client error, not retried.
    receiver.expect = "basic"
    wrong = await make_connection(
        sessionmaker, settings, "basic", {"username": standins.BASIC_USER, "password": "nope-nope"}
    )
    with pytest.raises(PermanentFailure) as caught:
        await send(settings, sessionmaker, f"{base}/hook", wrong)
    assert caught.value.status == 401


async def test_oauth2_token_is_cached_refreshed_after_expiry_and_on_a_401(
    settings: Settings,
    sessionmaker: SessionMaker,
    receiver: standins.Receiver,
    tokens: standins.TokenEndpoint,
    token_url: str,
    base: str,
    clock: Clock,
) -> None:
    receiver.expect = "bearer"
    tokens.expires_in = 600
    cid = await make_connection(sessionmaker, settings, "oauth2", oauth_config(token_url))
    for _ in range(3):
        assert (await send(settings, sessionmaker, f"{base}/hook", cid)).status == 202
    assert tokens.grants == 1
    assert tokens.forms == [{"grant_type": "client_credentials", "scope": "hooks:write"}]
    used = {r["headers"]["authorization"] for r in receiver.requests}
    assert used == {f"Bearer {tokens.issued[0]}"}
    # Shortly before expiry (inside the margin) a new grant is made.
    clock.now += 600 - 29
    await send(settings, sessionmaker, f"{base}/hook", cid)
    assert tokens.grants == 2
    assert receiver.requests[-1]["headers"]["authorization"] == f"Bearer {tokens.issued[1]}"
    # The target stops accepting the token early: one 401, one fresh grant, the call succeeds.
    tokens.revoke_all()
    result = await send(settings, sessionmaker, f"{base}/hook", cid)
    assert result.status == 202 and tokens.grants == 3
    assert [r["authorised"] for r in receiver.requests[-2:]] == [False, True]
    assert receiver.requests[-1]["headers"]["authorization"] == f"Bearer {tokens.issued[2]}"
    # Both attempts carried the same idempotency key.
    assert {r["headers"]["idempotency-key"] for r in receiver.requests[-2:]} == {"automation:a:i:0"}
    # A changed config is a new version: a new grant, not the old token.
    async with sessionmaker() as session:
        row = await session.get(Connection, cid)
        assert row is not None
        row.config = {**(row.config or {}), "scope": "hooks:read"}
        await session.commit()
    await send(settings, sessionmaker, f"{base}/hook", cid)
    assert tokens.grants == 4 and tokens.forms[-1]["scope"] == "hooks:read"


async def test_concurrent_callers_share_one_grant(
    settings: Settings,
    sessionmaker: SessionMaker,
    receiver: standins.Receiver,
    tokens: standins.TokenEndpoint,
    token_url: str,
    base: str,
) -> None:
    receiver.expect = "bearer"
    tokens.delay = 0.2
    cid = await make_connection(sessionmaker, settings, "oauth2", oauth_config(token_url))
    results = await asyncio.gather(
        *(send(settings, sessionmaker, f"{base}/hook", cid, key=f"k{n}") for n in range(6))
    )
    assert [r.status for r in results] == [202] * 6
    assert tokens.grants == 1 and len(tokens.forms) == 1
    assert sorted(r["headers"]["idempotency-key"] for r in receiver.requests) == [
        f"k{n}" for n in range(6)
    ]


async def test_token_endpoint_errors_are_permanent_for_invalid_client_else_transient(
    settings: Settings,
    sessionmaker: SessionMaker,
    receiver: standins.Receiver,
    tokens: standins.TokenEndpoint,
    token_url: str,
    base: str,
) -> None:
    wrong = await make_connection(
        sessionmaker, settings, "oauth2", oauth_config(token_url, "wrong-secret-value")
    )
    with pytest.raises(PermanentFailure) as caught:
        await send(settings, sessionmaker, f"{base}/hook", wrong)
    assert "invalid_client" in str(caught.value) and caught.value.status == 401
    assert "wrong-secret-value" not in str(caught.value)
    tokens.fail_first, tokens.fail_status = 1, 503
    good = await make_connection(sessionmaker, settings, "oauth2", oauth_config(token_url))
    with pytest.raises(TransientFailure) as transient:
        await send(settings, sessionmaker, f"{base}/hook", good)
    assert transient.value.status == 503
    tokens.fail_first, tokens.fail_status = 1, 429
    with pytest.raises(TransientFailure) as limited:
        await send(settings, sessionmaker, f"{base}/hook", good)
    assert limited.value.retry_after == 7
    receiver.expect = "bearer"
    assert (await send(settings, sessionmaker, f"{base}/hook", good)).status == 202
    assert receiver.requests and all(r["authorised"] for r in receiver.requests)


CLASSES: list[tuple[int, type[PermanentFailure | TransientFailure]]] = [
    (400, PermanentFailure),
    (404, PermanentFailure),
    (408, TransientFailure),
    (429, TransientFailure),
    (500, TransientFailure),
    (503, TransientFailure),
]


async def test_answers_are_classified_permanent_or_transient(
    settings: Settings, sessionmaker: SessionMaker, receiver: standins.Receiver, base: str
) -> None:
    for status, failure in CLASSES:
        receiver.requests.clear()
        receiver.fail_first, receiver.fail_status, receiver.retry_after = 1, status, "3"
        with pytest.raises(failure) as caught:
            await send(settings, sessionmaker, f"{base}/hook")
        assert type(caught.value) is failure and caught.value.status == status
        assert f"answering {status}" in caught.value.excerpt
        if isinstance(caught.value, TransientFailure):
            assert caught.value.retry_after == 3
        # The next call (a retry) succeeds with the same key.
        assert (await send(settings, sessionmaker, f"{base}/hook")).status == 202
        keys = [r["headers"]["idempotency-key"] for r in receiver.requests]
        assert keys == ["automation:a:i:0"] * 2


async def test_timeouts_refused_connections_and_redirects(
    settings: Settings,
    sessionmaker: SessionMaker,
    receiver: standins.Receiver,
    base: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(outbound, "TIMEOUT_SECONDS", 0.3)
    receiver.delay = 1.0
    with pytest.raises(TransientFailure, match=r"did not answer within 0\.3 s"):
        await send(settings, sessionmaker, f"{base}/hook")
    receiver.delay = 0
    monkeypatch.setattr(outbound, "TIMEOUT_SECONDS", 10.0)
    with pytest.raises(TransientFailure, match="unreachable: ConnectError"):
        await send(settings, sessionmaker, f"http://127.0.0.1:{free_port()}/hook")
    before = len(receiver.requests)
    with pytest.raises(PermanentFailure, match="redirects are not followed") as caught:
        await send(settings, sessionmaker, f"{base}/redirect")
    assert caught.value.status == 302
    assert [r.get("path") for r in receiver.requests[before:]] == ["/redirect"]


async def test_private_targets_are_refused_unless_allowed_and_bad_setups_are_permanent(
    settings: Settings,
    sessionmaker: SessionMaker,
    receiver: standins.Receiver,
    tokens: standins.TokenEndpoint,
    token_url: str,
    base: str,
) -> None:
    strict = settings.model_copy(update={"allow_private_targets": False})
    for url in (f"{base}/hook", "https://127.0.0.1/hook", "https://10.1.2.3/hook"):
        with pytest.raises(PermanentFailure, match="refused"):
            await send(strict, sessionmaker, url)
    # A public webhook host, but the connection's token URL is loopback: refused too.
    cid = await make_connection(sessionmaker, settings, "oauth2", oauth_config(token_url))
    with pytest.raises(PermanentFailure, match="token URL is refused"):
        await send(strict, sessionmaker, "https://93.184.215.14/hook", cid)
    assert receiver.requests == [] and tokens.grants == 0
    jira = await make_connection(
        sessionmaker,
        settings,
        "jira",
        {"base_url": base, "email": "a@b.c", "api_token": standins.JIRA_TOKEN},
    )
    with pytest.raises(PermanentFailure, match="jira connection"):
        await send(settings, sessionmaker, f"{base}/hook", jira)
    with pytest.raises(PermanentFailure, match="does not exist"):
        await send(settings, sessionmaker, f"{base}/hook", uuid4())
    with pytest.raises(PermanentFailure, match="method"):
        await send(settings, sessionmaker, f"{base}/hook", method="TRACE")
    assert receiver.requests == []


async def test_secrets_never_appear_in_excerpts_or_exceptions(
    settings: Settings,
    sessionmaker: SessionMaker,
    receiver: standins.Receiver,
    tokens: standins.TokenEndpoint,
    token_url: str,
    base: str,
) -> None:
    receiver.echo = True  # the target answers with what it was sent, credentials included
    basic = await make_connection(
        sessionmaker,
        settings,
        "basic",
        {"username": standins.BASIC_USER, "password": standins.BASIC_PASSWORD},
    )
    oauth = await make_connection(sessionmaker, settings, "oauth2", oauth_config(token_url))
    pair = base64.b64encode(f"{standins.BASIC_USER}:{standins.BASIC_PASSWORD}".encode()).decode()
    big = json.dumps({"padding": "x" * 5000})
    result = await send(settings, sessionmaker, f"{base}/hook", basic, body=big)
    assert len(result.excerpt) <= outbound.EXCERPT_BYTES and pair not in result.excerpt
    result = await send(settings, sessionmaker, f"{base}/hook", basic)
    assert outbound.REDACTED in result.excerpt and pair not in result.excerpt
    receiver.fail_first, receiver.fail_status = 1, 500
    with pytest.raises(TransientFailure) as caught:
        await send(settings, sessionmaker, f"{base}/hook", oauth)
    token = tokens.issued[0]
    text = str(caught.value) + caught.value.excerpt + repr(caught.value)
    assert token not in text and standins.OAUTH_CLIENT_SECRET not in text
    assert outbound.REDACTED in caught.value.excerpt
    result = await send(settings, sessionmaker, f"{base}/hook", oauth)
    assert token not in result.excerpt and outbound.REDACTED in result.excerpt
    assert token not in repr(oauth2.TOKENS._tokens)


async def test_the_connection_test_fetches_an_oauth2_token_and_says_hmac_and_basic_reach_nothing(
    client: httpx.AsyncClient,
    sessionmaker: SessionMaker,
    tokens: standins.TokenEndpoint,
    token_url: str,
) -> None:
    admin = await login(sessionmaker, role=Role.admin)

    async def tested(kind: str, config: dict[str, Any]) -> dict[str, Any]:
        r = await client.post(
            "/api/v1/connections",
            json={"type": kind, "name": f"{kind}-{uuid4().hex[:6]}", "config": config},
            headers=admin.headers,
        )
        assert r.status_code == 201, r.text
        r = await client.post(f"/api/v1/connections/{r.json()['id']}/test", headers=admin.headers)
        assert r.status_code == 200, r.text
        answer: dict[str, Any] = r.json()
        return answer

    assert await tested("oauth2", oauth_config(token_url)) == {
        "ok": True,
        "detail": "the token endpoint issued a Bearer token, valid 3600 s",
    }
    assert tokens.grants == 1
    bad = await tested("oauth2", oauth_config(token_url, "wrong-secret-value"))
    assert bad == {"ok": False, "detail": "the token endpoint answered 401 (invalid_client)"}
    hmac = await tested("hmac", {"secret": standins.HMAC_SECRET})
    assert hmac["ok"] and "nothing to reach" in hmac["detail"]
    basic = await tested(
        "basic", {"username": standins.BASIC_USER, "password": standins.BASIC_PASSWORD}
    )
    assert basic["ok"] and "nothing to reach" in basic["detail"]
    assert standins.BASIC_PASSWORD not in json.dumps(basic)


async def test_the_call_goes_to_the_checked_address_not_a_second_dns_answer(
    settings: Settings,
    sessionmaker: SessionMaker,
    receiver: standins.Receiver,
    base: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers: list[str] = []

    async def resolve(host: str, port: int) -> list[netguard.IPAddress]:
        # A name only this stub knows: if the HTTP client resolved it again, the call would fail.
        answers.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    monkeypatch.setattr(netguard, "resolve", resolve)
    port = base.rsplit(":", 1)[1]
    result = await send(settings, sessionmaker, f"http://hooks.pagefree.test:{port}/hook?a=1")
    assert result.status == 202 and answers == ["hooks.pagefree.test"]
    assert receiver.requests[-1]["headers"]["host"] == f"hooks.pagefree.test:{port}"
    # Jira and Linear calls through a connection are pinned the same way.
    async with serve(standins.jira(standins.Recorded())) as jira_url:
        cfg = JiraConfig(
            base_url=f"http://jira.pagefree.test:{jira_url.rsplit(':', 1)[1]}",
            email=standins.JIRA_EMAIL,
            api_token=standins.JIRA_TOKEN,
        )
        tested = await providers.test_connection(settings, cfg)
    assert tested.ok and answers[-1] == "jira.pagefree.test"


def test_pinning_keeps_the_name_for_host_and_tls() -> None:
    v4, v6 = ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("2606:2800:21f::1")
    assert pinned("https://u:p@Hooks.example.com/x?q=1", [v4]) == (
        "https://u:p@93.184.215.14/x?q=1",
        {"Host": "Hooks.example.com"},
        {"sni_hostname": "hooks.example.com"},
    )
    assert pinned("http://hooks.example.com:8080/x", [v6]) == (
        "http://[2606:2800:21f::1]:8080/x",
        {"Host": "hooks.example.com:8080"},
        {},
    )
    assert pinned("https://93.184.215.14/x", [v4]) == ("https://93.184.215.14/x", {}, {})
