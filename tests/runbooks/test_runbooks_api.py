"""Runbooks API: versions by edit, four-eyes approval, rollback, deprecation, audit, SSRF."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlmodel import col

from app.audit.models import AuditEvent
from app.config import Settings
from app.db import SessionMaker
from app.identity.models import Role
from app.runbooks.models import Runbook
from tests.factories import Login, assert_problem, login
from tests.runbooks import helpers
from tests.runbooks.standin import SECRET

URL = "https://runner.example.com/run"


async def test_approval_needs_a_second_admin(
    client: httpx.AsyncClient, author: Login, approver: Login, runner_url: str
) -> None:
    created = await helpers.create(client, author, runner_url)
    assert created["status"] == "draft" and created["version"] == 1
    assert created["approved_version"] is None
    rid = created["id"]
    own = await client.post(
        f"/api/v1/runbooks/{rid}/approve", json={"version": 1}, headers=author.headers
    )
    assert_problem(own, 403)
    r = await client.post(
        f"/api/v1/runbooks/{rid}/approve", json={"version": 1}, headers=approver.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved" and r.json()["approved_version"] == 1
    again = await client.post(
        f"/api/v1/runbooks/{rid}/approve", json={"version": 1}, headers=approver.headers
    )
    assert_problem(again, 409)  # not a draft any more
    unknown = await client.post(
        f"/api/v1/runbooks/{rid}/approve", json={"version": 7}, headers=approver.headers
    )
    assert_problem(unknown, 409)


async def test_responders_cannot_edit_or_approve(
    client: httpx.AsyncClient, author: Login, runner_url: str, sessionmaker: SessionMaker
) -> None:
    responder = await login(sessionmaker, role=Role.responder)
    created = await helpers.create(client, author, runner_url)
    r = await client.post(
        f"/api/v1/runbooks/{created['id']}/approve", json={"version": 1}, headers=responder.headers
    )
    assert_problem(r, 403)
    r = await client.patch(
        f"/api/v1/runbooks/{created['id']}", json={"name": "x"}, headers=responder.headers
    )
    assert_problem(r, 403)


async def test_an_edit_is_a_new_draft_and_the_approved_version_keeps_running(
    client: httpx.AsyncClient, author: Login, approver: Login, runner_url: str
) -> None:
    runbook = await helpers.approved(client, author, approver, runner_url)
    rid = runbook["id"]
    edited = helpers.definition(runner_url, body='{"unit": "{{ params.unit }}", "v": 2}')
    r = await client.patch(
        f"/api/v1/runbooks/{rid}", json={"definition": edited}, headers=approver.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "draft"
    assert r.json()["version"] == 2 and r.json()["approved_version"] == 1
    # The editor of version 2 approved version 1; now only the other admin may approve.
    assert_problem(
        await client.post(
            f"/api/v1/runbooks/{rid}/approve", json={"version": 2}, headers=approver.headers
        ),
        403,
    )
    versions = (await client.get(f"/api/v1/runbooks/{rid}/versions", headers=author.headers)).json()
    assert [v["version"] for v in versions["data"]] == [2, 1]
    v2, v1 = versions["data"]
    assert v1["status"] == "approved" and v1["approver_id"] == str(approver.user.id)
    assert v1["author_id"] == str(author.user.id)
    assert v2["status"] == "draft" and v2["author_id"] == str(approver.user.id)
    assert v1["content_hash"].startswith("sha256:") and v1["content_hash"] != v2["content_hash"]
    assert v1["definition"]["body"] == runbook["definition"]["body"]  # immutable snapshot
    r = await client.post(
        f"/api/v1/runbooks/{rid}/approve", json={"version": 2}, headers=author.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["approved_version"] == 2


async def test_a_newer_edit_supersedes_an_unapproved_draft(
    client: httpx.AsyncClient, author: Login, approver: Login, runner_url: str
) -> None:
    created = await helpers.create(client, author, runner_url)
    rid = created["id"]
    r = await client.patch(
        f"/api/v1/runbooks/{rid}",
        json={"definition": helpers.definition(runner_url, retries=5)},
        headers=author.headers,
    )
    assert r.json()["version"] == 2
    assert_problem(
        await client.post(
            f"/api/v1/runbooks/{rid}/approve", json={"version": 1}, headers=approver.headers
        ),
        409,
    )
    versions = (await client.get(f"/api/v1/runbooks/{rid}/versions", headers=author.headers)).json()
    assert [v["status"] for v in versions["data"]] == ["draft", "superseded"]


async def test_rollback_makes_an_old_version_the_new_draft(
    client: httpx.AsyncClient, author: Login, approver: Login, runner_url: str
) -> None:
    runbook = await helpers.approved(client, author, approver, runner_url)
    rid = runbook["id"]
    await client.patch(
        f"/api/v1/runbooks/{rid}",
        json={"definition": helpers.definition(runner_url, retries=0)},
        headers=author.headers,
    )
    await client.post(
        f"/api/v1/runbooks/{rid}/approve", json={"version": 2}, headers=approver.headers
    )
    r = await client.post(
        f"/api/v1/runbooks/{rid}/rollback", json={"version": 1}, headers=author.headers
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] == 3 and body["status"] == "draft" and body["approved_version"] == 2
    assert body["definition"]["retries"] == 3
    versions = (await client.get(f"/api/v1/runbooks/{rid}/versions", headers=author.headers)).json()
    v3, _, v1 = versions["data"]
    assert v3["content_hash"] == v1["content_hash"] and v3["approver_id"] is None


async def test_deprecate_stops_runs_and_a_new_approval_restores_them(
    client: httpx.AsyncClient, author: Login, approver: Login, runner_url: str
) -> None:
    runbook = await helpers.approved(client, author, approver, runner_url)
    rid = runbook["id"]
    r = await client.post(f"/api/v1/runbooks/{rid}/deprecate", headers=author.headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "deprecated" and r.json()["approved_version"] is None
    assert_problem(
        await client.post(f"/api/v1/runbooks/{rid}/deprecate", headers=author.headers), 409
    )


async def test_secret_is_write_only_and_encrypted(
    client: httpx.AsyncClient,
    author: Login,
    runner_url: str,
    sessionmaker: SessionMaker,
    settings: Settings,
) -> None:
    created = await helpers.create(client, author, runner_url)
    assert created["secret_set"] is True
    answers = [
        await client.get(f"/api/v1/runbooks/{created['id']}", headers=author.headers),
        await client.get("/api/v1/runbooks", headers=author.headers),
        await client.get(f"/api/v1/runbooks/{created['id']}/versions", headers=author.headers),
        await client.get("/api/v1/audit", headers=author.headers),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert SECRET not in answer.text
    async with sessionmaker() as session:
        row = await session.get(Runbook, created["id"])
        assert row is not None and SECRET not in row.secret


async def test_every_state_change_is_audited_with_before_and_after(
    client: httpx.AsyncClient,
    author: Login,
    approver: Login,
    runner_url: str,
    sessionmaker: SessionMaker,
) -> None:
    runbook = await helpers.approved(client, author, approver, runner_url)
    await client.post(f"/api/v1/runbooks/{runbook['id']}/deprecate", headers=author.headers)
    async with sessionmaker() as session:
        events = list(
            (
                await session.scalars(
                    select(AuditEvent)
                    .where(col(AuditEvent.entity_id) == runbook["id"])
                    .order_by(col(AuditEvent.id))
                )
            ).all()
        )
    assert [e.action for e in events] == ["runbook.create", "runbook.approve", "runbook.deprecate"]
    approve, deprecate = events[1], events[2]
    assert approve.before and approve.before["status"] == "draft"
    assert approve.after and approve.after["status"] == "approved"
    assert deprecate.before and deprecate.before["approved_version"] == 1
    assert deprecate.after and deprecate.after["status"] == "deprecated"
    assert approve.actor_id == str(approver.user.id)


async def test_private_targets_are_refused_unless_allowed(
    client: httpx.AsyncClient, author: Login, app: object, settings: Settings
) -> None:
    app.state.settings = settings.model_copy(update={"allow_private_targets": False})  # type: ignore[attr-defined]
    for url in ("https://127.0.0.1/run", "https://10.0.0.5/run", "http://runner.example.com/"):
        r = await client.post(
            "/api/v1/runbooks",
            json={"name": url, "definition": helpers.definition(url), "secret": SECRET},
            headers=author.headers,
        )
        body = assert_problem(r, 422)
        assert body["errors"][0]["field"] == "definition.url"


async def test_bad_definitions_are_422_naming_the_field(
    client: httpx.AsyncClient, author: Login, runner_url: str
) -> None:
    cases = {
        "definition.body": helpers.definition(runner_url, body="{{ params.unit "),
        "definition.parameters.0.choices": helpers.definition(
            runner_url, parameters=[{"name": "unit", "type": "choice"}]
        ),
        "definition.headers.X-PageFree-Signature": helpers.definition(
            runner_url, headers={"X-PageFree-Signature": "forged"}
        ),
    }
    for field, definition in cases.items():
        r = await client.post(
            "/api/v1/runbooks",
            json={"name": field, "definition": definition, "secret": SECRET},
            headers=author.headers,
        )
        body = assert_problem(r, 422)
        assert [e["field"] for e in body["errors"]] == [field]
    short = await client.post(
        "/api/v1/runbooks",
        json={"name": "s", "definition": helpers.definition(runner_url), "secret": "short"},
        headers=author.headers,
    )
    assert_problem(short, 422)
