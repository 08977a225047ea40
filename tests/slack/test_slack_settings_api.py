"""Slack settings over the REST API: channels of services and teams, users' Slack ids."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.config import Settings
from app.db import SessionMaker
from app.identity.models import Role
from tests import incident_helpers as h
from tests.factories import assert_problem, login


async def test_services_and_teams_take_a_checked_slack_channel(
    client: httpx.AsyncClient, sessionmaker: SessionMaker, settings: Settings
) -> None:
    admin = await login(sessionmaker, role=Role.admin)
    pol = await h.policy(sessionmaker, settings, [h.level(60, admin.user)])
    r = await client.post(
        "/api/v1/services",
        json={"name": "Checkout", "escalation_policy_id": str(pol.id), "slack_channel_id": "C0OPS"},
        headers=admin.headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["slack_channel_id"] == "C0OPS"
    sid = r.json()["id"]
    r = await client.patch(
        f"/api/v1/services/{sid}", json={"slack_channel_id": "#ops"}, headers=admin.headers
    )
    assert assert_problem(r, 422)["errors"][0]["field"].endswith("slack_channel_id")
    r = await client.patch(
        f"/api/v1/services/{sid}", json={"slack_channel_id": None}, headers=admin.headers
    )
    assert r.status_code == 200 and r.json()["slack_channel_id"] is None

    r = await client.post(
        "/api/v1/teams", json={"name": "SRE", "slack_channel_id": "G0SRE"}, headers=admin.headers
    )
    assert r.status_code == 201 and r.json()["slack_channel_id"] == "G0SRE"
    r = await client.patch(
        f"/api/v1/teams/{r.json()['id']}", json={"slack_channel_id": "C0NEW"}, headers=admin.headers
    )
    assert r.status_code == 200 and r.json()["slack_channel_id"] == "C0NEW"
    async with sessionmaker() as session:
        audited = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "team.update").limit(1)
        )
    assert audited is not None and audited.after["slack_channel_id"] == "C0NEW"  # type: ignore[index]


async def test_only_admins_link_slack_ids_and_each_id_links_one_user(
    client: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    admin = await login(sessionmaker, role=Role.admin)
    ana = await login(sessionmaker)
    bo = await login(sessionmaker)
    url = f"/api/v1/users/{ana.user.id}"
    r = await client.patch(url, json={"slack_user_id": "UANA"}, headers=ana.headers)
    assert_problem(r, 403)
    r = await client.patch(url, json={"slack_user_id": "UANA"}, headers=admin.headers)
    assert r.status_code == 200 and r.json()["slack_user_id"] == "UANA"
    r = await client.patch(
        f"/api/v1/users/{bo.user.id}", json={"slack_user_id": "UANA"}, headers=admin.headers
    )
    assert_problem(r, 409)
    r = await client.patch(url, json={"slack_user_id": "not-an-id"}, headers=admin.headers)
    assert_problem(r, 422)
    r = await client.patch(url, json={"slack_user_id": None}, headers=admin.headers)
    assert r.status_code == 200 and r.json()["slack_user_id"] is None
    r = await client.patch(url, json={"name": "Ana B"}, headers=ana.headers)
    assert r.status_code == 200  # her other fields stay hers to change
