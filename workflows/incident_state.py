"""Pure escalation arithmetic and views over IncidentState (no I/O, no workflow calls)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from workflows.incident_types import AlertIn, IncidentState, IncidentView, Target


def view(s: IncidentState) -> IncidentView:
    """Return the public live view of the state."""
    return IncidentView(
        incident_id=s.incident_id,
        number=s.number,
        title=s.title,
        status=s.status,
        severity=s.severity,
        urgency=s.urgency,
        service_id=s.service_id,
        service_name=s.service_name,
        escalation_policy_id=s.policy.id if s.policy else None,
        escalation_level=s.level_index + 1,
        assigned_to=list(s.assigned_to),
        alert_count=s.alert_count,
        created_at=s.created_at,
        acknowledged_at=s.acknowledged_at,
        acknowledged_by=s.acknowledged_by,
        resolved_at=s.resolved_at,
        resolved_by=s.resolved_by,
        snoozed_until=s.snoozed_until,
    )


def next_level(s: IncidentState, *, wrap: bool) -> tuple[int, int]:
    """Return (level index, cycle) after the current level.

    After the last level the policy starts again from level 1 while repeats remain; with
    `wrap` (a person escalating by hand) it always may. Otherwise it stays where it is.
    """
    assert s.policy is not None
    if s.level_index + 1 < len(s.policy.levels):
        return s.level_index + 1, s.cycle
    if s.cycle < s.policy.repeat:
        return 0, s.cycle + 1
    if wrap:
        return 0, s.cycle
    return s.level_index, s.cycle


def next_deadline(s: IncidentState) -> datetime | None:
    """Return the earliest instant at which the workflow must act without being asked."""
    candidates = [s.auto_resolve_deadline]
    if s.status == "triggered":
        candidates.append(s.level_deadline)
    elif s.status == "acknowledged":
        candidates += [s.snoozed_until, s.ack_deadline]
    found = [c for c in candidates if c is not None]
    return min(found) if found else None


def wait_label(s: IncidentState) -> str:
    """Label the timer in the Temporal UI's event history."""
    if s.status == "triggered" and s.level_deadline:
        return f"level {s.level_index + 1} waits for acknowledgement"
    if s.snoozed_until:
        return "snoozed"
    if s.status == "acknowledged" and s.ack_deadline:
        return "acknowledgement timeout"
    return "waiting"


def user_target(user_id: str) -> Target:
    """Return a user target."""
    return Target(type="user", id=user_id)


def projection_fields(s: IncidentState) -> dict[str, Any]:
    """Return the incident row's columns as the state says they are."""
    return {
        "status": s.status,
        "severity": s.severity,
        "escalation_level": s.level_index + 1,
        "escalation_policy_id": s.policy.id if s.policy else None,
        "assigned_to": list(s.assigned_to),
        "alert_count": s.alert_count,
        "acknowledged_at": s.acknowledged_at.isoformat() if s.acknowledged_at else None,
        "acknowledged_by": s.acknowledged_by,
        "resolved_at": s.resolved_at.isoformat() if s.resolved_at else None,
        "resolved_by": s.resolved_by,
        "snoozed_until": s.snoozed_until.isoformat() if s.snoozed_until else None,
    }


def details_markdown(s: IncidentState) -> str:
    """Return the live details shown on the workflow's page in the Temporal UI."""
    lines = [
        f"**#{s.number} {s.title}**",
        "",
        f"- status: **{s.status}**"
        + (f" (snoozed until {s.snoozed_until:%Y-%m-%d %H:%M} UTC)" if s.snoozed_until else ""),
        f"- service: {s.service_name}",
        f"- severity: {s.severity}, urgency: {s.urgency}",
        f"- alerts: {s.alert_count}",
    ]
    if s.policy:
        lines.append(
            f"- escalation: {s.policy.name}, level {s.level_index + 1} of {len(s.policy.levels)}"
            + (f", repeat {s.cycle}/{s.policy.repeat}" if s.policy.repeat else "")
        )
    if s.level_deadline and s.status == "triggered":
        lines.append(f"- next escalation: {s.level_deadline:%Y-%m-%d %H:%M:%S} UTC")
    if s.assigned_to:
        lines.append(f"- paged users: {len(s.assigned_to)}")
    return "\n".join(lines)


def chunks(alerts: list[AlertIn], max_count: int, max_bytes: int) -> list[list[AlertIn]]:
    """Split alerts, in order, into chunks of at most `max_count` and about `max_bytes`."""
    out: list[list[AlertIn]] = []
    size = 0
    for alert in alerts:
        n = len(alert.model_dump_json())
        if not out or len(out[-1]) >= max_count or (out[-1] and size + n > max_bytes):
            out.append([])
            size = 0
        out[-1].append(alert)
        size += n
    return out
