""" "Run runbook" on the Slack card: a modal (pick, parameters, confirm), then a run as the user."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from app.audit.models import Actor, AuditEvent
from app.config import Settings
from app.db import SessionMaker
from app.identity.models import Role
from app.runbooks import service as runbooks
from app.runbooks.models import Definition, RunbookCreate, RunbookRun
from app.slack.actions import OBSERVER
from tests import incident_helpers as h
from tests.factories import make_user
from tests.live_server import serve
from tests.runbooks import helpers
from tests.runbooks.standin import SECRET, Runner
from tests.slack.conftest import Org, block_action, open_incident, press
from tests.slack_stand_in import SlackStandIn, block_actions_body, sign, view_submission_payload


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The stand-in runner listens on loopback: private targets allowed."""
    return settings.model_copy(update={"allow_private_targets": True})


@pytest.fixture
async def runner() -> AsyncIterator[tuple[Runner, str]]:
    stand_in = Runner()
    async with serve(stand_in.app()) as url:
        yield stand_in, f"{url}/run/restart"


@pytest.fixture
async def runbook(
    sessionmaker: SessionMaker, settings: Settings, runner: tuple[Runner, str]
) -> str:
    """An approved runbook (author and approver two admins); return its id."""
    async with sessionmaker() as session:
        author = await make_user(session, name="Ada Author", role=Role.admin)
        approver = await make_user(session, name="Abe Approver", role=Role.admin)
        created = await runbooks.create(
            session=session,
            settings=settings,
            runbook_in=RunbookCreate(
                name="Restart unit",
                definition=Definition.model_validate(helpers.definition(runner[1])),
                secret=SECRET,
            ),
            actor=Actor(id=author.id),
        )
        await runbooks.approve(
            session=session,
            settings=settings,
            runbook_id=created.id,
            version=1,
            actor=Actor(id=approver.id),
        )
        await session.commit()
        return str(created.id)


async def submit(
    http: httpx.AsyncClient, view: dict[str, Any], values: dict[str, Any], user: str
) -> dict[str, Any]:
    """Submit a modal step as Slack does; return Bolt's answer (empty when it closes)."""
    body = block_actions_body(view_submission_payload(view, values, user=user))
    r = await http.post("/slack/events", content=body, headers=sign(body))
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json() if r.content else {}
    return answer


def _select(value: str) -> dict[str, Any]:
    return {"type": "static_select", "selected_option": {"value": value}}


def _ephemerals(slack_api: SlackStandIn) -> list[str]:
    return [c.args["text"] for c in slack_api.to("chat.postEphemeral")]


async def test_run_runbook_from_slack_confirms_the_request_then_runs_as_the_linked_user(
    slack_http: httpx.AsyncClient,
    ts_env: WorkflowEnvironment,
    settings: Settings,
    org: Org,
    slack_api: SlackStandIn,
    sessionmaker: SessionMaker,
    runner: tuple[Runner, str],
    runbook: str,
) -> None:
    stand_in, url = runner
    _, incident, ts = await open_incident(ts_env, settings, org, slack_api)
    await press(
        slack_http, block_action("incident_run_runbook", incident.incident_id, user="UBOB", ts=ts)
    )
    (opened,) = await slack_api.wait_for("views.open")
    assert opened.args["trigger_id"] == "123.456.abc"
    pick = opened.args["view"]
    pick = json.loads(pick) if isinstance(pick, str) else pick
    assert pick["callback_id"] == "runbook_pick"
    options = pick["blocks"][1]["element"]["options"]
    assert [(o["text"]["text"], o["value"]) for o in options] == [("Restart unit v1", runbook)]

    answer = await submit(slack_http, pick, {"runbook": {"runbook": _select(runbook)}}, "UBOB")
    assert answer["response_action"] == "update"
    form = answer["view"]
    assert form["callback_id"] == "runbook_parameters"
    inputs = {b["block_id"]: b for b in form["blocks"] if b["type"] == "input"}
    assert inputs["p.unit"]["element"]["type"] == "static_select"
    assert inputs["p.unit"]["optional"] is False
    assert inputs["p.count"]["element"] == {
        "type": "number_input",
        "action_id": "value",
        "is_decimal_allowed": False,
        "initial_value": "1",
    }
    # A required parameter left out: the modal shows the error next to its field.
    missing = await submit(
        slack_http, form, {"p.count": {"value": {"type": "number_input", "value": "2"}}}, "UBOB"
    )
    assert missing == {"response_action": "errors", "errors": {"p.unit": "required"}}

    values = {
        "p.unit": {"value": _select("db")},
        "p.count": {"value": {"type": "number_input", "value": "2"}},
    }
    answer = await submit(slack_http, form, values, "UBOB")
    confirm = answer["view"]
    assert confirm["callback_id"] == "runbook_confirm"
    assert confirm["submit"]["text"] == "Run v1 now"
    shown = "\n".join(b["text"]["text"] for b in confirm["blocks"])
    assert "*Restart unit* version 1, approved by Abe Approver" in shown
    assert f"*POST* `{url}`" in shown
    assert f'{{"unit": "db", "incident": {incident.number}, "count": 2}}' in shown
    assert stand_in.requests == []  # nothing is sent before the confirmation

    assert await submit(slack_http, confirm, {}, "UBOB") == {}  # the modal closes
    (reply,) = await slack_api.wait_for("chat.postEphemeral")
    assert reply.args["user"] == "UBOB" and reply.args["channel"] == "C0OPS"
    assert reply.args["text"].startswith(f"You started Restart unit v1 on #{incident.number}: <")

    async def sent() -> list[dict[str, Any]]:
        return stand_in.requests

    (request,) = await h.eventually(sent)
    assert json.loads(request["body"]) == {"unit": "db", "incident": incident.number, "count": 2}
    async with sessionmaker() as session:
        (run,) = (await session.scalars(select(RunbookRun))).all()
        audit = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "runbook_run.start")
        )
    assert run.started_by == org.bob.id and run.parameters == {"unit": "db", "count": 2}
    assert audit is not None and audit.via == "slack" and audit.actor_id == str(org.bob.id)


async def test_an_observer_is_refused_with_an_ephemeral_message_and_nothing_runs(
    slack_http: httpx.AsyncClient,
    ts_env: WorkflowEnvironment,
    settings: Settings,
    org: Org,
    slack_api: SlackStandIn,
    sessionmaker: SessionMaker,
    runner: tuple[Runner, str],
    runbook: str,
) -> None:
    _, incident, ts = await open_incident(ts_env, settings, org, slack_api)
    await press(
        slack_http, block_action("incident_run_runbook", incident.incident_id, user="UOBS", ts=ts)
    )
    await slack_api.wait_for("chat.postEphemeral")
    assert _ephemerals(slack_api) == [OBSERVER]
    assert slack_api.to("views.open") == []
    # A confirmation submitted by an observer (a forged or stale modal) runs nothing either.
    forged = {
        "callback_id": "runbook_confirm",
        "private_metadata": json.dumps(
            {
                "incident_id": incident.incident_id,
                "channel": "C0OPS",
                "runbook_id": runbook,
                "version": 1,
                "parameters": {"unit": "web"},
            }
        ),
    }
    assert await submit(slack_http, forged, {}, "UOBS") == {}
    await slack_api.wait_for("chat.postEphemeral", 2)
    assert _ephemerals(slack_api) == [OBSERVER, OBSERVER]
    async with sessionmaker() as session:
        assert (await session.scalars(select(RunbookRun))).all() == []
    assert runner[0].requests == []
