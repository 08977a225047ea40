"""Organisation-wide integrations: one key, alerts routed by their service field or label."""

from __future__ import annotations

import copy
import uuid

import httpx

from app.catalog.models import Service
from app.config import Settings
from app.db import SessionMaker
from tests import incident_helpers as h
from tests.factories import Login
from tests.ingest.conftest import alerts_of, fixture, incidents_of, make_integration


async def _services(sessionmaker: SessionMaker, settings: Settings) -> tuple[Service, Service]:
    people = await h.users(sessionmaker, 1)
    pol = await h.policy(sessionmaker, settings, [h.level(300, people[0])])
    named = await h.service(sessionmaker, pol, routing_key=f"checkout-{uuid.uuid4().hex[:6]}")
    default = await h.service(sessionmaker, pol)
    return named, default


async def test_alertmanager_label_routes_else_default_and_route_is_recorded(
    api: httpx.AsyncClient, admin: Login, sessionmaker: SessionMaker, settings: Settings
) -> None:
    checkout, default = await _services(sessionmaker, settings)
    integ = await make_integration(
        api, admin, None, "alertmanager", default_service_id=str(default.id)
    )
    assert integ["scope"] == "organisation" and integ["service_id"] is None
    url = f"/integrations/{integ['key']}/alertmanager"
    firing = copy.deepcopy(fixture("alertmanager_v4_firing.json"))
    for labels in [firing["commonLabels"], *(a["labels"] for a in firing["alerts"])]:
        labels["service"] = checkout.routing_key.upper()  # matching ignores case
    assert (await api.post(url, json=firing)).status_code == 202
    stray = copy.deepcopy(fixture("alertmanager_v4_firing.json"))
    stray["groupKey"] = '{}:{alertname="Other"}'
    assert (await api.post(url, json=stray)).status_code == 202

    [inc] = await h.eventually(lambda: incidents_of(api, admin, checkout.id))
    [other] = await h.eventually(lambda: incidents_of(api, admin, default.id))
    rows = await h.eventually(lambda: alerts_of(api, admin, inc["id"]))
    assert rows[0]["details"]["route"] == {
        "scope": "organisation",
        "service": checkout.routing_key,
        "matched": checkout.routing_key.upper(),
    }
    rows = await h.eventually(lambda: alerts_of(api, admin, other["id"]))
    assert rows[0]["details"]["route"]["default"] is True


async def test_pagerduty_acknowledge_finds_the_routed_incident_without_hints(
    api: httpx.AsyncClient, admin: Login, sessionmaker: SessionMaker, settings: Settings
) -> None:
    checkout, default = await _services(sessionmaker, settings)
    integ = await make_integration(
        api, admin, None, "pagerduty", default_service_id=str(default.id)
    )
    event = copy.deepcopy(fixture("pagerduty_v2_trigger.json"))
    event["routing_key"] = integ["key"]
    event["payload"]["custom_details"]["service"] = checkout.routing_key
    assert (await api.post("/v2/enqueue", json=event)).status_code == 202
    [inc] = await h.eventually(lambda: incidents_of(api, admin, checkout.id))
    ack = {"routing_key": integ["key"], "event_action": "acknowledge", "dedup_key": "db-7/disk"}
    assert (await api.post("/v2/enqueue", json=ack)).status_code == 202

    async def acked() -> bool:
        got = await api.get(f"/api/v1/incidents/{inc['id']}", headers=admin.headers)
        return got.json()["status"] == "acknowledged"

    await h.eventually(acked)
    assert await incidents_of(api, admin, default.id) == []
