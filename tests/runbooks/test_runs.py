"""Runbook runs on a time-skipping Temporal: signed calls, retries, cancel, version pinning."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from app.config import Settings
from app.db import SessionMaker
from app.identity.models import Role
from app.temporal import LazyClient
from tests import incident_helpers as ih
from tests.factories import Login, assert_problem, login
from tests.runbooks import helpers
from tests.runbooks.standin import Runner
from workflows.runbook_types import workflow_id

pytestmark = pytest.mark.usefixtures("worker")
HISTORIES = Path(__file__).parents[1] / "workflows" / "histories"


@pytest.fixture(autouse=True)
def temporal(app: FastAPI, settings: Settings, ts_env: WorkflowEnvironment) -> None:
    app.state.temporal = LazyClient(settings, None, client=ts_env.client)


@pytest.fixture
async def responder(sessionmaker: SessionMaker) -> Login:
    return await login(sessionmaker, role=Role.responder)


@pytest.fixture
async def incident_id(sessionmaker: SessionMaker, settings: Settings) -> str:
    return await helpers.incident(sessionmaker, settings)


async def start(
    client: httpx.AsyncClient, who: Login, incident_id: str, runbook_id: str, **params: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/incidents/{incident_id}/runbook-runs",
        json={"runbook_id": runbook_id, "parameters": params or {"unit": "web"}},
        headers=who.headers,
    )


async def started(client: httpx.AsyncClient, who: Login, incident_id: str, runbook_id: str) -> str:
    r = await start(client, who, incident_id, runbook_id)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "running"
    run_id: str = r.json()["id"]
    return run_id


async def finished(
    client: httpx.AsyncClient,
    ts_env: WorkflowEnvironment,
    who: Login,
    run_id: str,
    record_as: str | None = None,
) -> dict[str, Any]:
    """Wait for the run's workflow (time skips meanwhile); return the run's API view.

    With PAGEFREE_RECORD_HISTORIES=1, `record_as` saves the history for the replay test.
    """
    handle = ts_env.client.get_workflow_handle(workflow_id(run_id))
    try:
        await handle.result()
    except WorkflowFailureError:
        pass  # cancelled
    if record_as and os.environ.get("PAGEFREE_RECORD_HISTORIES"):
        history = await handle.fetch_history()
        (HISTORIES / f"{record_as}.json").write_text(history.to_json())
    r = await client.get(f"/api/v1/runbook-runs/{run_id}", headers=who.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    async def loop() -> None:
        while not check():  # noqa: ASYNC110 - the stand-in runner appends to a list
            await asyncio.sleep(0.02)

    await asyncio.wait_for(loop(), timeout)


async def test_a_run_sends_one_signed_call_and_notes_it_on_the_timeline(
    client: httpx.AsyncClient,
    ts_env: WorkflowEnvironment,
    author: Login,
    approver: Login,
    responder: Login,
    runner: Runner,
    runner_url: str,
    incident_id: str,
    sessionmaker: SessionMaker,
) -> None:
    runbook = await helpers.approved(client, author, approver, runner_url)
    run_id = await started(client, responder, incident_id, runbook["id"])
    run = await finished(client, ts_env, responder, run_id)
    assert run["status"] == "succeeded" and run["attempts"] == 1
    assert run["response_status"] == 200 and '"ran":1' in run["response_excerpt"]
    assert run["version"] == 1 and run["started_by"] == str(responder.user.id)
    assert run["parameters"] == {"unit": "web", "count": 1}
    assert runner.rejected == []
    (request,) = runner.requests
    assert request["headers"]["idempotency-key"] == run_id
    assert request["body"].startswith('{"unit": "web", "incident": ')
    events = await ih.timeline(sessionmaker, incident_id)
    started_event, finished_event = [e for e in events if e.type.startswith("runbook_")]
    assert started_event.type == "runbook_started"
    assert started_event.detail and started_event.detail["version"] == 1
    assert finished_event.type == "runbook_finished"
    assert finished_event.detail and finished_event.detail["status"] == "succeeded"


async def test_retries_back_off_with_one_idempotency_key(
    client: httpx.AsyncClient,
    ts_env: WorkflowEnvironment,
    author: Login,
    approver: Login,
    responder: Login,
    runner: Runner,
    runner_url: str,
    incident_id: str,
) -> None:
    runner.script = [503, 429, 408, 200]
    runbook = await helpers.approved(client, author, approver, runner_url)
    run_id = await started(client, responder, incident_id, runbook["id"])
    run = await finished(client, ts_env, responder, run_id, record_as="runbook_run_retries")
    assert run["status"] == "succeeded" and run["attempts"] == 4
    assert {r["headers"]["idempotency-key"] for r in runner.requests} == {run_id}


async def test_a_4xx_answer_is_not_retried(
    client: httpx.AsyncClient,
    ts_env: WorkflowEnvironment,
    author: Login,
    approver: Login,
    responder: Login,
    runner: Runner,
    runner_url: str,
    incident_id: str,
) -> None:
    runner.script = [400]
    runbook = await helpers.approved(client, author, approver, runner_url)
    run = await finished(
        client, ts_env, responder, await started(client, responder, incident_id, runbook["id"])
    )
    assert run["status"] == "failed" and run["attempts"] == 1 and run["response_status"] == 400
    assert len(runner.requests) == 1


async def test_a_run_fails_when_its_retries_run_out(
    client: httpx.AsyncClient,
    ts_env: WorkflowEnvironment,
    author: Login,
    approver: Login,
    responder: Login,
    runner: Runner,
    runner_url: str,
    incident_id: str,
) -> None:
    runner.script = [503]
    runbook = await helpers.approved(client, author, approver, runner_url, retries=2)
    run = await finished(
        client, ts_env, responder, await started(client, responder, incident_id, runbook["id"])
    )
    assert run["status"] == "failed" and run["attempts"] == 3 and run["response_status"] == 503
    assert len(runner.requests) == 3


async def test_cancel_stops_a_run_between_attempts(
    client: httpx.AsyncClient,
    ts_env: WorkflowEnvironment,
    author: Login,
    approver: Login,
    responder: Login,
    runner: Runner,
    runner_url: str,
    incident_id: str,
    sessionmaker: SessionMaker,
) -> None:
    runner.script = [503]
    runbook = await helpers.approved(client, author, approver, runner_url, retries=10)
    run_id = await started(client, responder, incident_id, runbook["id"])
    await until(lambda: len(runner.requests) >= 1)
    r = await client.post(f"/api/v1/runbook-runs/{run_id}/cancel", headers=responder.headers)
    assert r.status_code == 202, r.text
    run = await finished(client, ts_env, responder, run_id, record_as="runbook_run_cancelled")
    assert run["status"] == "cancelled"
    assert len(runner.requests) < 11
    events = await ih.timeline(sessionmaker, incident_id)
    (end,) = [e for e in events if e.type == "runbook_finished"]
    assert end.detail and end.detail["status"] == "cancelled"
    again = await client.post(f"/api/v1/runbook-runs/{run_id}/cancel", headers=responder.headers)
    assert_problem(again, 409)


async def test_an_edit_during_a_run_changes_nothing(
    client: httpx.AsyncClient,
    ts_env: WorkflowEnvironment,
    author: Login,
    approver: Login,
    responder: Login,
    runner: Runner,
    runner_url: str,
    incident_id: str,
) -> None:
    runner.script = [503, 200]
    runbook = await helpers.approved(client, author, approver, runner_url)
    run_id = await started(client, responder, incident_id, runbook["id"])
    await until(lambda: len(runner.requests) >= 1)
    edited = helpers.definition(runner_url.replace("/restart", "/other"), body="v2", retries=0)
    r = await client.patch(
        f"/api/v1/runbooks/{runbook['id']}", json={"definition": edited}, headers=author.headers
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"/api/v1/runbooks/{runbook['id']}/approve", json={"version": 2}, headers=approver.headers
    )
    assert r.status_code == 200, r.text
    run = await finished(client, ts_env, responder, run_id)
    assert run["status"] == "succeeded" and run["version"] == 1 and run["attempts"] == 2
    first, second = runner.requests
    assert second["body"] == first["body"] and second["path"] == "/run/restart"


async def test_deprecating_cancels_running_runs(
    client: httpx.AsyncClient,
    ts_env: WorkflowEnvironment,
    author: Login,
    approver: Login,
    responder: Login,
    runner: Runner,
    runner_url: str,
    incident_id: str,
) -> None:
    runner.script = [503]
    runbook = await helpers.approved(client, author, approver, runner_url, retries=10)
    run_id = await started(client, responder, incident_id, runbook["id"])
    await until(lambda: len(runner.requests) >= 1)
    r = await client.post(f"/api/v1/runbooks/{runbook['id']}/deprecate", headers=author.headers)
    assert r.status_code == 200, r.text
    run = await finished(client, ts_env, responder, run_id)
    assert run["status"] in ("cancelled", "failed")
    assert_problem(await start(client, responder, incident_id, runbook["id"]), 409)


async def test_who_may_run_what(
    client: httpx.AsyncClient,
    author: Login,
    approver: Login,
    responder: Login,
    runner_url: str,
    incident_id: str,
    sessionmaker: SessionMaker,
) -> None:
    observer = await login(sessionmaker, role=Role.observer)
    draft = await helpers.create(client, author, runner_url, name="draft only")
    runbook = await helpers.approved(client, author, approver, runner_url)
    assert_problem(await start(client, observer, incident_id, runbook["id"]), 403)
    assert_problem(await start(client, responder, incident_id, draft["id"]), 409)
    bad = assert_problem(
        await start(client, responder, incident_id, runbook["id"], unit="mail"), 422
    )
    assert [e["field"] for e in bad["errors"]] == ["parameters.unit"]
    bad = assert_problem(
        await start(client, responder, incident_id, runbook["id"], unit="web", count="two"), 422
    )
    assert [e["field"] for e in bad["errors"]] == ["parameters.count"]
    missing = await client.post(
        f"/api/v1/incidents/{incident_id}/runbook-runs",
        json={"runbook_id": runbook["id"], "parameters": {}},
        headers=responder.headers,
    )
    assert [e["field"] for e in assert_problem(missing, 422)["errors"]] == ["parameters.unit"]
