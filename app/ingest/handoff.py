"""From normalized events to incident workflows: route, map severity, build alerts, hand off.

Triggers go by signal-with-start (a new incident, or an alert joining the open one);
acknowledge and resolve go by a plain signal, so an event for a key with no open incident
changes nothing and starts nothing (PagerDuty semantics). Every hand-off goes through the
process's batcher, and this returns only when all of a request's alerts were accepted.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.catalog.models import Service
from app.incidents.service import workflow_id_for
from app.ingest.normalizers import Event, Normalized
from app.ingest.payload import capped, clean_text
from app.ingest.runtime import IngestRuntime, Snapshot, Target
from app.ingest.severity import map_severity
from workflows.incident_types import Actor, AlertIn

SOURCE_MAX = 1024


class NotRoutable(Exception):
    """The alert has nowhere to go (its service is archived)."""


@dataclass
class Dispatched:
    alerts: int = 0
    dedup_keys: list[str] = field(default_factory=list)
    workflow_ids: list[str] = field(default_factory=list)
    no_incident: list[str] = field(default_factory=list)  # acknowledge/resolve that found none


async def route(
    rt: IngestRuntime, snap: Snapshot, event: Event
) -> list[tuple[Service, dict[str, Any]]]:
    """Return the service(s) an event goes to, and how that was decided."""
    integration = snap.integration
    if snap.service is not None:
        if snap.service.status == "archived":
            raise NotRoutable(f"service {snap.service.routing_key} is archived")
        return [(snap.service, {"scope": "service", "service": snap.service.routing_key})]
    for hint in event.service_hints:
        svc = await rt.service_by_routing_key(hint.strip().lower())
        if svc is not None and svc.status == "active":
            return [(svc, {"scope": "organisation", "service": svc.routing_key, "matched": hint})]
    if event.action != "trigger" and event.dedup_key:
        found = await rt.open_incident_services(integration.id, event.dedup_key)
        if found:
            how = {"scope": "organisation", "matched": "open incident"}
            return [(s, {**how, "service": s.routing_key}) for s in found]
    default = snap.default_service
    if default is None or default.status == "archived":
        raise NotRoutable("the integration's default service is archived")
    return [(default, {"scope": "organisation", "service": default.routing_key, "default": True})]


def build_alert(
    snap: Snapshot,
    event: Event,
    *,
    fmt: str,
    dedup_key: str,
    route_info: dict[str, Any],
    received_at: datetime,
) -> AlertIn:
    """Return the workflow's alert event for a normalized event."""
    integration = snap.integration
    severity, urgency = map_severity(event.severity, integration.severity_map)
    details: dict[str, Any] = {
        "format": fmt,
        "integration": {"id": str(integration.id), "name": integration.name},
        "route": route_info,
        "urgency": urgency,
        **({"links": event.links} if event.links else {}),
        **({"source_severity": event.severity} if event.severity else {}),
        **({"occurred_at": event.occurred_at.isoformat()} if event.occurred_at else {}),
        **event.details,
        "raw": capped(event.raw),
    }
    summary = event.summary
    if not summary and event.action == "trigger":
        summary = f"Alert from {integration.name}"
    return AlertIn(
        id=str(uuid.uuid4()),
        action=event.action,
        summary=clean_text(summary),
        severity=severity,
        source=clean_text(event.source[:SOURCE_MAX]) if event.source else None,
        dedup_key=dedup_key,
        details=details,
        received_at=received_at,
        integration_id=str(integration.id),
        actor=Actor(type="integration", id=str(integration.id), via="events"),
        alert_key=event.alert_key,
        urgency=urgency,
    )


async def dispatch(
    rt: IngestRuntime, snap: Snapshot, normalized: Normalized, *, fmt: str, received_at: datetime
) -> Dispatched:
    """Hand every event of a request to its incident; raise if any was not accepted."""
    out = Dispatched()
    groups: dict[Target, list[AlertIn]] = {}
    for event in normalized.events:
        dedup_key = event.dedup_key or uuid.uuid4().hex
        for svc, info in await route(rt, snap, event):
            alert = build_alert(
                snap, event, fmt=fmt, dedup_key=dedup_key, route_info=info, received_at=received_at
            )
            target = Target(workflow_id_for(svc.routing_key, dedup_key), dedup_key, svc)
            batch = groups.setdefault(target, [])
            if alert.action != "trigger" and any(a.action == alert.action for a in batch):
                continue  # one resolve per incident is enough
            batch.append(alert)
        if dedup_key not in out.dedup_keys:
            out.dedup_keys.append(dedup_key)
    results = await asyncio.gather(
        *(_submit(rt, target, alerts) for target, alerts in groups.items()),
        return_exceptions=True,
    )
    for (target, alerts), result in zip(groups.items(), results, strict=True):
        if isinstance(result, BaseException):
            raise result
        out.alerts += len(alerts)
        out.workflow_ids.append(target.workflow_id)
        if result is False:
            out.no_incident.append(target.dedup_key)
    return out


async def _submit(rt: IngestRuntime, target: Target, alerts: list[AlertIn]) -> bool:
    """Submit a target's alerts in runs of one kind, in order; False if a run found no incident."""
    reached = True
    start = 0
    while start < len(alerts):
        kind = "trigger" if alerts[start].action == "trigger" else "signal"
        end = start
        while end < len(alerts) and (alerts[end].action == "trigger") == (kind == "trigger"):
            end += 1
        run = alerts[start:end]
        size = sum(len(a.model_dump_json()) for a in run)
        reached = await rt.batcher.submit(target, kind, run, size) and reached
        start = end
    return reached
