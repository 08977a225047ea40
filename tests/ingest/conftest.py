"""Receivers and integration management over HTTP, with the time-skipping Temporal server."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app.catalog.models import Service
from app.config import Settings
from app.db import SessionMaker
from app.identity.models import Role
from app.ingest.runtime import IngestRuntime
from app.temporal import LazyClient
from tests import incident_helpers as h
from tests.factories import Login, login

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def fixture(name: str) -> Any:
    """Return a documented example payload from tests/fixtures."""
    return json.loads((FIXTURES / name).read_text())


async def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


@pytest.fixture
async def ingest_app(
    settings: Settings, database_url: str, ts_env: WorkflowEnvironment, worker: Worker
) -> AsyncIterator[FastAPI]:
    """The API on the test database, its Temporal client the test server's, a worker running."""
    from api import create_app

    app = create_app(settings, database_url=database_url)
    app.state.temporal = LazyClient(settings, None, client=ts_env.client)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def api(ingest_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with await _client(ingest_app) as c:
        yield c


@pytest.fixture
async def offline_app(settings: Settings, database_url: str) -> AsyncIterator[FastAPI]:
    """The API with no Temporal at all: anything that reaches a hand-off answers 503."""
    from api import create_app

    app = create_app(settings, database_url=database_url)
    app.state.temporal = LazyClient(settings, None)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def offline(offline_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with await _client(offline_app) as c:
        yield c


def runtime(app: FastAPI) -> IngestRuntime:
    return app.state.ingest  # type: ignore[no-any-return]


@pytest.fixture
async def admin(sessionmaker: SessionMaker) -> Login:
    return await login(sessionmaker, role=Role.admin)


@pytest.fixture
async def svc(sessionmaker: SessionMaker, settings: Settings) -> Service:
    """A service whose policy pages one person (level 1 waits five minutes)."""
    people = await h.users(sessionmaker, 1)
    pol = await h.policy(sessionmaker, settings, [h.level(300, people[0])])
    return await h.service(sessionmaker, pol)


async def make_integration(
    client: httpx.AsyncClient, who: Login, service: Service | None, type_: str, **extra: Any
) -> dict[str, Any]:
    """Create an integration (a service's, or organisation-wide with `default_service_id`)."""
    body = {"type": type_, "name": f"{type_}-{uuid.uuid4().hex[:6]}", **extra}
    path = f"/api/v1/services/{service.id}/integrations" if service else "/api/v1/integrations"
    r = await client.post(path, json=body, headers=who.headers)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def incidents_of(
    client: httpx.AsyncClient, who: Login, service_id: object
) -> list[dict[str, Any]]:
    r = await client.get(
        "/api/v1/incidents", params={"service_id": str(service_id)}, headers=who.headers
    )
    assert r.status_code == 200, r.text
    return r.json()["data"]  # type: ignore[no-any-return]


async def alerts_of(
    client: httpx.AsyncClient, who: Login, incident_id: str
) -> list[dict[str, Any]]:
    r = await client.get(f"/api/v1/incidents/{incident_id}/alerts", headers=who.headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def deliveries_of(
    client: httpx.AsyncClient, who: Login, integration_id: str | None = None, **params: Any
) -> list[dict[str, Any]]:
    path = (
        f"/api/v1/integrations/{integration_id}/deliveries"
        if integration_id
        else "/api/v1/integrations/deliveries"
    )
    r = await client.get(path, params=params, headers=who.headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]
