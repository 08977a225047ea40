"""Bad input: each format's own error shape, a delivery-log row, never a 500, nothing handed off.

These run against an API with no Temporal at all: a request that got past validation would
be answered 503, so any 4xx here proves nothing reached a workflow.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.catalog.models import Service
from app.config import Settings
from app.ingest import receive
from app.temporal import LazyClient
from tests.factories import Login, assert_problem
from tests.ingest.conftest import deliveries_of, fixture, make_integration
from tests.ingest.test_receivers import signed

FORMATS = ["alertmanager", "grafana", "datadog", "newrelic", "generic"]
EXAMPLES = {
    "pagerduty": "pagerduty_v2_trigger.json",
    "alertmanager": "alertmanager_v4_firing.json",
    "grafana": "grafana_firing.json",
    "datadog": "datadog_webhook.json",
    "newrelic": "newrelic_workflow.json",
}


def assert_pagerduty_error(r: httpx.Response, status: int = 400) -> dict[str, Any]:
    """Assert PagerDuty's error shape."""
    assert r.status_code == status, r.text
    body = r.json()
    assert body["status"] in ("invalid event", "throttle event", "unavailable")
    assert isinstance(body["message"], str) and isinstance(body["errors"], list)
    assert all(isinstance(e, str) for e in body["errors"])
    return body  # type: ignore[no-any-return]


async def _post(
    client: httpx.AsyncClient, integ: dict[str, Any], content: bytes, ctype: str | None = None
) -> httpx.Response:
    headers = signed(integ["secret"], content) if integ["type"] == "generic" else {}
    headers["Content-Type"] = ctype or "application/json"
    path = "/v2/enqueue" if integ["type"] == "pagerduty" else integ["url"].split("8000", 1)[1]
    return await client.post(path, content=content, headers=headers)


BAD_BODIES: list[tuple[str, bytes]] = [
    ("malformed json", b'{"summary": "x",'),
    ("not utf-8", b'{"summary": "\xff\xfe"}'),
    ("nan", b'{"summary": NaN}'),
    ("too deep", b"[" * 100 + b"]" * 100),
]


@pytest.mark.parametrize(("case", "content"), BAD_BODIES, ids=[c for c, _ in BAD_BODIES])
@pytest.mark.parametrize("type_", FORMATS)
async def test_unparseable_bodies_are_400_problems_and_logged(
    offline: httpx.AsyncClient, admin: Login, svc: Service, type_: str, case: str, content: bytes
) -> None:
    integ = await make_integration(offline, admin, svc, type_)
    body = assert_problem(await _post(offline, integ, content), 400)
    assert body["type"] == "/problems/invalid-payload"
    [row] = await deliveries_of(offline, admin, integ["id"])
    assert (row["outcome"], row["status_code"], row["alert_count"]) == ("rejected", 400, 0)
    assert row["error"]


@pytest.mark.parametrize("case", [c for c, _ in BAD_BODIES])
async def test_unparseable_pagerduty_events_get_pagerduty_errors(
    offline: httpx.AsyncClient, case: str
) -> None:
    content = dict(BAD_BODIES)[case]
    assert_pagerduty_error(await offline.post("/v2/enqueue", content=content))


MISSING = [
    ("alertmanager", {"version": "4", "status": "firing", "alerts": []}, "groupKey"),
    ("alertmanager", {**fixture(EXAMPLES["alertmanager"]), "status": "burning"}, "status"),
    ("alertmanager", {**fixture(EXAMPLES["alertmanager"]), "version": "3"}, "version"),
    ("alertmanager", {**fixture(EXAMPLES["alertmanager"]), "alerts": {"a": 1}}, "alerts"),
    (
        "alertmanager",
        {**fixture(EXAMPLES["alertmanager"]), "truncatedAlerts": "2"},
        "truncatedAlerts",
    ),
    ("grafana", {**fixture(EXAMPLES["grafana"]), "alerts": [7]}, "alerts[0]"),
    ("datadog", {"alert_transition": "Triggered"}, "title"),
    ("datadog", {"title": ["x"]}, "title"),
    ("datadog", {"title": "x", "alert_transition": "Recovered"}, "alert_cycle_key"),
    ("newrelic", {"title": "x", "state": "ACTIVATED"}, "id"),
    ("newrelic", {**fixture(EXAMPLES["newrelic"]), "state": "EXPLODED"}, "state"),
    ("generic", {"summary": 12}, "summary"),
    ("generic", {"action": "resolve"}, "dedup_key"),
    ("generic", {"action": "snooze", "dedup_key": "k"}, "action"),
    ("generic", {"dedup_key": "k" * 300}, "dedup_key"),
    ("generic", {"links": "http://x"}, "links"),
    ("generic", [1, 2, 3], None),  # any JSON is accepted: this one passes validation
]


@pytest.mark.parametrize(("type_", "payload", "field"), MISSING)
async def test_missing_fields_and_wrong_types_name_the_field(
    offline: httpx.AsyncClient,
    admin: Login,
    svc: Service,
    type_: str,
    payload: Any,
    field: str | None,
) -> None:
    integ = await make_integration(offline, admin, svc, type_)
    r = await _post(offline, integ, json.dumps(payload).encode())
    if field is None:
        assert_problem(r, 503)  # valid: it went on to the (absent) Temporal
        return
    body = assert_problem(r, 400)
    assert field in [e["field"] for e in body["errors"]], body


