"""A storm of identical alerts: batched hand-offs, one incident holding every alert."""

from __future__ import annotations

import asyncio
import time

import httpx
from fastapi import FastAPI

from app.catalog.models import Service
from tests import incident_helpers as h
from tests.factories import Login
from tests.ingest.conftest import alerts_of, fixture, incidents_of, make_integration, runtime

STORM = 1000


async def test_a_thousand_concurrent_identical_alerts_make_one_incident_with_every_alert(
    ingest_app: FastAPI, api: httpx.AsyncClient, admin: Login, svc: Service
) -> None:
    integ = await make_integration(api, admin, svc, "pagerduty")
    event = fixture("pagerduty_v2_trigger.json")
    event["routing_key"] = integ["key"]
    started = time.monotonic()
    answers = await asyncio.gather(*(api.post("/v2/enqueue", json=event) for _ in range(STORM)))
    accepted = time.monotonic() - started
    assert [r.status_code for r in answers] == [202] * STORM
    stats = runtime(ingest_app).batcher.stats
    # Coalesced: fewer Temporal round trips than alerts (how many depends on arrival timing).
    assert stats.items == STORM and stats.batches < STORM / 2 and stats.largest > 1, stats

    async def complete() -> dict | None:  # type: ignore[type-arg]
        found = await incidents_of(api, admin, svc.id)
        return found[0] if len(found) == 1 and found[0]["alert_count"] == STORM else None

    inc = await h.eventually(complete, timeout=30)
    assert len(await incidents_of(api, admin, svc.id)) == 1
    assert len(await alerts_of(api, admin, inc["id"])) == STORM
    assert accepted < 30
