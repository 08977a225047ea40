"""Grafana webhooks: unified alerting (Alertmanager-like, `version` "1") and legacy alerting.

Unified alerting sends one notification per alert group like Alertmanager, plus `title`,
`message`, `state` and per-alert dashboard, panel and silence links. Legacy (dashboard)
alerting sends one rule's `state` (alerting, ok, no_data, paused, pending).
"""

from __future__ import annotations

from typing import Any

from app.ingest.normalizers import alertmanager
from app.ingest.normalizers.base import (
    SUMMARY_MAX,
    Action,
    Event,
    Normalized,
    Reader,
    links,
    short_key,
)

_LEGACY_ACTIONS: dict[str, Action] = {"alerting": "trigger", "no_data": "trigger", "ok": "resolve"}


def _is_legacy(payload: Any) -> bool:
    return (
        isinstance(payload, dict)
        and "alerts" not in payload
        and ("ruleId" in payload or "ruleName" in payload)
    )


def _legacy(payload: dict[str, Any]) -> Normalized:
    r = Reader()
    rule = r.text(payload, "ruleName", "ruleName")
    rule_id = r.text(payload, "ruleId", "ruleId", numbers=True)
    state = r.text(payload, "state", "state", required=True)
    title = r.text(payload, "title", "title")
    message = r.text(payload, "message", "message")
    rule_url = r.text(payload, "ruleUrl", "ruleUrl")
    if rule is None and rule_id is None:
        r.fail("ruleId", "is missing or blank")
    tags = r.str_map(payload.get("tags"), "tags")
    r.check()
    action = _LEGACY_ACTIONS.get(state or "")
    if action is None:  # paused, pending: nothing to page for
        return Normalized(events=[], info={"state": state, "ignored": True})
    event = Event(
        action=action,
        dedup_key=short_key(f"grafana-rule-{rule_id or rule}", "grafana"),
        summary=(title or rule or "Grafana alert")[:SUMMARY_MAX],
        severity=tags.get("severity"),
        links=links((rule_url, "Grafana rule")),
        details={"state": state, "message": message, "tags": tags},
        service_hints=[tags["service"]] if tags.get("service") else [],
        raw=payload,
    )
    return Normalized(events=[event], info={"state": state})


def normalize(payload: Any) -> Normalized:
    """Return the alert events of a Grafana webhook notification."""
    if _is_legacy(payload):
        return _legacy(payload)
    out = alertmanager.normalize(payload, tool="grafana", version="1")
    extra = {k: payload.get(k) for k in ("title", "message", "state", "orgId") if k in payload}
    for event in out.events:
        event.details.update(extra)
        if isinstance(event.raw, dict) and "valueString" in event.raw:
            event.details["value"] = event.raw["valueString"]
    return out
