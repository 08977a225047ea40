"""Atlassian Statuspage's public v2 JSON shapes, field for field, from a snapshot."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from app.statuspages import rules
from app.statuspages.models import ComponentStatus, PageIncident, PageIncidentUpdate
from app.statuspages.snapshot import Snapshot

Json = dict[str, Any]


def _ts(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def group_id(page_id: UUID, group: str) -> UUID:
    """Return the stable id of a component group (Statuspage lists groups as components)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"pagefree:status-group:{page_id}:{group}")


def page(s: Snapshot) -> Json:
    return {
        "id": str(s.page.id),
        "name": s.page.name,
        "url": s.url,
        "time_zone": s.page.time_zone,
        "updated_at": _ts(s.updated_at),
    }


def status(s: Snapshot) -> Json:
    st = s.status
    return {"indicator": st.indicator.value, "description": st.description}


def components(s: Snapshot) -> list[Json]:
    """Components in display order; each group first appears as a component with `group: true`."""
    out: list[Json] = []
    groups: dict[str, Json] = {}
    page_id = str(s.page.id)
    for c in s.components:
        gid = str(group_id(s.page.id, c.group)) if c.group else None
        if c.group and c.group not in groups:
            groups[c.group] = {
                "id": gid,
                "name": c.group,
                "status": ComponentStatus.operational.value,
                "created_at": _ts(c.created_at),
                "updated_at": _ts(c.updated_at),
                "position": c.position,
                "description": None,
                "showcase": False,
                "start_date": None,
                "group_id": None,
                "page_id": page_id,
                "group": True,
                "only_show_if_degraded": False,
                "components": [],
            }
            out.append(groups[c.group])
        out.append(
            {
                "id": str(c.id),
                "name": c.name,
                "status": s.statuses[c.id].value,
                "created_at": _ts(c.created_at),
                "updated_at": _ts(c.updated_at),
                "position": c.position,
                "description": c.description,
                "showcase": True,
                "start_date": None,
                "group_id": gid,
                "page_id": page_id,
                "group": False,
                "only_show_if_degraded": False,
            }
        )
        if c.group:
            g = groups[c.group]
            g["components"].append(str(c.id))
            g["status"] = rules.worst_status([ComponentStatus(g["status"]), s.statuses[c.id]]).value
    return out


def _update(u: PageIncidentUpdate) -> Json:
    return {
        "id": str(u.id),
        "status": u.status,
        "body": u.body,
        "incident_id": str(u.page_incident_id),
        "created_at": _ts(u.created_at),
        "updated_at": _ts(u.created_at),
        "display_at": _ts(u.created_at),
        "affected_components": u.affected_components,
        "deliver_notifications": True,
        "custom_tweet": None,
        "tweet_id": None,
    }


def incident(s: Snapshot, i: PageIncident) -> Json:
    by_id = {c.id: c for c in s.components}
    affected = [by_id[cid] for cid in i.component_ids if cid in by_id]
    body: Json = {
        "id": str(i.id),
        "name": i.name,
        "status": i.status,
        "created_at": _ts(i.created_at),
        "updated_at": _ts(i.updated_at),
        "monitoring_at": _ts(i.monitoring_at),
        "resolved_at": _ts(i.resolved_at),
        "impact": i.impact,
        "shortlink": f"{s.url}#incident-{i.id}",
        "started_at": _ts(i.started_at or i.created_at),
        "page_id": str(s.page.id),
        "incident_updates": [_update(u) for u in s.updates.get(i.id, [])],
        "components": [c for c in components(s) if c["id"] in {str(a.id) for a in affected}],
    }
    if i.kind == "maintenance":
        body["scheduled_for"] = _ts(i.scheduled_for)
        body["scheduled_until"] = _ts(i.scheduled_until)
        body["started_at"] = _ts(i.started_at or i.scheduled_for)
    return body


def summary_json(s: Snapshot) -> Json:
    return {
        "page": page(s),
        "components": components(s),
        "incidents": [incident(s, i) for i in s.unresolved],
        "scheduled_maintenances": [incident(s, m) for m in s.active + s.upcoming],
        "status": status(s),
    }


def status_json(s: Snapshot) -> Json:
    return {"page": page(s), "status": status(s)}


def components_json(s: Snapshot) -> Json:
    return {"page": page(s), "components": components(s)}


def incidents_json(s: Snapshot, *, unresolved: bool = False) -> Json:
    chosen = s.unresolved if unresolved else s.incidents
    return {"page": page(s), "incidents": [incident(s, i) for i in chosen]}


def maintenances_json(s: Snapshot, which: str = "all") -> Json:
    chosen = {"all": s.maintenances, "upcoming": s.upcoming, "active": s.active}[which]
    return {"page": page(s), "scheduled_maintenances": [incident(s, m) for m in chosen]}
