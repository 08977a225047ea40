"""Automation runs on the time-skipping server: child workflows of real incidents, real
activities, stand-ins for the outside (webhook receiver, Jira)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy import select
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app.audit.models import Actor as AuditActor
from app.automations import service as automations
from app.automations.models import AutomationRun, AutomationStep
from app.config import Settings
from app.connections import service as connections
from app.connections.models import ConnectionCreate, ConnectionType
from app.db import SessionMaker
from app.temporal import LazyClient
from tests import incident_helpers as h
from tests.connections import standins
from tests.factories import Login
from workflows.incident_types import ActionIn, Actor, ResolveIn

ADMIN = AuditActor.system("test")
CRITICAL = [{"field": "severity", "op": "eq", "value": "critical"}]


async def play(sessionmaker: SessionMaker, settings: Settings, **body: Any) -> str:
    body.setdefault("name", f"play-{len(body)}-{id(body)}")
    body.setdefault("trigger", {"event": "incident.triggered"})
    async with sessionmaker() as session:
        a = await automations.create(session=session, settings=settings, body=body, actor=ADMIN)
        await session.commit()
        return str(a.id)


async def open_incident(
    ts_env: WorkflowEnvironment, sessionmaker: SessionMaker, settings: Settings, **alert: Any
) -> tuple[WorkflowHandle[Any, Any], str]:
    (someone,) = await h.users(sessionmaker, 1)
    levels = [h.level(3600, someone) for _ in range(3)]
    svc = await h.service(sessionmaker, await h.policy(sessionmaker, settings, levels))
    handle = await h.send_alert(ts_env.client, settings, svc, h.alert(**alert))
    return handle, (await h.opened(handle)).incident_id


async def runs_of(sessionmaker: SessionMaker, incident_id: str) -> list[AutomationRun]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(AutomationRun).where(AutomationRun.incident_id == UUID(incident_id))
        )
        return list(rows.all())


async def steps_of(sessionmaker: SessionMaker, run_id: UUID) -> dict[str, AutomationStep]:
    async with sessionmaker() as session:
        rows = await session.scalars(select(AutomationStep).where(AutomationStep.run_id == run_id))
        return {s.path: s for s in rows.all()}


async def finished(ts_env: WorkflowEnvironment, workflow_id: str, timeout: float = 90) -> str:
    """Wait for a run's workflow (time skips while we wait on its result); bounded."""
    handle = ts_env.client.get_workflow_handle(workflow_id)
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        try:
            result: str = await asyncio.wait_for(handle.result(), 20)
            return result
        except RPCError as exc:  # the incident starts it in the background, just after opening
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
        except (RuntimeError, TimeoutError):
            pass  # a long poll of the history that came back empty on a loaded machine
        await asyncio.sleep(0.1)
    events = [EventType.Name(e.event_type) async for e in handle.fetch_history_events()]
    raise AssertionError(f"{workflow_id} did not finish: {events}")


async def test_webhook_retries_carry_one_idempotency_key_and_the_run_is_recorded(
    ts_env: WorkflowEnvironment,
    worker: Worker,
    sessionmaker: SessionMaker,
    settings: Settings,
    receiver: standins.Receiver,
    hook_url: str,
) -> None:
    receiver.fail_first = 2  # two 500s, then 202
    body = '{"n": {{ incident.number }}}'
    aid = await play(
        sessionmaker,
        settings,
        conditions=CRITICAL,
        steps=[{"type": "webhook", "url": hook_url, "body": body}],
    )
    _, incident_id = await open_incident(ts_env, sessionmaker, settings)
    assert await finished(ts_env, f"automation:{aid}:{incident_id}") == "succeeded"
    keys = {r["headers"]["idempotency-key"] for r in receiver.requests}
    assert len(receiver.requests) == 3 and len(keys) == 1
    (run,) = await runs_of(sessionmaker, incident_id)
    assert run.status == "succeeded" and keys == {f"{run.key_base}:steps[0]"}
    step = (await steps_of(sessionmaker, run.id))["steps[0]"]
    assert (step.status, step.attempts, step.output["status"]) == ("succeeded", 3, 202)
    types = await h.types(sessionmaker, incident_id)
    assert "automation_started" in types and "automation_finished" in types


