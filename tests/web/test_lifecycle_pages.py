"""Archive and delete from the UI: the API's rules, the 409 naming what still refers, audit."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import uuid4

from fastapi import FastAPI
from sqlalchemy import select

from app.audit.models import Actor, AuditEvent
from app.catalog.models import Service
from app.config import Settings
from app.db import SessionMaker
from app.escalation.models import EscalationPolicy
from app.identity import service as identity
from app.identity.models import Role, Team, TeamCreate, User
from app.incidents.models import Incident
from app.schedules import service as schedules
from app.schedules.models import LayerIn, Schedule, ScheduleCreate
from tests import incident_helpers as h
from tests.web.conftest import browser_for

SYSTEM = Actor.system(via="test")


async def _actions(sessionmaker: SessionMaker, entity_id: object) -> list[tuple[str, str | None]]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(AuditEvent).where(AuditEvent.entity_id == str(entity_id)).order_by(AuditEvent.id)  # type: ignore[arg-type]
        )
        return [(e.action, e.via) for e in rows.all()]


async def test_a_schedule_a_policy_pages_is_refused_with_the_policy_named_then_deleted(
    web_app: FastAPI, sessionmaker: SessionMaker, settings: Settings
) -> None:
    admin = await browser_for(web_app, sessionmaker, role=Role.admin)
    async with sessionmaker() as session:
        sched = await schedules.create_schedule(
            session=session,
            schedule_in=ScheduleCreate(
                name="Nights",
                timezone="UTC",
                layers=[
                    LayerIn(
                        name="l",
                        start=datetime(2026, 1, 5, 9),
                        rotation_length=timedelta(days=7),
                        users=[admin.user.id],
                    )
                ],
            ),
            actor=SYSTEM,
        )
        await session.commit()
    pol = await h.policy(sessionmaker, settings, [h.level(300, ("schedule", str(sched.id)))])
    shown = await admin.get(f"/schedules/{sched.id}")
    assert "<title>Nights · PageFree</title>" in shown.text
    assert shown.text.count("Delete this schedule") == 1
    refused = await admin.post(f"/schedules/{sched.id}/delete")
    assert refused.status_code == 409
    assert "The schedule Nights cannot be deleted" in refused.text
    assert "Escalation policies that still refer to it" in refused.text
    assert f"<li>{pol.name}</li>" in refused.text
    async with sessionmaker() as session:
        assert await session.get(Schedule, sched.id) is not None
        await session.delete(await session.get(EscalationPolicy, pol.id))
        await session.commit()
    deleted = await admin.post(f"/schedules/{sched.id}/delete")
    assert deleted.status_code == 303 and deleted.headers["location"] == "/oncall?done=deleted"
    assert (await _actions(sessionmaker, sched.id))[-1] == ("schedule.delete", "web")


async def test_policy_used_by_a_service_is_refused_then_the_service_is_deleted_then_the_policy(
    web_app: FastAPI, sessionmaker: SessionMaker, settings: Settings
) -> None:
    admin = await browser_for(web_app, sessionmaker, role=Role.admin)
    pol = await h.policy(sessionmaker, settings, [h.level(300, admin.user)])
    svc = await h.service(sessionmaker, pol)
    await admin.get("/policies")
    refused = await admin.post(f"/policies/{pol.id}/delete")
    assert refused.status_code == 409
    assert "Services that still refer to it" in refused.text and svc.name in refused.text

    page = await admin.get("/services")
    assert f'action="/services/{svc.id}/archive"' in page.text
    archived = await admin.post(f"/services/{svc.id}/archive")
    assert archived.status_code == 303
    async with sessionmaker() as session:
        assert (await session.get(Service, svc.id)).status == "archived"  # type: ignore[union-attr]
    assert (await admin.post(f"/services/{svc.id}/delete")).status_code == 303
    assert (await admin.post(f"/policies/{pol.id}/delete")).status_code == 303
    assert (await admin.get("/policies?done=deleted")).text.count("Deleted.") == 1
    assert [a for a, _ in await _actions(sessionmaker, svc.id)][-2:] == [
        "service.update",
        "service.delete",
    ]
    assert (await _actions(sessionmaker, pol.id))[-1] == ("escalation_policy.delete", "web")


async def test_a_service_with_incidents_can_only_be_archived(
    web_app: FastAPI, sessionmaker: SessionMaker, settings: Settings
) -> None:
    admin = await browser_for(web_app, sessionmaker, role=Role.admin)
    pol = await h.policy(sessionmaker, settings, [h.level(300, admin.user)])
    svc = await h.service(sessionmaker, pol)
    async with sessionmaker() as session:
        session.add(
            Incident(
                id=uuid4(),
                title="t",
                status="resolved",
                severity="info",
                urgency="low",
                service_id=svc.id,
                dedup_key="d",
                workflow_id="w",
                run_id="r",
            )
        )
        await session.commit()
    await admin.get("/services")
    refused = await admin.post(f"/services/{svc.id}/delete")
    assert refused.status_code == 409 and "archive it instead" in refused.text


async def test_team_and_user_deletes_follow_the_api_rules(
    web_app: FastAPI, sessionmaker: SessionMaker, settings: Settings
) -> None:
    admin = await browser_for(web_app, sessionmaker, role=Role.admin)
    async with sessionmaker() as session:
        team = await identity.create_team(
            session=session, team_in=TeamCreate(name="Payments"), actor=SYSTEM
        )
        await session.commit()
    pol = await h.policy(sessionmaker, settings, [h.level(300, ("team", str(team.id)))])
    other = (await h.users(sessionmaker, 1))[0]
    pol2 = await h.policy(sessionmaker, settings, [h.level(300, other)])
    await admin.get("/teams")
    refused = await admin.post(f"/teams/{team.id}/delete")
    assert refused.status_code == 409 and pol.name in refused.text
    user_refused = await admin.post(f"/users/{other.id}/delete")
    assert user_refused.status_code == 409 and pol2.name in user_refused.text
    assert (await admin.post(f"/users/{admin.user.id}/delete")).status_code == 409
    async with sessionmaker() as session:
        for p in (pol, pol2):
            await session.delete(await session.get(EscalationPolicy, p.id))
        await session.commit()
    assert (await admin.post(f"/teams/{team.id}/delete")).status_code == 303
    assert (await admin.post(f"/users/{other.id}/delete")).status_code == 303
    async with sessionmaker() as session:
        assert await session.get(Team, team.id) is None
        assert await session.get(User, other.id) is None
    assert (await _actions(sessionmaker, other.id))[-1] == ("user.delete", "web")


async def test_responders_cannot_delete(web_app: FastAPI, sessionmaker: SessionMaker) -> None:
    responder = await browser_for(web_app, sessionmaker)
    other = (await h.users(sessionmaker, 1))[0]
    await responder.get("/users")
    assert (await responder.post(f"/users/{other.id}/delete")).status_code == 403
    async with sessionmaker() as session:
        assert await session.get(User, other.id) is not None


async def test_forms_posted_by_the_script_get_the_refusal_as_problem_json(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    admin = await browser_for(web_app, sessionmaker, role=Role.admin)
    await admin.get("/users")
    wants = {"Accept": "application/problem+json, text/html"}
    bad = await admin.client.post(
        "/users",
        data={"csrf_token": admin.csrf, "name": "Typed", "email": "nope", "timezone": "UTC"},
        headers=wants,
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert any(e["field"] == "email" for e in bad.json()["errors"])
    taken = await admin.client.post(
        "/users",
        data={"csrf_token": admin.csrf, "name": "Dup", "email": admin.user.email},
        headers=wants,
    )
    assert taken.status_code == 409 and "already exists" in taken.json()["detail"]
    # Without the header (no script) the refusal is still the error page.
    page = await admin.post("/users", {"name": "Dup", "email": admin.user.email})
    assert page.status_code == 409 and page.headers["content-type"].startswith("text/html")
    teams = await admin.get("/teams")
    assert '<form method="post" action="/teams" class="stack" data-inline-errors>' in teams.text
