"""Prometheus Alertmanager webhook (version 4); Grafana's unified alerting reuses it.

One incident per Alertmanager group: the dedup key is the `groupKey`. Each alert of the group
is an alert event keyed by its `fingerprint`, so every re-send of the group updates the same
alert rows. A group whose `status` is `resolved` resolves the incident.
"""

from __future__ import annotations

from typing import Any

from app.ingest.normalizers.base import (
    SUMMARY_MAX,
    Event,
    FieldError,
    InvalidPayload,
    Normalized,
    Reader,
    labels_fingerprint,
    links,
    parse_time,
    short_key,
)

STATUSES = ("firing", "resolved")
_SOURCE_LABELS = ("instance", "host", "hostname", "pod", "job")
# Per-alert URLs a sender may add, shown as links (Grafana adds the last three).
_ALERT_LINKS = (
    ("generatorURL", "Source"),
    ("dashboardURL", "Dashboard"),
    ("panelURL", "Panel"),
    ("silenceURL", "Silence"),
)


def _alert(r: Reader, item: Any, i: int, group_status: str) -> dict[str, Any]:
    path = f"alerts[{i}]"
    data = r.obj(item, path, required=True)
    status = r.text(data, "status", f"{path}.status") or group_status
    if status not in STATUSES:
        r.fail(f"{path}.status", "must be firing or resolved")
    parsed = {
        "status": status,
        "labels": r.str_map(data.get("labels"), f"{path}.labels"),
        "annotations": r.str_map(data.get("annotations"), f"{path}.annotations"),
        "fingerprint": r.text(data, "fingerprint", f"{path}.fingerprint"),
        "starts_at": r.text(data, "startsAt", f"{path}.startsAt"),
        "ends_at": r.text(data, "endsAt", f"{path}.endsAt"),
    }
    for name, _ in _ALERT_LINKS:
        parsed[name] = r.text(data, name, f"{path}.{name}")
    parsed["raw"] = data
    return parsed


def _hints(*label_sets: dict[str, str]) -> list[str]:
    return [labels["service"] for labels in label_sets if labels.get("service")]


def normalize(payload: Any, *, tool: str = "alertmanager", version: str = "4") -> Normalized:
    """Return one event per alert of an Alertmanager-style group notification."""
    if not isinstance(payload, dict):
        raise InvalidPayload([FieldError("", "the notification must be a JSON object")])
    r = Reader()
    sent_version = payload.get("version")
    if sent_version is not None and str(sent_version) != version:
        r.fail("version", f'must be "{version}"')
    group_key = r.text(payload, "groupKey", "groupKey", required=True)
    status = r.text(payload, "status", "status", required=True)
    if status is not None and status not in STATUSES:
        r.fail("status", "must be firing or resolved")
    truncated = payload.get("truncatedAlerts", 0)
    if isinstance(truncated, bool) or not isinstance(truncated, int) or truncated < 0:
        r.fail("truncatedAlerts", "must be a whole number")
        truncated = 0
    items = payload.get("alerts")
    if not isinstance(items, list):
        r.fail("alerts", "must be an array")
        items = []
    group_labels = r.str_map(payload.get("groupLabels"), "groupLabels")
    common_labels = r.str_map(payload.get("commonLabels"), "commonLabels")
    common_notes = r.str_map(payload.get("commonAnnotations"), "commonAnnotations")
    external = r.text(payload, "externalURL", "externalURL")
    title = r.text(payload, "title", "title")  # Grafana
    alerts = [_alert(r, item, i, status or "firing") for i, item in enumerate(items)]
    r.check()
    assert group_key is not None and status is not None
    dedup_key = short_key(group_key, tool)
    group = {
        "group_key": group_key,
        "status": status,
        "receiver": payload.get("receiver"),
        "group_labels": group_labels,
        "common_labels": common_labels,
        "external_url": external,
        "truncated_alerts": truncated,
    }
    name = common_labels.get("alertname") or group_labels.get("alertname") or tool
    group_summary = common_notes.get("summary") or title or name
    info = {"group_key": group_key, "status": status, "truncated_alerts": truncated}
    if status == "resolved":
        # One resolve per alert's route; the receiver keeps one per incident.
        label_sets = [a["labels"] for a in alerts] or [common_labels]
        events = [
            Event(
                action="resolve",
                dedup_key=dedup_key,
                summary=f"{tool}: group resolved",
                service_hints=_hints(labels, common_labels, group_labels),
                details={"group": group},
            )
            for labels in label_sets
        ]
        return Normalized(events=events, info=info)
    if not alerts:
        only = Event(
            action="trigger",
            dedup_key=dedup_key,
            summary=group_summary[:SUMMARY_MAX],
            severity=common_labels.get("severity"),
            links=links((external, tool.capitalize())),
            details={"group": group},
            service_hints=_hints(common_labels, group_labels),
            alert_key="group",
            raw={k: v for k, v in payload.items() if k != "alerts"},
        )
        return Normalized(events=[only], info=info)
    alerts.sort(key=lambda a: a["status"] != "firing")
    events = []
    for a in alerts:
        labels, notes = a["labels"], a["annotations"]
        summary = (
            notes.get("summary")
            or notes.get("description")
            or common_notes.get("summary")
            or title
            or labels.get("alertname")
            or name
        )
        source = next((labels[k] for k in _SOURCE_LABELS if labels.get(k)), None)
        events.append(
            Event(
                action="trigger",
                dedup_key=dedup_key,
                summary=summary[:SUMMARY_MAX],
                severity=labels.get("severity") or common_labels.get("severity"),
                source=source,
                links=links(
                    *((a[key], text) for key, text in _ALERT_LINKS),
                    (notes.get("runbook_url"), "Runbook"),
                    (external, tool.capitalize()),
                ),
                details={
                    "status": a["status"],
                    "labels": labels,
                    "annotations": notes,
                    "starts_at": a["starts_at"],
                    "ends_at": a["ends_at"],
                    "fingerprint": a["fingerprint"],
                    "group": group,
                },
                service_hints=_hints(labels, common_labels, group_labels),
                alert_key=a["fingerprint"] or labels_fingerprint(labels),
                raw=a["raw"],
                occurred_at=parse_time(a["starts_at"]),
            )
        )
    return Normalized(events=events, info=info)