async def test_a_4xx_is_not_retried_and_a_rerun_may_keep_the_keys(
    ts_env: WorkflowEnvironment,
    worker: Worker,
    sessionmaker: SessionMaker,
    settings: Settings,
    receiver: standins.Receiver,
    hook_url: str,
    client: httpx.AsyncClient,
    app: Any,
    responder: Login,
) -> None:
    receiver.fail_first, receiver.fail_status = 1, 400
    aid = await play(sessionmaker, settings, steps=[{"type": "webhook", "url": hook_url}])
    _, incident_id = await open_incident(ts_env, sessionmaker, settings)
    assert await finished(ts_env, f"automation:{aid}:{incident_id}") == "failed"
    (run,) = await runs_of(sessionmaker, incident_id)
    assert len(receiver.requests) == 1
    assert (await steps_of(sessionmaker, run.id))["steps[0]"].status == "failed"

    app.state.temporal = LazyClient(settings, None, client=ts_env.client)
    r = await client.post(
        f"/api/v1/automation-runs/{run.id}/rerun",
        json={},  # a re-run keeps the failed run's keys unless asked for new ones
        headers=responder.headers,
    )
    assert r.status_code == 202, r.text
    rerun = r.json()
    assert rerun["id"] != str(run.id) and rerun["rerun_of"] == str(run.id)
    assert await finished(ts_env, rerun["workflow_id"]) == "succeeded"
    first, second = (q["headers"]["idempotency-key"] for q in receiver.requests)
    assert first == second
    listed = (
        await client.get(
            f"/api/v1/incidents/{incident_id}/automation-runs", headers=responder.headers
        )
    ).json()
    assert [x["status"] for x in listed] == ["failed", "succeeded"]
    assert listed[1]["steps"][0]["attempts"] == 1


async def test_branches_waits_and_resolve_cancels_all_but_run_to_completion(
    ts_env: WorkflowEnvironment,
    worker: Worker,
    sessionmaker: SessionMaker,
    settings: Settings,
    receiver: standins.Receiver,
    hook_url: str,
) -> None:
    aid = await play(
        sessionmaker,
        settings,
        steps=[
            {
                "type": "if",
                "conditions": [{"field": "alert.labels.env", "op": "eq", "value": "prod"}],
                "then": [{"type": "add_note", "body": "prod: {{ incident.alert.labels.env }}"}],
                "else": [{"type": "add_note", "body": "not prod"}],
            },
            {"type": "wait", "duration": "PT1H"},
            {"type": "add_note", "body": "an hour later"},
            {"type": "webhook", "url": hook_url, "run_to_completion": True},
        ],
    )
    handle, incident_id = await open_incident(
        ts_env, sessionmaker, settings, details={"labels": {"env": "prod"}}
    )
    wid = f"automation:{aid}:{incident_id}"

    async def noted() -> list[str]:
        events = await h.timeline(sessionmaker, incident_id)
        return [e.detail["body"] for e in events if e.type == "note"]

    assert await h.eventually(noted) == ["prod: prod"]
    # Resolve while the run rests on its hour's timer: the note is in the database a moment
    # before its activity's completion is in the history (h.timer_started says why).
    assert await h.eventually(lambda: h.timer_started(ts_env.client, wid), timeout=30)
    await handle.execute_update("resolve", ResolveIn(actor=Actor(type="user", id="u1")))
    assert await finished(ts_env, wid) == "cancelled"
    (run,) = await runs_of(sessionmaker, incident_id)
    steps = await steps_of(sessionmaker, run.id)
    assert steps["steps[0]"].output == {"branch": "then"}
    assert steps["steps[1]"].status == "cancelled"  # the wait
    assert steps["steps[2]"].status == "cancelled"
    assert steps["steps[3]"].status == "succeeded" and len(receiver.requests) == 1
    assert await noted() == ["prod: prod"]


