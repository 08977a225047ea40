"""Runbook runs on a time-skipping Temporal: children of the incident, signed calls, retries,
cancel, version pinning."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from app.config import Settings
from app.db import SessionMaker
from app.identity.models import Role
from app.incidents.models import Incident
from app.runbooks.models import RunbookRun
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


async def record(ts_env: WorkflowEnvironment, wid: str, name: str) -> None:
    """With PAGEFREE_RECORD_HISTORIES=1, save a workflow's history for the replay test."""
    if os.environ.get("PAGEFREE_RECORD_HISTORIES"):
        history = await ts_env.client.get_workflow_handle(wid).fetch_history()
        (HISTORIES / f"{name}.json").write_text(history.to_json())


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    async def loop() -> None:
        while not check():  # noqa: ASYNC110 - the stand-in runner appends to a list
            await asyncio.sleep(0.02)

    await asyncio.wait_for(loop(), timeout)


@dataclass
class Stage:
    """An open incident, a responder, a stand-in runner and the API: what every run test needs."""

    client: httpx.AsyncClient
    ts_env: WorkflowEnvironment
    author: Login
    approver: Login
    responder: Login
    runner: Runner
    runner_url: str
    incident_id: str

    async def runbook(self, **extra: Any) -> dict[str, Any]:
        """Create a runbook on the stand-in and have the second admin approve it."""
        return await helpers.approved(
            self.client, self.author, self.approver, self.runner_url, **extra
        )

    async def start(
        self, runbook_id: str, who: Login | None = None, **params: Any
    ) -> httpx.Response:
        """Ask the API to run `runbook_id` on the incident (as the responder by default)."""
        return await self.client.post(
            f"/api/v1/incidents/{self.incident_id}/runbook-runs",
            json={"runbook_id": runbook_id, "parameters": params or {"unit": "web"}},
            headers=(who or self.responder).headers,
        )

    async def started(self, runbook_id: str) -> str:
        """Start a run; return its id."""
        r = await self.start(runbook_id)
        assert r.status_code == 202, r.text
        assert r.json()["status"] == "running"
        run_id: str = r.json()["id"]
        return run_id

    async def running(self, script: list[int], **extra: Any) -> tuple[dict[str, Any], str]:
        """Approve a runbook, start it, wait for its first request; return runbook and run id."""
        self.runner.script = script
        runbook = await self.runbook(**extra)
        run_id = await self.started(runbook["id"])
        await until(lambda: len(self.runner.requests) >= 1)
        return runbook, run_id

    async def backing_off(self, run_id: str) -> None:
        """Wait until the run rests on its back-off timer after a failed attempt
        (`ih.timer_started` says why a cancel waits for that)."""
        client, wid = self.ts_env.client, workflow_id(run_id)
        await ih.eventually(lambda: ih.timer_started(client, wid))

    async def finished(self, run_id: str, record_as: str | None = None) -> dict[str, Any]:
        """Wait for the run's workflow (time skips meanwhile); return the run's API view."""
        handle = self.ts_env.client.get_workflow_handle(workflow_id(run_id))
        for attempt in range(3):
            try:
                await handle.result()
            except WorkflowFailureError:
                pass  # cancelled
            except RuntimeError:
                # The time-skipping server sometimes ends the long poll for a cancelled
                # child's close event early ("No completion event found"): ask again.
                if attempt == 2:
                    raise
                continue
            break
        if record_as:
            await record(self.ts_env, handle.id, record_as)
        r = await self.client.get(f"/api/v1/runbook-runs/{run_id}", headers=self.responder.headers)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    async def run(
        self, script: list[int], record_as: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """Approve a runbook answered by `script`, run it to its end; return the run."""
        self.runner.script = script
        runbook = await self.runbook(**extra)
        return await self.finished(await self.started(runbook["id"]), record_as)


@pytest.fixture
async def stage(
    client: httpx.AsyncClient,
    ts_env: WorkflowEnvironment,
    sessionmaker: SessionMaker,
    settings: Settings,
    author: Login,
    approver: Login,
    runner: Runner,
    runner_url: str,
) -> Stage:
    return Stage(
        client=client,
        ts_env=ts_env,
        author=author,
        approver=approver,
        responder=await login(sessionmaker, role=Role.responder),
        runner=runner,
        runner_url=runner_url,
        incident_id=await helpers.incident(ts_env.client, sessionmaker, settings),
    )


async def test_a_run_sends_one_signed_call_and_notes_it_on_the_timeline(
    stage: Stage, sessionmaker: SessionMaker
) -> None:
    run = await stage.run([200])
    assert run["status"] == "succeeded" and run["attempts"] == 1
    assert run["response_status"] == 200 and '"ran":1' in run["response_excerpt"]
    assert run["version"] == 1 and run["started_by"] == str(stage.responder.user.id)
    assert run["parameters"] == {"unit": "web", "count": 1}
    assert stage.runner.rejected == []
    (request,) = stage.runner.requests
    assert request["headers"]["idempotency-key"] == run["id"]
    assert request["body"].startswith('{"unit": "web", "incident": ')
    events = await ih.timeline(sessionmaker, stage.incident_id)
    started_event, finished_event = [e for e in events if e.type.startswith("runbook_")]
    assert started_event.type == "runbook_started"
    assert started_event.detail and started_event.detail["version"] == 1
    assert finished_event.type == "runbook_finished"
    assert finished_event.detail and finished_event.detail["status"] == "succeeded"


async def test_the_run_is_the_incidents_child_and_outlives_its_resolve(
    stage: Stage, sessionmaker: SessionMaker
) -> None:
    _, run_id = await stage.running([503, 200])
    async with sessionmaker() as session:
        incident = await session.get(Incident, UUID(stage.incident_id))
    assert incident is not None
    child = await stage.ts_env.client.get_workflow_handle(workflow_id(run_id)).describe()
    assert child.parent_id == incident.workflow_id
    assert child.parent_run_id == incident.run_id
    summary = await child.static_summary()
    assert summary == f"Runbook Restart unit v1 on incident #{incident.number}"
    # Resolving the incident ends its workflow; the run (ABANDON) goes on to its retry.
    r = await stage.client.post(
        f"/api/v1/incidents/{stage.incident_id}/resolve", headers=stage.responder.headers
    )
    assert r.status_code == 200, r.text
    run = await stage.finished(run_id, record_as="runbook_run_child_of_incident")
    assert run["status"] == "succeeded" and run["attempts"] == 2
    parent = stage.ts_env.client.get_workflow_handle(incident.workflow_id)
    await parent.result()
    await record(stage.ts_env, incident.workflow_id, "incident_starts_a_runbook_run_and_resolves")


async def test_a_resolved_incident_refuses_a_run_with_409(
    stage: Stage, sessionmaker: SessionMaker
) -> None:
    runbook = await stage.runbook()
    r = await stage.client.post(
        f"/api/v1/incidents/{stage.incident_id}/resolve", headers=stage.responder.headers
    )
    assert r.status_code == 200, r.text
    async with sessionmaker() as session:
        incident = await session.get(Incident, UUID(stage.incident_id))
        assert incident is not None and incident.status == "resolved"
        wid = incident.workflow_id
    await stage.ts_env.client.get_workflow_handle(wid).result()
    refused = assert_problem(await stage.start(runbook["id"]), 409)
    assert refused["incident_status"] == "resolved"
    async with sessionmaker() as session:
        assert (await session.scalars(select(RunbookRun))).all() == []
        # A projection a moment behind (still "triggered"): the workflow refuses, and the row
        # written for the run says why it never started.
        await session.execute(
            update(Incident)
            .where(Incident.id == UUID(stage.incident_id))
            .values(status="triggered")
        )
        await session.commit()
    refused = assert_problem(await stage.start(runbook["id"]), 409)
    assert "resolved" in refused["detail"]
    async with sessionmaker() as session:
        (row,) = (await session.scalars(select(RunbookRun))).all()
    assert row.status == "failed" and row.error and row.error.startswith("not started: ")
    assert stage.runner.requests == []


async def test_retries_back_off_with_one_idempotency_key(stage: Stage) -> None:
    run = await stage.run([503, 429, 408, 200], record_as="runbook_run_retries")
    assert run["status"] == "succeeded" and run["attempts"] == 4
    assert {r["headers"]["idempotency-key"] for r in stage.runner.requests} == {run["id"]}


async def test_a_4xx_answer_is_not_retried(stage: Stage) -> None:
    run = await stage.run([400])
    assert run["status"] == "failed" and run["attempts"] == 1 and run["response_status"] == 400
    assert len(stage.runner.requests) == 1


async def test_a_run_fails_when_its_retries_run_out(stage: Stage) -> None:
    run = await stage.run([503], retries=2)
    assert run["status"] == "failed" and run["attempts"] == 3 and run["response_status"] == 503
    assert len(stage.runner.requests) == 3


async def test_cancel_stops_a_run_between_attempts(
    stage: Stage, sessionmaker: SessionMaker
) -> None:
    _, run_id = await stage.running([503], retries=10)
    await stage.backing_off(run_id)
    cancel = f"/api/v1/runbook-runs/{run_id}/cancel"
    r = await stage.client.post(cancel, headers=stage.responder.headers)
    assert r.status_code == 202, r.text
    run = await stage.finished(run_id, record_as="runbook_run_cancelled")
    assert run["status"] == "cancelled"
    assert len(stage.runner.requests) < 11
    events = await ih.timeline(sessionmaker, stage.incident_id)
    (end,) = [e for e in events if e.type == "runbook_finished"]
    assert end.detail and end.detail["status"] == "cancelled"
    assert_problem(await stage.client.post(cancel, headers=stage.responder.headers), 409)


async def test_an_edit_during_a_run_changes_nothing(stage: Stage) -> None:
    runbook, run_id = await stage.running([503, 200])
    edited = helpers.definition(
        stage.runner_url.replace("/restart", "/other"), body="v2", retries=0
    )
    r = await stage.client.patch(
        f"/api/v1/runbooks/{runbook['id']}",
        json={"definition": edited},
        headers=stage.author.headers,
    )
    assert r.status_code == 200, r.text
    r = await stage.client.post(
        f"/api/v1/runbooks/{runbook['id']}/approve",
        json={"version": 2},
        headers=stage.approver.headers,
    )
    assert r.status_code == 200, r.text
    run = await stage.finished(run_id)
    assert run["status"] == "succeeded" and run["version"] == 1 and run["attempts"] == 2
    first, second = stage.runner.requests
    assert second["body"] == first["body"] and second["path"] == "/run/restart"


async def test_deprecating_cancels_running_runs(stage: Stage) -> None:
    runbook, run_id = await stage.running([503], retries=10)
    await stage.backing_off(run_id)
    r = await stage.client.post(
        f"/api/v1/runbooks/{runbook['id']}/deprecate", headers=stage.author.headers
    )
    assert r.status_code == 200, r.text
    run = await stage.finished(run_id)
    assert run["status"] in ("cancelled", "failed")
    assert_problem(await stage.start(runbook["id"]), 409)


async def test_who_may_run_what(stage: Stage, sessionmaker: SessionMaker) -> None:
    observer = await login(sessionmaker, role=Role.observer)
    draft = await helpers.create(stage.client, stage.author, stage.runner_url, name="draft only")
    runbook = await stage.runbook()
    assert_problem(await stage.start(runbook["id"], observer), 403)
    assert_problem(await stage.start(draft["id"]), 409)
    bad = assert_problem(await stage.start(runbook["id"], unit="mail"), 422)
    assert [e["field"] for e in bad["errors"]] == ["parameters.unit"]
    bad = assert_problem(await stage.start(runbook["id"], unit="web", count="two"), 422)
    assert [e["field"] for e in bad["errors"]] == ["parameters.count"]
    missing = await stage.client.post(
        f"/api/v1/incidents/{stage.incident_id}/runbook-runs",
        json={"runbook_id": runbook["id"], "parameters": {}},
        headers=stage.responder.headers,
    )
    assert [e["field"] for e in assert_problem(missing, 422)["errors"]] == ["parameters.unit"]
