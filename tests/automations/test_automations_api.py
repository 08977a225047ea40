"""Automations over HTTP: roles, strict validation naming the field, versions, the library."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.config import Settings
from app.db import SessionMaker
from app.identity.models import Role
from tests.automations.conftest import create, note_play
from tests.factories import Login, assert_problem, login


async def test_only_admins_change_automations(
    client: httpx.AsyncClient, sessionmaker: SessionMaker, admin: Login, responder: Login
) -> None:
    observer = await login(sessionmaker, role=Role.observer)
    for who in (observer, responder):
        r = await client.post("/api/v1/automations", json=note_play(), headers=who.headers)
        assert_problem(r, 403)
    created = await create(client, admin, note_play())
    r = await client.patch(
        f"/api/v1/automations/{created['id']}", json={"enabled": False}, headers=responder.headers
    )
    assert_problem(r, 403)
    async with sessionmaker() as session:
        actions = (await session.scalars(select(AuditEvent.action))).all()
    assert "automation.create" in actions


def _fields(r: httpx.Response) -> list[str]:
    body = assert_problem(r, 422)
    return [e["field"] for e in body["errors"]]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"trigger": {"event": "incident.exploded"}}, "trigger.event"),
        ({"conditions": [{"field": "severity", "op": "like", "value": "x"}]}, "conditions[0].op"),
        ({"conditions": [{"field": "colour", "op": "eq", "value": "x"}]}, "conditions[0].field"),
        ({"bogus": 1}, "bogus"),
        (
            {
                "steps": [
                    {"type": "add_note", "body": "a"},
                    {"type": "wait", "duration": "PT1M"},
                    {"type": "teleport"},
                ]
            },
            "steps[2].type",
        ),
        ({"steps": [{"type": "add_note", "body": "a", "colour": "red"}]}, "steps[0].colour"),
        (
            {
                "steps": [
                    {
                        "type": "if",
                        "conditions": [{"field": "urgency", "op": "eq", "value": "high"}],
                        "then": [{"type": "add_note", "body": "{{ incident.nope }}"}],
                    }
                ]
            },
            "steps[0].then[0].body",
        ),
        ({"steps": [{"type": "add_note", "body": "{% if %}"}]}, "steps[0].body"),
        ({"trigger": {"event": "incident.unacknowledged"}}, "trigger.after"),
        (
            {"conditions": [{"field": "title", "op": "matches", "value": "(["}]},
            "conditions[0].value",
        ),
    ],
)
async def test_bad_definitions_are_422_naming_the_field(
    client: httpx.AsyncClient, admin: Login, change: dict[str, Any], field: str
) -> None:
    r = await client.post("/api/v1/automations", json=note_play(**change), headers=admin.headers)
    assert field in _fields(r)


async def test_webhook_to_loopback_is_refused_unless_allowed(
    client: httpx.AsyncClient, admin: Login, settings: Settings, app: Any
) -> None:
    app.state.settings = settings.model_copy(update={"allow_private_targets": False})
    step = {"type": "webhook", "url": "https://127.0.0.1/hook", "body": "{}"}
    r = await client.post(
        "/api/v1/automations", json=note_play(steps=[step]), headers=admin.headers
    )
    assert "steps[0].url" in _fields(r)


async def test_each_edit_of_the_definition_is_a_new_version(
    client: httpx.AsyncClient, admin: Login
) -> None:
    created = await create(client, admin, note_play())
    assert created["version"] == 1
    url = f"/api/v1/automations/{created['id']}"
    r = await client.patch(url, json={"enabled": False}, headers=admin.headers)
    assert r.json()["version"] == 1 and r.json()["enabled"] is False
    steps = [{"type": "add_note", "body": "changed", "run_to_completion": True}]
    r = await client.patch(url, json={"steps": steps}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2
    assert r.json()["steps"][0]["run_to_completion"] is True


async def test_the_library_offers_ready_plays_and_creates_from_one(
    client: httpx.AsyncClient, admin: Login
) -> None:
    r = await client.get("/api/v1/automation-templates", headers=admin.headers)
    keys = {t["key"] for t in r.json()["data"]}
    assert {
        "jira_ticket_for_critical",
        "post_to_slack_channel",
        "webhook_on_resolve",
        "escalate_long_unacknowledged",
        "auto_resolve_stale_low_urgency",
    } <= keys
    r = await client.post(
        "/api/v1/automations",
        json={"template": "auto_resolve_stale_low_urgency", "name": "stale", "enabled": False},
        headers=admin.headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["trigger"] == {"event": "incident.unacknowledged", "after": "P1D"}
    # A template whose connection is not filled in cannot be saved.
    r = await client.post(
        "/api/v1/automations", json={"template": "jira_ticket_for_critical"}, headers=admin.headers
    )
    assert "steps[0].connection_id" in _fields(r)


async def test_dry_run_says_what_would_fire_and_renders_templates(
    client: httpx.AsyncClient, admin: Login, incident_id: str
) -> None:
    await create(client, admin, note_play())
    low = note_play(name="low only", conditions=[{"field": "urgency", "op": "eq", "value": "low"}])
    await create(client, admin, low)
    r = await client.post(
        "/api/v1/automations/dry-run", json={"incident_id": incident_id}, headers=admin.headers
    )
    assert r.status_code == 200, r.text
    verdicts = {a["name"]: a for a in r.json()["automations"]}
    assert verdicts["note on critical"]["would_fire"] is True
    assert verdicts["low only"]["would_fire"] is False
    rendered = verdicts["note on critical"]["steps"][0]["rendered"]["body"]
    assert rendered.startswith("Automated: #") and rendered != "Automated: #"
    draft = {"definition": note_play(steps=[{"type": "add_note", "body": "{{ incident.title }}"}])}
    r = await client.post(
        "/api/v1/automations/dry-run",
        json={"incident_id": incident_id, **draft},
        headers=admin.headers,
    )
    assert r.json()["automations"][0]["steps"][0]["rendered"]["body"] == "Disk full on db-1"
