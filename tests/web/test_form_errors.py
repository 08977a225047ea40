"""Refused forms show each error at its field and keep what was typed (never a password)."""

from __future__ import annotations

import re
from uuid import UUID

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from app.audit.models import Actor
from app.catalog import service as catalog
from app.catalog.models import Service, ServiceCreate
from app.config import Settings
from app.db import SessionMaker
from app.escalation.models import EscalationPolicy
from app.identity.models import Role, User
from app.notify.models import ContactMethod, ContactType, NotificationRule
from app.statuspages.models import StatusPage
from tests import incident_helpers as h
from tests.factories import make_user
from tests.web.conftest import PASSWORD, browser_for, sign_in


async def _service(sessionmaker: SessionMaker, name: str, policy_id: UUID) -> Service:
    async with sessionmaker() as session:
        created = await catalog.create_service(
            session=session,
            service_in=ServiceCreate(name=name, escalation_policy_id=policy_id),
            actor=Actor.system(via="test"),
        )
        await session.commit()
        return created


async def _checkout(
    sessionmaker: SessionMaker, settings: Settings
) -> tuple[EscalationPolicy, Service]:
    """A policy paging one person, and the service "Checkout" on it."""
    people = await h.users(sessionmaker, 1)
    pol = await h.policy(sessionmaker, settings, [h.level(300, people[0])])
    return pol, await _service(sessionmaker, "Checkout", pol.id)


def at_field(html: str, field_id: str, error_id: str) -> str:
    """Return the error shown right after the field `field_id`, which is marked invalid."""
    found = re.search(
        rf'<(?:input|select)[^>]*id="{field_id}"[^>]*aria-invalid="true"'
        rf'[^>]*aria-describedby="{error_id}"[^>]*>(?:.*?</select>)?'
        rf'<p class="field-error" id="{error_id}">([^<]*)</p>',
        html,
        re.S,
    )
    assert found, f"no error at #{field_id}"
    return found.group(1)


def value_of(html: str, field_id: str) -> str:
    found = re.search(rf'<input[^>]*id="{field_id}"[^>]*value="([^"]*)"', html)
    assert found, f"no value in #{field_id}"
    return found.group(1)


def selected_in(html: str, select_id: str) -> str:
    block = html.split(f'id="{select_id}"', 1)[1].split("</select>", 1)[0]
    found = re.search(r'<option value="([^"]*)"[^>]*\bselected\b', block)
    assert found, f"nothing selected in #{select_id}"
    return found.group(1)


