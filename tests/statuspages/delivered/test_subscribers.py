"""Subscribers end to end: e-mail double opt-in through SES (moto), one-click unsubscribe,
signed webhooks, per-component subscriptions, Slack channels, back-off and disabling."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import uuid
from datetime import timedelta
from email.message import Message
from typing import Any

import httpx
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from app.statuspages.feeder import Feeder
from tests import incident_helpers as ih
from tests.factories import assert_problem
from tests.notify.standins import Request, SlackStandIn, StandIn
from tests.statuspages.conftest import Api
from tests.statuspages.delivered.conftest import header, mails_to
from tests.statuspages.histories import record

URL = "/api/v1/status-pages"


def link(message: Message, pattern: str) -> str:
    body = message.get_payload(decode=True).decode()  # type: ignore[union-attr]
    found = re.search(r"http://\S+" + pattern + r"\S+", body)
    assert found, body
    return found.group(0).removeprefix("http://127.0.0.1:8000")


async def _incident(api: Api, page: dict[str, Any], component: str, name: str) -> None:
    cid = next(c["id"] for c in page["components"] if c["name"] == component)
    opened = await api(
        "POST",
        f"{URL}/{page['id']}/incidents",
        {"name": name, "body": "Investigating.", "component_ids": [cid]},
    )
    assert opened.status_code == 201, opened.text


async def test_email_double_opt_in_then_updates_with_one_click_unsubscribe(
    feeding: Feeder, client: httpx.AsyncClient, api: Api, make_page: Any
) -> None:
    page = await make_page()
    address = f"reader-{uuid.uuid4().hex[:6]}@example.com"
    assert_problem(await client.post("/status/acme/subscribe", json={"email": "nope"}), 422)
    asked = await client.post("/status/acme/subscribe", json={"email": address.upper()})
    assert asked.status_code == 202 and asked.json()["status"] == "pending_confirmation"

    [confirmation] = await ih.eventually(lambda: _async(mails_to(address)))
    assert confirmation["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert header(confirmation, "List-Unsubscribe").startswith("<http")
    confirm_url = link(confirmation, "/subscribe/confirm/")

    await _incident(api, page, "API", "Before confirming")  # not for unconfirmed readers
    shown = await client.get(confirm_url)  # a mail scanner's fetch confirms nothing
    assert shown.status_code == 200 and 'method="post"' in shown.text
    subs = (await api("GET", f"{URL}/{page['id']}/subscribers")).json()["data"]
    assert [s["confirmed"] for s in subs] == [False]
    done = await client.post(confirm_url)
    assert done.status_code == 200 and "Subscribed" in done.text
    assert (await client.post(confirm_url)).status_code == 404  # single use
    subs = (await api("GET", f"{URL}/{page['id']}/subscribers")).json()["data"]
    assert [s["confirmed"] for s in subs] == [True]

    await _incident(api, page, "API", "After confirming")

    async def update_mail() -> list[Message]:
        return [m for m in mails_to(address) if "After confirming" in m["Subject"]]

    [mail] = await ih.eventually(update_mail)
    assert not [m for m in mails_to(address) if "Before confirming" in m["Subject"]]
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    log = await ih.eventually(lambda: _settled(api, page, 2))  # logged after SES took it
    assert sorted(d["status"] for d in log) == ["sent", "sent"]  # the confirmation, the update
    unsubscribe_url = (
        header(mail, "List-Unsubscribe").strip("<>").removeprefix("http://127.0.0.1:8000")
    )
    one_click = await client.post(
        unsubscribe_url,
        content="List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert one_click.status_code == 200
    assert (await api("GET", f"{URL}/{page['id']}/subscribers")).json()["data"] == []


async def _async(value: Any) -> Any:
    return value


async def _settled(api: Api, page: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """Return the delivery log once it holds `count` deliveries none of which is pending.

    A delivery is marked sent when its batch commits, just after the provider took the
    message: a test that has seen the message must wait for the log too.
    """
    log: list[dict[str, Any]] = (await api("GET", f"{URL}/{page['id']}/deliveries")).json()["data"]
    done = len(log) == count and all(d["status"] != "pending" for d in log)
    return log if done else []


def webhook_stand_in(status: int = 200) -> StandIn:
    return StandIn(lambda req: (status, {"content-type": "application/json"}, b"{}")).start()


async def test_webhooks_are_signed_and_per_component_subscriptions_filter(
    feeding: Feeder, api: Api, make_page: Any, app: FastAPI
) -> None:
    page = await make_page()
    web = next(c["id"] for c in page["components"] if c["name"] == "Web")
    everything, only_web = webhook_stand_in(), webhook_stand_in()
    try:
        created = await api(
            "POST",
            f"{URL}/{page['id']}/subscribers",
            {"type": "webhook", "address": everything.url},
        )
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]
        assert secret and len(secret) >= 32
        listed = (await api("GET", f"{URL}/{page['id']}/subscribers")).json()["data"]
        assert all(s["secret"] is None for s in listed)  # shown once, never again
        narrow = await api(
            "POST",
            f"{URL}/{page['id']}/subscribers",
            {"type": "webhook", "address": only_web.url, "component_ids": [web]},
        )
        assert narrow.status_code == 201

        await _incident(api, page, "API", "API is slow")

        async def received() -> list[Request]:
            return list(everything.requests)

        [req] = await ih.eventually(received)
        ts = req.headers["x-pagefree-timestamp"]
        expected = hmac.new(secret.encode(), f"{ts}.".encode() + req.body, hashlib.sha256)
        assert req.headers["x-pagefree-signature"] == f"sha256={expected.hexdigest()}"
        assert req.json()["announcement"]["subject"] == "[Acme] API is slow: investigating"
        await asyncio.sleep(0.5)
        assert only_web.requests == []  # subscribed to Web only
        log = await ih.eventually(lambda: _settled(api, page, 1))
        assert [(d["subscriber_id"], d["status"]) for d in log] == [(created.json()["id"], "sent")]
    finally:
        everything.stop()
        only_web.stop()

    app.state.settings.allow_private_targets = False
    refused = await api(
        "POST",
        f"{URL}/{page['id']}/subscribers",
        {"type": "webhook", "address": "https://127.0.0.1/x"},
    )
    assert assert_problem(refused, 422)["errors"][0]["field"] == "address"


async def test_a_failing_webhook_backs_off_and_is_disabled_after_a_day_with_a_note(
    feeding: Feeder, ts_env: WorkflowEnvironment, api: Api, make_page: Any
) -> None:
    page = await make_page()
    broken = webhook_stand_in(status=500)
    try:
        sub = await api(
            "POST", f"{URL}/{page['id']}/subscribers", {"type": "webhook", "address": broken.url}
        )
        await _incident(api, page, "Mail", "Mail is late")

        async def first_failure() -> list[dict[str, Any]]:
            log = (await api("GET", f"{URL}/{page['id']}/deliveries")).json()["data"]
            return [d for d in log if d["attempts"] >= 1]

        [d] = await ih.eventually(first_failure)
        assert d["status"] == "pending" and "HTTP 500" in d["last_error"]
        assert d["next_attempt_at"] is not None
        await ts_env.sleep(timedelta(hours=25))

        async def disabled() -> dict[str, Any] | None:
            [s] = (await api("GET", f"{URL}/{page['id']}/subscribers")).json()["data"]
            return s if s["disabled_at"] else None

        s = await ih.eventually(disabled, timeout=30)
        assert (
            s["id"] == sub.json()["id"] and "disabled after failing since" in s["disabled_reason"]
        )
        [d] = (await api("GET", f"{URL}/{page['id']}/deliveries")).json()["data"]
        assert d["status"] == "abandoned"
        handle = ts_env.client.get_workflow_handle(f"announcement:{d['announcement_id']}")
        await handle.result()
        await record(handle, "announcement_retried_then_abandoned")
        # Backed off (30 s doubling to an hour), not hammered: a day is a few dozen tries.
        assert 10 <= d["attempts"] <= 40 and 10 <= len(broken.requests) <= 40
    finally:
        broken.stop()


async def test_slack_channel_subscribers_get_the_announcement(
    feeding: Feeder, api: Api, make_page: Any, slack: SlackStandIn
) -> None:
    page = await make_page()
    added = await api(
        "POST", f"{URL}/{page['id']}/subscribers", {"type": "slack", "address": "C0STATUS1"}
    )
    assert added.status_code == 201, added.text
    bad = await api("POST", f"{URL}/{page['id']}/subscribers", {"type": "slack", "address": "#x"})
    assert_problem(bad, 422)
    await _incident(api, page, "Web", "Web is down")

    async def posted() -> list[dict[str, Any]]:
        return [p for p in slack.posts() if p.get("channel") == "C0STATUS1"]

    [post] = await ih.eventually(posted)
    assert "Web is down" in post["text"]
