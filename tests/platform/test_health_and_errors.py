"""Probes, problem bodies and the migration guard."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from api import create_app
from app.config import Settings
from app.db import NotMigratedError, SessionMaker
from app.devstack import EmbeddedPostgres
from app.identity.models import Role
from tests.factories import assert_problem, login


async def test_healthz_is_up(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_readyz_names_temporal_when_it_is_down(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/readyz"), 503)
    assert body["checks"] == {"postgresql": "ok", "temporal": "down"}
    assert body["detail"] == "not ready: temporal"


async def test_every_response_carries_a_request_id_and_echoes_the_callers(
    client: httpx.AsyncClient,
) -> None:
    mine = await client.get("/healthz", headers={"X-Request-ID": "trace-42"})
    assert mine.headers["x-request-id"] == "trace-42"
    made = await client.get("/api/v1/nothing-here")
    assert made.status_code == 404 and len(made.headers["x-request-id"]) == 32


async def test_unknown_route_and_method_are_problems(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/nothing-here"), 404)
    assert_problem(await client.put("/healthz"), 405)


async def test_app_refuses_to_start_on_an_unmigrated_database(
    pg: EmbeddedPostgres, settings: Settings
) -> None:
    with psycopg.connect(pg.url("postgres", driver="postgresql"), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS unmigrated WITH (FORCE)")
        conn.execute("CREATE DATABASE unmigrated")
    app = create_app(settings, database_url=pg.url("unmigrated"))
    with pytest.raises(NotMigratedError, match="pagefree migrate"):
        async with app.router.lifespan_context(app):
            pass


async def test_audit_log_rejects_updates_and_deletes(database_url: str) -> None:
    url = database_url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO audit_events (actor_type, action, entity_type, entity_id) "
            "VALUES ('system', 'x.test', 'x', '1')"
        )
        for statement in ("UPDATE audit_events SET action = 'y'", "DELETE FROM audit_events"):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(statement)


async def test_opening_an_incident_while_temporal_is_down_is_503_not_accepted(
    client: httpx.AsyncClient,
    sessionmaker,
    settings: Settings,  # type: ignore[no-untyped-def]
) -> None:
    from app.identity.models import Role
    from tests import incident_helpers as h
    from tests.factories import login

    (a,) = await h.users(sessionmaker, 1)
    svc = await h.service(sessionmaker, await h.policy(sessionmaker, settings, [h.level(60, a)]))
    me = await login(sessionmaker, role=Role.responder)
    response = await client.post(
        "/api/v1/incidents", json={"service_id": str(svc.id), "title": "x"}, headers=me.headers
    )
    body = assert_problem(response, 503)
    assert response.headers["retry-after"] == "5" and "Temporal" in body["detail"]


async def test_readyz_shows_provider_errors_and_channels_to_signed_in_callers_only(
    client: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    anonymous = assert_problem(await client.get("/readyz"), 503)
    assert "Temporal:" not in anonymous["detail"] and anonymous["notifications"] is None
    forged = await client.get("/readyz", headers={"Authorization": "Bearer pf_not-a-token"})
    assert "Temporal:" not in forged.json()["detail"]
    me = await login(sessionmaker, role=Role.observer)
    detailed = assert_problem(await client.get("/readyz", headers=me.headers), 503)
    assert detailed["detail"].startswith("Temporal:")
    assert detailed["notifications"]["channels"]
