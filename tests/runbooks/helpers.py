"""Builders for runbook tests: a runbook approved by a second admin, a live incident."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from temporalio.client import Client

from app.config import Settings
from app.db import SessionMaker
from app.incidents import projection
from tests import incident_helpers as ih
from tests.factories import Login
from tests.runbooks.standin import SECRET
from workflows.incident_types import Actor, TimelineEventIn


def definition(url: str, **extra: Any) -> dict[str, Any]:
    """Return a definition with one choice and one integer parameter."""
    return {
        "url": url,
        "method": "POST",
        "headers": {"Content-Type": "application/json"},
        "body": '{"unit": "{{ params.unit }}", "incident": {{ incident.number }},'
        ' "count": {{ params.count }}}',
        "timeout": 5,
        "retries": 3,
        "parameters": [
            {"name": "unit", "type": "choice", "required": True, "choices": ["web", "db"]},
            {"name": "count", "type": "integer", "default": 1},
        ],
        **extra,
    }


async def create(
    client: httpx.AsyncClient, author: Login, url: str, name: str = "Restart unit", **extra: Any
) -> dict[str, Any]:
    """Create a runbook (a draft) as `author`."""
    r = await client.post(
        "/api/v1/runbooks",
        json={
            "name": name,
            "description": "Restart a systemd unit",
            "definition": definition(url, **extra),
            "secret": SECRET,
        },
        headers=author.headers,
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def approved(
    client: httpx.AsyncClient, author: Login, approver: Login, url: str, **extra: Any
) -> dict[str, Any]:
    """Create a runbook and approve its version 1 as another admin."""
    created = await create(client, author, url, **extra)
    r = await client.post(
        f"/api/v1/runbooks/{created['id']}/approve",
        json={"version": created["version"]},
        headers=approver.headers,
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def incident(temporal: Client, sessionmaker: SessionMaker, settings: Settings) -> str:
    """Open an incident through its workflow (a worker must run); return its id.

    Runs are the incident workflow's children, so the incident must be a live workflow.
    """
    (someone,) = await ih.users(sessionmaker, 1)
    policy = await ih.policy(sessionmaker, settings, [ih.level(3600, someone)])
    service = await ih.service(sessionmaker, policy)
    handle = await ih.send_alert(
        temporal, settings, service, ih.alert("Disk full on db-1", dedup_key="disk")
    )
    view = await ih.opened(handle)  # the incident row is written before it is numbered
    return view.incident_id


async def incident_row(sessionmaker: SessionMaker, settings: Settings) -> str:
    """Insert an incident row only (no workflow), for pages that read the projection; its id.

    Runbook runs need a live incident workflow (`incident`); automation pages, dry runs and
    re-runs of a recorded run only read the row.
    """
    (someone,) = await ih.users(sessionmaker, 1)
    policy = await ih.policy(sessionmaker, settings, [ih.level(60, someone)])
    service = await ih.service(sessionmaker, policy)
    incident_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    async with sessionmaker() as session:
        await projection.open_incident(
            session=session,
            incident_id=incident_id,
            workflow_id=f"incident:{incident_id}",
            run_id="r",
            service_id=str(service.id),
            dedup_key="disk",
            title="Disk full on db-1",
            severity="critical",
            urgency="high",
            policy_id=str(policy.id),
            opened_at=now,
            alerts=[],
            events=[
                TimelineEventIn(id=f"{incident_id}:opened", at=now, type="opened", actor=Actor())
            ],
        )
        await session.commit()
    return incident_id
