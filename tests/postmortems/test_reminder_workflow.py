"""The action-item reminder: a durable timer to the due date, moved or ended by signals."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import build_activities
from app.config import Settings
from app.db import SessionMaker
from app.notify.channels import Channels, Sent
from app.postmortems.models import ActionItem
from app.temporal import LazyClient
from tests.postmortems.conftest import World
from workflows.action_item_types import ReminderState, wait_before_reminding, workflow_id
from workflows.registry import WORKFLOWS


class RecordingEmail:
    """An e-mail channel that keeps what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []

    def send_email(self, *, to: str, subject: str, text: str, html: str) -> Sent:
        self.sent.append({"to": to, "subject": subject, "text": text})
        return Sent(provider="recording")


class RecordingChat:
    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []

    def post(self, *, target: str, text: str, card: dict[str, object] | None = None) -> Sent:
        self.sent.append({"target": target, "text": text})
        return Sent(provider="recording-slack")


@pytest.fixture
def email() -> RecordingEmail:
    return RecordingEmail()


@pytest.fixture
async def reminder_api(
    settings: Settings,
    database_url: str,
    sessionmaker: SessionMaker,
    ts_env: WorkflowEnvironment,
    email: RecordingEmail,
) -> AsyncIterator[httpx.AsyncClient]:
    """The API on the time-skipping server, and a worker whose e-mail channel records."""
    from api import create_app

    worker = Worker(
        ts_env.client,
        task_queue=settings.temporal_task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(sessionmaker, settings, Channels(email=email)),
    )
    app = create_app(settings, database_url=database_url)
    app.state.temporal = LazyClient(settings, None, client=ts_env.client)
    async with worker, app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


async def _item(api: httpx.AsyncClient, world: World, due: date) -> dict:  # type: ignore[type-arg]
    r = await api.post(
        "/api/v1/postmortems",
        json={"incident_ids": [str(world.incident.id)]},
        headers=world.responder.headers,
    )
    r = await api.post(
        f"/api/v1/postmortems/{r.json()['id']}/action-items",
        json={
            "title": "Page on error budget burn",
            "assignee_id": str(world.colleague.user.id),
            "due_date": due.isoformat(),
        },
        headers=world.responder.headers,
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_the_rule_waits_until_the_due_date_once_per_due_date() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    due = now + timedelta(days=2)
    state = ReminderState(action_item_id="x", due_at=due)
    assert wait_before_reminding(state, None, now) == timedelta(days=2)
    assert wait_before_reminding(state, None, due + timedelta(hours=1)) == timedelta(0)
    assert wait_before_reminding(state, due, due + timedelta(hours=1)) is None
    assert wait_before_reminding(state.model_copy(update={"open": False}), None, now) is None
    assert wait_before_reminding(state.model_copy(update={"due_at": None}), None, now) is None


async def test_the_assignee_is_reminded_by_email_once_the_due_date_has_passed(
    reminder_api: httpx.AsyncClient,
    world: World,
    ts_env: WorkflowEnvironment,
    email: RecordingEmail,
    sessionmaker: SessionMaker,
) -> None:
    today = (await ts_env.get_current_time()).date()
    item = await _item(reminder_api, world, today + timedelta(days=3))
    handle = ts_env.client.get_workflow_handle(workflow_id(item["id"]))
    description = await handle.describe()
    assert description.status == WorkflowExecutionStatus.RUNNING
    # (static_summary is not kept by the time-skipping server; the dev server shows it.)
    await ts_env.sleep(timedelta(days=2))
    assert email.sent == []  # not due yet
    await ts_env.sleep(timedelta(days=2, hours=1))
    assert await handle.query("reminded") is not None
    assert len(email.sent) == 1
    assert email.sent[0]["to"] == world.colleague.user.email
    assert "Page on error budget burn" in email.sent[0]["subject"]
    async with sessionmaker() as session:
        row = await session.get(ActionItem, uuid.UUID(item["id"]))
        assert row is not None and row.reminded_at is not None
    await ts_env.sleep(timedelta(days=5))
    assert len(email.sent) == 1  # once per due date
    # Completing the item ends its reminder.
    for status in ("in_progress", "completed"):
        r = await reminder_api.patch(
            f"/api/v1/action-items/{item['id']}",
            json={"status": status},
            headers=world.colleague.headers,
        )
        assert r.status_code == 200, r.text
    assert await handle.result() == "completed"


async def test_moving_the_due_date_moves_the_timer_and_completing_cancels_it(
    reminder_api: httpx.AsyncClient,
    world: World,
    ts_env: WorkflowEnvironment,
    email: RecordingEmail,
) -> None:
    today = (await ts_env.get_current_time()).date()
    item = await _item(reminder_api, world, today + timedelta(days=1))
    url = f"/api/v1/action-items/{item['id']}"
    h = world.responder.headers
    r = await reminder_api.patch(
        url, json={"due_date": (today + timedelta(days=10)).isoformat()}, headers=h
    )
    assert r.status_code == 200, r.text
    await ts_env.sleep(timedelta(days=5))
    assert email.sent == []  # the old due date passed without a reminder
    await ts_env.sleep(timedelta(days=7))
    assert len(email.sent) == 1
    second = await _item(reminder_api, world, today + timedelta(days=20))
    for status in ("in_progress", "completed"):
        await reminder_api.patch(
            f"/api/v1/action-items/{second['id']}", json={"status": status}, headers=h
        )
    handle = ts_env.client.get_workflow_handle(workflow_id(second["id"]))
    assert await handle.result() == "completed"
    await ts_env.sleep(timedelta(days=30))
    assert len(email.sent) == 1


async def test_a_slack_dm_is_preferred_where_the_assignee_has_slack(
    settings: Settings, sessionmaker: SessionMaker, world: World
) -> None:
    from activities.action_items import ActionItemActivities

    chat, mail = RecordingChat(), RecordingEmail()
    activities = ActionItemActivities(sessionmaker, settings, Channels(email=mail, slack=chat))
    user = world.colleague.user
    user.slack_user_id = "U0COLLEAGUE"
    assert await activities._send(user, "t", "overdue") == "slack"
    assert chat.sent == [{"target": "U0COLLEAGUE", "text": "overdue"}] and mail.sent == []
    user.slack_user_id = None
    assert await activities._send(user, "t", "overdue") == "email"


async def test_deleting_the_postmortem_ends_its_items_reminders(
    reminder_api: httpx.AsyncClient,
    world: World,
    ts_env: WorkflowEnvironment,
    email: RecordingEmail,
) -> None:
    today = (await ts_env.get_current_time()).date()
    item = await _item(reminder_api, world, today + timedelta(days=2))
    r = await reminder_api.delete(
        f"/api/v1/postmortems/{item['postmortem_id']}", headers=world.responder.headers
    )
    assert r.status_code == 204, r.text
    handle = ts_env.client.get_workflow_handle(workflow_id(item["id"]))
    assert await handle.result() == "completed"
    await ts_env.sleep(timedelta(days=5))
    assert email.sent == []
