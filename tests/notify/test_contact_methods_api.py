"""Contact methods (verified by a code sent through the channel) and notification rules."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.db import SessionMaker
from app.identity.models import Role
from tests.factories import assert_problem, login
from tests.notify.conftest import Providers, ses_sent


def _url(user_id: object, rest: str = "") -> str:
    return f"/api/v1/users/{user_id}/contact-methods{rest}"


async def test_a_responder_verifies_their_number_with_the_code_sent_by_sms(
    notify_api: httpx.AsyncClient, sessionmaker: SessionMaker, providers: Providers
) -> None:
    me = await login(sessionmaker)
    r = await notify_api.post(
        _url(me.user.id), json={"type": "sms", "address": "+1 (555) 222-3333"}, headers=me.headers
    )
    assert r.status_code == 201, r.text
    method = r.json()
    assert method["address"] == "+15552223333" and method["verified"] is False
    r = await notify_api.post(_url(me.user.id, f"/{method['id']}/send-code"), headers=me.headers)
    assert r.status_code == 202, r.text
    [sms] = providers.twilio.sent()
    assert sms["To"] == "+15552223333"
    code = re.search(r"\b(\d{6})\b", sms["Body"]).group(1)  # type: ignore[union-attr]
    wrong = "000000" if code != "000000" else "111111"
    r = await notify_api.post(
        _url(me.user.id, f"/{method['id']}/verify"), json={"code": wrong}, headers=me.headers
    )
    assert "4 tries left" in assert_problem(r, 422)["detail"]
    r = await notify_api.post(
        _url(me.user.id, f"/{method['id']}/verify"), json={"code": code}, headers=me.headers
    )
    assert r.status_code == 200 and r.json()["verified"] is True
    async with sessionmaker() as s:
        actions = list(
            await s.scalars(select(AuditEvent.action).where(AuditEvent.entity_id == method["id"]))
        )
    assert {"contact_method.create", "contact_method.send_code", "contact_method.verify"} <= set(
        actions
    )


async def test_guessing_stops_after_five_wrong_codes(
    notify_api: httpx.AsyncClient, sessionmaker: SessionMaker, providers: Providers, aws: str
) -> None:
    me = await login(sessionmaker)
    address = f"verify-{me.user.id.hex[:8]}@example.com"
    r = await notify_api.post(
        _url(me.user.id), json={"type": "email", "address": address}, headers=me.headers
    )
    mid = r.json()["id"]
    assert (
        await notify_api.post(_url(me.user.id, f"/{mid}/send-code"), headers=me.headers)
    ).status_code == 202
    [mail] = ses_sent(address)
    code = re.search(r"\b(\d{6})\b", mail.body).group(1)  # type: ignore[union-attr]
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        await notify_api.post(
            _url(me.user.id, f"/{mid}/verify"), json={"code": wrong}, headers=me.headers
        )
    r = await notify_api.post(
        _url(me.user.id, f"/{mid}/verify"), json={"code": code}, headers=me.headers
    )
    assert "request a new one" in assert_problem(r, 422)["detail"]


async def test_only_an_admin_provisions_a_verified_method(
    notify_api: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    me = await login(sessionmaker)
    admin = await login(sessionmaker, role=Role.admin)
    body: dict[str, Any] = {"type": "email", "address": "x@example.com", "verified": True}
    assert_problem(await notify_api.post(_url(me.user.id), json=body, headers=me.headers), 403)
    r = await notify_api.post(_url(me.user.id), json=body, headers=admin.headers)
    assert r.status_code == 201 and r.json()["verified"] is True


async def test_others_cannot_touch_my_contact_methods(
    notify_api: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    me = await login(sessionmaker)
    other = await login(sessionmaker)
    assert_problem(await notify_api.get(_url(me.user.id), headers=other.headers), 403)


async def test_bad_addresses_are_422_problems(
    notify_api: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    me = await login(sessionmaker)
    for body in (
        {"type": "sms", "address": "555-1234"},
        {"type": "email", "address": "not-an-address"},
        {"type": "slack", "address": "bob"},
        {"type": "push", "address": "{not json"},
        {"type": "push", "address": '{"endpoint": "https://push.example/x"}'},
        {"type": "pager", "address": "x"},
    ):
        assert_problem(await notify_api.post(_url(me.user.id), json=body, headers=me.headers), 422)


async def test_notification_rules_crud(
    notify_api: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    me = await login(sessionmaker)
    other = await login(sessionmaker)
    mine = (
        await notify_api.post(
            _url(me.user.id), json={"type": "sms", "address": "+15550009999"}, headers=me.headers
        )
    ).json()
    theirs = (
        await notify_api.post(
            _url(other.user.id),
            json={"type": "sms", "address": "+15550008888"},
            headers=other.headers,
        )
    ).json()
    rules = f"/api/v1/users/{me.user.id}/notification-rules"
    r = await notify_api.post(
        rules,
        json={"contact_method_id": mine["id"], "delay": "PT2M", "urgency": "high"},
        headers=me.headers,
    )
    assert r.status_code == 201, r.text
    rule = r.json()
    assert rule["delay"] in ("PT2M", 120.0, "PT120S")
    r = await notify_api.patch(f"{rules}/{rule['id']}", json={"delay": 300}, headers=me.headers)
    assert r.status_code == 200
    assert [x["id"] for x in (await notify_api.get(rules, headers=me.headers)).json()] == [
        rule["id"]
    ]
    # Someone else's contact method, a negative delay: 422.
    assert_problem(
        await notify_api.post(rules, json={"contact_method_id": theirs["id"]}, headers=me.headers),
        422,
    )
    assert_problem(
        await notify_api.post(
            rules, json={"contact_method_id": mine["id"], "delay": -5}, headers=me.headers
        ),
        422,
    )
    assert (await notify_api.delete(f"{rules}/{rule['id']}", headers=me.headers)).status_code == 204
    assert_problem(await notify_api.get(f"{rules}/{rule['id']}", headers=me.headers), 404)
