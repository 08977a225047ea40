"""Alertmanager, Grafana, Datadog, New Relic and signed generic webhooks, end to end."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import httpx

from app.catalog.models import Service
from app.ingest.signing import sign
from tests import incident_helpers as h
from tests.factories import Login
from tests.ingest.conftest import alerts_of, fixture, incidents_of, make_integration


async def _one_incident(api: httpx.AsyncClient, admin: Login, svc: Service) -> dict[str, Any]:
    async def found() -> list[dict[str, Any]]:
        return await incidents_of(api, admin, svc.id)

    [inc] = await h.eventually(found)
    return inc


async def _status(api: httpx.AsyncClient, admin: Login, inc: dict[str, Any], want: str) -> None:
    async def check() -> bool:
        r = await api.get(f"/api/v1/incidents/{inc['id']}", headers=admin.headers)
        return r.json()["status"] == want

    await h.eventually(check)


async def test_alertmanager_group_is_one_incident_updated_by_fingerprint_then_resolved(
    api: httpx.AsyncClient, admin: Login, svc: Service
) -> None:
    integ = await make_integration(api, admin, svc, "alertmanager")
    url = f"/integrations/{integ['key']}/alertmanager"
    assert integ["url"] == f"http://127.0.0.1:8000{url}"
    firing = fixture("alertmanager_v4_firing.json")
    r = await api.post(url, json=firing)
    assert r.status_code == 202, r.text
    assert r.json()["alerts"] == 2 and r.json()["truncated_alerts"] == 0
    inc = await _one_incident(api, admin, svc)
    assert inc["title"] == "p99 latency above 2s" and inc["severity"] == "critical"

    async def keyed_alerts() -> list[dict[str, Any]]:
        rows = await alerts_of(api, admin, inc["id"])
        return rows if len(rows) == 2 else []

    rows = await h.eventually(keyed_alerts)
    assert {a["details"]["fingerprint"] for a in rows} == {"5ac3d4e1b2f09a77", "9e01f2aa7c3b4d55"}

    # A re-send (one alert now resolved, annotations changed, alerts truncated) updates rows.
    again = copy.deepcopy(firing)
    again["alerts"][1]["status"] = "resolved"
    again["alerts"][0]["annotations"]["summary"] = "p99 latency above 3s"
    again["truncatedAlerts"] = 4
    r = await api.post(url, json=again)
    assert r.status_code == 202 and r.json()["truncated_alerts"] == 4

    async def updated() -> list[dict[str, Any]]:
        rows = await alerts_of(api, admin, inc["id"])
        by = {a["details"]["fingerprint"]: a for a in rows}
        ok = len(rows) == 2 and by["9e01f2aa7c3b4d55"]["details"]["status"] == "resolved"
        return rows if ok and by["5ac3d4e1b2f09a77"]["summary"] == "p99 latency above 3s" else []

    rows = await h.eventually(updated)
    assert all(a["details"]["group"]["truncated_alerts"] == 4 for a in rows)

    r = await api.post(url, json=fixture("alertmanager_v4_resolved.json"))
    assert r.status_code == 202
    await _status(api, admin, inc, "resolved")
    assert len(await incidents_of(api, admin, svc.id)) == 1


async def test_grafana_firing_then_ok_resolves(
    api: httpx.AsyncClient, admin: Login, svc: Service
) -> None:
    integ = await make_integration(api, admin, svc, "grafana")
    url = f"/integrations/{integ['key']}/grafana"
    firing = fixture("grafana_firing.json")
    assert (await api.post(url, json=firing)).status_code == 202
    inc = await _one_incident(api, admin, svc)
    assert inc["title"] == "CPU above 90%"
    [alert] = await h.eventually(lambda: alerts_of(api, admin, inc["id"]))
    hrefs = {link["text"]: link["href"] for link in alert["details"]["links"]}
    assert hrefs["Dashboard"] == "https://grafana.example.com/d/api"
    resolved = copy.deepcopy(firing)
    resolved.update(status="resolved", state="ok")
    resolved["alerts"][0]["status"] = "resolved"
    assert (await api.post(url, json=resolved)).status_code == 202
    await _status(api, admin, inc, "resolved")


async def test_datadog_p1_triggers_critical_and_recovered_resolves(
    api: httpx.AsyncClient, admin: Login, svc: Service
) -> None:
    integ = await make_integration(api, admin, svc, "datadog")
    url = f"/integrations/{integ['key']}/datadog"
    hook = fixture("datadog_webhook.json")
    assert (await api.post(url, json=hook)).status_code == 202
    inc = await _one_incident(api, admin, svc)
    assert inc["severity"] == "critical" and inc["title"].startswith("[Triggered]")
    recovered = {**hook, "alert_transition": "Recovered", "title": "[Recovered] Error rate"}
    assert (await api.post(url, json=recovered)).status_code == 202
    await _status(api, admin, inc, "resolved")


async def test_newrelic_activated_acknowledged_closed(
    api: httpx.AsyncClient, admin: Login, svc: Service
) -> None:
    integ = await make_integration(api, admin, svc, "newrelic")
    url = f"/integrations/{integ['key']}/newrelic"
    issue = fixture("newrelic_workflow.json")
    assert (await api.post(url, json=issue)).status_code == 202
    inc = await _one_incident(api, admin, svc)
    assert inc["severity"] == "critical"
    assert (await api.post(url, json={**issue, "state": "ACKNOWLEDGED"})).status_code == 202
    await _status(api, admin, inc, "acknowledged")
    assert (await api.post(url, json={**issue, "state": "CLOSED"})).status_code == 202
    await _status(api, admin, inc, "resolved")


def signed(secret: str, body: bytes, ts: int | None = None) -> dict[str, str]:
    """Headers as `curl` would send them for a signed generic webhook."""
    stamp = int(time.time()) if ts is None else ts
    return {
        "Content-Type": "application/json",
        "X-PageFree-Timestamp": str(stamp),
        "X-PageFree-Signature": sign(secret, stamp, body),
    }


async def test_signed_generic_webhook_opens_and_resolves(
    api: httpx.AsyncClient, admin: Login, svc: Service
) -> None:
    integ = await make_integration(
        api, admin, svc, "generic", severity_map={"sev2": {"severity": "error"}}
    )
    assert integ["secret"].startswith("pfwh_") and integ["signed"]
    url = f"/integrations/{integ['key']}/generic"
    body = json.dumps({"summary": "Queue backlog", "dedup_key": "q1", "severity": "sev2"}).encode()
    r = await api.post(url, content=body, headers=signed(integ["secret"], body))
    assert r.status_code == 202, r.text
    assert r.json()["dedup_keys"] == ["q1"]
    inc = await _one_incident(api, admin, svc)
    assert inc["severity"] == "error" and inc["title"] == "Queue backlog"
    done = json.dumps({"dedup_key": "q1", "action": "resolve"}).encode()
    assert (
        await api.post(url, content=done, headers=signed(integ["secret"], done))
    ).status_code == 202
    await _status(api, admin, inc, "resolved")


async def test_send_test_alert_opens_an_incident_and_is_logged(
    api: httpx.AsyncClient, admin: Login, svc: Service
) -> None:
    integ = await make_integration(api, admin, svc, "alertmanager")
    r = await api.post(f"/api/v1/integrations/{integ['id']}/test", headers=admin.headers)
    assert r.status_code == 202, r.text
    assert r.json()["dedup_key"].startswith("pagefree-test-")
    inc = await _one_incident(api, admin, svc)
    assert inc["title"] == "Test alert from PageFree" and inc["severity"] == "info"
    log = (
        await api.get(
            f"/api/v1/services/{svc.id}/integrations/{integ['id']}/deliveries",
            headers=admin.headers,
        )
    ).json()
    assert [(d["endpoint"], d["outcome"]) for d in log] == [("test", "accepted")]