async def test_once_per_incident_is_enforced_by_the_workflow_id(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> None:
    note = [{"type": "add_note", "body": "level {{ incident.escalation_level }}"}]
    esc = {"event": "incident.escalated"}
    await play(sessionmaker, settings, name="once", trigger=esc, steps=note)
    await play(
        sessionmaker, settings, name="every", trigger=esc, steps=note, run_once_per_incident=False
    )
    handle, incident_id = await open_incident(ts_env, sessionmaker, settings)
    actor = ActionIn(actor=Actor(type="user", id="u1"))
    await handle.execute_update("escalate", actor)
    await handle.execute_update("escalate", actor)

    async def settled() -> list[AutomationRun] | None:
        runs = await runs_of(sessionmaker, incident_id)
        return runs if len(runs) >= 3 and all(r.status != "running" for r in runs) else None

    await h.eventually(settled, timeout=20)
    await ts_env.sleep(1)
    assert len(await runs_of(sessionmaker, incident_id)) == 3  # once: 1, every: 2


async def test_unacknowledged_play_fires_only_if_nobody_acknowledges_in_time(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> None:
    aid = await play(
        sessionmaker,
        settings,
        trigger={"event": "incident.unacknowledged", "after": "PT10M"},
        steps=[{"type": "set_severity", "severity": "warning"}],
    )
    acked, acked_id = await open_incident(ts_env, sessionmaker, settings, dedup_key="a")
    await acked.execute_update("acknowledge", ActionIn(actor=Actor(type="user", id="u1")))
    assert await finished(ts_env, f"automation:{aid}:{acked_id}") == "skipped"
    assert await runs_of(sessionmaker, acked_id) == []

    _, left_id = await open_incident(ts_env, sessionmaker, settings, dedup_key="b")
    await ts_env.sleep(timedelta(minutes=11))  # waiting on the result alone did not skip here

    async def done() -> bool:
        return [r.status for r in await runs_of(sessionmaker, left_id)] == ["succeeded"]

    await h.eventually(done, timeout=30)
    row = await h.incident_row(sessionmaker, left_id)
    assert row is not None and row.severity == "warning"
    assert "severity_changed" in await h.types(sessionmaker, left_id)


async def test_jira_step_writes_the_ticket_back_to_the_timeline(
    ts_env: WorkflowEnvironment,
    worker: Worker,
    sessionmaker: SessionMaker,
    settings: Settings,
    jira_url: str,
    jira_seen: standins.Recorded,
) -> None:
    async with sessionmaker() as session:
        conn = await connections.create(
            session=session,
            settings=settings,
            connection_in=ConnectionCreate(
                type=ConnectionType.jira,
                name="jira",
                config={
                    "base_url": jira_url,
                    "email": standins.JIRA_EMAIL,
                    "api_token": standins.JIRA_TOKEN,
                },
            ),
            actor=ADMIN,
        )
        await session.commit()
    aid = await play(
        sessionmaker,
        settings,
        steps=[
            {
                "type": "jira_issue",
                "connection_id": str(conn.id),
                "project_key": "OPS",
                "summary": "[#{{ incident.number }}] {{ incident.title }}",
                "description": "{{ incident.url }}",
            }
        ],
    )
    _, incident_id = await open_incident(ts_env, sessionmaker, settings)
    assert await finished(ts_env, f"automation:{aid}:{incident_id}") == "succeeded"
    (sent,) = jira_seen.requests
    assert sent["body"]["fields"]["summary"].endswith("CPU on fire")
    events = await h.timeline(sessionmaker, incident_id)
    (ticket,) = [e for e in events if e.type == "ticket_created"]
    assert ticket.detail["key"] and ticket.detail["url"].startswith(jira_url)
    (done,) = [e for e in events if e.type == "automation_finished"]
    assert done.detail["links"][0]["key"] == ticket.detail["key"]
