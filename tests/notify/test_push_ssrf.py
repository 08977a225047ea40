"""Push endpoints are chosen by the subscriber: only https on public addresses, no redirects,
checked when saved and again at send time, and errors that do not say what answered."""

from __future__ import annotations

import json
import socket

import httpx
import pytest

from app.db import SessionMaker
from app.notify.channels.base import DeliveryError
from app.notify.channels.push import REFUSED, UNREACHABLE, WebPush
from tests.factories import assert_problem, login
from tests.notify.conftest import PushService, vapid_keys
from tests.notify.standins import Request, StandIn


def _push_method(endpoint: str) -> dict[str, str]:
    sub = {"endpoint": endpoint, "keys": {"p256dh": "BKey", "auth": "au"}}
    return {"type": "push", "address": json.dumps(sub)}


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://127.0.0.1:8443/push/x",
        "https://169.254.169.254/latest/meta-data",
        "https://10.1.2.3/push/x",
        "https://[::1]/push/x",
        "http://8.8.8.8/push/x",  # public, but not https
    ],
)
async def test_saving_a_push_endpoint_on_loopback_private_or_plain_http_is_refused_by_default(
    client: httpx.AsyncClient, sessionmaker: SessionMaker, endpoint: str
) -> None:
    me = await login(sessionmaker)
    answer = await client.post(
        f"/api/v1/users/{me.user.id}/contact-methods",
        json=_push_method(endpoint),
        headers=me.headers,
    )
    body = assert_problem(answer, 422)
    assert body["errors"][0]["field"] == "address"


async def test_a_public_https_push_endpoint_is_accepted(
    client: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    me = await login(sessionmaker)
    answer = await client.post(
        f"/api/v1/users/{me.user.id}/contact-methods",
        json=_push_method("https://8.8.8.8/push/x"),
        headers=me.headers,
    )
    assert answer.status_code == 201, answer.text


def _sender(*, allow_private: bool) -> WebPush:
    private, _ = vapid_keys()
    return WebPush(
        private_key=private, subject="mailto:ops@example.com", allow_private=allow_private
    )


def test_with_the_default_setting_a_loopback_endpoint_is_not_called_at_send_time() -> None:
    push = PushService().start()
    try:
        with pytest.raises(DeliveryError) as caught:
            _sender(allow_private=False).push(
                subscription=push.subscription("a").info(), payload={"title": "x"}
            )
        assert str(caught.value) == REFUSED and caught.value.permanent
        assert push.requests == []
    finally:
        push.stop()


def test_a_name_rebound_to_loopback_after_saving_is_refused_at_send_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    push = PushService().start()
    port = int(push.url.rsplit(":", 1)[1])

    def rebound(host: str, port_: int, **_: object) -> list[tuple[object, ...]]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port_))]

    monkeypatch.setattr(socket, "getaddrinfo", rebound)
    sub = push.subscription("a").info()
    sub["endpoint"] = f"https://push.attacker.example:{port}/push/a"
    try:
        with pytest.raises(DeliveryError) as caught:
            _sender(allow_private=False).push(subscription=sub, payload={})
        assert str(caught.value) == REFUSED
        assert push.requests == []
    finally:
        push.stop()


def test_a_redirect_is_not_followed_and_the_answer_is_not_echoed() -> None:
    inner = StandIn(lambda req: (200, {}, b"internal admin panel")).start()

    def redirect(req: Request) -> tuple[int, dict[str, str], bytes]:
        return 307, {"location": f"{inner.url}/admin"}, b"see internal admin panel"

    outer = StandIn(redirect).start()
    sub = PushService.subscription(outer, "a").info()  # type: ignore[arg-type]
    try:
        with pytest.raises(DeliveryError) as caught:
            _sender(allow_private=True).push(subscription=sub, payload={})
        assert str(caught.value) == REFUSED
        assert len(outer.requests) == 1 and inner.requests == []
    finally:
        outer.stop()
        inner.stop()


def test_an_error_answer_says_only_refused_and_a_closed_port_only_unreachable() -> None:
    talkative = StandIn(lambda req: (500, {}, b"nginx/1.2 on db-internal-7 says hi")).start()
    sub = PushService.subscription(talkative, "a").info()  # type: ignore[arg-type]
    try:
        with pytest.raises(DeliveryError) as refused:
            _sender(allow_private=True).push(subscription=sub, payload={})
        assert str(refused.value) == REFUSED
    finally:
        talkative.stop()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    sub["endpoint"] = f"http://127.0.0.1:{closed}/push/a"
    with pytest.raises(DeliveryError) as unreachable:
        _sender(allow_private=True).push(subscription=sub, payload={})
    assert str(unreachable.value) == UNREACHABLE
