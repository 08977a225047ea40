"""The facts a postmortem body starts from, computed from incidents (pure; no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.postmortems.timeline import SourceEvent

# Who "acted": a person did one of these on the incident.
ACTING_TYPES = frozenset(
    {"acknowledged", "unacknowledged", "resolved", "note", "reassigned", "escalated", "snoozed"}
)


@dataclass(frozen=True)
class IncidentFacts:
    """One incident as the facts need it."""

    id: str
    number: int
    title: str
    service: str
    severity: str
    status: str
    created_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    alert_count: int


def human_duration(value: timedelta | None) -> str:
    """Format a duration for people: `42 s`, `5 min 3 s`, `2 h 10 min`, `1 d 3 h`."""
    if value is None:
        return "—"
    seconds = max(0, int(value.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


def _since(start: datetime, end: datetime | None) -> timedelta | None:
    return None if end is None else end - start


def compute(
    incidents: Sequence[IncidentFacts],
    events: Iterable[SourceEvent],
    names: Mapping[str, str],
) -> dict[str, Any]:
    """Return the template context: overall facts and one row per incident."""
    paged: dict[str, set[str]] = {i.id: set() for i in incidents}
    acted: dict[str, set[str]] = {i.id: set() for i in incidents}
    for event in events:
        key = str(event.incident_id)
        if event.type == "paged" and event.detail.get("user_id"):
            paged.setdefault(key, set()).add(str(event.detail["user_id"]))
        if event.type in ACTING_TYPES and event.actor.get("type") == "user":
            acted.setdefault(key, set()).add(str(event.actor.get("id")))

    def people(ids: Iterable[str]) -> list[str]:
        return sorted({names.get(i, "unknown user") for i in ids})

    rows = []
    for i in incidents:
        rows.append(
            {
                "id": i.id,
                "number": i.number,
                "title": i.title,
                "service": i.service,
                "severity": i.severity,
                "status": i.status,
                "created_at": i.created_at,
                "acknowledged_at": i.acknowledged_at,
                "resolved_at": i.resolved_at,
                "time_to_acknowledge": human_duration(_since(i.created_at, i.acknowledged_at)),
                "time_to_resolve": human_duration(_since(i.created_at, i.resolved_at)),
                "alert_count": i.alert_count,
                "paged": people(paged.get(i.id, ())),
                "acted": people(acted.get(i.id, ())),
            }
        )
    start = min((i.created_at for i in incidents), default=None)
    open_ = any(i.resolved_at is None for i in incidents)
    end = None if open_ else max((i.resolved_at for i in incidents if i.resolved_at), default=None)
    return {
        "incidents": rows,
        "services": sorted({i.service for i in incidents}),
        "start": start,
        "end": end,
        "duration": human_duration(end - start) if start and end else "ongoing",
        "alert_count": sum(i.alert_count for i in incidents),
        "paged": people(set().union(*paged.values()) if paged else ()),
        "acted": people(set().union(*acted.values()) if acted else ()),
    }
