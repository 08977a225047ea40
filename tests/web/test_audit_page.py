"""The audit log page: admins only, filtered by actor, entity, action and time."""

from __future__ import annotations

from fastapi import FastAPI

from app.audit import service as audit
from app.audit.models import Actor
from app.db import SessionMaker
from app.identity.models import Role
from tests.web.conftest import browser_for


async def _event(sessionmaker: SessionMaker, actor: Actor, action: str, entity_id: str) -> None:
    async with sessionmaker() as session:
        await audit.record(
            session=session,
            actor=actor,
            action=action,
            entity_type=action.split(".")[0],
            entity_id=entity_id,
            after={"name": f"after-{entity_id}"},
        )
        await session.commit()


async def test_admins_filter_the_audit_log(web_app: FastAPI, sessionmaker: SessionMaker) -> None:
    admin = await browser_for(web_app, sessionmaker, role=Role.admin, name="Ada Admin")
    await _event(sessionmaker, Actor(id=admin.user.id, via="web"), "team.create", "t-1")
    await _event(sessionmaker, Actor.system(via="cli"), "service.update", "s-1")
    await _event(sessionmaker, Actor.system(via="cli"), "service.delete", "s-2")

    everything = await admin.get("/audit")
    assert everything.status_code == 200
    assert "team.create" in everything.text and "service.delete" in everything.text
    assert "Ada Admin" in everything.text and "after-t-1" in everything.text

    by_actor = await admin.get("/audit", params={"actor_id": str(admin.user.id)})
    assert 'data-action="team.create"' in by_actor.text
    assert 'data-action="service.update"' not in by_actor.text

    prefix = await admin.get("/audit", params={"action": "service."})
    assert prefix.text.count('data-action="service.') == 2
    exact = await admin.get("/audit", params={"action": "service.delete", "entity_type": "service"})
    assert exact.text.count('data-action="service.') == 1
    by_id = await admin.get("/audit", params={"entity_id": "s-1"})
    assert by_id.text.count('data-action="') == 1

    future = await admin.get("/audit", params={"since": "2199-01-01T00:00"})
    assert "No events match." in future.text
    past = await admin.get("/audit", params={"until": "2000-01-01T00:00", "action": "team."})
    assert 'data-action="team.create"' not in past.text

    bad = await admin.get("/audit", params={"since": "yesterday"})
    assert bad.status_code == 200 and 'aria-invalid="true"' in bad.text
    assert 'value="yesterday"' in bad.text


async def test_only_admins_see_the_audit_log(web_app: FastAPI, sessionmaker: SessionMaker) -> None:
    responder = await browser_for(web_app, sessionmaker)
    assert (await responder.get("/audit")).status_code == 403
    assert 'href="/audit"' not in (await responder.get("/")).text
