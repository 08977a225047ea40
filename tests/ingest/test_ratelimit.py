"""Rate limits per integration key and per client IP: in-process, shared through Redis, and
a Redis outage that degrades to in-process limiting instead of rejecting alerts."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app.catalog.models import Service
from app.config import Settings
from app.ingest.ratelimit import LocalLimiter, Rate
from app.temporal import LazyClient
from tests.factories import Login, assert_problem
from tests.ingest.conftest import deliveries_of, fixture, make_integration, runtime
from tests.ingest.test_bad_input import assert_pagerduty_error
from tests.local_redis import needs_redis

REDIS_URL = "redis://127.0.0.1:6379/0"
LIMIT = {"per_second": 0.5, "burst": 3}  # three at once, then one per two seconds


def test_local_limiter_allows_the_burst_then_the_rate() -> None:
    limiter, rate = LocalLimiter(), Rate(per_second=2, burst=3)
    assert [limiter.hit("k", rate, now=100.0) for _ in range(3)] == [0, 0, 0]
    assert limiter.hit("k", rate, now=100.0) == pytest.approx(0.5)
    assert limiter.hit("k", rate, now=100.5) == 0
    assert limiter.hit("other", rate, now=100.5) == 0


async def test_integration_key_limit_answers_429_with_retry_after(
    offline_app: FastAPI, offline: httpx.AsyncClient, admin: Login, svc: Service
) -> None:
    integ = await make_integration(offline, admin, svc, "datadog", rate_limit=LIMIT)
    url = f"/integrations/{integ['key']}/datadog"
    codes = [(await offline.post(url, json={"title": "x"})).status_code for _ in range(4)]
    assert codes == [503, 503, 503, 429]  # 503: no Temporal here, the limit let them in
    r = await offline.post(url, json={"title": "x"})
    assert assert_problem(r, 429)["type"] == "/problems/rate-limited"
    assert 1 <= int(r.headers["Retry-After"]) <= 2
    rows = await deliveries_of(offline, admin, integ["id"], outcome="rate_limited")
    assert len(rows) == 2 and all(row["status_code"] == 429 for row in rows)


async def test_pagerduty_key_limit_uses_pagerduty_shape(
    offline: httpx.AsyncClient, admin: Login, svc: Service
) -> None:
    integ = await make_integration(offline, admin, svc, "pagerduty", rate_limit=LIMIT)
    event = {"routing_key": integ["key"], "event_action": "resolve", "dedup_key": "k"}
    for _ in range(3):
        await offline.post("/v2/enqueue", json=event)
    r = await offline.post("/v2/enqueue", json=event)
    assert assert_pagerduty_error(r, 429)["status"] == "throttle event"
    assert r.headers["Retry-After"]


async def test_client_ip_limit_covers_every_key(
    offline_app: FastAPI, offline: httpx.AsyncClient, admin: Login, svc: Service
) -> None:
    runtime(offline_app).ip_rate = Rate(per_second=0.5, burst=2)
    a = await make_integration(offline, admin, svc, "datadog")
    b = await make_integration(offline, admin, svc, "newrelic")
    assert (await offline.post(f"/integrations/{a['key']}/datadog", json={})).status_code == 400
    assert (await offline.post(f"/integrations/{b['key']}/newrelic", json={})).status_code == 400
    r = await offline.post(f"/integrations/{b['key']}/newrelic", json={})
    assert "client" in assert_problem(r, 429)["detail"]


@asynccontextmanager
async def _api(
    settings: Settings, database_url: str, temporal: LazyClient, prefix: str
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """One API 'process' with its own runtime, limiting through Redis under `prefix`."""
    from api import create_app

    app = create_app(settings, database_url=database_url)
    app.state.temporal = temporal
    async with app.router.lifespan_context(app):
        runtime(app).limiter.prefix = prefix
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield app, c


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own in the local Redis, removed afterwards."""
    prefix = f"pagefree-test-{uuid.uuid4().hex[:8]}:"
    yield prefix
    client = aioredis.Redis.from_url(REDIS_URL)
    keys = [k async for k in client.scan_iter(match=prefix + "*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@needs_redis
async def test_limit_is_shared_between_api_processes_through_redis(
    settings: Settings, database_url: str, admin: Login, svc: Service, redis_prefix: str
) -> None:
    shared = settings.model_copy(update={"redis_url": REDIS_URL})
    offline = LazyClient(shared, None)
    async with (
        _api(shared, database_url, offline, redis_prefix) as (app_a, a),
        _api(shared, database_url, offline, redis_prefix) as (app_b, b),
    ):
        assert runtime(app_a).limiter.shared and runtime(app_b).limiter.shared
        integ = await make_integration(a, admin, svc, "datadog", rate_limit=LIMIT)
        url = f"/integrations/{integ['key']}/datadog"
        codes = [(await c.post(url, json={"title": "x"})).status_code for c in (a, b, a, b)]
        assert codes == [503, 503, 503, 429]
        redis = aioredis.Redis.from_url(REDIS_URL)
        keys = {k.decode() async for k in redis.scan_iter(match=redis_prefix + "*")}
        await redis.aclose()
        assert f"{redis_prefix}key:{integ['id']}" in keys


async def test_redis_outage_degrades_to_local_limits_and_alerts_still_go_through(
    settings: Settings,
    database_url: str,
    admin: Login,
    svc: Service,
    ts_env: WorkflowEnvironment,
    worker: Worker,
) -> None:
    down = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    temporal = LazyClient(down, None, client=ts_env.client)
    async with _api(down, database_url, temporal, "unused:") as (app, c):
        # One token per 20 s: each accepted alert here costs a signal and (before it) the
        # write of its row, which on a loaded machine took long enough to refill LIMIT's bucket.
        slow = {**LIMIT, "per_second": 0.05}
        integ = await make_integration(c, admin, svc, "pagerduty", rate_limit=slow)
        event = fixture("pagerduty_v2_trigger.json")
        event["routing_key"] = integ["key"]
        codes = [(await c.post("/v2/enqueue", json=event)).status_code for _ in range(4)]
        assert codes == [202, 202, 202, 429]  # accepted despite Redis; the limit still holds
        assert not runtime(app).limiter.shared
