"""The profile's contact methods, notification rules and web push, through the real forms."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from uuid import UUID

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.config import Settings
from app.db import SessionMaker
from app.notify.models import ContactMethod, ContactType, NotificationRule
from tests.notify import conftest as notify_conftest
from tests.notify.conftest import Providers
from tests.web.conftest import Browser, browser_for

# The notification tests' provider stand-ins (moto, Twilio, a push service), as fixtures here.
moto_server = notify_conftest.moto_server
aws = notify_conftest.aws
providers = notify_conftest.providers
notify_settings = notify_conftest.notify_settings


@pytest.fixture
async def notify_web_app(notify_settings: Settings, database_url: str) -> AsyncIterator[FastAPI]:
    """The app with every notification channel pointed at its stand-in (push configured)."""
    from api import create_app

    # The test client speaks plain http: cookies without Secure, as in development.
    configured = notify_settings.model_copy(update={"cookie_secure": False})
    app = create_app(configured, database_url=database_url)
    async with app.router.lifespan_context(app):
        yield app


async def _methods(sessionmaker: SessionMaker, user_id: UUID) -> list[ContactMethod]:
    async with sessionmaker() as s:
        rows = await s.scalars(select(ContactMethod).where(ContactMethod.user_id == user_id))
        return list(rows.all())


async def _actions(sessionmaker: SessionMaker, entity_id: UUID) -> list[str]:
    async with sessionmaker() as s:
        rows = await s.scalars(
            select(AuditEvent.action).where(AuditEvent.entity_id == str(entity_id))
        )
        return list(rows.all())


async def test_add_verify_with_the_code_sent_by_sms_and_delete_a_contact_method(
    notify_web_app: FastAPI, sessionmaker: SessionMaker, providers: Providers
) -> None:
    me = await browser_for(notify_web_app, sessionmaker)
    page = await me.get("/profile")
    assert "Not available yet" not in page.text and 'id="cm-address"' in page.text
    added = await me.post(
        "/profile/contact-methods", {"type": "sms", "address": "+1 (555) 222-3333", "label": "cell"}
    )
    assert added.status_code == 303 and added.headers["location"].startswith(
        "/profile?done=method-added"
    )
    [method] = await _methods(sessionmaker, me.user.id)
    assert (method.type, method.address, method.verified) == ("sms", "+15552223333", False)

    page = await me.get("/profile?done=method-added")
    assert "SMS +15552223333 (cell)" in page.text and "not verified" in page.text
    sent = await me.post(f"/profile/contact-methods/{method.id}/send-code")
    assert sent.status_code == 303, sent.text
    [sms] = providers.twilio.sent()
    too_soon = await me.post(f"/profile/contact-methods/{method.id}/send-code")
    assert too_soon.status_code == 429 and int(too_soon.headers["retry-after"]) > 0
    assert "Too many requests" in too_soon.text and len(providers.twilio.sent()) == 1
    assert sms["To"] == "+15552223333"
    code = re.search(r"\b(\d{6})\b", sms["Body"]).group(1)  # type: ignore[union-attr]

    wrong = await me.post(
        f"/profile/contact-methods/{method.id}/verify",
        {"code": "000000" if code != "000000" else "111111"},
    )
    assert wrong.status_code == 422 and 'class="banner error"' in wrong.text
    assert "wrong code; 4 tries left" in wrong.text
    [method] = await _methods(sessionmaker, me.user.id)
    assert method.code_tries_left == 4 and not method.verified  # the spent try was kept

    right = await me.post(f"/profile/contact-methods/{method.id}/verify", {"code": code})
    assert right.status_code == 303
    [method] = await _methods(sessionmaker, me.user.id)
    assert method.verified
    page = await me.get("/profile?done=verified")
    assert "Contact method verified" in page.text and "badge resolved" in page.text

    deleted = await me.post(f"/profile/contact-methods/{method.id}/delete")
    assert deleted.status_code == 303
    assert await _methods(sessionmaker, me.user.id) == []
    assert {
        "contact_method.create",
        "contact_method.send_code",
        "contact_method.verify",
        "contact_method.delete",
    } <= set(await _actions(sessionmaker, method.id))


async def test_bad_input_and_forged_forms_are_friendly_and_change_nothing(
    notify_web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    me = await browser_for(notify_web_app, sessionmaker)
    bad = await me.post("/profile/contact-methods", {"type": "sms", "address": "12"})
    assert bad.status_code == 422 and "must be an E.164 phone number" in bad.text
    assert 'class="banner error"' in bad.text and "Contact methods" in bad.text
    push = await me.post("/profile/contact-methods", {"type": "push", "address": "{}"})
    assert push.status_code == 422
    assert '<p class="field-error" id="method-err-type">choose one from the list</p>' in push.text
    forged = await me.client.post(
        "/profile/contact-methods", data={"type": "email", "address": "me@example.com"}
    )
    assert forged.status_code == 403
    assert await _methods(sessionmaker, me.user.id) == []
    nothing_sent = await me.post(f"/profile/contact-methods/{UUID(int=1)}/verify", {"code": "1"})
    assert nothing_sent.status_code == 404 and "contact method" in nothing_sent.text


async def test_a_disabled_channel_is_a_message_and_no_code_is_kept(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    me = await browser_for(web_app, sessionmaker)  # no provider configured
    await me.post("/profile/contact-methods", {"type": "email", "address": "me@example.com"})
    [method] = await _methods(sessionmaker, me.user.id)
    r = await me.post(f"/profile/contact-methods/{method.id}/send-code")
    assert r.status_code == 409 and "the email channel is not configured" in r.text
    [method] = await _methods(sessionmaker, me.user.id)
    assert method.code_hash is None


async def test_only_the_owner_changes_a_contact_method(
    notify_web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    me = await browser_for(notify_web_app, sessionmaker)
    other = await browser_for(notify_web_app, sessionmaker)
    await me.post("/profile/contact-methods", {"type": "email", "address": "me@example.com"})
    [method] = await _methods(sessionmaker, me.user.id)
    for action in ("delete", "send-code", "verify"):
        r = await other.post(f"/profile/contact-methods/{method.id}/{action}", {"code": "123456"})
        assert r.status_code == 404, (action, r.text)
    assert [m.id for m in await _methods(sessionmaker, me.user.id)] == [method.id]
    assert "contact_method.send_code" not in await _actions(sessionmaker, method.id)


async def test_notification_rules_are_added_listed_and_deleted(
    notify_web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    me = await browser_for(notify_web_app, sessionmaker)
    other = await browser_for(notify_web_app, sessionmaker)
    await me.post("/profile/contact-methods", {"type": "email", "address": "me@example.com"})
    await other.post("/profile/contact-methods", {"type": "email", "address": "o@example.com"})
    [method] = await _methods(sessionmaker, me.user.id)
    [theirs] = await _methods(sessionmaker, other.user.id)
    added = await me.post(
        "/profile/notification-rules",
        {"contact_method_id": str(method.id), "delay_minutes": "5", "urgency": "low"},
    )
    assert added.status_code == 303
    async with sessionmaker() as s:
        [rule] = (await s.scalars(select(NotificationRule))).all()
    assert (rule.user_id, rule.delay_seconds, rule.urgency) == (me.user.id, 300, "low")
    page = await me.get("/profile?done=rule-added")
    assert "low urgency</strong>: E-mail me@example.com, after 5 min" in page.text

    for form, message in (
        ({"contact_method_id": str(theirs.id)}, "not one of this user"),
        (
            {"contact_method_id": str(method.id), "delay_minutes": "soon"},
            'id="rule-err-delay_minutes">0 to 1440 minutes',
        ),
        (
            {"contact_method_id": str(method.id), "delay_minutes": "2000"},
            'id="rule-err-delay_minutes">0 to 1440 minutes',
        ),
        ({"contact_method_id": str(method.id), "urgency": "urgent"}, "urgency"),
        ({"contact_method_id": "nope"}, "contact_method_id"),
    ):
        r = await me.post("/profile/notification-rules", form)
        assert r.status_code == 422 and message in r.text, (form, r.text)
    assert (await other.post(f"/profile/notification-rules/{rule.id}/delete")).status_code == 404
    assert (await me.post(f"/profile/notification-rules/{rule.id}/delete")).status_code == 303
    async with sessionmaker() as s:
        assert (await s.scalars(select(NotificationRule))).all() == []
    assert {"notification_rule.create", "notification_rule.delete"} <= set(
        await _actions(sessionmaker, rule.id)
    )


def _subscription(endpoint: str) -> dict[str, object]:
    return {"endpoint": endpoint, "expirationTime": None, "keys": {"p256dh": "BKey", "auth": "au"}}


async def _push(browser: Browser, url: str, body: object, csrf: bool = True):  # type: ignore[no-untyped-def]
    headers = {"X-CSRF-Token": browser.csrf} if csrf else {}
    return await browser.client.post(url, json=body, headers=headers)


async def test_push_subscription_from_my_browser_is_a_verified_push_method(
    notify_web_app: FastAPI, sessionmaker: SessionMaker, providers: Providers
) -> None:
    me = await browser_for(notify_web_app, sessionmaker)
    other = await browser_for(notify_web_app, sessionmaker)
    page = await me.get("/profile")
    assert f'data-vapid-key="{providers.vapid_public}"' in page.text
    assert '<script src="/static/push.js" defer></script>' in page.text
    endpoint = "https://8.8.8.8/send/abc"  # public: an endpoint is resolved when saved
    sub = {"subscription": _subscription(endpoint), "label": "Browser on Linux"}

    assert (await _push(me, "/profile/push", sub, csrf=False)).status_code == 403
    assert await _methods(sessionmaker, me.user.id) == []
    created = await _push(me, "/profile/push", sub)
    assert created.status_code == 201, created.text
    [method] = await _methods(sessionmaker, me.user.id)
    assert (method.type, method.verified, method.label) == (
        ContactType.push,
        True,
        "Browser on Linux",
    )
    assert json.loads(method.address) == {
        "endpoint": endpoint,
        "keys": {"p256dh": "BKey", "auth": "au"},
    }
    again = await _push(me, "/profile/push", sub)
    assert again.status_code == 200 and again.json()["id"] == str(method.id)
    assert len(await _methods(sessionmaker, me.user.id)) == 1
    page = await me.get("/profile")
    assert "Push to Browser on Linux" in page.text and "BKey" not in page.text
    async with sessionmaker() as s:
        [event] = await s.scalars(
            select(AuditEvent).where(AuditEvent.action == "contact_method.create")
        )
    assert event.after["address"] == "[push subscription]"  # type: ignore[index]

    bad = await _push(me, "/profile/push", {"subscription": {"endpoint": "ftp://x"}})
    assert bad.status_code == 422 and "endpoint and keys" in bad.json()["detail"]
    # Another user cannot switch my device's push off, by endpoint or by the method's id.
    off = await _push(other, "/profile/push/off", {"endpoint": endpoint})
    assert off.status_code == 200 and off.json() == {"deleted": 0}
    assert (await other.post(f"/profile/contact-methods/{method.id}/delete")).status_code == 404
    assert (
        await _push(me, "/profile/push/off", {"endpoint": endpoint}, csrf=False)
    ).status_code == 403
    assert len(await _methods(sessionmaker, me.user.id)) == 1
    off = await _push(me, "/profile/push/off", {"endpoint": endpoint})
    assert off.json() == {"deleted": 1}
    assert await _methods(sessionmaker, me.user.id) == []
    assert "contact_method.delete" in await _actions(sessionmaker, method.id)


async def test_without_vapid_keys_the_profile_says_push_is_not_configured(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    me = await browser_for(web_app, sessionmaker)
    page = await me.get("/profile")
    assert "Push is not configured on this server" in page.text
    assert "data-vapid-key" not in page.text and "push.js" not in page.text
    r = await _push(me, "/profile/push", {"subscription": _subscription("https://p.example/1")})
    assert r.status_code == 409 and await _methods(sessionmaker, me.user.id) == []


async def test_push_script_and_service_worker_handlers_are_served(
    notify_web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    me = await browser_for(notify_web_app, sessionmaker)
    script = await me.client.get("/static/push.js")
    assert script.status_code == 200
    assert "userVisibleOnly: true" in script.text and "X-CSRF-Token" in script.text
    assert "unsubscribe()" in script.text
    worker = await me.client.get("/sw.js")
    for handler in ('addEventListener("push"', 'addEventListener("notificationclick"'):
        assert handler in worker.text
