"""Automation pages: the builder's saves (inline field errors, what was typed kept), roles and
CSRF, the enabled switch, templates, the dry run, connections, the runs panel and re-run."""

from __future__ import annotations

import html
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.audit.models import Actor
from app.automations import service as automations
from app.automations.models import Automation, AutomationRun, AutomationStep
from app.config import Settings
from app.connections.models import Connection
from app.db import SessionMaker
from app.identity.models import Role
from app.web.render import templates
from tests.runbooks import helpers
from tests.web.conftest import browser_for

SECRET = "a signing secret long enough"
PROBLEM = {"Accept": "application/problem+json, text/html"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Webhook URLs of the tests point at loopback stand-ins: private targets allowed."""
    return settings.model_copy(update={"allow_private_targets": True})


def play(name: str = "Critical: webhook then branch", **extra: Any) -> dict[str, Any]:
    """A definition as the builder posts it: a condition, a webhook and an if with branches."""
    return {
        "name": name,
        "enabled": True,
        "trigger": {"event": "incident.triggered"},
        "conditions": [{"field": "severity", "op": "eq", "value": "critical"}],
        "run_once_per_incident": True,
        "steps": [
            {
                "type": "webhook",
                "url": "http://127.0.0.1:9/hook",
                "method": "POST",
                "headers": {"Content-Type": "application/json"},
                "body": '{"n": {{ incident.number }}}',
            },
            {
                "type": "if",
                "conditions": [{"field": "urgency", "op": "eq", "value": "high"}],
                "then": [{"type": "add_note", "body": "High urgency: {{ incident.title }}"}],
                "else": [{"type": "slack_message", "channel": "C1", "text": "low"}],
            },
        ],
        **extra,
    }


async def _saved(sessionmaker: SessionMaker, settings: Settings, body: dict[str, Any]) -> str:
    async with sessionmaker() as session:
        a = await automations.create(
            session=session, settings=settings, body=body, actor=Actor.system(via="test")
        )
        await session.commit()
        return str(a.id)


async def test_admin_saves_a_built_automation_and_sees_it_in_the_list(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    admin = await browser_for(web_app, sessionmaker, Role.admin)
    builder = await admin.get("/automations/new")
    assert builder.status_code == 200
    assert 'id="automation-lookups"' in builder.text and 'src="/static/automation-builder.js"' in (
        builder.text
    )
    lookups = json.loads(
        html.unescape(builder.text.split('id="automation-lookups">')[1].split("</script>")[0])
    )
    assert {"webhook", "if", "wait", "jira_issue"} <= {t["value"] for t in lookups["step_types"]}

    r = await admin.post("/automations/new", {"definition": json.dumps(play())})
    assert r.status_code == 303, r.text
    listing = await admin.get(r.headers["location"])
    assert "Automation saved." in listing.text
    assert "Critical: webhook then branch" in listing.text
    assert "Webhook → If / else (Add note | Slack message)" in listing.text
    assert "<code>severity eq critical</code>" in listing.text
    async with sessionmaker() as session:
        saved = (await session.scalars(select(Automation))).one()
    assert saved.definition is not None
    assert saved.definition["steps"][1]["else"][0]["channel"] == "C1"

    # Editing: the builder shows the saved JSON; a change saves a new version.
    edit = await admin.get(f"/automations/{saved.id}")
    assert "Edit automation Critical: webhook then branch" in edit.text
    assert f'href="/automations/dry-run?automation_id={saved.id}"' in edit.text
    assert "High urgency: {{ incident.title }}" in html.unescape(edit.text)
    changed = play(conditions=[{"field": "severity", "op": "in", "value": ["critical", "error"]}])
    r = await admin.post(f"/automations/{saved.id}", {"definition": json.dumps(changed)})
    assert r.status_code == 303, r.text
    async with sessionmaker() as session:
        again = await session.get(Automation, saved.id)
    assert again is not None and again.version == 2


async def test_a_refusal_names_the_step_field_for_the_builder_script(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    admin = await browser_for(web_app, sessionmaker, Role.admin)
    await admin.get("/automations/new")
    bad = play()
    bad["steps"][1]["then"][0]["body"] = "{{ incident.title"  # a broken template
    r = await admin.client.post(
        "/automations/new",
        data={"csrf_token": admin.csrf, "definition": json.dumps(bad)},
        headers=PROBLEM,
    )
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    fields = [e["field"] for e in r.json()["errors"]]
    assert fields == ["steps[1].then[0].body"]

    unknown = play()
    unknown["steps"][0]["type"] = "carrier_pigeon"
    r = await admin.client.post(
        "/automations/new",
        data={"csrf_token": admin.csrf, "definition": json.dumps(unknown)},
        headers=PROBLEM,
    )
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["steps[0].type"]
    async with sessionmaker() as session:
        assert (await session.scalars(select(Automation))).all() == []


async def test_without_the_script_a_refusal_keeps_what_was_typed(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    admin = await browser_for(web_app, sessionmaker, Role.admin)
    await admin.get("/automations/new")
    bad = play()
    bad["conditions"][0]["op"] = "approximately"
    typed = json.dumps(bad, indent=1)
    r = await admin.post("/automations/new", {"definition": typed})
    assert r.status_code == 422
    assert "Not saved" in r.text and "conditions[0].op" in r.text
    assert typed in html.unescape(r.text)  # the text area holds what was typed
    broken = await admin.post("/automations/new", {"definition": '{"name": "x", '})
    assert broken.status_code == 422 and "not JSON" in broken.text
    assert '>{"name": "x", </textarea>' in html.unescape(broken.text)


async def test_only_admins_change_automations_and_forms_need_the_csrf_token(
    web_app: FastAPI, sessionmaker: SessionMaker, settings: Settings
) -> None:
    automation_id = await _saved(sessionmaker, settings, play())
    for role in (Role.responder, Role.observer):
        someone = await browser_for(web_app, sessionmaker, role)
        assert (await someone.get("/automations")).status_code == 403
        assert (await someone.get("/automations/new")).status_code == 403
        assert (await someone.get("/connections")).status_code == 403
        assert (await someone.get("/automations/dry-run")).status_code == 403
        r = await someone.post("/automations/new", {"definition": json.dumps(play("x"))})
        assert r.status_code == 403
        r = await someone.post(f"/automations/{automation_id}/enabled", {"enabled": "false"})
        assert r.status_code == 403
        nav = await someone.get("/")
        assert 'href="/automations"' not in nav.text
    admin = await browser_for(web_app, sessionmaker, Role.admin)
    assert 'href="/automations"' in (await admin.get("/")).text
    forged = await admin.client.post(
        f"/automations/{automation_id}/enabled", data={"enabled": "false"}
    )
    assert forged.status_code == 403
    async with sessionmaker() as session:
        row = await session.get(Automation, uuid.UUID(automation_id))
    assert row is not None and row.enabled


async def test_the_enabled_switch_and_delete(
    web_app: FastAPI, sessionmaker: SessionMaker, settings: Settings
) -> None:
    automation_id = await _saved(sessionmaker, settings, play())
    admin = await browser_for(web_app, sessionmaker, Role.admin)
    listing = await admin.get("/automations")
    assert 'aria-checked="true" aria-label="Enabled: Critical: webhook then branch"' in (
        listing.text
    )
    r = await admin.post(f"/automations/{automation_id}/enabled", {"enabled": "false"})
    assert r.status_code == 303 and r.headers["location"] == "/automations?done=disabled"
    listing = await admin.get(r.headers["location"])
    assert 'aria-checked="false"' in listing.text and "Automation disabled." in listing.text
    async with sessionmaker() as session:
        row = await session.get(Automation, uuid.UUID(automation_id))
        assert row is not None and not row.enabled and row.version == 1
    r = await admin.post(f"/automations/{automation_id}/delete")
    assert r.status_code == 303
    async with sessionmaker() as session:
        assert await session.get(Automation, uuid.UUID(automation_id)) is None


async def test_new_from_a_template_fills_in_the_builder(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    admin = await browser_for(web_app, sessionmaker, Role.admin)
    listing = await admin.get("/automations")
    assert "Jira ticket for critical incidents" in listing.text
    assert 'href="/automations/new?template=jira_ticket_for_critical"' in listing.text
    page = await admin.get("/automations/new?template=jira_ticket_for_critical")
    assert page.status_code == 200
    assert "from “Jira ticket for critical incidents”" in page.text
    text = html.unescape(page.text)
    area = text.split('name="definition"')[1].split(">", 1)[1]
    definition = json.loads(area.split("</textarea>")[0])
    assert definition["name"] == "Jira ticket for critical incidents"
    assert definition["steps"][0]["type"] == "jira_issue"
    lookups = json.loads(text.split('id="automation-lookups">')[1].split("</script>")[0])
    assert "steps[0].connection_id" in lookups["needs"]
    assert (await admin.get("/automations/new?template=nope")).status_code == 404


async def test_dry_run_shows_what_fires_and_the_rendered_templates(
    web_app: FastAPI, sessionmaker: SessionMaker, settings: Settings
) -> None:
    incident_id = await helpers.incident_row(sessionmaker, settings)
    await _saved(sessionmaker, settings, play())
    quiet = play("Only warnings")
    quiet["conditions"] = [{"field": "severity", "op": "eq", "value": "warning"}]
    quiet_id = await _saved(sessionmaker, settings, quiet)
    admin = await browser_for(web_app, sessionmaker, Role.admin)
    form = await admin.get("/automations/dry-run")
    assert f'<option value="{incident_id}">' in form.text and "Disk full on db-1" in form.text
    r = await admin.get(f"/automations/dry-run?incident_id={incident_id}")
    assert r.status_code == 200
    fires = r.text.split('data-would-fire="yes"')
    assert len(fires) == 2 and "Critical: webhook then branch" in fires[1].split("</article>")[0]
    assert 'data-would-fire="no"' in r.text and "Only warnings" in r.text
    assert "High urgency: Disk full on db-1" in r.text  # the then-branch's template, rendered
    only = await admin.get(
        f"/automations/dry-run?incident_id={incident_id}&automation_id={quiet_id}"
    )
    assert "Only warnings" in only.text and "Critical: webhook then branch" not in only.text
    assert 'data-would-fire="no"' in only.text and 'data-would-fire="yes"' not in only.text
    bad = await admin.get("/automations/dry-run?incident_id=not-a-uuid")
    assert bad.status_code == 422 and "choose one from the list" in bad.text

    # The builder's unsaved draft, posted to the dry run (its "Dry run the draft" button).
    draft = play("Unsaved")
    draft["steps"][1]["then"][0]["body"] = "Draft note for {{ incident.title }}"
    builder = await admin.get("/automations/new")
    assert 'formaction="/automations/dry-run"' in builder.text
    assert f'<option value="{incident_id}">' in builder.text
    r = await admin.post(
        "/automations/dry-run", {"incident_id": incident_id, "definition": json.dumps(draft)}
    )
    assert r.status_code == 200 and 'id="draft-note"' in r.text
    assert "Draft note for Disk full on db-1" in r.text and "Only warnings" not in r.text
    draft["steps"][0]["type"] = "carrier_pigeon"
    r = await admin.post(
        "/automations/dry-run", {"incident_id": incident_id, "definition": json.dumps(draft)}
    )
    assert r.status_code == 422 and "definition.steps[0].type" in r.text
    async with sessionmaker() as session:
        assert len((await session.scalars(select(Automation))).all()) == 2  # nothing saved


async def test_admin_adds_tests_and_deletes_a_connection(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    admin = await browser_for(web_app, sessionmaker, Role.admin)
    page = await admin.get("/connections")
    assert page.status_code == 200 and "Add a connection" in page.text
    short = await admin.post("/connections", {"type": "hmac", "name": "Signer", "secret": "short"})
    assert short.status_code == 422
    assert "config.secret" in short.text and 'value="Signer"' in short.text
    r = await admin.post("/connections", {"type": "hmac", "name": "Signer", "secret": SECRET})
    assert r.status_code == 303, r.text
    listing = await admin.get("/connections")
    assert "Signer" in listing.text and "secret (set)" in listing.text
    assert SECRET not in listing.text
    async with sessionmaker() as session:
        connection = (await session.scalars(select(Connection))).one()
    assert SECRET not in connection.secrets  # encrypted at rest
    builder = await admin.get("/automations/new")
    assert f'"value": "{connection.id}"' in html.unescape(builder.text)  # offered to steps
    tested = await admin.post(f"/connections/{connection.id}/test")
    assert tested.status_code == 200
    assert 'id="connection-test-result">Test passed: an HMAC secret is stored' in tested.text
    r = await admin.post(f"/connections/{connection.id}/delete")
    assert r.status_code == 303
    async with sessionmaker() as session:
        assert (await session.scalars(select(Connection))).all() == []


async def _failed_run(
    sessionmaker: SessionMaker, settings: Settings, automation_id: str, incident_id: str
) -> uuid.UUID:
    run_id = uuid.uuid4()
    now = datetime.now(UTC)
    async with sessionmaker() as session:
        session.add(
            AutomationRun(
                id=run_id,
                automation_id=uuid.UUID(automation_id),
                version=1,
                incident_id=uuid.UUID(incident_id),
                event="incident.triggered",
                workflow_id=f"automation:{automation_id}:{incident_id}",
                key_base=str(run_id),
                status="failed",
                error="steps[0] failed: 404 from the far end",
                started_at=now,
                finished_at=now,
            )
        )
        await session.flush()
        session.add(
            AutomationStep(
                run_id=run_id,
                path="steps[0]",
                position=0,
                type="webhook",
                status="failed",
                attempts=1,
                started_at=now,
                finished_at=now,
                error="404 Not Found (not retried)",
            )
        )
        await session.commit()
    return run_id


def test_the_runs_panel_lists_steps_and_offers_a_rerun_for_failed_runs() -> None:
    """The partial the incident page includes, rendered on its own."""
    from app.automations.models import RunPublic, StepPublic

    now = datetime.now(UTC)
    incident_id = uuid.uuid4()

    def run(status: str, steps: list[StepPublic]) -> RunPublic:
        return RunPublic(
            id=uuid.uuid4(),
            automation_id=uuid.uuid4(),
            automation_name="Jira for critical",
            version=3,
            incident_id=incident_id,
            event="incident.triggered",
            status=status,
            error=None,
            workflow_id="automation:a:i",
            rerun_of=None,
            started_at=now,
            finished_at=now,
            steps=steps,
        )

    step = StepPublic(
        path="steps[0]",
        type="jira_issue",
        status="succeeded",
        attempts=2,
        started_at=now,
        finished_at=now,
        output={"key": "OPS-7", "url": "https://example.atlassian.net/browse/OPS-7"},
    )
    failed = StepPublic(
        path="steps[1].then[0]",
        type="webhook",
        status="failed",
        attempts=1,
        started_at=now,
        finished_at=None,
        error="404 Not Found (not retried)",
    )
    good, bad = run("succeeded", [step]), run("failed", [step, failed])

    class Viewer:
        can_act = True

    panel = templates.get_template("automation_runs_panel.html").render(
        automation_runs=[good, bad], viewer=Viewer(), csrf="tok", tz="UTC"
    )
    assert 'id="incident-automation-runs"' in panel and "Jira for critical" in panel
    assert '<a href="https://example.atlassian.net/browse/OPS-7" rel="noopener">OPS-7</a>' in panel
    assert "404 Not Found (not retried)" in panel and "<code>steps[1].then[0]</code>" in panel
    assert panel.count("automation-runs/") == 1  # only the failed run has a re-run button
    assert f"/incidents/{incident_id}/automation-runs/{bad.id}/rerun" in panel
    Viewer.can_act = False
    observer = templates.get_template("automation_runs_panel.html").render(
        automation_runs=[bad], viewer=Viewer(), csrf="tok", tz="UTC"
    )
    assert "rerun" not in observer and "404 Not Found" in observer
    nothing = templates.get_template("automation_runs_panel.html").render(
        automation_runs=[], viewer=Viewer(), csrf="tok", tz="UTC"
    )
    assert "Automation runs" not in nothing and 'id="incident-automation-runs"' in nothing


async def test_responders_rerun_a_failed_run_observers_cannot(
    live_app: FastAPI, sessionmaker: SessionMaker, settings: Settings
) -> None:
    incident_id = await helpers.incident_row(sessionmaker, settings)
    automation_id = await _saved(sessionmaker, settings, play())
    run_id = await _failed_run(sessionmaker, settings, automation_id, incident_id)
    observer = await browser_for(live_app, sessionmaker, Role.observer)
    seen = await observer.get(f"/incidents/{incident_id}")
    assert 'id="incident-automation-runs"' in seen.text
    assert "404 Not Found (not retried)" in seen.text and "/rerun" not in seen.text
    r = await observer.post(f"/incidents/{incident_id}/automation-runs/{run_id}/rerun")
    assert r.status_code == 403
    responder = await browser_for(live_app, sessionmaker, Role.responder)
    panel = await responder.get(f"/incidents/{incident_id}")
    assert f"/automation-runs/{run_id}/rerun" in panel.text
    r = await responder.post(f"/incidents/{incident_id}/automation-runs/{run_id}/rerun")
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith(f"/incidents/{incident_id}")
    async with sessionmaker() as session:
        rerun = (
            await session.scalars(select(AutomationRun).where(AutomationRun.rerun_of == run_id))
        ).one()
    assert rerun.key_base == str(run_id)  # the same idempotency keys unless asked otherwise
    again = await responder.post(
        f"/incidents/{incident_id}/automation-runs/{run_id}/rerun", {"new_keys": "on"}
    )
    assert again.status_code == 303
    async with sessionmaker() as session:
        reruns = (
            await session.scalars(select(AutomationRun).where(AutomationRun.rerun_of == run_id))
        ).all()
    assert len(reruns) == 2 and {r.key_base == str(run_id) for r in reruns} == {True, False}
