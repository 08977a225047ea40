"""A resolved incident with a typical story, and the people around it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import UUID

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app.config import Settings
from app.db import SessionMaker
from app.identity.models import Role
from app.incidents.models import Incident
from app.temporal import LazyClient
from tests.factories import Login, login
from tests.postmortems import helpers


@dataclass
class World:
    responder: Login  # in the service's team; was paged and acknowledged
    colleague: Login  # in the team; resolved it
    outsider: Login  # a responder of another team
    observer: Login
    admin: Login
    team_id: UUID
    service_id: UUID
    incident: Incident


@pytest.fixture
async def world(sessionmaker: SessionMaker, settings: Settings) -> World:
    responder = await login(sessionmaker, name="Rita Responder")
    colleague = await login(sessionmaker, name="Carl Colleague")
    outsider = await login(sessionmaker, name="Otto Outsider")
    observer = await login(sessionmaker, role=Role.observer, name="Olga Observer")
    admin = await login(sessionmaker, role=Role.admin, name="Ada Admin")
    team_id = await helpers.team(sessionmaker, responder.user, colleague.user)
    await helpers.team(sessionmaker, outsider.user)
    service_id = await helpers.service(sessionmaker, settings, "Checkout API", team_id)
    incident = await helpers.incident(
        sessionmaker,
        service_id,
        alert_count=4,
        events=helpers.story(responder.user, colleague.user),
    )
    return World(responder, colleague, outsider, observer, admin, team_id, service_id, incident)


@pytest.fixture
async def api(
    settings: Settings, database_url: str, ts_env: WorkflowEnvironment, worker: Worker
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the API whose Temporal client is the time-skipping server's."""
    from api import create_app

    app = create_app(settings, database_url=database_url)
    app.state.temporal = LazyClient(settings, None, client=ts_env.client)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c
