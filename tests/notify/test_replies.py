"""Replies that act: SMS "ack 42", call keypresses, Twilio status callbacks, e-mail links."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment
from twilio.request_validator import RequestValidator

from app.config import Settings
from app.db import SessionMaker, utcnow
from app.notify.links import make_link_token
from app.notify.replies import Reply, parse_sms
from tests import incident_helpers as h
from tests.factories import assert_problem
from tests.notify.conftest import LINK_SECRET, TWILIO_TOKEN, ses_sent
from tests.notify.helpers import reachable_user

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PUBLIC = "https://pagefree.example.com"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("ack 42", Reply("acknowledge", 42)),
        ("ACK #42", Reply("acknowledge", 42)),
        ("  resolve 7 ", Reply("resolve", 7)),
        ("Acknowledge 100.", Reply("acknowledge", 100)),
        ("esc 3", Reply("escalate", 3)),
        ("r42", Reply("resolve", 42)),
        ("ack", None),
        ("ack forty-two", None),
        ("please ack 42", None),
        ("delete 42", None),
        ("", None),
    ],
)
def test_sms_reply_parsing(body: str, expected: Reply | None) -> None:
    assert parse_sms(body) == expected


def _signed(path: str, params: dict[str, str]) -> tuple[str, dict[str, str]]:
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC + path, params)
    return urlencode(params), {
        "X-Twilio-Signature": signature,
        "content-type": "application/x-www-form-urlencoded",
    }


def _inbound_sms(body: str) -> dict[str, str]:
    """Twilio's documented inbound-SMS form (shared fixture) with another Body."""
    raw = (FIXTURES / "twilio_sms_inbound.txt").read_text().strip()
    return {**dict(parse_qsl(raw)), "Body": body}


async def _open(
    sessionmaker: SessionMaker, settings: Settings, ts_env: WorkflowEnvironment, user: Any
):  # type: ignore[no-untyped-def]
    svc = await h.service(
        sessionmaker, await h.policy(sessionmaker, settings, [h.level(3600, user)])
    )
    handle = await h.send_alert(ts_env.client, settings, svc, h.alert("Checkout is down"))
    return handle, await h.opened(handle)


@pytest.fixture
def phone_user(sessionmaker: SessionMaker):  # type: ignore[no-untyped-def]
    # +15552223333 is the sender in the shared inbound-SMS fixture.
    return reachable_user(sessionmaker, ("sms", "+15552223333", 0))


