"""A missing provider configuration disables its channel with a warning, never a crash."""

from __future__ import annotations

import httpx

from app.db import SessionMaker
from tests.factories import login


async def test_readyz_lists_channels_and_warnings(
    notify_api: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    me = await login(sessionmaker)  # the details are for signed-in callers
    r = await notify_api.get("/readyz", headers=me.headers)
    assert r.status_code == 200, r.text
    notifications = r.json()["notifications"]
    assert notifications["channels"] == {
        "email": "ok",
        "sms": "ok",
        "voice": "ok",
        "push": "ok",
        "slack": "ok",
        "teams": "disabled",
    }
    assert notifications["warnings"] == []


async def test_an_unconfigured_server_starts_and_says_which_channels_are_off(
    client: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    me = await login(sessionmaker)
    r = await client.get("/readyz", headers=me.headers)  # no Temporal here: 503, with details
    body = r.json()
    assert set(body["notifications"]["channels"].values()) == {"disabled"}
    assert any("SES_FROM_ADDRESS" in w for w in body["notifications"]["warnings"])
    assert (await client.get("/healthz")).status_code == 200
