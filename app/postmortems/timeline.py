"""Generate a postmortem timeline from incidents' timeline events (pure; no I/O).

Sorted by instant (then the workflow's order), deduplicated, noise hidden but kept: every
entry links to its source event, so a hidden one can be restored.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

# Types hidden by default: one row per delivery attempt says little in a review.
NOISY_TYPES = frozenset({"notified"})
# Of these, only the first of each incident is shown; the rest repeat it.
REPEATED_TYPES = frozenset({"alert"})


@dataclass(frozen=True)
class SourceEvent:
    """A timeline event of an incident, as the generator needs it."""

    id: str
    incident_id: UUID
    incident_number: int
    at: datetime
    type: str
    actor: Mapping[str, Any] = field(default_factory=dict)
    detail: Mapping[str, Any] = field(default_factory=dict)
    position: int = 0
    seq: int = 0


def entry_id(source_event_id: str) -> str:
    """Return the stable id of the entry generated from an event."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"pagefree:postmortem-entry:{source_event_id}"))


def actor_name(actor: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """Return who acted, for people: a user's name, PageFree, or the integration."""
    kind = actor.get("type")
    if kind == "user":
        who = names.get(str(actor.get("id")), "a user")
    elif kind == "integration":
        who = "an integration"
    else:
        who = "PageFree"
    via = actor.get("via")
    return f"{who} via {via}" if via and kind == "user" else who


def describe(event: SourceEvent, names: Mapping[str, str]) -> str:
    """Return the sentence an event becomes in the postmortem."""
    d = event.detail
    who = actor_name(event.actor, names)
    person = names.get(str(d.get("user_id")), "someone")
    texts = {
        "triggered": f"Incident triggered: {d.get('summary') or d.get('title') or ''}".rstrip(": "),
        "alert": f"Another alert joined: {d.get('summary', '')}".rstrip(": "),
        "escalated": f"Escalated to level {d.get('level', '?')}",
        "paged": f"Paged {person} (level {d.get('level', '?')})",
        "notified": f"Notified {person} by {d.get('channel', '?')}",
        "notification_failed": f"Could not notify {person} by {d.get('channel', '?')}",
        "acknowledged": f"Acknowledged by {who}",
        "unacknowledged": f"Acknowledgement withdrawn ({who})",
        "snoozed": f"Snoozed by {who}" + (f" until {d['until']}" if d.get("until") else ""),
        "reassigned": f"Reassigned by {who}",
        "note": f"Note by {who}: {d.get('body', '')}",
        "resolved": f"Resolved by {who}" + (f": {d['note']}" if d.get("note") else ""),
    }
    if event.type in texts:
        return texts[event.type]
    extra = d.get("name") or d.get("status") or ""
    return f"{event.type.replace('_', ' ').capitalize()}" + (f": {extra}" if extra else "")


def generate(
    events: Iterable[SourceEvent], names: Mapping[str, str], *, several_incidents: bool
) -> list[dict[str, Any]]:
    """Return timeline entries (JSON-ready) for the events of one or more incidents."""
    ordered = sorted(events, key=lambda e: (e.at, e.incident_number, e.position, e.seq))
    entries: list[dict[str, Any]] = []
    seen_ids: set[str] = set()
    seen_content: set[tuple[str, datetime, str]] = set()
    repeated: set[tuple[UUID, str]] = set()
    for event in ordered:
        text = describe(event, names)
        content = (event.type, event.at, text)
        if event.id in seen_ids or content in seen_content:
            continue
        seen_ids.add(event.id)
        seen_content.add(content)
        hidden = event.type in NOISY_TYPES
        if event.type in REPEATED_TYPES:
            hidden = (event.incident_id, event.type) in repeated
            repeated.add((event.incident_id, event.type))
        if several_incidents:
            text = f"#{event.incident_number} {text}"
        entries.append(
            {
                "id": entry_id(event.id),
                "at": event.at.isoformat(),
                "text": text[:2000],
                "source_event_id": event.id,
                "incident_id": str(event.incident_id),
                "type": event.type,
                "hidden": hidden,
            }
        )
    return entries


def sort_entries(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return entries in time order (stable: equal instants keep their order)."""
    return sorted(entries, key=lambda e: datetime.fromisoformat(str(e["at"])))
