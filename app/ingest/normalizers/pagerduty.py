"""PagerDuty Events API v2 (`POST /v2/enqueue`).

Field rules follow PagerDuty's documentation: `routing_key` (32 characters), `event_action`
trigger|acknowledge|resolve, `dedup_key` (at most 255 characters, required to acknowledge or
resolve), and for a trigger a `payload` with `summary` (at most 1,024 characters, longer ones
are truncated as PagerDuty does), `source` and `severity` (critical|error|warning|info), and
optional `timestamp`, `component`, `group`, `class`, `custom_details`, plus `links`, `images`,
`client` and `client_url`.
"""

from __future__ import annotations

from typing import Any

from app.ingest.normalizers.base import (
    ACTIONS,
    DEDUP_KEY_MAX,
    SUMMARY_MAX,
    Event,
    FieldError,
    InvalidPayload,
    Normalized,
    Reader,
    as_action,
    parse_time,
)

ROUTING_KEY_LENGTH = 32
SEVERITIES = ("critical", "error", "warning", "info")


def routing_key(payload: Any) -> str | None:
    """Return the event's routing key when it has one of the right shape."""
    if isinstance(payload, dict):
        key = payload.get("routing_key")
        if isinstance(key, str) and len(key) == ROUTING_KEY_LENGTH:
            return key
    return None


def _links(r: Reader, value: Any, path: str, url_field: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        r.fail(path, "must be an array")
        return []
    out = []
    for i, item in enumerate(value):
        entry = r.obj(item, f"{path}[{i}]", required=True)
        if entry and r.text(entry, url_field, f"{path}[{i}].{url_field}", required=True):
            out.append({k: v for k, v in entry.items() if isinstance(v, str)})
    return out


def normalize(payload: Any) -> Normalized:
    """Validate a PagerDuty v2 event and return it as one alert event."""
    if not isinstance(payload, dict):
        raise InvalidPayload([FieldError("", "the event must be a JSON object")])
    r = Reader()
    key = r.text(payload, "routing_key", "routing_key", required=True)
    if key is not None and len(key) != ROUTING_KEY_LENGTH:
        r.fail("routing_key", f"must be {ROUTING_KEY_LENGTH} characters")
    action = r.text(payload, "event_action", "event_action", required=True)
    if action is not None and action not in ACTIONS:
        r.fail("event_action", "must be one of trigger, acknowledge, resolve")
    dedup_key = r.text(payload, "dedup_key", "dedup_key", max_len=DEDUP_KEY_MAX)
    if action in ("acknowledge", "resolve") and dedup_key is None:
        r.fail("dedup_key", f"is required to {action}")
    body = r.obj(payload.get("payload"), "payload", required=action == "trigger")
    summary = severity = source = None
    details: dict[str, Any] = {}
    hints: list[str] = []
    occurred = None
    if action == "trigger" and body:
        summary = r.text(body, "summary", "payload.summary", required=True)
        source = r.text(body, "source", "payload.source", required=True)
        severity = r.text(body, "severity", "payload.severity", required=True)
        if severity is not None and severity not in SEVERITIES:
            r.fail("payload.severity", "must be one of critical, error, warning, info")
        if (stamp := body.get("timestamp")) is not None:
            occurred = parse_time(stamp) if isinstance(stamp, str) else None
            if occurred is None:
                r.fail("payload.timestamp", "must be an ISO 8601 timestamp")
        for name in ("component", "group", "class"):
            if (value := r.text(body, name, f"payload.{name}")) is not None:
                details[name] = value
        custom = body.get("custom_details")
        if custom is not None:
            details["custom_details"] = custom
        hints = [details["component"]] if "component" in details else []
        if isinstance(custom, dict) and isinstance(custom.get("service"), str):
            hints.append(custom["service"])
    links = _links(r, payload.get("links"), "links", "href")
    images = _links(r, payload.get("images"), "images", "src")
    for name in ("client", "client_url"):
        if (value := r.text(payload, name, name)) is not None:
            details[name] = value
    r.check()
    assert action is not None
    if images:
        details["images"] = images
    if occurred is not None:
        details["timestamp"] = occurred.isoformat()
    event = Event(
        action=as_action(action),
        dedup_key=dedup_key,
        summary=(summary or "")[:SUMMARY_MAX],
        severity=severity,
        source=source,
        links=[{"href": x["href"], "text": x.get("text", x["href"])} for x in links],
        details=details,
        service_hints=hints,
        # The routing key is the integration's credential: never kept with the alert.
        raw={k: v for k, v in payload.items() if k != "routing_key"},
        occurred_at=occurred,
    )
    return Normalized(events=[event], info={"routing_key": key})