@pytest.mark.usefixtures("notify_worker")
async def test_sms_reply_acknowledges_for_the_verified_sender(
    notify_api: httpx.AsyncClient,
    ts_env: WorkflowEnvironment,
    sessionmaker: SessionMaker,
    notify_settings: Settings,
    phone_user: Any,
) -> None:
    user, _ = await phone_user
    handle, v = await _open(sessionmaker, notify_settings, ts_env, user)
    body, headers = _signed("/webhooks/twilio/sms", _inbound_sms(f"ack {v.number}"))
    r = await notify_api.post("/webhooks/twilio/sms", content=body, headers=headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    assert f"#{v.number} is acknowledged" in r.text
    view = await h.view(handle)
    assert view.status == "acknowledged" and view.acknowledged_by == str(user.id)

    async def acked() -> Any:
        events = [
            e for e in await h.timeline(sessionmaker, v.incident_id) if e.type == "acknowledged"
        ]
        return events

    [event] = await h.eventually(acked)
    assert event.actor == {"type": "user", "id": str(user.id), "via": "sms"}


@pytest.mark.usefixtures("notify_worker")
async def test_forged_or_tampered_twilio_requests_are_refused(
    notify_api: httpx.AsyncClient,
    ts_env: WorkflowEnvironment,
    sessionmaker: SessionMaker,
    notify_settings: Settings,
    phone_user: Any,
) -> None:
    user, _ = await phone_user
    handle, v = await _open(sessionmaker, notify_settings, ts_env, user)
    body, headers = _signed("/webhooks/twilio/sms", _inbound_sms(f"ack {v.number}"))
    tampered = body.replace("ack", "resolve")
    for content, hdrs in (
        (tampered, headers),
        (body, {**headers, "X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}),
        (body, {"content-type": headers["content-type"]}),
    ):
        r = await notify_api.post("/webhooks/twilio/sms", content=content, headers=hdrs)
        assert_problem(r, 403)
    for path in (
        "/webhooks/twilio/status",
        f"/webhooks/twilio/voice?incident={v.incident_id}&user={user.id}",
    ):
        r = await notify_api.post(
            path, content="Digits=1", headers={"content-type": headers["content-type"]}
        )
        assert_problem(r, 403)
    assert (await h.view(handle)).status == "triggered"


@pytest.mark.usefixtures("notify_worker")
async def test_sms_from_an_unknown_number_acts_on_nothing(
    notify_api: httpx.AsyncClient,
    ts_env: WorkflowEnvironment,
    sessionmaker: SessionMaker,
    notify_settings: Settings,
    phone_user: Any,
) -> None:
    user, _ = await phone_user
    handle, v = await _open(sessionmaker, notify_settings, ts_env, user)
    params = {**_inbound_sms(f"resolve {v.number}"), "From": "+15559990000"}
    body, headers = _signed("/webhooks/twilio/sms", params)
    r = await notify_api.post("/webhooks/twilio/sms", content=body, headers=headers)
    assert r.status_code == 200 and "not a verified PageFree number" in r.text
    body, headers = _signed("/webhooks/twilio/sms", _inbound_sms("hello"))
    r = await notify_api.post("/webhooks/twilio/sms", content=body, headers=headers)
    assert "Reply 'ack N'" in r.text
    assert (await h.view(handle)).status == "triggered"


@pytest.mark.usefixtures("notify_worker")
@pytest.mark.parametrize(
    ("digit", "status", "event"),
    [
        ("1", "acknowledged", "acknowledged"),
        ("2", "resolved", "resolved"),
        ("3", "triggered", "escalated"),
    ],
)
async def test_keypress_on_the_page_call_acts(
    notify_api: httpx.AsyncClient,
    ts_env: WorkflowEnvironment,
    sessionmaker: SessionMaker,
    notify_settings: Settings,
    digit: str,
    status: str,
    event: str,
) -> None:
    user, _ = await reachable_user(sessionmaker, ("voice", "+15552224444", 0))
    handle, v = await _open(sessionmaker, notify_settings, ts_env, user)
    path = f"/webhooks/twilio/voice?incident={v.incident_id}&user={user.id}"
    params = {
        "CallSid": "CA" + "1" * 32,
        "Digits": digit,
        "To": "+15552224444",
        "From": "+15550001111",
    }
    body, headers = _signed(path, params)
    r = await notify_api.post(path, content=body, headers=headers)
    assert r.status_code == 200 and f"is now {status}" in r.text, r.text
    assert (await h.view(handle)).status == status

    async def recorded() -> Any:
        events = await h.timeline(sessionmaker, v.incident_id)
        return [e for e in events if e.type == event and e.actor.get("via") == "voice"]

    await h.eventually(recorded)


@pytest.mark.usefixtures("notify_worker")
async def test_status_callbacks_move_the_delivery_log_forward_only(
    notify_api: httpx.AsyncClient,
    ts_env: WorkflowEnvironment,
    sessionmaker: SessionMaker,
    notify_settings: Settings,
    phone_user: Any,
) -> None:
    user, _ = await phone_user
    _, v = await _open(sessionmaker, notify_settings, ts_env, user)
    [row] = await h.eventually(lambda: h.deliveries(sessionmaker, v.incident_id))
    for status in ("delivered", "sent"):  # out of order: "sent" arrives last
        body, headers = _signed(
            "/webhooks/twilio/status", {"MessageSid": row.provider_id, "MessageStatus": status}
        )
        r = await notify_api.post("/webhooks/twilio/status", content=body, headers=headers)
        assert r.status_code == 204
    [row] = await h.deliveries(sessionmaker, v.incident_id)
    assert row.status == "delivered" and row.delivered_at is not None
    r = await notify_api.get(
        "/api/v1/notifications",
        params={"incident_id": v.incident_id},
        headers=await _admin(sessionmaker),
    )
    assert [(n["channel"], n["provider"], n["status"]) for n in r.json()] == [
        ("sms", "twilio", "delivered")
    ]


async def _admin(sessionmaker: SessionMaker) -> dict[str, str]:
    from app.identity.models import Role
    from tests.factories import login

    return (await login(sessionmaker, role=Role.admin)).headers


@pytest.mark.usefixtures("notify_worker")
async def test_email_link_acknowledges_once_and_expired_or_forged_links_fail(
    notify_api: httpx.AsyncClient,
    ts_env: WorkflowEnvironment,
    sessionmaker: SessionMaker,
    notify_settings: Settings,
) -> None:
    email = "links@example.com"
    user, _ = await reachable_user(sessionmaker, ("email", email, 0))
    handle, v = await _open(sessionmaker, notify_settings, ts_env, user)
    await h.eventually(lambda: h.deliveries(sessionmaker, v.incident_id))
    [mail] = ses_sent(email)
    ack, resolve = re.findall(r'href="https://pagefree\.example\.com(/ack/[^"]+)"', mail.body)
    page = await notify_api.get(ack)
    assert page.status_code == 200 and "<form method=post>" in page.text
    assert (await h.view(handle)).status == "triggered"  # a GET (a mail scanner) does nothing
    r = await notify_api.post(ack)
    assert r.status_code == 200 and "is acknowledged" in r.text, r.text
    assert (await h.view(handle)).acknowledged_by == str(user.id)
    assert "used already" in assert_problem(await notify_api.post(ack), 409)["detail"]
    expired = make_link_token(
        secret=LINK_SECRET,
        incident_id=v.incident_id,
        user_id=str(user.id),
        action="resolve",
        now=utcnow() - timedelta(days=2),
        ttl=timedelta(days=1),
    )
    assert_problem(await notify_api.post(f"/ack/{expired}"), 410)
    forged = make_link_token(
        secret="not-the-secret",
        incident_id=v.incident_id,
        user_id=str(user.id),
        action="resolve",
        now=utcnow(),
        ttl=timedelta(days=1),
    )
    assert_problem(await notify_api.post(f"/ack/{forged}"), 403)
    assert_problem(await notify_api.get("/ack/garbage"), 403)
    assert (await h.view(handle)).status == "acknowledged"
    r = await notify_api.post(resolve)
    assert r.status_code == 200 and "is resolved" in r.text
