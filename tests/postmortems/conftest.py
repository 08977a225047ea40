"""A resolved incident with a typical story, and the people around it."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import pytest

from app.config import Settings
from app.db import SessionMaker
from app.identity.models import Role
from app.incidents.models import Incident
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
