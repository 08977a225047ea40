"""SMS and voice codes cost the operator money: cooldowns and daily caps per user and number."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from app.db import SessionMaker
from app.errors import RateLimited
from app.ingest.ratelimit import RateLimiter
from app.notify.models import ContactMethod, ContactType
from app.notify.sendlimits import CodeLimits, check
from tests.factories import assert_problem, login
from tests.local_redis import drop_keys, needs_redis
from tests.notify.conftest import Providers

REDIS_URL = "redis://127.0.0.1:6379/0"


def _url(user_id: object, rest: str = "") -> str:
    return f"/api/v1/users/{user_id}/contact-methods{rest}"


async def _sms_method(api: httpx.AsyncClient, headers: dict[str, str], user_id: object) -> str:
    r = await api.post(
        _url(user_id), json={"type": "sms", "address": "+1 555 777 8888"}, headers=headers
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_a_second_code_within_the_cooldown_is_429_with_retry_after_and_not_sent(
    notify_api: httpx.AsyncClient, sessionmaker: SessionMaker, providers: Providers
) -> None:
    me = await login(sessionmaker)
    mid = await _sms_method(notify_api, me.headers, me.user.id)
    first = await notify_api.post(_url(me.user.id, f"/{mid}/send-code"), headers=me.headers)
    assert first.status_code == 202, first.text
    again = await notify_api.post(_url(me.user.id, f"/{mid}/send-code"), headers=me.headers)
    assert_problem(again, 429)
    assert 0 < int(again.headers["retry-after"]) <= 60
    assert len(providers.twilio.sent()) == 1


async def test_another_user_cannot_send_to_the_same_number_during_its_cooldown(
    notify_api: httpx.AsyncClient, sessionmaker: SessionMaker, providers: Providers
) -> None:
    alice, mallory = await login(sessionmaker), await login(sessionmaker)
    a = await _sms_method(notify_api, alice.headers, alice.user.id)
    m = await _sms_method(notify_api, mallory.headers, mallory.user.id)
    sent = await notify_api.post(_url(alice.user.id, f"/{a}/send-code"), headers=alice.headers)
    assert sent.status_code == 202
    refused = await notify_api.post(
        _url(mallory.user.id, f"/{m}/send-code"), headers=mallory.headers
    )
    assert_problem(refused, 429)
    assert len(providers.twilio.sent()) == 1


def _method(kind: ContactType, address: str, user: uuid.UUID | None = None) -> ContactMethod:
    return ContactMethod(user_id=user or uuid.uuid4(), type=kind, address=address)


async def test_the_daily_caps_hold_per_user_and_per_number_and_other_channels_are_free() -> None:
    limits = CodeLimits(cooldown_seconds=0.01, per_user_per_day=3, per_destination_per_day=2)
    limiter = RateLimiter(None)
    user = uuid.uuid4()
    for number in ("+15550000001", "+15550000002", "+15550000003"):
        await check(limiter, method=_method(ContactType.sms, number, user), limits=limits)
        await asyncio.sleep(0.02)
    with pytest.raises(RateLimited) as per_user:
        await check(limiter, method=_method(ContactType.voice, "+15550000004", user), limits=limits)
    assert per_user.value.retry_after > 3600  # a cap, not a cooldown
    # Per number: two codes to one number from anyone, then none for the day.
    for _ in range(2):
        await check(limiter, method=_method(ContactType.voice, "+15559999999"), limits=limits)
        await asyncio.sleep(0.02)
    with pytest.raises(RateLimited):
        await check(limiter, method=_method(ContactType.sms, "+15559999999"), limits=limits)
    for _ in range(5):  # e-mail costs nothing per message: not limited here
        await check(
            limiter, method=_method(ContactType.email, "a@example.com", user), limits=limits
        )


@needs_redis
async def test_send_code_limits_are_shared_by_api_processes_through_redis() -> None:
    prefix = f"pagefree-test-{uuid.uuid4().hex[:8]}:"
    a, b = RateLimiter(REDIS_URL, prefix=prefix), RateLimiter(REDIS_URL, prefix=prefix)
    method = _method(ContactType.sms, "+15551231234")
    try:
        await check(a, method=method)
        with pytest.raises(RateLimited):
            await check(b, method=method)
        assert a.shared and b.shared
    finally:
        keys = await drop_keys(prefix)
        await a.close()
        await b.close()
    assert keys and not any(b"5551231234" in k for k in keys)  # numbers are hashed
