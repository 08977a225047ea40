"""Managing integrations: keys, URLs, secrets shown once, rotation, enable/disable, audit."""

from __future__ import annotations

import json

import httpx
import pytest

from app.catalog.models import Service
from app.db import SessionMaker
from app.identity.models import Role
from tests.factories import Login, assert_problem, login
from tests.ingest.conftest import make_integration
from tests.ingest.test_receivers import signed


@pytest.mark.parametrize(
    "type_", ["pagerduty", "alertmanager", "grafana", "datadog", "newrelic", "generic"]
)
async def test_create_gives_a_32_character_key_and_the_url_to_paste(
    offline: httpx.AsyncClient, admin: Login, svc: Service, type_: str
) -> None:
    integ = await make_integration(offline, admin, svc, type_)
    assert len(integ["key"]) == 32 and integ["key"].isalnum()
    assert integ["scope"] == "service" and integ["service_id"] == str(svc.id)
    expected = (
        "http://127.0.0.1:8000/v2/enqueue"
        if type_ == "pagerduty"
        else f"http://127.0.0.1:8000/integrations/{integ['key']}/{type_}"
    )
    assert integ["url"] == expected
    assert (integ["secret"] is not None) == (type_ == "generic") == integ["signed"]
    got = await offline.get(f"/api/v1/integrations/{integ['id']}", headers=admin.headers)
    assert got.status_code == 200 and "secret" not in got.json()
    assert got.json()["key"] == integ["key"]


async def test_crud_under_a_service_and_every_change_is_audited(
    offline: httpx.AsyncClient, admin: Login, svc: Service
) -> None:
    integ = await make_integration(offline, admin, svc, "datadog")
    base = f"/api/v1/services/{svc.id}/integrations"
    listed = (await offline.get(base, headers=admin.headers)).json()
    assert listed["count"] == 1 and listed["data"][0]["id"] == integ["id"]
    patch = {
        "name": "Datadog prod",
        "enabled": False,
        "severity_map": {"P3": {"severity": "error", "urgency": "high"}},
        "rate_limit": {"per_second": 5, "burst": 10},
    }
    r = await offline.patch(f"{base}/{integ['id']}", json=patch, headers=admin.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["name"] == "Datadog prod" and body["enabled"] is False
    assert body["severity_map"] == {"P3": {"severity": "error", "urgency": "high"}}
    assert body["rate_limit"] == {"per_second": 5.0, "burst": 10}
    assert (await offline.delete(f"{base}/{integ['id']}", headers=admin.headers)).status_code == 204
    assert_problem(await offline.get(f"{base}/{integ['id']}", headers=admin.headers), 404)

    audit = (
        await offline.get("/api/v1/audit", params={"entity_id": integ["id"]}, headers=admin.headers)
    ).json()["data"]
    assert [e["action"] for e in audit] == [
        "integration.delete",
        "integration.update",
        "integration.create",
    ]
    text = json.dumps(audit)
    assert integ["key"] not in text  # the key is a credential: only its prefix is audited
    assert audit[-1]["after"]["key_prefix"] == integ["key"][:6]


async def test_another_services_integration_is_404_and_org_fields_are_checked(
    offline: httpx.AsyncClient, admin: Login, svc: Service, sessionmaker: SessionMaker
) -> None:
    integ = await make_integration(offline, admin, svc, "grafana")
    other = "00000000-0000-0000-0000-000000000001"
    assert_problem(
        await offline.get(
            f"/api/v1/services/{other}/integrations/{integ['id']}", headers=admin.headers
        ),
        404,
    )
    r = await offline.patch(
        f"/api/v1/integrations/{integ['id']}",
        json={"default_service_id": str(svc.id)},
        headers=admin.headers,
    )
    assert_problem(r, 422)
    missing_default = await offline.post(
        "/api/v1/integrations", json={"type": "grafana", "name": "x"}, headers=admin.headers
    )
    assert_problem(missing_default, 422)
    unknown = await offline.post(
        "/api/v1/integrations",
        json={"type": "grafana", "name": "x", "default_service_id": other},
        headers=admin.headers,
    )
    assert_problem(unknown, 404)
    bad_type = await offline.post(
        f"/api/v1/services/{svc.id}/integrations",
        json={"type": "nagios", "name": "x"},
        headers=admin.headers,
    )
    assert_problem(bad_type, 422)


async def test_only_admins_manage_integrations(
    offline: httpx.AsyncClient, admin: Login, svc: Service, sessionmaker: SessionMaker
) -> None:
    integ = await make_integration(offline, admin, svc, "generic")
    responder = await login(sessionmaker, role=Role.responder)
    for method, path in [
        ("GET", "/api/v1/integrations"),
        ("GET", f"/api/v1/integrations/{integ['id']}"),
        ("POST", f"/api/v1/integrations/{integ['id']}/rotate-secret"),
        ("GET", f"/api/v1/integrations/{integ['id']}/deliveries"),
        ("POST", f"/api/v1/integrations/{integ['id']}/test"),
    ]:
        assert_problem(await offline.request(method, path, headers=responder.headers), 403)
        assert_problem(await offline.request(method, path), 401)


async def test_rotating_the_secret_keeps_the_old_one_for_the_overlap(
    offline: httpx.AsyncClient, admin: Login, svc: Service
) -> None:
    integ = await make_integration(offline, admin, svc, "generic")
    url = f"/integrations/{integ['key']}/generic"
    old = integ["secret"]
    r = await offline.post(
        f"/api/v1/integrations/{integ['id']}/rotate-secret",
        json={"overlap": "PT1H"},
        headers=admin.headers,
    )
    assert r.status_code == 200, r.text
    new = r.json()["secret"]
    assert new != old and r.json()["previous_secret_expires_at"]
    body = b'{"summary": "x", "dedup_key": "k"}'
    # Both secrets pass the signature check (then the hand-off finds no Temporal: 503).
    for secret in (old, new):
        resp = await offline.post(url, content=body, headers=signed(secret, body))
        assert resp.status_code == 503, resp.text
    r = await offline.post(
        f"/api/v1/integrations/{integ['id']}/rotate-secret",
        json={"overlap": 0},
        headers=admin.headers,
    )
    newest = r.json()["secret"]
    assert r.json()["previous_secret_expires_at"] is None
    assert_problem(await offline.post(url, content=body, headers=signed(new, body)), 401)
    resp = await offline.post(url, content=body, headers=signed(newest, body))
    assert resp.status_code == 503
    not_generic = await make_integration(offline, admin, svc, "datadog")
    r = await offline.post(
        f"/api/v1/integrations/{not_generic['id']}/rotate-secret", headers=admin.headers
    )
    assert_problem(r, 409)


async def test_disabled_integration_refuses_alerts_until_enabled(
    offline: httpx.AsyncClient, admin: Login, svc: Service
) -> None:
    integ = await make_integration(offline, admin, svc, "datadog", enabled=False)
    url = f"/integrations/{integ['key']}/datadog"
    body = assert_problem(await offline.post(url, json={"title": "x"}), 403)
    assert body["type"] == "/problems/integration-disabled"
    await offline.patch(
        f"/api/v1/integrations/{integ['id']}", json={"enabled": True}, headers=admin.headers
    )
    assert (await offline.post(url, json={"title": "x"})).status_code == 503  # no Temporal
    test = await offline.post(f"/api/v1/integrations/{integ['id']}/test", headers=admin.headers)
    assert_problem(test, 503)
