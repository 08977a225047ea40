"""Partners: admin CRUD, the magic-link sign-in to private pages, what a partner session can
and cannot reach, audit of sign-ins and views, and its 90-day retention."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import timedelta
from email.message import Message
from typing import Any

import httpx
from sqlalchemy import text
from temporalio.testing import WorkflowEnvironment

from app.db import SessionMaker
from app.identity.models import Role
from app.statuspages.feeder import Feeder
from tests import incident_helpers as ih
from tests.factories import assert_problem, login
from tests.statuspages.conftest import Api
from tests.statuspages.delivered.conftest import mails_to

URL = "/api/v1/partners"


async def _partner(api: Api, page_ids: list[str], email: str | None = None) -> dict[str, Any]:
    email = email or f"partner-{uuid.uuid4().hex[:6]}@example.org"
    created = await api(
        "POST", URL, {"name": "Globex", "email": email, "status_page_ids": page_ids}
    )
    assert created.status_code == 201, created.text
    return created.json()  # type: ignore[no-any-return]


def _link(mail: Message) -> str:
    body = mail.get_payload(decode=True).decode()  # type: ignore[union-attr]
    found = re.search(r"/partner/login/([A-Za-z0-9_-]+)", body)
    assert found, body
    return found.group(1)


async def test_admins_manage_partners(
    api: Api, make_page: Any, client: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    page = await make_page(slug="inside", visibility="private")
    partner = await _partner(api, [page["id"]], "Ops@Globex.example")
    assert partner["email"] == "ops@globex.example" and partner["status_page_ids"] == [page["id"]]
    assert_problem(await api("POST", URL, {"name": "X", "email": "ops@globex.example"}), 409)
    bad = await api(
        "POST", URL, {"name": "X", "email": "x@y.example", "status_page_ids": [str(uuid.uuid4())]}
    )
    assert assert_problem(bad, 422)["errors"][0]["field"] == "status_page_ids"
    changed = await api("PATCH", f"{URL}/{partner['id']}", {"name": "Globex EU"})
    assert changed.json()["name"] == "Globex EU"
    assert (await api("GET", URL)).json()["count"] == 1
    responder = await login(sessionmaker, role=Role.responder)
    assert_problem(await client.get(URL, headers=responder.headers), 403)
    assert (await api("DELETE", f"{URL}/{partner['id']}")).status_code == 204
    assert_problem(await api("GET", f"{URL}/{partner['id']}"), 404)


async def test_magic_link_signs_a_partner_into_granted_pages_only(
    feeding: Feeder,
    api: Api,
    make_page: Any,
    client: httpx.AsyncClient,
    sessionmaker: SessionMaker,
) -> None:
    inside = await make_page(slug="inside", visibility="private")
    await make_page(slug="secret", visibility="private")
    partner = await _partner(api, [inside["id"]])
    address = partner["email"]

    page_404 = await client.get("/status/inside")
    assert page_404.status_code == 404 and 'action="/status/inside/login"' in page_404.text
    unknown_page = (await client.get("/status/nothing")).text.replace("nothing", "inside")
    assert unknown_page == page_404.text  # a private page looks like a missing one

    asked = await client.post("/status/inside/login", json={"email": address})
    strangers = [
        await client.post("/status/inside/login", json={"email": "who@example.net"}),
        await client.post("/status/nothing/login", json={"email": address}),
        await client.post("/status/secret/login", json={"email": address}),  # not granted
    ]
    for answer in [asked, *strangers]:
        assert answer.status_code == 202 and answer.json() == asked.json()

    [mail] = await ih.eventually(lambda: _now(mails_to(address)))
    token = _link(mail)
    assert len(token) >= 43  # ≥ 256 bits, base64url

    async def stored_logins() -> list[Any] | None:
        # The link is e-mailed just before its activity commits the hash: wait for the commit.
        async with sessionmaker() as session:
            rows = (
                await session.execute(
                    text("SELECT token_hash, expires_at - created_at FROM partner_logins")
                )
            ).all()
        return list(rows) if all(row[0] is not None for row in rows) else None

    stored = await ih.eventually(stored_logins)
    assert [row[0] for row in stored] == [hashlib.sha256(token.encode()).hexdigest()]
    assert stored[0][1] <= timedelta(minutes=15, seconds=5)

    shown = await client.get(f"/partner/login/{token}")  # a scanner's prefetch
    assert shown.status_code == 200 and 'method="post"' in shown.text
    assert "pf_partner" not in shown.headers.get("set-cookie", "")
    signed = await client.post(f"/partner/login/{token}")
    assert signed.status_code == 303 and signed.headers["location"] == "/status/inside"
    cookie = signed.headers["set-cookie"]
    assert "pf_partner=" in cookie and "HttpOnly" in cookie and "Path=/status/" in cookie
    assert (await client.post(f"/partner/login/{token}")).status_code == 404  # single use

    raw = cookie.split(";")[0].split("=", 1)[1]
    jar = {"pf_partner": raw}
    reader = httpx.AsyncClient(transport=client._transport, base_url="http://test", cookies=jar)
    async with reader:
        assert (await reader.get("/status/inside")).status_code == 200
        assert (await reader.get("/status/inside/api/v2/summary.json")).status_code == 200
        assert (await reader.get("/status/secret")).status_code == 404  # not granted
        assert_problem(await reader.get("/api/v1/status-pages"), 401)  # no API
        staff = await reader.get("/", headers={"accept": "text/html"})
        assert staff.status_code in (303, 307) and "/login" in staff.headers["location"]
        # Reading changes nothing; a partner cannot post an incident or subscribe others.
        assert_problem(
            await reader.post(f"/api/v1/status-pages/{inside['id']}/incidents", json={}), 401
        )

    async with sessionmaker() as session:
        rows = (
            (await session.execute(text("SELECT action FROM partner_audit_events ORDER BY id")))
            .scalars()
            .all()
        )
    assert rows == ["sign_in", "page_view", "page_view"]


async def _now(value: Any) -> Any:
    return value


async def test_an_expired_link_signs_nobody_in(
    feeding: Feeder, api: Api, make_page: Any, client: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    inside = await make_page(slug="inside", visibility="private")
    partner = await _partner(api, [inside["id"]])
    await client.post("/status/inside/login", json={"email": partner["email"]})
    [mail] = await ih.eventually(lambda: _now(mails_to(partner["email"])))
    async with sessionmaker() as session:
        await session.execute(text("UPDATE partner_logins SET expires_at = now() - interval '1 s'"))
        await session.commit()
    assert (await client.post(f"/partner/login/{_link(mail)}")).status_code == 404


async def test_sign_in_requests_are_limited_per_address_and_client(
    api: Api, make_page: Any, client: httpx.AsyncClient
) -> None:
    await make_page(slug="inside", visibility="private")
    answers = [
        (await client.post("/status/inside/login", json={"email": "a@example.net"})).status_code
        for _ in range(4)
    ]
    assert answers == [202, 202, 202, 429]  # 3 per address
    others = [
        (await client.post("/status/inside/login", json={"email": f"b{i}@example.net"})).status_code
        for i in range(8)
    ]
    assert others.count(429) >= 1  # 10 per client in all


async def test_partner_audit_rows_are_deleted_after_90_days(
    feeding: Feeder, ts_env: WorkflowEnvironment, sessionmaker: SessionMaker
) -> None:
    async with sessionmaker() as session:
        for age in (91, 80, 1):
            await session.execute(
                text(
                    "INSERT INTO partner_audit_events (at, partner_id, action, page_id) "
                    "VALUES (now() - make_interval(days => :d), gen_random_uuid(), 'page_view', "
                    "gen_random_uuid())"
                ),
                {"d": age},
            )
        await session.commit()
    # The feeder started the retention workflow, whose first purge ran before these rows:
    # the next one is tomorrow's.
    await ts_env.sleep(timedelta(days=1, minutes=1))

    async def remaining() -> list[int] | None:
        async with sessionmaker() as session:
            rows = (
                (
                    await session.execute(
                        text(
                            "SELECT extract(day FROM now() - at)::int FROM partner_audit_events "
                            "ORDER BY at"
                        )
                    )
                )
                .scalars()
                .all()
            )
        return list(rows) if len(rows) == 2 else None

    assert await ih.eventually(remaining) == [80, 1]
    desc = await ts_env.client.get_workflow_handle("partner-audit-retention").describe()
    assert desc.status is not None and desc.status.name == "RUNNING"  # sleeps until tomorrow
