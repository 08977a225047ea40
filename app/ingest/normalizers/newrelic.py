"""New Relic workflow webhook (the default payload template).

One incident per New Relic issue (`id`); `state` CREATED or ACTIVATED triggers, ACKNOWLEDGED
acknowledges, CLOSED resolves. `priority` is CRITICAL, HIGH, MEDIUM or LOW.
"""

from __future__ import annotations

from typing import Any

from app.ingest.normalizers.base import (
    SUMMARY_MAX,
    Action,
    Event,
    FieldError,
    InvalidPayload,
    Normalized,
    Reader,
    links,
    parse_time,
    short_key,
)

_ACTIONS: dict[str, Action] = {
    "CREATED": "trigger",
    "ACTIVATED": "trigger",
    "ACKNOWLEDGED": "acknowledge",
}
_ACTIONS["CLOSED"] = "resolve"


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str) and v]
    return []


def normalize(payload: Any) -> Normalized:
    """Return the alert event of a New Relic workflow notification."""
    if not isinstance(payload, dict):
        raise InvalidPayload([FieldError("", "the webhook payload must be a JSON object")])
    r = Reader()
    issue_id = r.text(payload, "id", "id", required=True, numbers=True)
    state = r.text(payload, "state", "state") or "ACTIVATED"
    if state.upper() not in _ACTIONS:
        r.fail("state", "must be CREATED, ACTIVATED, ACKNOWLEDGED or CLOSED")
    titles = _strings(payload.get("title"))  # some templates send annotations.title (a list)
    if payload.get("title") is not None and not titles:
        r.fail("title", "must be a string or an array of strings")
    priority = r.text(payload, "priority", "priority")
    issue_url = r.text(payload, "issueUrl", "issueUrl")
    entities = _strings(payload.get("impactedEntities"))
    conditions = _strings(payload.get("alertConditionNames"))
    policies = _strings(payload.get("alertPolicyNames"))
    service = r.text(payload, "service", "service")
    r.check()
    assert issue_id is not None
    summary = titles[0] if titles else (conditions[0] if conditions else "New Relic issue")
    hints = ([service] if service else []) + entities
    tags = payload.get("accumulations")
    if isinstance(tags, dict) and isinstance(tags.get("tag"), dict):
        hints += _strings(tags["tag"].get("service"))
    event = Event(
        action=_ACTIONS[state.upper()],
        dedup_key=short_key(f"newrelic-{issue_id}", "newrelic"),
        summary=summary[:SUMMARY_MAX],
        severity=priority,
        source=entities[0] if entities else None,
        links=links((issue_url, "New Relic issue")),
        details={
            "state": state.upper(),
            "priority": priority,
            "impacted_entities": entities,
            "conditions": conditions,
            "policies": policies,
            "workflow": payload.get("workflowName"),
            "total_incidents": payload.get("totalIncidents"),
        },
        service_hints=hints,
        raw=payload,
        occurred_at=parse_time(payload.get("createdAt")),
    )
    return Normalized(events=[event], info={"state": state.upper()})
