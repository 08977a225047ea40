"""Jira and Linear steps are idempotent: a create that timed out at PageFree after the
provider made the issue is retried without making a second one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app.config import Settings
from app.connections import providers
from app.connections import service as connections
from app.connections.models import ConnectionCreate, ConnectionType, JiraConfig, LinearConfig
from app.db import SessionMaker
from tests import incident_helpers as h
from tests.automations.test_runs import ADMIN, finished, open_incident, play, runs_of, steps_of
from tests.connections import standins
from tests.live_server import serve


@pytest.fixture
def linear_seen() -> standins.Recorded:
    return standins.Recorded()


@pytest.fixture
async def linear_url(linear_seen: standins.Recorded) -> AsyncIterator[str]:
    async with serve(standins.linear(linear_seen)) as url:
        yield f"{url}/graphql"


@pytest.fixture
def short_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client gives up after 1 s; a stand-in told to hang answers after 3 s."""
    monkeypatch.setattr(providers, "TIMEOUT", httpx.Timeout(1.0))


async def connection(
    sessionmaker: SessionMaker, settings: Settings, type_: ConnectionType, config: dict[str, Any]
) -> str:
    async with sessionmaker() as session:
        conn = await connections.create(
            session=session,
            settings=settings,
            connection_in=ConnectionCreate(type=type_, name=type_.value, config=config),
            actor=ADMIN,
        )
        await session.commit()
        return str(conn.id)


async def run_step(
    ts_env: WorkflowEnvironment,
    sessionmaker: SessionMaker,
    settings: Settings,
    step: dict[str, Any],
) -> tuple[str, Any]:
    """Fire a one-step play on a new incident; return the step's key and its record."""
    aid = await play(sessionmaker, settings, steps=[step])
    _, incident_id = await open_incident(ts_env, sessionmaker, settings)
    assert await finished(ts_env, f"automation:{aid}:{incident_id}") == "succeeded"
    (run,) = await runs_of(sessionmaker, incident_id)
    events = await h.timeline(sessionmaker, incident_id)
    assert len([e for e in events if e.type == "ticket_created"]) == 1
    return f"{run.key_base}:steps[0]", (await steps_of(sessionmaker, run.id))["steps[0]"]


@pytest.mark.usefixtures("short_timeout")
async def test_jira_retry_after_a_timeout_finds_the_issue_instead_of_a_second(
    ts_env: WorkflowEnvironment,
    worker: Worker,
    sessionmaker: SessionMaker,
    settings: Settings,
    jira_url: str,
    jira_seen: standins.Recorded,
) -> None:
    jira_seen.hang_first = 3.0  # creates OPS-1, answers after the client gave up
    cid = await connection(
        sessionmaker,
        settings,
        ConnectionType.jira,
        {"base_url": jira_url, "email": standins.JIRA_EMAIL, "api_token": standins.JIRA_TOKEN},
    )
    key, step = await run_step(
        ts_env,
        sessionmaker,
        settings,
        {"type": "jira_issue", "connection_id": cid, "project_key": "OPS", "summary": "Down"},
    )
    assert [i["key"] for i in jira_seen.issues] == ["OPS-1"]  # one issue, not two
    assert step.attempts == 2 and step.output["key"] == "OPS-1"
    label = providers.jira_label(key)
    assert jira_seen.issues[0]["labels"] == [label]
    (search,) = jira_seen.searches  # only the retry looked before creating
    assert search["jql"].startswith(f'labels = "{label}"')
    assert jira_seen.headers[0]["idempotency-key"] == key


@pytest.mark.usefixtures("short_timeout")
async def test_linear_retry_after_a_timeout_finds_the_issue_by_its_client_chosen_id(
    ts_env: WorkflowEnvironment,
    worker: Worker,
    sessionmaker: SessionMaker,
    settings: Settings,
    linear_url: str,
    linear_seen: standins.Recorded,
) -> None:
    linear_seen.hang_first = 3.0
    cid = await connection(
        sessionmaker,
        settings,
        ConnectionType.linear,
        {"api_key": standins.LINEAR_KEY, "api_url": linear_url},
    )
    key, step = await run_step(
        ts_env,
        sessionmaker,
        settings,
        {"type": "linear_issue", "connection_id": cid, "team_id": "team-eng", "title": "Down"},
    )
    (issue,) = linear_seen.issues  # one issue
    assert issue["id"] == providers.linear_issue_id(key)
    # The timed-out create is followed by a look-up of the client-chosen id, which finds it.
    assert step.output["key"] == issue["identifier"]
    creates = [r for r in linear_seen.requests if "issueCreate" in r["query"]]
    lookups = [r for r in linear_seen.requests if "issue(id:" in r["query"]]
    assert [c["variables"]["input"]["id"] for c in creates] == [issue["id"]] * len(creates)
    assert [q["variables"]["id"] for q in lookups] == [issue["id"]] * len(lookups) != []
    assert {hd["idempotency-key"] for hd in linear_seen.headers} == {key}


async def test_same_key_twice_makes_one_issue_and_no_key_keeps_the_old_calls(
    settings: Settings,
    jira_url: str,
    jira_seen: standins.Recorded,
    linear_url: str,
    linear_seen: standins.Recorded,
) -> None:
    jira = JiraConfig.model_validate(
        {"base_url": jira_url, "email": standins.JIRA_EMAIL, "api_token": standins.JIRA_TOKEN}
    )
    args = {"project_key": "OPS", "issue_type": "Task", "summary": "s", "description": "d"}
    first = await providers.jira_create_issue(settings, jira, **args, idempotency_key="k:1")
    again = await providers.jira_create_issue(
        settings, jira, **args, idempotency_key="k:1", retry=True
    )
    assert first == again and len(jira_seen.issues) == 1
    fresh = await providers.jira_create_issue(
        settings, jira, **args, idempotency_key="k:2", retry=True
    )
    assert fresh != first and len(jira_seen.issues) == 2  # a retry that finds none creates
    await providers.jira_create_issue(settings, jira, **args)  # postmortems: no key
    assert "labels" not in jira_seen.requests[-1]["body"]["fields"]
    assert "idempotency-key" not in jira_seen.headers[-1]

    linear = LinearConfig.model_validate({"api_key": standins.LINEAR_KEY, "api_url": linear_url})
    largs = {"team_id": "team-eng", "title": "t", "description": "d"}
    one = await providers.linear_create_issue(settings, linear, **largs, idempotency_key="k:1")
    # A repeated issueCreate names an id Linear holds: refused, then found by that id.
    two = await providers.linear_create_issue(settings, linear, **largs, idempotency_key="k:1")
    assert one == two and len(linear_seen.issues) == 1
    assert sum("issueCreate" in r["query"] for r in linear_seen.requests) == 2
    with pytest.raises(providers.ProviderFailed, match="Entity not found: Team"):
        await providers.linear_create_issue(
            settings, linear, team_id="nope", title="t", description="d", idempotency_key="k:3"
        )
