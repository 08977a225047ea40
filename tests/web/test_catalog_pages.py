"""The dependency graph page, the incident page's probable causes, the team-default label."""

from __future__ import annotations

import re
import uuid

from fastapi import FastAPI
from sqlalchemy import update

from app.catalog.models import Service, ServiceDependency
from app.db import SessionMaker
from app.identity.models import Role, Team
from tests.catalog.test_dependencies import make_services, open_incident
from tests.web.conftest import browser_for


async def test_graph_page_draws_nodes_coloured_by_open_incidents_with_links(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    web, api, db = await make_services(sessionmaker, 3, prefix="g")
    async with sessionmaker() as session:
        session.add_all(
            [
                ServiceDependency(service_id=web, depends_on_id=api),
                ServiceDependency(service_id=api, depends_on_id=db),
            ]
        )
        await session.commit()
    await open_incident(sessionmaker, db, "db-down")
    admin = await browser_for(web_app, sessionmaker, role=Role.admin)
    page = await admin.get(f"/services/{web}/graph?direction=upstream&depth=5")
    assert page.status_code == 200, page.text
    svg = page.text[page.text.index("<svg") : page.text.index("</svg>")]
    for sid in (web, api, db):
        assert f'<a href="/services/{sid}" class="node" data-service-id="{sid}"' in svg
    assert svg.count('class="edge') == 2
    assert re.search(rf'data-service-id="{db}" data-open-incidents="1"', svg)
    assert 'fill="#fdecea"' in svg and 'fill="#eaf7ee"' in svg  # hot and calm nodes
    # Only one hop up: the database is out of the picture.
    near = await admin.get(f"/services/{web}/graph?direction=upstream&depth=1")
    assert f'data-service-id="{db}"' not in near.text
    assert (await admin.get(f"/services/{web}/graph?depth=99")).status_code == 422
    assert (await admin.get(f"/services/{uuid.uuid4()}/graph")).status_code == 404

    # An admin adds and removes edges on the page; a cycle is refused with its path.
    added = await admin.post(f"/services/{db}/dependencies", {"depends_on": str(web)})
    assert added.status_code == 409 and "g-002 → g-000 → g-001 → g-002" in added.text
    await admin.get(f"/services/{web}/graph")
    removed = await admin.post(f"/services/{web}/dependencies/{api}/delete")
    assert removed.status_code == 303
    whole = await admin.get("/catalog/graph")
    assert whole.status_code == 200 and whole.text.count('class="edge') == 1


async def test_incident_page_names_upstream_services_with_open_incidents(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    web, api, db, other = await make_services(sessionmaker, 4, prefix="c")
    async with sessionmaker() as session:
        session.add_all(
            [
                ServiceDependency(service_id=web, depends_on_id=api),
                ServiceDependency(service_id=api, depends_on_id=db),
            ]
        )
        await session.commit()
    await open_incident(sessionmaker, db, "db-down")
    await open_incident(sessionmaker, other, "unrelated")
    incident = await open_incident(sessionmaker, web, "checkout-slow")
    me = await browser_for(web_app, sessionmaker)
    page = await me.get(f"/incidents/{incident}")
    assert page.status_code == 200, page.text
    found = re.search(r'<dd id="probable-causes">(.*?)</dd>', page.text)
    assert found and "Probably caused by" in found.group(1)
    assert "c-002" in found.group(1) and "c-003" not in found.group(1)
    # An incident whose upstream is healthy shows no such line.
    alone = await open_incident(sessionmaker, db, "db-again")
    assert 'id="probable-causes"' not in (await me.get(f"/incidents/{alone}")).text


async def test_service_page_says_when_the_policy_is_the_team_default(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    (svc,) = await make_services(sessionmaker, 1, prefix="t")
    async with sessionmaker() as session:
        row = await session.get(Service, svc)
        assert row is not None
        team = Team(name="Owners", default_escalation_policy_id=row.escalation_policy_id)
        session.add(team)
        await session.flush()
        await session.execute(
            update(Service)
            .where(Service.id == svc)
            .values(team_id=team.id, escalation_policy_id=None)  # type: ignore[arg-type]
        )
        await session.commit()
    me = await browser_for(web_app, sessionmaker)
    page = await me.get(f"/services/{svc}")
    assert page.status_code == 200, page.text
    assert 't policy</a> <span class="muted" id="policy-source">(the team\'s default)' in page.text
    listing = await me.get("/services")
    assert "team default" in listing.text


async def test_admin_sets_and_clears_a_team_default_policy_on_the_teams_page(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    (svc,) = await make_services(sessionmaker, 1, prefix="d")
    async with sessionmaker() as session:
        row = await session.get(Service, svc)
        assert row is not None
        policy_id = row.escalation_policy_id
        team = Team(name="Infra")
        session.add(team)
        await session.commit()
        team_id = team.id
    admin = await browser_for(web_app, sessionmaker, role=Role.admin)
    await admin.get("/teams")
    url = f"/teams/{team_id}/default-policy"
    assert (
        await admin.post(url, {"default_escalation_policy_id": str(policy_id)})
    ).status_code == 303
    page = await admin.get("/teams")
    assert f'<span id="team-default-{team_id}">d policy</span>' in page.text
    async with sessionmaker() as session:
        found = await session.get(Team, team_id)
        assert found is not None and found.default_escalation_policy_id == policy_id
    assert (await admin.post(url, {"default_escalation_policy_id": ""})).status_code == 303
    page = await admin.get("/teams")
    assert f'<span id="team-default-{team_id}">none</span>' in page.text
    responder = await browser_for(web_app, sessionmaker)
    await responder.get("/teams")
    refused = await responder.post(url, {"default_escalation_policy_id": str(policy_id)})
    assert refused.status_code == 403
