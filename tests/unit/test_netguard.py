"""SSRF guard: only public addresses pass; field errors name the setting."""

from __future__ import annotations

import socket

import pytest

from app.errors import Invalid
from app.netguard import BlockedTarget, check_url, check_url_blocking


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://10.0.0.7/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::ffff:127.0.0.1]/hook",
        "https://localhost/hook",
        "http://93.184.216.34/hook",
        "https:///no-host",
    ],
)
async def test_non_public_or_non_https_targets_are_refused(url: str) -> None:
    with pytest.raises(BlockedTarget) as caught:
        await check_url(url, field="endpoint")
    assert isinstance(caught.value, Invalid)
    assert caught.value.errors and caught.value.errors[0]["field"] == "endpoint"


async def test_a_public_address_passes_and_private_ones_pass_only_when_allowed() -> None:
    assert [str(ip) for ip in await check_url("https://93.184.216.34/x")] == ["93.184.216.34"]
    ips = await check_url("http://127.0.0.1:9/x", schemes=("http", "https"), allow_private=True)
    assert [str(ip) for ip in ips] == ["127.0.0.1"]


@pytest.mark.parametrize(
    "url", ["https://127.0.0.1/x", "https://[fd00::1]/x", "https://100.64.0.1/x", "ftp://8.8.8.8/"]
)
def test_the_blocking_check_refuses_what_the_async_one_refuses(url: str) -> None:
    with pytest.raises(BlockedTarget):
        check_url_blocking(url, field="endpoint")


def test_the_blocking_check_resolves_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A name that resolved to a public address when saved may point inside later (rebinding)."""
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])

    def fake_getaddrinfo(host: str, port: int, **_: object) -> list[tuple[object, ...]]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in next(answers)]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    assert [str(ip) for ip in check_url_blocking("https://push.example/x")] == ["93.184.216.34"]
    with pytest.raises(BlockedTarget):
        check_url_blocking("https://push.example/x")
