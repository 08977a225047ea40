"""Pure normalizers, table-driven from each tool's documented example payloads."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from app.ingest.normalizers import NORMALIZERS, InvalidPayload
from app.ingest.payload import capped, parse_json
from app.ingest.severity import map_severity
from tests.ingest.conftest import fixture

AM_FIRING = fixture("alertmanager_v4_firing.json")
AM_RESOLVED = fixture("alertmanager_v4_resolved.json")
GRAFANA = fixture("grafana_firing.json")
DATADOG = fixture("datadog_webhook.json")
NEWRELIC = fixture("newrelic_workflow.json")
PAGERDUTY = fixture("pagerduty_v2_trigger.json")


def _with(payload: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(payload)
    out.update(changes)
    return out


# (format, payload, [(action, dedup_key, summary, severity, source, alert_key)], info subset)
CASES: list[tuple[str, Any, list[tuple[Any, ...]], dict[str, Any]]] = [
    (
        "pagerduty",
        PAGERDUTY,
        [("trigger", "db-7/disk", "Disk 97% full on db-7", "critical", "db-7.internal", None)],
        {"routing_key": "R0ut1ngKeyR0ut1ngKeyR0ut1ngKey32"},
    ),
    (
        "pagerduty",
        {
            "routing_key": "R0ut1ngKeyR0ut1ngKeyR0ut1ngKey32",
            "event_action": "resolve",
            "dedup_key": "d",
        },
        [("resolve", "d", "", None, None, None)],
        {},
    ),
    (
        "alertmanager",
        AM_FIRING,
        [
            (
                "trigger",
                '{}:{alertname="HighLatency"}',
                "p99 latency above 2s",
                "critical",
                "web-1",
                "5ac3d4e1b2f09a77",
            ),
            (
                "trigger",
                '{}:{alertname="HighLatency"}',
                "p99 latency above 2s",
                "critical",
                "web-2",
                "9e01f2aa7c3b4d55",
            ),
        ],
        {"status": "firing", "truncated_alerts": 0},
    ),
    (
        "alertmanager",
        AM_RESOLVED,
        [
            (
                "resolve",
                '{}:{alertname="HighLatency"}',
                "alertmanager: group resolved",
                None,
                None,
                None,
            )
        ]
        * 2,
        {"status": "resolved"},
    ),
    (
        "alertmanager",
        _with(AM_FIRING, truncatedAlerts=7, alerts=[]),
        [
            (
                "trigger",
                '{}:{alertname="HighLatency"}',
                "p99 latency above 2s",
                "critical",
                None,
                "group",
            )
        ],
        {"truncated_alerts": 7},
    ),
    (
        "grafana",
        GRAFANA,
        [
            (
                "trigger",
                '{}/{}:{alertname="CPU high"}',
                "CPU above 90%",
                None,
                "api-5f7c",
                "c1d2e3f4a5b6c7d8",
            )
        ],
        {"status": "firing"},
    ),
    (
        "grafana",
        {
            "ruleId": 3,
            "ruleName": "Disk",
            "state": "alerting",
            "title": "[Alerting] Disk",
            "ruleUrl": "http://g/r",
        },
        [("trigger", "grafana-rule-3", "[Alerting] Disk", None, None, None)],
        {"state": "alerting"},
    ),
    ("grafana", {"ruleId": 3, "state": "paused"}, [], {"ignored": True}),
    (
        "datadog",
        DATADOG,
        [
            (
                "trigger",
                "datadog-7340213456000",
                "[Triggered] Error rate high on checkout",
                "P1",
                "web-3",
                None,
            )
        ],
        {"transition": "Triggered"},
    ),
    (
        "datadog",
        _with(DATADOG, alert_transition="Recovered", priority=None),
        [
            (
                "resolve",
                "datadog-7340213456000",
                "[Triggered] Error rate high on checkout",
                None,
                "web-3",
                None,
            )
        ],
        {},
    ),
    (
        "datadog",
        _with(DATADOG, alert_transition="Warn", priority=None, alert_cycle_key=None),
        [
            (
                "trigger",
                "datadog-a1b2c3",
                "[Triggered] Error rate high on checkout",
                "warning",
                "web-3",
                None,
            )
        ],
        {},
    ),
    (
        "newrelic",
        NEWRELIC,
        [
            (
                "trigger",
                "newrelic-2f0e0c8a-4b1d-4c8e-9d3a-1c2b3a4d5e6f",
                NEWRELIC["title"],
                "CRITICAL",
                "checkout-api",
                None,
            )
        ],
        {"state": "ACTIVATED"},
    ),
    (
        "newrelic",
        _with(NEWRELIC, state="ACKNOWLEDGED", title=["from annotations"]),
        [
            (
                "acknowledge",
                "newrelic-2f0e0c8a-4b1d-4c8e-9d3a-1c2b3a4d5e6f",
                "from annotations",
                "CRITICAL",
                "checkout-api",
                None,
            )
        ],
        {},
    ),
    (
        "newrelic",
        _with(NEWRELIC, state="CLOSED"),
        [
            (
                "resolve",
                "newrelic-2f0e0c8a-4b1d-4c8e-9d3a-1c2b3a4d5e6f",
                NEWRELIC["title"],
                "CRITICAL",
                "checkout-api",
                None,
            )
        ],
        {},
    ),
    (
        "generic",
        {
            "title": "Backlog",
            "dedup_key": 42,
            "severity": "warning",
            "source": "queue",
            "extra": [1],
        },
        [("trigger", "42", "Backlog", "warning", "queue", None)],
        {},
    ),
    ("generic", "just text", [("trigger", None, "", None, None, None)], {}),
]


@pytest.mark.parametrize(("fmt", "payload", "expected", "info"), CASES)
def test_normalizers_turn_documented_payloads_into_events(
    fmt: str, payload: Any, expected: list[tuple[Any, ...]], info: dict[str, Any]
) -> None:
    out = NORMALIZERS[fmt](copy.deepcopy(payload))
    got = [
        (e.action, e.dedup_key, e.summary, e.severity, e.source, e.alert_key) for e in out.events
    ]
    assert got == expected
    assert info.items() <= out.info.items()


def test_unknown_fields_are_ignored_and_raw_is_kept() -> None:
    payload = _with(DATADOG, brand_new_field={"x": 1})
    [event] = NORMALIZERS["datadog"](payload).events
    assert event.raw["brand_new_field"] == {"x": 1}
    assert event.service_hints == ["checkout"]
    assert event.links == [{"href": DATADOG["link"], "text": "Datadog"}]


def test_pagerduty_service_hints_and_no_key_in_raw() -> None:
    payload = copy.deepcopy(PAGERDUTY)
    payload["payload"]["custom_details"]["service"] = "checkout"
    [event] = NORMALIZERS["pagerduty"](payload).events
    assert event.service_hints == ["postgres", "checkout"]
    assert "routing_key" not in event.raw
    assert event.details["images"][0]["src"].endswith("disk.png")
    assert event.occurred_at is not None and event.occurred_at.isoformat().startswith(
        "2026-11-20T03:14:15"
    )


def test_pagerduty_summary_is_truncated_to_1024() -> None:
    payload = copy.deepcopy(PAGERDUTY)
    payload["payload"]["summary"] = "s" * 5000
    [event] = NORMALIZERS["pagerduty"](payload).events
    assert len(event.summary) == 1024


def test_long_group_keys_are_hashed_to_a_dedup_key() -> None:
    [event, _] = NORMALIZERS["alertmanager"](_with(AM_FIRING, groupKey="g" * 1000)).events
    assert event.dedup_key is not None and event.dedup_key.startswith("alertmanager-")
    assert len(event.dedup_key) < 64


def test_invalid_payload_lists_every_problem() -> None:
    with pytest.raises(InvalidPayload) as err:
        NORMALIZERS["pagerduty"]({"event_action": "trigger", "payload": {"severity": "loud"}})
    fields = [e.field for e in err.value.errors]
    assert fields == ["routing_key", "payload.summary", "payload.source", "payload.severity"]


@pytest.mark.parametrize(
    ("raw", "overrides", "expected"),
    [
        ("critical", None, ("critical", "high")),
        ("ERROR", None, ("error", "high")),
        ("warning", None, ("warning", "low")),
        ("info", None, ("info", "low")),
        ("P1", None, ("critical", "high")),
        ("P2", None, ("error", "high")),
        ("P3", None, ("warning", "low")),
        ("P4", None, ("info", "low")),
        ("P5", None, ("info", "low")),
        ("CRITICAL", None, ("critical", "high")),
        ("HIGH", None, ("error", "high")),
        ("MEDIUM", None, ("warning", "low")),
        ("LOW", None, ("info", "low")),
        (None, None, ("critical", "high")),
        ("weird", None, ("critical", "high")),
        ("weird", {"*": {"severity": "info"}}, ("info", "low")),
        ("P3", {"p3": {"severity": "warning", "urgency": "high"}}, ("warning", "high")),
        ("warning", {"Warning": {"severity": "critical"}}, ("critical", "high")),
    ],
)
def test_severity_mapping(
    raw: str | None, overrides: dict[str, Any] | None, expected: tuple[str, str]
) -> None:
    assert map_severity(raw, overrides) == expected


def test_parse_json_cleans_what_postgres_cannot_store() -> None:
    value = parse_json(b'{"a\\u0000": "x\\u0000y", "s": "\\ud800", "n": [1.5, 2]}')
    assert value == {"a\ufffd": "x\ufffdy", "s": "\ufffd", "n": [1.5, 2]}
    for bad in (b"NaN", b'{"x": Infinity}', b"\xff", b"[" * 70 + b"]" * 70, b""):
        with pytest.raises(InvalidPayload):
            parse_json(bad)


def test_raw_payloads_are_capped() -> None:
    small = {"a": 1}
    assert capped(small) is small
    big = capped({"a": "x" * 100_000}, limit=1000)
    assert big["truncated"] is True and big["size"] > 100_000 and len(big["text"]) <= 1000
