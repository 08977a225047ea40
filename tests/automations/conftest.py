"""Automation fixtures: logins per role, an incident row, stand-ins on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app.config import Settings
from app.db import SessionMaker
from app.identity.models import Role
from tests.connections import standins
from tests.factories import Login, login
from tests.live_server import serve
from tests.runbooks import helpers as runbook_helpers


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Steps reach their stand-ins on loopback: private targets allowed (one test refuses)."""
    return settings.model_copy(update={"allow_private_targets": True})


@pytest.fixture
async def admin(sessionmaker: SessionMaker) -> Login:
    return await login(sessionmaker, role=Role.admin)


@pytest.fixture
async def responder(sessionmaker: SessionMaker) -> Login:
    return await login(sessionmaker, role=Role.responder)


@pytest.fixture
async def incident_id(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> str:
    """An open incident (critical, high urgency, "Disk full on db-1"), through its workflow."""
    return await runbook_helpers.incident(ts_env.client, sessionmaker, settings)


@pytest.fixture
def receiver() -> standins.Receiver:
    return standins.Receiver()


@pytest.fixture
async def hook_url(receiver: standins.Receiver) -> AsyncIterator[str]:
    async with serve(standins.webhook_receiver(receiver)) as url:
        yield f"{url}/hook"


@pytest.fixture
def jira_seen() -> standins.Recorded:
    return standins.Recorded()


@pytest.fixture
async def jira_url(jira_seen: standins.Recorded) -> AsyncIterator[str]:
    async with serve(standins.jira(jira_seen)) as url:
        yield url


def note_play(**extra: Any) -> dict[str, Any]:
    """A valid automation body: on trigger of a critical incident, add a note."""
    body: dict[str, Any] = {
        "name": "note on critical",
        "trigger": {"event": "incident.triggered"},
        "conditions": [{"field": "severity", "op": "eq", "value": "critical"}],
        "steps": [{"type": "add_note", "body": "Automated: #{{ incident.number }}"}],
    }
    body.update(extra)
    return body


async def create(client: httpx.AsyncClient, admin: Login, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post("/api/v1/automations", json=body, headers=admin.headers)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created
