"""Kill -9 the API in the middle of a webhook storm from senders that retry, start it again."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import func, select

from app.audit.models import Actor
from app.config import Settings
from app.db import SessionMaker
from app.incidents.models import Alert, Incident
from app.ingest import service as integrations
from app.ingest.models import IntegrationCreate, IntegrationType
from tests import incident_helpers as h
from tests.faults.conftest import RestartableTemporal
from tests.integration.conftest import ApiProcess, WorkerProcess

pytestmark = pytest.mark.faults

SENDERS = 20
ALERTS = 300
DEDUP_KEYS = 30  # 30 incidents, ten alerts each


async def _send_until_accepted(
    client: httpx.AsyncClient, api: ApiProcess, event: dict[str, object]
) -> int:
    """Send one event like a monitoring tool that retries: until 202, with backoff."""
    for attempt in range(200):
        try:
            r = await client.post(f"{api.url}/v2/enqueue", json=event, timeout=10)
            if r.status_code == 202:
                return attempt + 1
            assert r.status_code in (429, 503), (r.status_code, r.text)  # retryable only
        except httpx.TransportError:
            pass  # the API is down: try again, as PagerDuty's clients do
        await asyncio.sleep(min(0.05 * 2**attempt, 1.0))
    raise AssertionError(f"never accepted: {event['dedup_key']}")


async def test_api_killed_during_a_webhook_storm_loses_no_accepted_alert(
    temporal: RestartableTemporal, start_worker: WorkerProcess, api: ApiProcess,
    sessionmaker: SessionMaker, settings: Settings,
) -> None:  # fmt: skip
    (a,) = await h.users(sessionmaker, 1)
    svc = await h.service(sessionmaker, await h.policy(sessionmaker, settings, [h.level(600, a)]))
    async with sessionmaker() as session:
        integ = await integrations.create(
            session=session,
            settings=settings,
            integration_in=IntegrationCreate(type=IntegrationType.pagerduty, name="storm"),
            actor=Actor.system(via="test"),
            service_id=svc.id,
        )
        await session.commit()
    start_worker()
    await api.start()

    accepted: list[str] = []
    retried: list[bool] = []
    a_third_in = asyncio.Event()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(ALERTS):
        queue.put_nowait(i)

    async def sender(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            i = queue.get_nowait()
            event = {
                "routing_key": integ.key,
                "event_action": "trigger",
                "dedup_key": f"storm-{i % DEDUP_KEYS}",
                "payload": {"summary": f"alert {i}", "source": "fault", "severity": "critical"},
            }
            attempts = await _send_until_accepted(client, api, event)
            retried.append(attempts > 1)
            accepted.append(f"alert {i}")
            if len(accepted) >= ALERTS // 3:
                a_third_in.set()

    async def restarter() -> None:
        await a_third_in.wait()
        api.kill()  # mid-storm: requests in flight are cut off
        await asyncio.sleep(1)
        await api.start()

    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=SENDERS)) as client:
        await asyncio.wait_for(
            asyncio.gather(restarter(), *(sender(client) for _ in range(SENDERS))), timeout=240
        )
    assert api.starts == 2 and len(accepted) == ALERTS
    assert sum(retried) >= SENDERS // 2  # the senders did meet the dead API, and came back

    async def all_on_incidents() -> set[str] | None:
        async with sessionmaker() as session:
            got = set((await session.scalars(select(Alert.summary))).all())
        return got if set(accepted) <= got else None

    await h.eventually(all_on_incidents, timeout=120)
    async with sessionmaker() as session:
        incidents = await session.scalar(select(func.count()).select_from(Incident))
    assert incidents == DEDUP_KEYS  # one per dedup key, however often an alert was retried