PD_BAD = [
    ({"routing_key": None, "event_action": "trigger"}, "routing_key"),
    ({"routing_key": "short", "event_action": "trigger"}, "routing_key"),
    ({"event_action": "explode"}, "event_action"),
    ({"event_action": "acknowledge"}, "dedup_key"),
    ({"event_action": "trigger", "dedup_key": "k" * 256}, "dedup_key"),
    ({"event_action": "trigger"}, "payload"),
    (
        {"event_action": "trigger", "payload": {"source": "s", "severity": "critical"}},
        "payload.summary",
    ),
    (
        {"event_action": "trigger", "payload": {"summary": "s", "source": "s", "severity": "bad"}},
        "payload.severity",
    ),
    (
        {"event_action": "trigger", "payload": {"summary": "s", "severity": "info"}},
        "payload.source",
    ),
    (
        {"event_action": "trigger", "payload": {"summary": 5, "source": "s", "severity": "info"}},
        "payload.summary",
    ),
    ({"event_action": "trigger", "payload": "text"}, "payload"),
    (
        {
            "event_action": "trigger",
            "payload": {"summary": "s", "source": "s", "severity": "info", "timestamp": "soon"},
        },
        "payload.timestamp",
    ),
    (
        {"event_action": "resolve", "dedup_key": "k", "links": [{"text": "no href"}]},
        "links[0].href",
    ),
    ({"event_action": "resolve", "dedup_key": "k", "images": "x"}, "images"),
]


@pytest.mark.parametrize(("event", "field"), PD_BAD)
async def test_invalid_pagerduty_events_name_the_field(
    offline: httpx.AsyncClient, admin: Login, svc: Service, event: dict[str, Any], field: str
) -> None:
    integ = await make_integration(offline, admin, svc, "pagerduty")
    sent = {"routing_key": integ["key"], **event}
    body = assert_pagerduty_error(await offline.post("/v2/enqueue", json=sent))
    assert body["status"] == "invalid event"
    assert any(e.startswith(field + ":") for e in body["errors"]), body


@pytest.mark.parametrize("type_", ["pagerduty", *FORMATS])
async def test_unknown_key_wrong_content_type_and_oversized_body(
    offline: httpx.AsyncClient, admin: Login, svc: Service, type_: str
) -> None:
    integ = await make_integration(offline, admin, svc, type_)
    example = fixture(EXAMPLES.get(type_, "datadog_webhook.json"))
    limit = receive.MAX_BODY.get(type_, receive.DEFAULT_MAX_BODY)
    huge = json.dumps({**example, "pad": "x" * limit}).encode()
    if type_ == "pagerduty":
        unknown = {**example, "routing_key": "0" * 32}
        assert_pagerduty_error(await offline.post("/v2/enqueue", json=unknown))
        assert_pagerduty_error(
            await offline.post(
                "/v2/enqueue",
                content=b"routing_key=x",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        )
        assert_pagerduty_error(await _post(offline, integ, huge), 413)
    else:
        r = await offline.post(f"/integrations/{'0' * 32}/{type_}", json=example)
        assert assert_problem(r, 404)["type"] == "/problems/unknown-integration"
        r = await _post(offline, integ, b"summary=x", "application/x-www-form-urlencoded")
        assert_problem(r, 415)
        assert_problem(await _post(offline, integ, huge), 413)
    unmatched = await deliveries_of(offline, admin, unmatched=True)
    assert unmatched and all(d["integration_id"] is None for d in unmatched)
    assert any(d["detail"].get("key_prefix") == "000000" for d in unmatched)
    # PagerDuty's key travels in the body, so a body too large to read is logged unmatched.
    rows = unmatched if type_ == "pagerduty" else await deliveries_of(offline, admin, integ["id"])
    assert (413, "rejected") in {(d["status_code"], d["outcome"]) for d in rows}


async def test_unknown_format_is_404_and_logged(offline: httpx.AsyncClient, admin: Login) -> None:
    assert_problem(await offline.post(f"/integrations/{'a' * 32}/nagios", json={}), 404)
    [row] = await deliveries_of(offline, admin, unmatched=True)
    assert row["endpoint"] == "nagios" and row["status_code"] == 404


@pytest.mark.parametrize("type_", ["pagerduty", *FORMATS])
async def test_temporal_unreachable_is_503_with_retry_after(
    offline: httpx.AsyncClient, admin: Login, svc: Service, type_: str
) -> None:
    integ = await make_integration(offline, admin, svc, type_)
    example = fixture(EXAMPLES.get(type_, "datadog_webhook.json"))
    if type_ == "pagerduty":
        example["routing_key"] = integ["key"]
    r = await _post(offline, integ, json.dumps(example).encode())
    assert r.status_code == 503, r.text
    assert int(r.headers["Retry-After"]) >= 1
    if type_ == "pagerduty":
        assert_pagerduty_error(r, 503)
    else:
        assert_problem(r, 503)
    [row] = await deliveries_of(offline, admin, integ["id"])
    assert (row["outcome"], row["status_code"]) == ("unavailable", 503)


async def test_temporal_address_that_refuses_is_503(
    settings: Settings, database_url: str, admin: Login, svc: Service
) -> None:
    from api import create_app

    app: FastAPI = create_app(settings, database_url=database_url)
    app.state.temporal = LazyClient(settings, "127.0.0.1:1")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            integ = await make_integration(c, admin, svc, "alertmanager")
            r = await c.post(
                integ["url"].split("8000", 1)[1], json=fixture(EXAMPLES["alertmanager"])
            )
            assert_problem(r, 503)
            assert r.headers["Retry-After"]
