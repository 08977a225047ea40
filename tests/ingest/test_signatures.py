"""Signed generic webhooks: HMAC over "{timestamp}.{body}", ±300 s window, no replays."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from app.catalog.models import Service
from app.ingest import signing
from tests.factories import Login, assert_problem
from tests.ingest.conftest import deliveries_of, make_integration
from tests.ingest.test_receivers import signed

BODY = json.dumps({"summary": "Signed", "dedup_key": "sig"}).encode()


def test_sign_matches_a_hand_computed_hmac() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"s3cret", b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert signing.sign("s3cret", 1700000000, BODY) == f"sha256={expected}"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "send X-PageFree-Timestamp"),
        ({"X-PageFree-Timestamp": "{now}"}, "send X-PageFree-Timestamp"),
        ({"X-PageFree-Timestamp": "{now}", "X-PageFree-Signature": "deadbeef"}, "sha256="),
        ({"X-PageFree-Timestamp": "soon", "X-PageFree-Signature": "sha256=00"}, "unix seconds"),
        ({"X-PageFree-Timestamp": "{now}", "X-PageFree-Signature": "sha256=00"}, "not match"),
        ({"X-PageFree-Timestamp": "{now}", "X-PageFree-Signature": "sha256=é"}, "not match"),
    ],
)
async def test_missing_or_wrong_signature_is_401(
    offline: httpx.AsyncClient, admin: Login, svc: Service, headers: dict[str, str], reason: str
) -> None:
    integ = await make_integration(offline, admin, svc, "generic")
    sent = {k: v.replace("{now}", str(int(time.time()))).encode() for k, v in headers.items()}
    r = await offline.post(
        f"/integrations/{integ['key']}/generic",
        content=BODY,
        headers={"Content-Type": b"application/json", **sent},
    )
    body = assert_problem(r, 401)
    assert reason in body["detail"] and body["type"] == "/problems/invalid-signature"
    [row] = await deliveries_of(offline, admin, integ["id"])
    assert (row["status_code"], row["outcome"]) == (401, "rejected")


@pytest.mark.parametrize("offset", [-301, 301, -3600, 10**9])
async def test_timestamps_outside_the_window_are_refused(
    offline: httpx.AsyncClient, admin: Login, svc: Service, offset: int
) -> None:
    integ = await make_integration(offline, admin, svc, "generic")
    headers = signed(integ["secret"], BODY, int(time.time()) + offset)
    r = await offline.post(f"/integrations/{integ['key']}/generic", content=BODY, headers=headers)
    assert "from now" in assert_problem(r, 401)["detail"]


async def test_a_body_signed_for_another_body_is_refused(
    offline: httpx.AsyncClient, admin: Login, svc: Service
) -> None:
    integ = await make_integration(offline, admin, svc, "generic")
    headers = signed(integ["secret"], BODY)
    tampered = BODY.replace(b"Signed", b"Forged")
    r = await offline.post(
        f"/integrations/{integ['key']}/generic", content=tampered, headers=headers
    )
    assert_problem(r, 401)


async def test_replay_of_an_accepted_request_is_refused_but_a_fresh_one_is_not(
    api: httpx.AsyncClient, admin: Login, svc: Service
) -> None:
    integ = await make_integration(api, admin, svc, "generic")
    url = f"/integrations/{integ['key']}/generic"
    # Old but inside the window, with room to spare: the replay below must fail as a
    # replay, not because a slow machine let the second request drift past 300 s.
    headers = signed(integ["secret"], BODY, int(time.time()) - 240)
    assert (await api.post(url, content=BODY, headers=headers)).status_code == 202
    replay = await api.post(url, content=BODY, headers=headers)
    assert assert_problem(replay, 409)["type"] == "/problems/replayed"
    fresh = signed(integ["secret"], BODY, int(time.time()) - 1)
    assert (await api.post(url, content=BODY, headers=fresh)).status_code == 202


async def test_a_request_that_was_not_accepted_may_be_retried_with_its_signature(
    offline: httpx.AsyncClient, admin: Login, svc: Service
) -> None:
    integ = await make_integration(offline, admin, svc, "generic")
    url = f"/integrations/{integ['key']}/generic"
    headers = signed(integ["secret"], BODY)
    for _ in range(2):  # Temporal is down: 503 both times, never 409
        assert_problem(await offline.post(url, content=BODY, headers=headers), 503)
