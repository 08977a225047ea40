"""Real senders against a running API: PagerDuty's own Python client, curl, and Alertmanager.

Nothing here builds the sender's payload for it: the official `pagerduty` client, the curl
binary and Debian's `prometheus-alertmanager` each speak their own wire format to the API
process, which hands off to the real Temporal dev server and a worker process.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pagerduty
import pytest
from sqlalchemy import select

from app.audit.models import Actor
from app.catalog.models import Service
from app.config import Settings
from app.db import SessionMaker
from app.incidents.models import Incident
from app.ingest import service as integrations
from app.ingest.models import IntegrationCreate, IntegrationCreated, IntegrationType
from tests import incident_helpers as h
from tests.integration.conftest import ApiProcess, WorkerProcess, _free_port

pytestmark = pytest.mark.integration

ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


async def _setup(
    sessionmaker: SessionMaker, settings: Settings, kind: IntegrationType
) -> tuple[Service, IntegrationCreated]:
    (a,) = await h.users(sessionmaker, 1)
    svc = await h.service(sessionmaker, await h.policy(sessionmaker, settings, [h.level(600, a)]))
    async with sessionmaker() as session:
        integ = await integrations.create(
            session=session,
            settings=settings,
            integration_in=IntegrationCreate(type=kind, name=f"real {kind.value}"),
            actor=Actor.system(via="test"),
            service_id=svc.id,
        )
        await session.commit()
    return svc, integ


async def _incident(sessionmaker: SessionMaker, svc: Service, status: str) -> Incident:
    async def found() -> Incident | None:
        async with sessionmaker() as session:
            found = await session.scalars(select(Incident).where(Incident.service_id == svc.id))
            rows = found.all()
        assert len(rows) <= 1, rows
        return rows[0] if rows and rows[0].status == status else None

    return await h.eventually(found, timeout=60)  # type: ignore[no-any-return]


async def test_pagerduty_python_client_triggers_acknowledges_and_resolves(
    start_worker: WorkerProcess, api: ApiProcess, sessionmaker: SessionMaker, settings: Settings
) -> None:
    svc, integ = await _setup(sessionmaker, settings, IntegrationType.pagerduty)
    start_worker()
    trust = api.serve_tls()  # the client insists on https://
    await api.start()
    # Only the base URL and the CA differ from production; paths, headers, body are its own.
    client = pagerduty.EventsApiV2Client(integ.key, base_url=api.url, verify=trust)

    key = await asyncio.to_thread(
        client.trigger, "Disk 97% full on db-7", "db-7.internal", dedup_key="db-7/disk"
    )
    assert key == "db-7/disk"
    inc = await _incident(sessionmaker, svc, "triggered")
    assert inc.title == "Disk 97% full on db-7" and inc.dedup_key == "db-7/disk"
    await asyncio.to_thread(client.acknowledge, "db-7/disk")
    await _incident(sessionmaker, svc, "acknowledged")
    await asyncio.to_thread(client.resolve, "db-7/disk")
    await _incident(sessionmaker, svc, "resolved")


async def test_curl_with_a_signed_body_opens_and_resolves(
    start_worker: WorkerProcess, api: ApiProcess, sessionmaker: SessionMaker, settings: Settings
) -> None:
    svc, integ = await _setup(sessionmaker, settings, IntegrationType.generic)
    assert integ.secret
    start_worker()
    await api.start()

    def curl(body: dict[str, Any]) -> int:
        raw = json.dumps(body)
        stamp = str(int(time.time()))
        digest = hmac.new(integ.secret.encode(), f"{stamp}.{raw}".encode(), hashlib.sha256)  # type: ignore[union-attr]
        out = subprocess.run(
            ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
             "-H", "Content-Type: application/json",
             "-H", f"X-PageFree-Timestamp: {stamp}",
             "-H", f"X-PageFree-Signature: sha256={digest.hexdigest()}",
             "--data-binary", raw, f"{api.url}/integrations/{integ.key}/generic"],
            capture_output=True, text=True, check=True, timeout=30,
        )  # fmt: skip
        return int(out.stdout)

    alert = {"summary": "Queue backlog over 10k", "dedup_key": "queue", "severity": "error"}
    assert await asyncio.to_thread(curl, alert) == 202
    inc = await _incident(sessionmaker, svc, "triggered")
    assert inc.title == "Queue backlog over 10k" and inc.severity == "error"
    assert await asyncio.to_thread(curl, {**alert, "action": "resolve"}) == 202
    await _incident(sessionmaker, svc, "resolved")


@pytest.mark.skipif(ALERTMANAGER is None, reason="prometheus-alertmanager is not installed")
async def test_real_alertmanager_group_opens_an_incident_and_resolves_it(
    start_worker: WorkerProcess,
    api: ApiProcess,
    sessionmaker: SessionMaker,
    settings: Settings,
    tmp_path: Path,
) -> None:
    svc, integ = await _setup(sessionmaker, settings, IntegrationType.alertmanager)
    start_worker()
    await api.start()
    port = _free_port()
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        json.dumps(  # YAML is a superset of JSON
            {
                "route": {
                    "receiver": "pagefree",
                    "group_by": ["alertname"],
                    "group_wait": "1s",
                    "group_interval": "1s",
                    "repeat_interval": "1h",
                },
                "receivers": [
                    {
                        "name": "pagefree",
                        "webhook_configs": [
                            {
                                "url": f"{api.url}/integrations/{integ.key}/alertmanager",
                                "send_resolved": True,
                            }
                        ],
                    }
                ],
            }
        )
    )
    assert ALERTMANAGER is not None
    log = (tmp_path / "alertmanager.log").open("wb")
    am = subprocess.Popen(  # noqa: ASYNC220 - started once, waited on below
        [ALERTMANAGER, f"--config.file={config}", f"--storage.path={tmp_path / 'am'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}/api/v2"
        async with httpx.AsyncClient() as client:
            for _ in range(100):
                try:
                    if (await client.get(f"{base}/status")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            labels = {"alertname": "CheckoutLatency", "severity": "critical", "instance": "web-1"}
            alert = {
                "labels": labels,
                "annotations": {"summary": "p99 latency over 2s on web-1"},
                "startsAt": datetime.now(UTC).isoformat(),
            }
            r = await client.post(f"{base}/alerts", json=[alert])
            assert r.status_code == 200, r.text
            inc = await _incident(sessionmaker, svc, "triggered")
            assert "CheckoutLatency" in inc.title or "p99 latency" in inc.title
            assert inc.severity == "critical"
            # The alert ends: Alertmanager sends the group as resolved, the incident resolves.
            ended = {**alert, "endsAt": datetime.now(UTC).isoformat()}
            assert (await client.post(f"{base}/alerts", json=[ended])).status_code == 200
            await _incident(sessionmaker, svc, "resolved")
    finally:
        am.terminate()
        am.wait(timeout=10)
        log.close()
