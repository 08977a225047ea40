"""IncidentWorkflow Updates: resolve, escalate, reassign, snooze, notes; rejected actions."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app.config import Settings
from app.db import SessionMaker
from tests import incident_helpers as h
from workflows.incident_types import (
    INVALID_TRANSITION,
    ActionIn,
    Actor,
    IncidentView,
    NoteIn,
    ReassignIn,
    ResolveIn,
    SnoozeIn,
)

ALICE = Actor(type="user", id="alice", via="api")


async def _open(
    ts_env: WorkflowEnvironment,
    sessionmaker: SessionMaker,
    settings: Settings,
    n_levels: int = 2,
    delay: float = 300,
):  # type: ignore[no-untyped-def]
    people = await h.users(sessionmaker, n_levels)
    pol = await h.policy(sessionmaker, settings, [h.level(delay, p) for p in people])
    svc = await h.service(sessionmaker, pol)
    handle = await h.send_alert(ts_env.client, settings, svc, h.alert())
    v = await h.opened(handle)
    await _paged(sessionmaker, v.incident_id, 1)
    return people, svc, handle, v


async def _paged(sessionmaker: SessionMaker, incident_id: str, n: int) -> list[str]:
    async def enough() -> list[str] | None:
        got = await h.paged_users(sessionmaker, incident_id)
        return got if len(got) >= n else None

    return await h.eventually(enough)  # type: ignore[no-any-return]


async def test_resolve_with_note_completes_the_workflow(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> None:
    _, _, handle, v = await _open(ts_env, sessionmaker, settings)
    done = await handle.execute_update(
        "resolve", ResolveIn(actor=ALICE, note="rolled back the deploy"), result_type=IncidentView
    )
    assert done.status == "resolved" and done.resolved_by == "alice"
    desc = await h.eventually(lambda: _completed(handle))
    assert desc
    row = await h.incident_row(sessionmaker, v.incident_id)
    assert row is not None and row.status == "resolved" and row.resolved_by == "alice"
    last = (await h.timeline(sessionmaker, v.incident_id))[-1]
    assert last.type == "resolved" and last.detail == {"note": "rolled back the deploy"}
    assert last.actor == {"type": "user", "id": "alice", "via": "api"}


async def _completed(handle) -> bool:  # type: ignore[no-untyped-def]
    desc = await handle.describe()
    return desc.status is not None and desc.status.name == "COMPLETED"


async def test_escalating_an_acknowledged_incident_unacknowledges_and_pages_next_level(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> None:
    (a, b), _, handle, v = await _open(ts_env, sessionmaker, settings)
    await handle.execute_update("acknowledge", ActionIn(actor=ALICE))
    escalated = await handle.execute_update(
        "escalate", ActionIn(actor=ALICE), result_type=IncidentView
    )
    assert escalated.status == "triggered" and escalated.acknowledged_by is None
    assert await _paged(sessionmaker, v.incident_id, 2) == [str(a.id), str(b.id)]
    types = await h.types(sessionmaker, v.incident_id)
    assert types.index("acknowledged") < types.index("unacknowledged") < types.index("escalated")
    assert (await h.view(handle)).escalation_level == 2


async def test_reassign_to_another_policy_restarts_at_its_level_one(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> None:
    _, _, handle, v = await _open(ts_env, sessionmaker, settings)
    await ts_env.sleep(301)  # now at level 2
    await h.eventually(lambda: _at_level(handle, 2))
    (c, d) = await h.users(sessionmaker, 2)
    other = await h.policy(sessionmaker, settings, [h.level(60, c), h.level(60, d)])
    out = await handle.execute_update(
        "reassign",
        ReassignIn(actor=ALICE, escalation_policy_id=str(other.id)),
        result_type=IncidentView,
    )
    assert out.escalation_policy_id == str(other.id)
    paged = await _paged(sessionmaker, v.incident_id, 3)
    assert paged[-1] == str(c.id)
    assert (await h.view(handle)).escalation_level == 1
    await ts_env.sleep(61)
    assert (await _paged(sessionmaker, v.incident_id, 4))[-1] == str(d.id)


async def _at_level(handle, level: int) -> bool:  # type: ignore[no-untyped-def]
    return (await h.view(handle)).escalation_level == level


async def test_reassign_to_users_pages_them_now(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> None:
    _, _, handle, v = await _open(ts_env, sessionmaker, settings)
    (e,) = await h.users(sessionmaker, 1)
    await handle.execute_update("acknowledge", ActionIn(actor=ALICE))
    out = await handle.execute_update(
        "reassign", ReassignIn(actor=ALICE, user_ids=[str(e.id)]), result_type=IncidentView
    )
    assert out.status == "triggered"
    assert (await _paged(sessionmaker, v.incident_id, 2))[-1] == str(e.id)
    assert (await h.view(handle)).assigned_to == [str(e.id)]
    assert "reassigned" in await h.types(sessionmaker, v.incident_id)


async def test_snooze_quiets_then_retriggers(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> None:
    (a, _), _, handle, v = await _open(ts_env, sessionmaker, settings, delay=3600)
    out = await handle.execute_update(
        "snooze", SnoozeIn(actor=ALICE, seconds=1800), result_type=IncidentView
    )
    assert out.status == "acknowledged" and out.snoozed_until is not None
    await ts_env.sleep(1700)
    assert len(await h.paged_users(sessionmaker, v.incident_id)) == 1
    await ts_env.sleep(101)
    assert await _paged(sessionmaker, v.incident_id, 2) == [str(a.id), str(a.id)]
    assert (await h.view(handle)).status == "triggered"
    types = await h.types(sessionmaker, v.incident_id)
    assert types.index("snoozed") < types.index("unacknowledged")


async def test_note_is_added_to_the_timeline(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> None:
    _, _, handle, v = await _open(ts_env, sessionmaker, settings)
    await handle.execute_update("add_note", NoteIn(actor=ALICE, body="looking at the DB"))
    events = await h.timeline(sessionmaker, v.incident_id)
    note = next(e for e in events if e.type == "note")
    assert note.detail == {"body": "looking at the DB"} and note.actor is not None
    assert (await h.view(handle)).status == "triggered"  # notes change nothing else


@pytest.mark.parametrize(
    ("update", "arg", "message"),
    [
        ("snooze", SnoozeIn(actor=ALICE, seconds=0), "snooze between"),
        ("reassign", ReassignIn(actor=ALICE), "either user_ids or escalation_policy_id"),
        ("add_note", NoteIn(actor=ALICE, body="   "), "needs a body"),
        ("acknowledge", ActionIn(actor=ALICE, incident_id="some-older-incident"), "resolved"),
    ],
)
async def test_invalid_actions_are_rejected_by_the_validator(
    ts_env: WorkflowEnvironment,
    worker: Worker,
    sessionmaker: SessionMaker,
    settings: Settings,
    update: str,
    arg: ActionIn,
    message: str,
) -> None:
    _, _, handle, v = await _open(ts_env, sessionmaker, settings)
    before = await h.types(sessionmaker, v.incident_id)
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(update, arg)
    cause = err.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == INVALID_TRANSITION
    assert message in cause.message
    assert await h.types(sessionmaker, v.incident_id) == before  # nothing written


async def test_double_acknowledge_is_idempotent(
    ts_env: WorkflowEnvironment, worker: Worker, sessionmaker: SessionMaker, settings: Settings
) -> None:
    _, _, handle, v = await _open(ts_env, sessionmaker, settings)
    first = await handle.execute_update(
        "acknowledge", ActionIn(actor=ALICE), result_type=IncidentView
    )
    second = await handle.execute_update(
        "acknowledge", ActionIn(actor=Actor(type="user", id="bob")), result_type=IncidentView
    )
    assert second.acknowledged_by == first.acknowledged_by == "alice"
    assert (await h.types(sessionmaker, v.incident_id)).count("acknowledged") == 1
