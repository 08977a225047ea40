"""On-call, schedule, configuration and profile pages: what they show and what their forms do."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlparse
from uuid import UUID

from fastapi import FastAPI
from sqlalchemy import select

from app.audit.models import Actor, AuditEvent
from app.config import Settings
from app.db import SessionMaker
from app.escalation.models import EscalationPolicy
from app.identity import service as identity
from app.identity.models import Role, User
from app.ingest.models import Integration
from app.schedules import service as schedules
from app.schedules.models import LayerIn, ScheduleCreate, ScheduleOverride
from tests import incident_helpers as h
from tests.factories import make_user
from tests.web.conftest import browser_for

SYSTEM = Actor.system(via="test")


async def _schedule(sessionmaker: SessionMaker, users: list[User], tz: str = "Europe/Berlin"):  # type: ignore[no-untyped-def]
    async with sessionmaker() as session:
        created = await schedules.create_schedule(
            session=session,
            schedule_in=ScheduleCreate(
                name="Primary",
                timezone=tz,
                layers=[
                    LayerIn(
                        name="weekly",
                        start=datetime(2026, 1, 5, 9, 0),
                        rotation_length=timedelta(days=7),
                        users=[u.id for u in users],
                    )
                ],
            ),
            actor=SYSTEM,
        )
        await session.commit()
        return created


async def test_oncall_page_shows_who_is_on_call_and_my_shifts(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    async with sessionmaker() as session:
        other = await make_user(session, name="Olga Other")
    me = await browser_for(web_app, sessionmaker)
    sched = await _schedule(sessionmaker, [me.user])
    page = await me.get("/oncall")
    assert page.status_code == 200
    assert f'href="/schedules/{sched.id}">Primary</a>' in page.text
    assert f"<strong>{me.user.name}</strong>" in page.text
    assert "No shifts in the next 14 days" not in page.text
    assert other.name not in page.text
    feed = await me.post("/oncall/calendar")
    assert feed.status_code == 200
    assert f"/api/v1/users/{me.user.id}/calendar.ics?token=" in feed.text


async def test_week_view_and_creating_an_override_in_the_schedules_zone(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    async with sessionmaker() as session:
        rotating = await make_user(session, name="Rita Rotation")
    me = await browser_for(web_app, sessionmaker)
    sched = await _schedule(sessionmaker, [rotating])
    week = await me.get(f"/schedules/{sched.id}?week=2026-03-04")
    assert week.status_code == 200
    assert "Week of 2026-03-02" in week.text and "Rita Rotation" in week.text
    assert week.text.count('class="day"') == 7
    month = await me.get(f"/schedules/{sched.id}?month=2026-02")
    assert month.status_code == 200 and "February 2026" in month.text
    # 28 days, after six blank cells: 1 February 2026 is a Sunday.
    assert month.text.count('class="day"') == 28
    assert month.text.count('class="day blank"') == 6
    assert 'href="?month=2026-01"' in month.text and 'href="?month=2026-03"' in month.text
    feed = await me.post(f"/schedules/{sched.id}/calendar")
    assert feed.status_code == 200
    url = urlparse(feed.text.split('id="feed-url" readonly value="')[1].split('"')[0])
    assert url.path == f"/api/v1/schedules/{sched.id}/calendar.ics"
    ics = await me.client.get(f"{url.path}?{url.query}")
    assert ics.status_code == 200 and "BEGIN:VCALENDAR" in ics.text
    bad = await me.get(f"/schedules/{sched.id}?month=2026-13")
    assert bad.status_code == 422 and "month is not valid" in bad.text
    created = await me.post(
        f"/schedules/{sched.id}/overrides",
        {"user_id": str(me.user.id), "start": "2026-12-01T09:00", "end": "2026-12-01T17:00"},
    )
    assert created.status_code == 303
    assert created.headers["location"].endswith("?week=2026-12-01&done=override")
    async with sessionmaker() as session:
        row = (await session.scalars(select(ScheduleOverride))).one()
    # 09:00 in Berlin (CET, UTC+1) is 08:00 UTC.
    assert row.user_id == me.user.id and row.start_at.isoformat() == "2026-12-01T08:00:00+00:00"
    page = await me.get(created.headers["location"])
    assert "Override created." in page.text and me.user.name in page.text
    clash = await me.post(
        f"/schedules/{sched.id}/overrides",
        {"user_id": str(me.user.id), "start": "2026-12-01T10:00", "end": "2026-12-01T11:00"},
    )
    assert clash.status_code == 422 and "overlaps another override" in clash.text
    removed = await me.post(f"/schedules/{sched.id}/overrides/{row.id}/delete")
    assert removed.status_code == 303
    async with sessionmaker() as session:
        assert (await session.scalars(select(ScheduleOverride))).all() == []
    backwards = await me.post(
        f"/schedules/{sched.id}/overrides",
        {"user_id": str(me.user.id), "start": "2026-12-02T10:00", "end": "2026-12-02T09:00"},
    )
    assert backwards.status_code == 422 and "end must be after start" in backwards.text


async def test_responders_create_overrides_only_for_themselves(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    async with sessionmaker() as session:
        other = await make_user(session)
    me = await browser_for(web_app, sessionmaker)
    sched = await _schedule(sessionmaker, [other])
    refused = await me.post(
        f"/schedules/{sched.id}/overrides",
        {"user_id": str(other.id), "start": "2026-12-01T09:00", "end": "2026-12-01T17:00"},
    )
    assert refused.status_code == 403
    async with sessionmaker() as session:
        assert (await session.scalars(select(ScheduleOverride))).all() == []


async def test_admin_creates_a_service_and_an_integration_with_url_and_key_to_copy(
    web_app: FastAPI, sessionmaker: SessionMaker, settings: Settings
) -> None:
    people = await h.users(sessionmaker, 1)
    pol = await h.policy(sessionmaker, settings, [h.level(300, people[0])])
    admin = await browser_for(web_app, sessionmaker, role=Role.admin)
    form = await admin.get("/services")
    assert "Add a service" in form.text and pol.name in form.text
    created = await admin.post(
        "/services", {"name": "Checkout API", "escalation_policy_id": str(pol.id)}
    )
    assert created.status_code == 303
    page = await admin.get(created.headers["location"])
    assert "Checkout API" in page.text and "<code>checkout-api</code>" in page.text
    added = await admin.post(
        f"{created.headers['location']}/integrations", {"type": "generic", "name": "Hooks"}
    )
    assert added.status_code == 200
    async with sessionmaker() as session:
        integration = (await session.scalars(select(Integration))).one()
    assert f'value="{integration.key}"' in added.text
    assert f"/integrations/{integration.key}/generic" in added.text
    assert f'value="{integration.secret}"' in added.text  # shown this once
    again = await admin.get(created.headers["location"])
    assert integration.secret not in again.text
    edit = await admin.post(
        created.headers["location"],
        {"name": "Checkout", "escalation_policy_id": str(pol.id), "status": "deprecated"},
    )
    assert edit.status_code == 303 and edit.headers["location"].endswith("?done=saved")
    saved = await admin.get(edit.headers["location"])
    assert "Service saved." in saved.text and "<dd>deprecated</dd>" in saved.text
    policies = await admin.get("/policies")
    assert pol.name in policies.text and people[0].name in policies.text


async def test_admin_adds_users_and_teams_and_bad_input_is_a_friendly_page(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    admin = await browser_for(web_app, sessionmaker, role=Role.admin)
    await admin.get("/users")
    added = await admin.post(
        "/users",
        {"name": "Nina New", "email": "nina@example.com", "role": "observer", "timezone": "UTC"},
    )
    assert added.status_code == 303
    users = await admin.get("/users")
    assert "nina@example.com" in users.text
    bad_zone = await admin.post(
        "/users", {"name": "X", "email": "x@example.com", "timezone": "Mars/Olympus"}
    )
    assert bad_zone.status_code == 422 and "unknown IANA time zone" in bad_zone.text
    duplicate = await admin.post("/users", {"name": "N", "email": "nina@example.com"})
    assert duplicate.status_code == 409 and "already exists" in duplicate.text
    nina = next(u for u in (await admin.get("/users")).text.split("<tr>") if "nina@" in u)
    nina_id = nina.split('action="/users/')[1].split('"')[0]
    promoted = await admin.post(f"/users/{nina_id}", {"role": "responder"})
    assert promoted.status_code == 303
    assert 'value="responder" selected' in (await admin.get("/users")).text.split("nina@")[1]
    demote_myself = await admin.post(f"/users/{admin.user.id}", {"role": "observer"})
    assert demote_myself.status_code == 409
    team = await admin.post("/teams", {"name": "Payments", "member_ids": str(admin.user.id)})
    assert team.status_code == 303
    teams = await admin.get("/teams")
    assert "Payments" in teams.text and admin.user.name in teams.text
    team_id = teams.text.split('id="t-')[1].split('"')[0]
    assert (
        f'id="tm-{team_id}-{admin.user.id}" name="member_ids" value="{admin.user.id}" checked'
        in (teams.text)
    )
    changed = await admin.post(f"/teams/{team_id}", {"member_ids": nina_id})
    assert changed.status_code == 303
    async with sessionmaker() as session:
        members = await identity.team_member_ids(session=session, team_id=UUID(team_id))
    assert [str(m) for m in members] == [nina_id]
    async with sessionmaker() as session:
        actions = set((await session.scalars(select(AuditEvent.action))).all())
    assert {"user.create", "user.update", "team.create", "team.update"} <= actions


async def test_profile_edits_me_and_manages_api_tokens(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    me = await browser_for(web_app, sessionmaker)
    page = await me.get("/profile")
    assert "Contact methods" in page.text and "Not available yet" not in page.text
    saved = await me.post("/profile", {"name": "Renamed Me", "timezone": "America/Chicago"})
    assert saved.status_code == 303
    page = await me.get("/profile?done=saved")
    assert "Profile saved." in page.text and 'value="America/Chicago"' in page.text
    created = await me.post("/profile/tokens", {"name": "laptop"})
    token = created.text.split('id="new-token" readonly value="')[1].split('"')[0]
    api = await me.client.get("/api/v1/incidents", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
    token_id = created.text.split("/profile/tokens/")[1].split("/revoke")[0]
    await me.get("/profile")
    assert (await me.post(f"/profile/tokens/{token_id}/revoke")).status_code == 303
    api = await me.client.get("/api/v1/incidents", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 401
    short = await me.post(
        "/profile", {"name": "Renamed Me", "timezone": "UTC", "password": "short"}
    )
    assert short.status_code == 422


async def test_pwa_manifest_icons_and_service_worker(anonymous) -> None:  # type: ignore[no-untyped-def]
    manifest = await anonymous.get("/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    icons = manifest.json()["icons"]
    assert {i["sizes"] for i in icons} == {"192x192", "512x512"}
    for icon in icons:
        png = await anonymous.get(icon["src"])
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    worker = await anonymous.get("/sw.js")
    assert worker.status_code == 200 and "pagefree-shell" in worker.text
    assert worker.headers["service-worker-allowed"] == "/"
    offline = await anonymous.get("/offline")
    assert offline.status_code == 200 and "You are offline" in offline.text


async def test_api_paths_are_untouched_by_the_web_ui(anonymous) -> None:  # type: ignore[no-untyped-def]
    assert (await anonymous.get("/healthz")).status_code == 200
    assert (await anonymous.get("/docs")).status_code == 200
    api = await anonymous.get("/api/v1/incidents")
    assert api.status_code == 401
    assert api.headers["content-type"].startswith("application/problem+json")
    openapi = (await anonymous.get("/openapi.json")).json()
    assert not [
        p
        for p in openapi["paths"]
        # The notify domain's Twilio webhooks and action links are its own documented routes.
        if not p.startswith(
            (
                "/api/",
                "/v2/",
                "/integrations",
                "/healthz",
                "/readyz",
                "/slack",
                "/webhooks/",
                "/ack/",
                # Status pages' public reads (Statuspage v2 JSON) and partner sign-in.
                "/status/",
                "/partner/",
                # Heartbeat monitors' ping URLs (docs/catalog.md).
                "/heartbeat/",
            )
        )
    ]


async def test_admin_creates_an_escalation_policy(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    admin = await browser_for(web_app, sessionmaker, role=Role.admin)
    sched = await _schedule(sessionmaker, [admin.user])
    form = await admin.get("/policies")
    assert f'value="schedule:{sched.id}"' in form.text
    created = await admin.post(
        "/policies",
        {
            "name": "Web on-call",
            "level1_target": f"schedule:{sched.id}",
            "level1_delay": "5",
            "level2_target": f"user:{admin.user.id}",
            "level2_delay": "15",
            "level3_target": "",
            "repeat": "2",
        },
    )
    assert created.status_code == 303
    async with sessionmaker() as session:
        policy = (await session.scalars(select(EscalationPolicy))).one()
    assert policy.name == "Web on-call" and policy.repeat == 2
    assert [(lv["delay_seconds"], lv["targets"][0]["type"]) for lv in policy.levels] == [
        (300.0, "schedule"),
        (900.0, "user"),
    ]
    page = await admin.get("/policies")
    assert "Web on-call" in page.text and "escalates after 15 min" in page.text
    empty = await admin.post("/policies", {"name": "Nothing", "level1_target": ""})
    assert empty.status_code == 422 and "at least one level" in empty.text
    bad = await admin.post(
        "/policies", {"name": "Bad", "level1_target": "robot:1", "level1_delay": "5"}
    )
    assert bad.status_code == 422


async def test_admin_edits_a_policy_with_several_targets_per_level(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    admin = await browser_for(web_app, sessionmaker, role=Role.admin)
    async with sessionmaker() as session:
        bob = await make_user(session, name="Bob Web")
    sched = await _schedule(sessionmaker, [admin.user])
    created = await admin.post(
        "/policies",
        {
            "name": "Payments",
            "level1_target": [f"schedule:{sched.id}", f"user:{bob.id}"],
            "level1_delay": "5",
            "level2_target": f"user:{admin.user.id}",
            "level2_delay": "10",
        },
    )
    assert created.status_code == 303
    async with sessionmaker() as session:
        policy = (await session.scalars(select(EscalationPolicy))).one()
    assert [t["type"] for t in policy.levels[0]["targets"]] == ["schedule", "user"]

    page = await admin.get("/policies")
    assert f'action="/policies/{policy.id}"' in page.text
    assert f'<option value="user:{bob.id}" selected>' in page.text  # the edit form is prefilled

    # Level 1 keeps one target and waits longer, level 2 is cleared (removed), a spare
    # level becomes level 2.
    edited = await admin.post(
        f"/policies/{policy.id}",
        {
            "name": "Payments primary",
            "level1_target": f"user:{bob.id}",
            "level1_delay": "7.5",
            "level2_target": "",
            "level2_delay": "10",
            "level3_target": [f"user:{admin.user.id}", f"schedule:{sched.id}"],
            "level3_delay": "30",
            "repeat": "1",
        },
    )
    assert edited.status_code == 303
    async with sessionmaker() as session:
        policy = await session.get(EscalationPolicy, policy.id, populate_existing=True)
        assert policy is not None
        audit = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == "escalation_policy.update")
            )
        ).one()
    assert (policy.name, policy.repeat) == ("Payments primary", 1)
    assert [(lv["delay_seconds"], [t["id"] for t in lv["targets"]]) for lv in policy.levels] == [
        (450.0, [str(bob.id)]),
        (1800.0, [str(admin.user.id), str(sched.id)]),
    ]
    assert audit.before is not None and audit.before["name"] == "Payments"
    assert audit.actor_id == str(admin.user.id) and audit.via == "web"

    # Bad input changes nothing and says what is wrong.
    twice = await admin.post(
        f"/policies/{policy.id}",
        {"name": "X", "level1_target": [f"user:{bob.id}", f"user:{bob.id}"], "level1_delay": "5"},
    )
    assert twice.status_code == 422 and "chosen twice" in twice.text
    zero = await admin.post(
        f"/policies/{policy.id}",
        {"name": "X", "level1_target": f"user:{bob.id}", "level1_delay": "0"},
    )
    assert zero.status_code == 422 and "level 1" in zero.text
    none = await admin.post(f"/policies/{policy.id}", {"name": "X", "level1_target": ""})
    assert none.status_code == 422
    async with sessionmaker() as session:
        again = await session.get(EscalationPolicy, policy.id)
    assert again is not None and again.name == "Payments primary"

    responder = await browser_for(web_app, sessionmaker)
    refused = await responder.post(
        f"/policies/{policy.id}",
        {"name": "Mine", "level1_target": f"user:{bob.id}", "level1_delay": "5"},
    )
    assert refused.status_code == 403
    assert 'action="/policies/' not in (await responder.get("/policies")).text


async def test_browsers_get_a_not_found_page_and_machines_a_problem(anonymous) -> None:  # type: ignore[no-untyped-def]
    html = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    page = await anonymous.get("/no-such-page", headers=html)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Page not found" in page.text
    for path, headers in (("/no-such-page", {}), ("/api/v1/no-such-thing", html)):
        problem = await anonymous.get(path, headers=headers)
        assert problem.status_code == 404
        assert problem.headers["content-type"].startswith("application/problem+json")
    # Other errors keep their problem answers (here: GET on a POST-only endpoint).
    assert (await anonymous.get("/v2/enqueue", headers=html)).status_code == 405
