"""Datadog webhook: the JSON payload a user builds from Datadog's template variables.

The default-style payload carries `$ALERT_TRANSITION` (Triggered, Re-Triggered, Warn, Re-Warn,
No Data, Re-No Data, Renotify, Recovered), `$ALERT_CYCLE_KEY` (one alert from trigger to
recovery), `$AGGREG_KEY`, `$ALERT_ID`, `$PRIORITY` (P1-P5), `$TAGS`, `$HOSTNAME`, `$LINK`,
`$EVENT_TITLE` and `$EVENT_MSG`. Values arrive as strings; numbers are accepted too.
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

_RESOLVE = {"recovered", "warn recovered", "resolved", "ok"}
_WARNING = {"warn", "re-warn", "no data", "re-no data"}


def tags_of(value: Any) -> dict[str, str]:
    """Return `key:value` tags (a comma-separated string or a list) as a map."""
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else []
    out: dict[str, str] = {}
    for item in items:
        if isinstance(item, str) and ":" in item:
            key, _, val = item.strip().partition(":")
            out.setdefault(key, val)
    return out


def normalize(payload: Any) -> Normalized:
    """Return the alert event of a Datadog webhook."""
    if not isinstance(payload, dict):
        raise InvalidPayload([FieldError("", "the webhook payload must be a JSON object")])
    r = Reader()
    fields = {
        name: r.text(payload, name, name, numbers=True)
        for name in (
            "id",
            "title",
            "body",
            "alert_transition",
            "alert_id",
            "alert_cycle_key",
            "aggreg_key",
            "priority",
            "alert_type",
            "alert_status",
            "hostname",
            "link",
            "date",
            "last_updated",
        )
    }
    tags = payload.get("tags")
    if tags is not None and not isinstance(tags, str | list):
        r.fail("tags", "must be a string or an array")
    summary = fields["title"] or fields["body"]
    if summary is None:
        r.fail("title", "is missing or blank")
    transition = (fields["alert_transition"] or "Triggered").strip()
    action: Action = "resolve" if transition.lower() in _RESOLVE else "trigger"
    base = fields["alert_cycle_key"] or fields["aggreg_key"] or fields["alert_id"]
    if action == "resolve" and base is None:
        r.fail("alert_cycle_key", "alert_cycle_key, aggreg_key or alert_id is needed to resolve")
    r.check()
    assert summary is not None
    severity = fields["priority"]
    if severity is None and transition.lower() in _WARNING:
        severity = "warning"
    if severity is None and fields["alert_type"] in ("error", "warning", "info"):
        severity = fields["alert_type"]
    tag_map = tags_of(tags)
    event = Event(
        action=action,
        dedup_key=short_key(f"datadog-{base}", "datadog") if base else None,
        summary=summary[:SUMMARY_MAX],
        severity=severity,
        source=fields["hostname"],
        links=links((fields["link"], "Datadog")),
        details={
            "transition": transition,
            "status": fields["alert_status"],
            "body": fields["body"],
            "tags": tag_map,
            "monitor_id": fields["alert_id"],
            "event_id": fields["id"],
        },
        service_hints=[tag_map["service"]] if tag_map.get("service") else [],
        raw=payload,
        occurred_at=parse_time(fields["date"] or fields["last_updated"]),
    )
    return Normalized(events=[event], info={"transition": transition})
