"""Heartbeat monitors on the time-skipping server: a missed deadline opens an incident through
the ingestion hand-off, the next ping resolves it; the API's bounds, secrets and limits."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from sqlalchemy import select
from sqlmodel import col
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app.config import Settings
from app.db import SessionMaker
from app.identity.models import Role
from app.incidents.models import Incident
from app.temporal import LazyClient
from tests import incident_helpers as h
from tests.factories import Login, assert_problem, login
from tests.local_redis import REDIS_URL, needs_redis
from workflows.heartbeat_types import (
    PINGS_PER_RUN,
    WORKFLOW_NAME,
    MonitorConfig,
    MonitorInput,
    next_wait,
)

URL = "/api/v1/services/{}/heartbeats"


def test_next_wait_is_the_deadline_until_overdue() -> None:
    config = MonitorConfig(interval_seconds=60, grace_seconds=30)
    assert next_wait(config, overdue=False) == timedelta(seconds=90)
    assert next_wait(config, overdue=True) is None


@pytest.fixture
async def hb_app(
    settings: Settings, database_url: str, ts_env: WorkflowEnvironment, worker: Worker
) -> AsyncIterator[FastAPI]:
    from api import create_app

    app = create_app(settings, database_url=database_url)
    app.state.temporal = LazyClient(settings, None, client=ts_env.client)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def web(hb_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=hb_app, raise_app_exceptions=False),
        base_url="http://test",
    ) as c:
        yield c


async def _incidents(sessionmaker: SessionMaker, dedup_key: str) -> list[Incident]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(Incident)
            .where(col(Incident.dedup_key) == dedup_key)
            .order_by(col(Incident.created_at))
        )
        return list(rows.all())


async def test_missed_heartbeat_opens_an_incident_and_the_next_ping_resolves_it(
    web: httpx.AsyncClient,
    sessionmaker: SessionMaker,
    settings: Settings,
    ts_env: WorkflowEnvironment,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    admin: Login = await login(sessionmaker, role=Role.admin)
    pager = (await h.users(sessionmaker, 1))[0]
    svc = await h.service(
        sessionmaker, await h.policy(sessionmaker, settings, [h.level(300, pager)])
    )
    url = URL.format(svc.id)

    async def api(method: str, path: str, body: Any = None) -> httpx.Response:
        return await web.request(method, path, json=body, headers=admin.headers)

    for bad in ({"interval": 5}, {"interval": "P31D"}, {"interval": 60, "grace": -1}):
        assert_problem(await api("POST", url, {"name": "nightly", **bad}), 422)
    created = await api("POST", url, {"name": "nightly backup", "interval": 60, "grace": 30})
    assert created.status_code == 201, created.text
    hb = created.json()
    assert (hb["interval"], hb["grace"]) == ("PT1M", "PT30S")
    key = hb["url"].rsplit("/heartbeat/", 1)[1]
    assert len(key) >= 32 and hb["key_prefix"] == key[:8]  # 192 random bits
    listed = (await api("GET", url)).json()["data"]
    assert [x["url"] for x in listed] == [None]  # the secret is shown once
    dedup = f"heartbeat:{hb['id']}"
    handle = ts_env.client.get_workflow_handle(dedup)

    # Pings within interval + grace keep it quiet, whatever the method.
    for method in ("POST", "GET", "POST"):
        await ts_env.sleep(70)
        ping = await web.request(method, f"/heartbeat/{key}")
        assert ping.status_code == 200, ping.text
    assert await _incidents(sessionmaker, dedup) == []

    # Silence past the deadline: an incident on the service, by the ingestion hand-off.
    await ts_env.sleep(120)
    opened = await h.eventually(lambda: _incidents(sessionmaker, dedup), timeout=20)
    assert len(opened) == 1 and opened[0].service_id == svc.id
    assert "nightly backup" in opened[0].title and opened[0].status == "triggered"
    # Staying silent does not open another one.
    await ts_env.sleep(600)
    assert len(await _incidents(sessionmaker, dedup)) == 1

    assert (await web.get(f"/heartbeat/{key}")).status_code == 200

    async def resolved() -> bool:
        rows = await _incidents(sessionmaker, dedup)
        return bool(rows) and rows[0].status == "resolved"

    assert await h.eventually(resolved, timeout=20)
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING

    # Unknown and malformed keys.
    assert_problem(await web.post("/heartbeat/" + "x" * 32), 404)
    assert_problem(await web.post("/heartbeat/short"), 422)
    # The app's own logs (the access log included) show the key's prefix only.
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("pagefree"))
    assert key not in ours and f"/heartbeat/{key[:8]}…" in ours

    # Silent again: a new incident; deleting the monitor resolves it and ends the workflow.
    await ts_env.sleep(120)

    async def two() -> list[Incident] | None:
        rows = await _incidents(sessionmaker, dedup)
        return rows if len(rows) == 2 else None

    second = (await h.eventually(two, timeout=20))[1]
    assert second.status == "triggered"
    assert (await api("DELETE", f"{url}/{hb['id']}")).status_code == 204

    async def second_resolved() -> bool:
        rows = await _incidents(sessionmaker, dedup)
        return rows[1].status == "resolved"

    assert await h.eventually(second_resolved, timeout=20)
    assert await h.eventually(
        lambda: _status_is(handle, WorkflowExecutionStatus.COMPLETED), timeout=20
    )
    assert_problem(await web.post(f"/heartbeat/{key}"), 404)
    # The rate limit per key: a burst of ten, then 429 with Retry-After.
    other = (await api("POST", url, {"name": "busy", "interval": 60})).json()
    busy = other["url"].rsplit("/heartbeat/", 1)[1]
    # All at once: one by one on a loaded machine, tokens come back (2 a second) in between.
    sent = await asyncio.gather(*(web.post(f"/heartbeat/{busy}") for _ in range(16)))
    answers = [r.status_code for r in sent]
    assert 10 <= answers.count(200) <= 12 and answers.count(429) >= 4, answers


async def _status_is(handle: Any, wanted: WorkflowExecutionStatus) -> bool:
    return bool((await handle.describe()).status == wanted)


async def test_heartbeat_api_bounds_roles_and_changes(
    web: httpx.AsyncClient, sessionmaker: SessionMaker, settings: Settings
) -> None:
    admin = await login(sessionmaker, role=Role.admin)
    responder = await login(sessionmaker)
    pager = (await h.users(sessionmaker, 1))[0]
    svc = await h.service(
        sessionmaker, await h.policy(sessionmaker, settings, [h.level(300, pager)])
    )
    url = URL.format(svc.id)
    body = {"name": "cron", "interval": "PT10S"}
    assert_problem(await web.post(url, json=body, headers=responder.headers), 403)
    assert_problem(
        await web.post(
            URL.format("00000000-0000-0000-0000-000000000000"), json=body, headers=admin.headers
        ),
        404,
    )
    created = await web.post(url, json={**body, "interval": "P30D"}, headers=admin.headers)
    assert created.status_code == 201, created.text
    hb_url = f"{url}/{created.json()['id']}"
    changed = await web.patch(
        hb_url, json={"interval": 3600, "grace": "PT5M"}, headers=admin.headers
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["interval"], changed.json()["grace"]) == ("PT1H", "PT5M")
    assert_problem(await web.patch(hb_url, json={"interval": 9}, headers=admin.headers), 422)
    assert_problem(await web.patch(hb_url, json={"name": None}, headers=admin.headers), 422)
    seen = await web.get(hb_url, headers=responder.headers)
    assert seen.status_code == 200 and seen.json()["url"] is None


async def test_monitor_continues_as_new_after_many_pings_and_keeps_its_state(
    ts_env: WorkflowEnvironment, worker: Worker, settings: Settings
) -> None:
    """An overdue monitor stays overdue across runs; a run holds at most PINGS_PER_RUN pings."""
    config = MonitorConfig(interval_seconds=3600, grace_seconds=0)
    handle = await ts_env.client.start_workflow(
        WORKFLOW_NAME,
        MonitorInput(heartbeat_id="00000000-0000-0000-0000-000000000000", config=config),
        id="heartbeat:can-test",
        task_queue=settings.temporal_task_queue,
    )
    first = (await handle.describe()).run_id
    for _ in range(PINGS_PER_RUN + 5):
        await handle.signal("ping")

    async def moved_on() -> bool:
        return (await ts_env.client.get_workflow_handle(handle.id).describe()).run_id != first

    assert await h.eventually(moved_on, timeout=30)
    latest = ts_env.client.get_workflow_handle(handle.id)
    assert await latest.query("overdue_now") is False
    assert (await latest.describe()).status == WorkflowExecutionStatus.RUNNING


async def test_heartbeat_pages_create_show_the_url_once_edit_and_delete(
    hb_app: FastAPI, web: httpx.AsyncClient, sessionmaker: SessionMaker, settings: Settings
) -> None:
    from tests.web.conftest import browser_for

    pager = (await h.users(sessionmaker, 1))[0]
    svc = await h.service(
        sessionmaker, await h.policy(sessionmaker, settings, [h.level(300, pager)])
    )
    base = f"/services/{svc.id}/heartbeats"
    admin = await browser_for(hb_app, sessionmaker, role=Role.admin)
    assert f'href="/services/{svc.id}/heartbeats"' in (await admin.get(f"/services/{svc.id}")).text
    assert "No heartbeat monitors yet." in (await admin.get(base)).text
    too_often = await admin.post(base, {"name": "cron", "interval": "5", "grace": "0"})
    assert too_often.status_code == 422
    created = await admin.post(base, {"name": "nightly backup", "interval": "600", "grace": "60"})
    assert created.status_code == 201, created.text
    ping_url = created.text.split('id="new-url" readonly value="')[1].split('"')[0]
    assert ping_url.startswith(f"{settings.base_url}/heartbeat/")
    key = ping_url.rsplit("/", 1)[1]
    listed = (await admin.get(base)).text
    assert key not in listed and "nightly backup" in listed
    assert "waiting for the first ping" in listed and f"{key[:8]}" in listed

    assert (await web.post(f"/heartbeat/{key}")).status_code == 200
    listed = (await admin.get(base)).text
    assert ">ok</span>" in listed and "never" not in listed

    responder = await browser_for(hb_app, sessionmaker)
    seen = (await responder.get(base)).text
    assert "nightly backup" in seen and key[:8] not in seen and "Add a monitor" not in seen
    assert (await responder.post(base, {"name": "x", "interval": "60"})).status_code == 403

    async with sessionmaker() as session:
        from app.heartbeats import service as heartbeats

        (hb,) = await heartbeats.list_heartbeats(session=session, service_id=svc.id)
    form = {"name": "backup", "interval": "900", "grace": "0"}
    edited = await admin.post(f"{base}/{hb.id}", form)
    assert edited.status_code == 303
    listed = (await admin.get(base)).text
    assert "900 s" in listed and ">backup<" in listed
    deleted = await admin.post(f"{base}/{hb.id}/delete", {})
    assert deleted.status_code == 303
    assert "No heartbeat monitors yet." in (await admin.get(base)).text


@needs_redis
async def test_ping_limits_are_shared_by_api_processes_through_redis(
    settings: Settings, database_url: str
) -> None:
    from api import create_app

    shared = settings.model_copy(update={"redis_url": REDIS_URL})
    key = secrets.token_urlsafe(24)  # unknown: the limit is counted before the lookup
    apps = [create_app(shared, database_url=database_url) for _ in range(2)]
    async with contextlib.AsyncExitStack() as stack:
        clients = []
        for app in apps:
            await stack.enter_async_context(app.router.lifespan_context(app))
            # An unknown key never reaches Temporal: any client object will do.
            app.state.temporal = LazyClient(shared, None, client=object())  # type: ignore[arg-type]
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            clients.append(
                await stack.enter_async_context(
                    httpx.AsyncClient(transport=transport, base_url="http://test")
                )
            )
        first = [(await clients[0].post(f"/heartbeat/{key}")).status_code for _ in range(10)]
        assert first == [404] * 10, first
        # The other process: a limit of its own would allow it a burst of ten; the shared one
        # has at most the token or two that came back while the first ten were answered.
        other = [(await clients[1].get(f"/heartbeat/{key}")) for _ in range(4)]
        limited = [r for r in other if r.status_code == 429]
        assert limited and int(limited[0].headers["retry-after"]) >= 1, other
        assert apps[1].state.heartbeat_limiter.shared
        redis = aioredis.Redis.from_url(REDIS_URL)
        try:
            stored = [k async for k in redis.scan_iter(match="pagefree:hb-rl:*")]
        finally:
            await redis.aclose()
        assert stored and not any(key.encode() in k for k in stored)  # hashed, never the key
        for app in apps:
            await app.state.heartbeat_limiter.close()