async def test_profile_details_show_errors_at_their_fields_and_keep_what_was_typed(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    me = await browser_for(web_app, sessionmaker, name="Old Name")
    await me.get("/profile")
    bad_zone = await me.post("/profile", {"name": "New Name", "timezone": "Mars/Olympus"})
    assert bad_zone.status_code == 422
    assert "unknown IANA time zone" in at_field(bad_zone.text, "p-tz", "details-err-timezone")
    assert value_of(bad_zone.text, "p-tz") == "Mars/Olympus"
    assert value_of(bad_zone.text, "p-name") == "New Name"  # typed, not yet saved
    assert 'id="details-errors"' in bad_zone.text

    no_name = await me.post("/profile", {"name": "  ", "timezone": "Europe/Paris"})
    assert no_name.status_code == 422
    at_field(no_name.text, "p-name", "details-err-name")
    assert value_of(no_name.text, "p-tz") == "Europe/Paris"

    short = await me.post(
        "/profile",
        {"name": "New Name", "timezone": "UTC", "password": "short1", "current_password": "x"},
    )
    assert short.status_code == 422
    assert "12 characters" in at_field(short.text, "p-pw", "details-err-password")
    assert "short1" not in short.text  # passwords are never sent back

    wrong = await me.post(
        "/profile",
        {
            "name": "New Name",
            "timezone": "UTC",
            "password": "a brand new passphrase",
            "current_password": "not my password",
        },
    )
    assert wrong.status_code == 422
    at_field(wrong.text, "p-cur", "details-err-current_password")
    assert "not my password" not in wrong.text and "a brand new passphrase" not in wrong.text
    async with sessionmaker() as session:
        user = await session.get(User, me.user.id)
        assert user is not None and user.name == "Old Name" and user.timezone == "UTC"

    saved = await me.post(
        "/profile",
        {
            "name": "New Name",
            "timezone": "UTC",
            "password": "a brand new passphrase",
            "current_password": PASSWORD,
        },
    )
    assert saved.status_code == 303


async def test_profile_tokens_methods_and_rules_show_errors_at_their_fields(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    me = await browser_for(web_app, sessionmaker)
    await me.get("/profile")
    no_name = await me.post("/profile/tokens", {"name": " "})
    assert no_name.status_code == 422
    at_field(no_name.text, "t-name", "token-err-name")
    assert 'id="new-token"' not in no_name.text

    bad_number = await me.post(
        "/profile/contact-methods", {"type": "sms", "address": "call me", "label": "Pager"}
    )
    assert bad_number.status_code == 422
    assert "E.164" in at_field(bad_number.text, "cm-address", "method-err-address")
    assert value_of(bad_number.text, "cm-address") == "call me"
    assert value_of(bad_number.text, "cm-label") == "Pager"
    assert selected_in(bad_number.text, "cm-type") == "sms"
    bad_type = await me.post("/profile/contact-methods", {"type": "fax", "address": "+1555"})
    assert bad_type.status_code == 422
    at_field(bad_type.text, "cm-type", "method-err-type")
    assert value_of(bad_type.text, "cm-address") == "+1555"

    added = await me.post(
        "/profile/contact-methods", {"type": "email", "address": "me@example.com"}
    )
    assert added.status_code == 303
    async with sessionmaker() as session:
        method = await session.scalar(
            select(ContactMethod).where(ContactMethod.type == ContactType.email)
        )
        assert method is not None
    page = await me.get("/profile")
    too_late = await me.post(
        "/profile/notification-rules",
        {"contact_method_id": str(method.id), "delay_minutes": "5000", "urgency": "low"},
    )
    assert too_late.status_code == 422
    at_field(too_late.text, "r-delay", "rule-err-delay_minutes")
    assert value_of(too_late.text, "r-delay") == "5000"
    assert selected_in(too_late.text, "r-urgency") == "low"
    assert selected_in(too_late.text, "r-method") == str(method.id)
    # The other forms of the page are not marked.
    assert 'id="method-errors"' not in too_late.text and 'id="details-errors"' not in page.text
    async with sessionmaker() as session:
        assert (await session.scalars(select(NotificationRule))).all() == []


async def test_service_edit_shows_errors_at_their_fields_and_keeps_what_was_typed(
    web_app: FastAPI, sessionmaker: SessionMaker, settings: Settings
) -> None:
    pol, svc = await _checkout(sessionmaker, settings)
    await _service(sessionmaker, "Billing", pol.id)
    admin = await browser_for(web_app, sessionmaker, role=Role.admin)
    shown = await admin.get(f"/services/{svc.id}")
    assert '<details class="card" id="edit">' in shown.text  # closed until something is refused

    taken = await admin.post(
        f"/services/{svc.id}",
        {"name": "Billing", "escalation_policy_id": str(pol.id), "status": "deprecated"},
    )
    assert taken.status_code == 409
    assert "already exists" in at_field(taken.text, "e-name", "edit-err-name")
    assert value_of(taken.text, "e-name") == "Billing"
    assert selected_in(taken.text, "e-status") == "deprecated"
    assert selected_in(taken.text, "e-policy") == str(pol.id)
    assert '<details class="card" id="edit" open>' in taken.text

    empty = await admin.post(
        f"/services/{svc.id}", {"name": "", "escalation_policy_id": "", "status": "retired"}
    )
    assert empty.status_code == 422
    at_field(empty.text, "e-name", "edit-err-name")
    at_field(empty.text, "e-status", "edit-err-status")

    bad_policy = await admin.post(
        f"/services/{svc.id}",
        {"name": "Checkout v2", "escalation_policy_id": "not-an-id", "status": "active"},
    )
    assert bad_policy.status_code == 422
    at_field(bad_policy.text, "e-policy", "edit-err-escalation_policy_id")
    assert value_of(bad_policy.text, "e-name") == "Checkout v2"
    async with sessionmaker() as session:
        row = await session.get(Service, svc.id)
        assert row is not None and row.name == "Checkout" and row.status == "active"

    saved = await admin.post(
        f"/services/{svc.id}",
        {"name": "Checkout v2", "escalation_policy_id": str(pol.id), "status": "active"},
    )
    assert saved.status_code == 303 and saved.headers["location"].endswith("?done=saved")


async def test_integration_and_subscriber_forms_show_errors_at_their_fields(
    web_app: FastAPI, sessionmaker: SessionMaker, settings: Settings
) -> None:
    _, svc = await _checkout(sessionmaker, settings)
    admin = await browser_for(web_app, sessionmaker, role=Role.admin)
    await admin.get(f"/services/{svc.id}")
    no_name = await admin.post(f"/services/{svc.id}/integrations", {"type": "generic", "name": ""})
    assert no_name.status_code == 422
    at_field(no_name.text, "int-name", "int-err-name")
    assert selected_in(no_name.text, "int-type") == "generic"
    bad_type = await admin.post(f"/services/{svc.id}/integrations", {"type": "fax", "name": "Mon"})
    assert bad_type.status_code == 422
    at_field(bad_type.text, "int-type", "int-err-type")
    assert value_of(bad_type.text, "int-name") == "Mon"

    await admin.post("/status-pages", {"name": "Acme", "slug": "acme-errors"})
    async with sessionmaker() as session:
        pid = await session.scalar(select(StatusPage.id).where(StatusPage.slug == "acme-errors"))
    await admin.get(f"/status-pages/{pid}")
    plain = await admin.post(
        f"/status-pages/{pid}/subscribers", {"type": "webhook", "address": "ftp://example.com/x"}
    )
    assert plain.status_code == 422
    at_field(plain.text, "s-addr", "sub-err-address")
    assert value_of(plain.text, "s-addr") == "ftp://example.com/x"
    assert selected_in(plain.text, "s-type") == "webhook"
    added = await admin.post(
        f"/status-pages/{pid}/subscribers", {"type": "email", "address": "ops@example.com"}
    )
    assert added.status_code == 303
    twice = await admin.post(
        f"/status-pages/{pid}/subscribers", {"type": "email", "address": "ops@example.com"}
    )
    assert twice.status_code == 409
    assert "subscribed already" in at_field(twice.text, "s-addr", "sub-err-address")


async def test_script_forms_get_field_errors_as_problem_json(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    """The forms marked data-inline-errors: app.js shows these errors at the named fields."""
    admin = await browser_for(web_app, sessionmaker, role=Role.admin)
    await admin.post("/status-pages", {"name": "Acme", "slug": "acme-json"})
    async with sessionmaker() as session:
        pid = await session.scalar(select(StatusPage.id).where(StatusPage.slug == "acme-json"))
    page = await admin.get(f"/status-pages/{pid}")
    assert f'action="/status-pages/{pid}/components" class="stack" data-inline-errors' in page.text
    asks = {"Accept": "application/problem+json, text/html"}
    refused = await admin.client.post(
        f"/status-pages/{pid}/components",
        data={"csrf_token": admin.csrf, "name": "", "service_ids": "nope"},
        headers=asks,
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"].split(".")[0] for e in refused.json()["errors"]}
    assert fields == {"name", "service_ids"}  # a bad id is a 422 at its field, not a 500
    when = await admin.client.post(
        f"/status-pages/{pid}/maintenances",
        data={"csrf_token": admin.csrf, "name": "M", "body": "b", "scheduled_for": "soon"},
        headers=asks,
    )
    assert when.status_code == 422
    assert [e["field"] for e in when.json()["errors"]] == ["scheduled_for"]


async def test_a_refused_sign_in_keeps_the_e_mail_address_not_the_password(
    anonymous: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    async with sessionmaker() as session:
        await make_user(session, password=PASSWORD, email="kim@example.com")
    wrong = await sign_in(anonymous, "kim@example.com", "a wrong guess")
    assert wrong.status_code == 401
    assert value_of(wrong.text, "email") == "kim@example.com"
    assert "a wrong guess" not in wrong.text
    assert 'name="password" type="password" autocomplete="current-password" required autofocus' in (
        wrong.text
    )


async def test_a_postmortem_action_item_with_a_bad_due_date_is_a_field_error(
    web_app: FastAPI, sessionmaker: SessionMaker, settings: Settings
) -> None:
    from tests.web.test_postmortem_pages import _setup, _start

    me, incident = await _setup(web_app, sessionmaker, settings)
    pm_id = await _start(me, incident)
    page = await me.get(f"/postmortems/{pm_id}")
    assert f'action="/postmortems/{pm_id}/action-items" class="row" data-inline-errors' in page.text
    refused = await me.client.post(
        f"/postmortems/{pm_id}/action-items",
        data={
            "csrf_token": me.csrf,
            "title": "Canaries",
            "assignee_id": str(me.user.id),
            "due_date": "31/12/2026",
        },
        headers={"Accept": "application/problem+json, text/html"},
    )
    assert refused.status_code == 422  # was a 500
    assert [e["field"] for e in refused.json()["errors"]] == ["due_date"]
