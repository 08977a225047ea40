"""PagerDuty Events API v2 through HTTP: open, acknowledge and resolve, PagerDuty's shapes."""

from __future__ import annotations

import copy

import httpx

from app.catalog.models import Service
from tests import incident_helpers as h
from tests.factories import Login
from tests.ingest.conftest import alerts_of, deliveries_of, fixture, incidents_of, make_integration


async def test_trigger_acknowledge_resolve_by_dedup_key(
    api: httpx.AsyncClient, admin: Login, svc: Service
) -> None:
    integ = await make_integration(api, admin, svc, "pagerduty")
    assert integ["url"].endswith("/v2/enqueue") and len(integ["key"]) == 32
    event = fixture("pagerduty_v2_trigger.json")
    event["routing_key"] = integ["key"]

    r = await api.post("/v2/enqueue", json=event)
    assert r.status_code == 202, r.text
    assert r.json() == {"status": "success", "message": "Event processed", "dedup_key": "db-7/disk"}

    async def opened() -> list[dict]:  # type: ignore[type-arg]
        return await incidents_of(api, admin, svc.id)

    [inc] = await h.eventually(opened)
    assert inc["title"] == "Disk 97% full on db-7" and inc["severity"] == "critical"
    assert inc["dedup_key"] == "db-7/disk"
    [alert] = await alerts_of(api, admin, inc["id"])
    assert alert["source"] == "db-7.internal"
    assert alert["details"]["custom_details"] == {"free": "3%", "mount": "/var/lib/postgresql"}
    assert alert["details"]["links"][0]["href"] == "https://grafana.example.com/d/disk"
    assert "routing_key" not in alert["details"]["raw"]  # the key is a credential

    ack = {"routing_key": integ["key"], "event_action": "acknowledge", "dedup_key": "db-7/disk"}
    r = await api.post("/v2/enqueue", json=ack)
    assert r.status_code == 202 and r.json()["dedup_key"] == "db-7/disk"

    async def status_is(want: str) -> bool:
        got = (await api.get(f"/api/v1/incidents/{inc['id']}", headers=admin.headers)).json()
        return got["status"] == want

    await h.eventually(lambda: status_is("acknowledged"))
    resolve = {**ack, "event_action": "resolve"}
    assert (await api.post("/v2/enqueue", json=resolve)).status_code == 202
    await h.eventually(lambda: status_is("resolved"))
    timeline = (
        await api.get(f"/api/v1/incidents/{inc['id']}/timeline", headers=admin.headers)
    ).json()
    acked = next(e for e in timeline if e["type"] == "acknowledged")
    assert acked["actor"] == {"type": "integration", "id": integ["id"], "via": "events"}

    log = await deliveries_of(api, admin, integ["id"])
    assert [d["outcome"] for d in log] == ["accepted"] * 3
    assert all(d["status_code"] == 202 and d["latency_ms"] > 0 for d in log)


async def test_resolve_for_unknown_key_is_success_without_effect(
    api: httpx.AsyncClient, admin: Login, svc: Service
) -> None:
    integ = await make_integration(api, admin, svc, "pagerduty")
    for action in ("acknowledge", "resolve"):
        r = await api.post(
            "/v2/enqueue",
            json={"routing_key": integ["key"], "event_action": action, "dedup_key": "nothing"},
        )
        assert r.status_code == 202 and r.json()["status"] == "success"
    assert await incidents_of(api, admin, svc.id) == []
    log = await deliveries_of(api, admin, integ["id"])
    assert all(d["detail"]["no_incident"] == ["nothing"] for d in log)


async def test_trigger_without_dedup_key_gets_a_generated_one(
    api: httpx.AsyncClient, admin: Login, svc: Service
) -> None:
    integ = await make_integration(api, admin, svc, "pagerduty")
    event = copy.deepcopy(fixture("pagerduty_v2_trigger.json"))
    event["routing_key"] = integ["key"]
    del event["dedup_key"]
    keys = set()
    for _ in range(2):
        r = await api.post("/v2/enqueue", json=event)
        assert r.status_code == 202
        keys.add(r.json()["dedup_key"])
    assert len(keys) == 2 and all(len(k) == 32 for k in keys)

    async def two() -> bool:
        return len(await incidents_of(api, admin, svc.id)) == 2

    await h.eventually(two)
