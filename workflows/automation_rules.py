"""Which automations an incident's change sets off: pure functions, no I/O, no Temporal.

The incident workflow calls `changes` with the facts before and after each transition and
`plays` for each event; both are deterministic, so the same history always starts the same
child workflows with the same ids.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from workflows.automation_types import (
    LABEL_PREFIX,
    AutomationTrigger,
    ConditionSpec,
    Facts,
    Play,
)

SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2, "critical": 3}
URGENCY_RANK = {"low": 0, "high": 1}
UNACKNOWLEDGED = "incident.unacknowledged"


def workflow_id(automation_id: str, incident_id: str, suffix: str | None = None) -> str:
    """Return a run's workflow id; once-per-incident plays have no suffix, so Temporal refuses
    a second start with the same id."""
    base = f"automation:{automation_id}:{incident_id}"
    return f"{base}:{suffix}" if suffix else base


def value_of(field: str, facts: Facts) -> Any:
    """Return the incident's value for a condition field (None when it has none)."""
    if field.startswith(LABEL_PREFIX):
        return facts.labels.get(field[len(LABEL_PREFIX) :])
    return getattr(facts, field, None)


def _ranked(field: str, value: Any) -> float | None:
    ranks = SEVERITY_RANK if field == "severity" else URGENCY_RANK if field == "urgency" else None
    if ranks is not None:
        return ranks.get(str(value)) if value is not None else None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def check(condition: ConditionSpec, facts: Facts) -> bool:
    """Return whether one condition holds for the incident."""
    actual = value_of(condition.field, facts)
    want = condition.value
    op = condition.op
    if op in ("eq", "neq"):
        same = actual is not None and str(actual) == str(want)
        return same if op == "eq" else not same
    if op in ("in", "not_in"):
        options = [str(v) for v in want] if isinstance(want, list) else [str(want)]
        inside = actual is not None and str(actual) in options
        return inside if op == "in" else not inside
    if actual is None:
        return False
    if op == "contains":
        return str(want).lower() in str(actual).lower()
    if op == "matches":
        try:
            return re.search(str(want), str(actual)) is not None
        except re.error:
            return False
    left, right = _ranked(condition.field, actual), _ranked(condition.field, want)
    if left is None or right is None:
        return False
    return left >= right if op == "gte" else left <= right


def holds(conditions: Iterable[ConditionSpec], facts: Facts) -> bool:
    """Return whether every condition holds (an empty list always does)."""
    return all(check(c, facts) for c in conditions)


def changes(before: Facts | None, after: Facts) -> list[str]:
    """Return the automation events a transition from `before` to `after` makes.

    `incident.unacknowledged` here means "became triggered": its plays start then and wait
    for their `after` duration; acknowledging or resolving stops them before they fire.
    """
    if before is None:
        return ["incident.triggered", UNACKNOWLEDGED] if after.status == "triggered" else []
    events = []
    if before.status != after.status:
        if after.status == "acknowledged":
            events.append("incident.acknowledged")
        elif after.status == "resolved":
            events.append("incident.resolved")
        elif after.status == "triggered":
            events.append(UNACKNOWLEDGED)
    if after.escalation_level > before.escalation_level and after.status != "resolved":
        events.append("incident.escalated")
    if after.severity != before.severity:
        events.append("incident.severity_changed")
    return events


def plays(
    triggers: Iterable[AutomationTrigger],
    event: str,
    facts: Facts,
    incident_id: str,
    seq: int,
) -> list[Play]:
    """Return the automations `event` sets off, each with its child workflow id."""
    found = []
    for t in triggers:
        if t.event != event or not holds(t.conditions, facts):
            continue
        suffix = None if t.run_once_per_incident else f"{event.removeprefix('incident.')}:{seq}"
        found.append(
            Play(
                workflow_id=workflow_id(t.automation_id, incident_id, suffix),
                trigger=t,
                event=event,
            )
        )
    return found


def summary(name: str, number: int, event: str) -> str:
    """Return the one-line summary of a run in the Temporal UI."""
    return f"Automation {name[:100]} on incident #{number} ({event.removeprefix('incident.')})"
