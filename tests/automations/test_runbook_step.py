"""The `run_runbook` step on the time-skipping server: the run is the incident's child, the
stand-in runner gets the signed call, a retried step starts no second run, an unapproved
runbook fails the step at once."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from uuid import NAMESPACE_URL, UUID, uuid5

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from activities.automation import AutomationActivities
from app.config import Settings
from app.db import SessionMaker
from app.identity.models import Role
from app.runbooks.models import RunbookRun
from app.temporal import LazyClient
from tests import incident_helpers as h
from tests.automations.test_runs import finished, open_incident, play, runs_of, steps_of
from tests.factories import Login, login
from tests.live_server import serve
from tests.runbooks import helpers as runbook_helpers
from tests.runbooks.standin import Runner
from workflows.automation_types import StepIn
from workflows.runbook_types import workflow_id as runbook_workflow_id


@pytest.fixture(autouse=True)
def temporal(app: FastAPI, settings: Settings, ts_env: WorkflowEnvironment) -> None:
    app.state.temporal = LazyClient(settings, None, client=ts_env.client)


@pytest.fixture
def runner() -> Runner:
    return Runner()


@pytest.fixture
async def runner_url(runner: Runner) -> AsyncIterator[str]:
    async with serve(runner.app()) as url:
        yield f"{url}/run/restart"


@pytest.fixture
async def approver(sessionmaker: SessionMaker) -> Login:
    return await login(sessionmaker, role=Role.admin)


async def runs_on(sessionmaker: SessionMaker, incident_id: str) -> list[RunbookRun]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(RunbookRun).where(RunbookRun.incident_id == UUID(incident_id))
        )
        return list(rows.all())


async def test_run_runbook_step_starts_one_child_run_even_when_retried(
    ts_env: WorkflowEnvironment,
    worker: Worker,
    sessionmaker: SessionMaker,
    settings: Settings,
    client: httpx.AsyncClient,
    admin: Login,
    approver: Login,
    runner: Runner,
    runner_url: str,
) -> None:
    runbook = await runbook_helpers.approved(client, admin, approver, runner_url)
    aid = await play(
        sessionmaker,
        settings,
        steps=[{"type": "run_runbook", "runbook_id": runbook["id"], "parameters": {"unit": "db"}}],
    )
    handle, incident_id = await open_incident(ts_env, sessionmaker, settings)
    assert await finished(ts_env, f"automation:{aid}:{incident_id}") == "succeeded"

    (run,) = await runs_of(sessionmaker, incident_id)
    key = f"{run.key_base}:steps[0]"
    step = (await steps_of(sessionmaker, run.id))["steps[0]"]
    assert step.status == "succeeded"
    run_id = step.output["runbook_run_id"]
    assert run_id == str(uuid5(NAMESPACE_URL, f"pagefree:runbook-step:{key}"))
    (recorded,) = await runs_on(sessionmaker, incident_id)
    assert str(recorded.id) == run_id and recorded.runbook_id == UUID(runbook["id"])

    described = await ts_env.client.get_workflow_handle(runbook_workflow_id(run_id)).describe()
    assert described.parent_id == handle.id  # a child of the incident workflow

    async def called() -> bool:
        return len(runner.requests) == 1

    await h.eventually(called, timeout=30)
    assert runner.rejected == []  # the runner verified PageFree's signature
    assert '"unit": "db"' in runner.requests[0]["body"]

    # A retry of the same step (same StepIn, so the same idempotency key): no second run.
    env = ActivityEnvironment(client=ts_env.client)
    env.info = dataclasses.replace(env.info, attempt=2)
    again = await env.run(
        AutomationActivities(sessionmaker, settings).automation_step,
        StepIn(
            run_id=str(run.id),
            automation_id=aid,
            version=run.version,
            incident_id=incident_id,
            path="steps[0]",
            idempotency_key=key,
            max_attempts=5,
        ),
    )
    assert again.output["runbook_run_id"] == run_id
    async with sessionmaker() as session:
        count = await session.scalar(select(func.count()).select_from(RunbookRun))
    assert count == 1
    assert len(runner.requests) == 1


async def test_run_runbook_step_without_an_approved_version_fails_at_once(
    ts_env: WorkflowEnvironment,
    worker: Worker,
    sessionmaker: SessionMaker,
    settings: Settings,
    client: httpx.AsyncClient,
    admin: Login,
    runner: Runner,
    runner_url: str,
) -> None:
    draft = await runbook_helpers.create(client, admin, runner_url)  # never approved
    aid = await play(
        sessionmaker,
        settings,
        steps=[{"type": "run_runbook", "runbook_id": draft["id"], "parameters": {"unit": "db"}}],
    )
    _, incident_id = await open_incident(ts_env, sessionmaker, settings)
    assert await finished(ts_env, f"automation:{aid}:{incident_id}") == "failed"
    (run,) = await runs_of(sessionmaker, incident_id)
    step = (await steps_of(sessionmaker, run.id))["steps[0]"]
    assert (step.status, step.attempts) == ("failed", 1)  # permanent: not retried
    assert step.error and "approved" in step.error
    assert await runs_on(sessionmaker, incident_id) == []
    assert runner.requests == []
