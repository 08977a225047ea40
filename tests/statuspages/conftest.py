"""Status-page fixtures: an admin, services, internal incidents written to the projection."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.catalog.models import Service
from app.config import Settings
from app.db import SessionMaker, utcnow
from app.identity.models import Role
from app.incidents.models import Incident
from tests import incident_helpers as ih
from tests.factories import Login, login

Api = Callable[..., Awaitable[httpx.Response]]


@pytest.fixture
async def admin(sessionmaker: SessionMaker) -> Login:
    return await login(sessionmaker, role=Role.admin)


@pytest.fixture
def api(client: httpx.AsyncClient, admin: Login) -> Api:
    """Call the API as the admin: `await api("POST", url, body)`."""

    async def call(method: str, path: str, body: Any = None) -> httpx.Response:
        return await client.request(method, path, json=body, headers=admin.headers)

    return call


@pytest.fixture
async def services(sessionmaker: SessionMaker, settings: Settings, admin: Login) -> list[Service]:
    """Three services on one policy."""
    policy = await ih.policy(sessionmaker, settings, [ih.level(300, admin.user)])
    return [await ih.service(sessionmaker, policy) for _ in range(3)]


OpenIncident = Callable[..., Awaitable[str]]


@pytest.fixture
def open_incident(sessionmaker: SessionMaker) -> OpenIncident:
    """Write an internal incident row (as the projection would); return its id."""

    async def call(
        service: Service, severity: str = "critical", status: str = "triggered", title: str = "x"
    ) -> str:
        incident_id = uuid.uuid4()
        async with sessionmaker() as session:
            session.add(
                Incident(
                    id=incident_id,
                    title=title,
                    status=status,
                    severity=severity,
                    urgency="high",
                    service_id=service.id,
                    escalation_policy_id=service.escalation_policy_id,
                    dedup_key=incident_id.hex,
                    workflow_id=f"incident:test:{incident_id.hex}",
                    run_id="run",
                    created_at=utcnow(),
                    updated_at=utcnow(),
                )
            )
            await session.commit()
        return str(incident_id)

    return call


SetStatus = Callable[[str, str], Awaitable[None]]


@pytest.fixture
def set_incident_status(sessionmaker: SessionMaker) -> SetStatus:
    async def call(incident_id: str, status: str) -> None:
        async with sessionmaker() as session:
            await session.execute(
                text("UPDATE incidents SET status = :s WHERE id = :id"),
                {"s": status, "id": uuid.UUID(incident_id)},
            )
            await session.commit()

    return call


@pytest.fixture
def make_page(api: Api, services: list[Service]) -> Callable[..., Awaitable[dict[str, Any]]]:
    """Create a page with components API (svc 0), Web (svc 1) in group Core, and Mail (svc 2)."""

    async def call(slug: str = "acme", **extra: Any) -> dict[str, Any]:
        body = {
            "name": "Acme",
            "slug": slug,
            "components": [
                {"name": "API", "group": "Core", "service_ids": [str(services[0].id)]},
                {"name": "Web", "group": "Core", "service_ids": [str(services[1].id)]},
                {
                    "name": "Mail",
                    "description": "Outbound e-mail",
                    "service_ids": [str(services[2].id)],
                },
            ],
            **extra,
        }
        created = await api("POST", "/api/v1/status-pages", body)
        assert created.status_code == 201, created.text
        return created.json()  # type: ignore[no-any-return]

    return call
