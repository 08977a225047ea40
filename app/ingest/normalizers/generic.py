"""Generic signed JSON webhook: any JSON; a few fields are read when present.

`summary` (or `title`, `message`), `dedup_key`, `severity`, `action` (trigger, acknowledge,
resolve), `source`, `service` (or `labels.service`) and `links` (URLs or {href, text}).
The signature is checked before this runs (see app/ingest/signing.py).
"""

from __future__ import annotations

from typing import Any

from app.ingest.normalizers.base import (
    ACTIONS,
    DEDUP_KEY_MAX,
    SUMMARY_MAX,
    Event,
    Normalized,
    Reader,
    as_action,
    link,
)


def _links(r: Reader, value: Any) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        r.fail("links", "must be an array")
        return []
    out = []
    for i, item in enumerate(value):
        if isinstance(item, dict):
            entry = link(item.get("href"), str(item.get("text") or item.get("href")))
        else:
            entry = link(item, str(item))
        if entry is None:
            r.fail(f"links[{i}]", "must be a URL or an object with href")
        else:
            out.append(entry)
    return out


def normalize(payload: Any) -> Normalized:
    """Return the alert event of a generic webhook."""
    data = payload if isinstance(payload, dict) else {}
    r = Reader()
    summary = None
    for name in ("summary", "title", "message"):
        summary = summary or r.text(data, name, name)
    dedup_key = r.text(data, "dedup_key", "dedup_key", max_len=DEDUP_KEY_MAX, numbers=True)
    severity = r.text(data, "severity", "severity")
    action = r.text(data, "action", "action") or "trigger"
    if action not in ACTIONS:
        r.fail("action", "must be one of trigger, acknowledge, resolve")
    elif action != "trigger" and dedup_key is None:
        r.fail("dedup_key", f"is required to {action}")
    source = r.text(data, "source", "source")
    service = r.text(data, "service", "service")
    labels = r.str_map(data.get("labels"), "labels")
    links = _links(r, data.get("links"))
    r.check()
    hints = [h for h in (service, labels.get("service")) if h]
    event = Event(
        action=as_action(action),
        dedup_key=dedup_key,
        summary=(summary or "")[:SUMMARY_MAX],
        severity=severity,
        source=source,
        links=links,
        details={"labels": labels} if labels else {},
        service_hints=hints,
        raw=payload,
    )
    return Normalized(events=[event])
