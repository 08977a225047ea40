"""Statuspage's rules as pure functions: component status, page indicator and description."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from app.statuspages.models import ComponentStatus, Impact

# The contract's mapping of internal severity to a component's status; info changes nothing.
SEVERITY_STATUS: dict[str, ComponentStatus] = {
    "critical": ComponentStatus.major_outage,
    "error": ComponentStatus.partial_outage,
    "warning": ComponentStatus.degraded_performance,
}
# And to a page incident's impact, when one is opened from an internal incident.
SEVERITY_IMPACT: dict[str, Impact] = {
    "critical": Impact.critical,
    "error": Impact.major,
    "warning": Impact.minor,
    "info": Impact.none,
}
SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2, "critical": 3}
OPEN_INCIDENT_STATUSES = ("triggered", "acknowledged")

# Worst last. Maintenance ranks above operational and below every outage.
_STATUS_RANK = {s: i for i, s in enumerate(ComponentStatus)}
_IMPACT_RANK = {i: n for n, i in enumerate(Impact)}
# A component's status as the impact a page incident would have (Statuspage's colours).
STATUS_IMPACT = {
    ComponentStatus.operational: Impact.none,
    ComponentStatus.under_maintenance: Impact.none,
    ComponentStatus.degraded_performance: Impact.minor,
    ComponentStatus.partial_outage: Impact.major,
    ComponentStatus.major_outage: Impact.critical,
}


@dataclass(frozen=True)
class PageStatus:
    """`status` of status.json: an indicator (none|minor|major|critical) and its words."""

    indicator: Impact
    description: str


ALL_OPERATIONAL = PageStatus(Impact.none, "All Systems Operational")
UNDER_MAINTENANCE = PageStatus(Impact.none, "Service Under Maintenance")
# What an unresolved incident's impact alone makes of the page, when it is worse than the blend.
_IMPACT_STATUS = {
    Impact.minor: PageStatus(Impact.minor, "Minor Service Outage"),
    Impact.major: PageStatus(Impact.major, "Partial System Outage"),
    Impact.critical: PageStatus(Impact.critical, "Major System Outage"),
}


def worst_status(statuses: Iterable[ComponentStatus]) -> ComponentStatus:
    """Return the worst of `statuses` (operational when there are none)."""
    return max(statuses, key=_STATUS_RANK.__getitem__, default=ComponentStatus.operational)


def worst_impact(impacts: Iterable[Impact]) -> Impact:
    """Return the worst of `impacts` (none when there are none)."""
    return max(impacts, key=_IMPACT_RANK.__getitem__, default=Impact.none)


def component_status(
    *,
    open_severities: Iterable[str],
    in_maintenance: bool,
    override: str | None,
    override_until: datetime | None,
    now: datetime,
) -> ComponentStatus:
    """Return a component's status: a live pin, else maintenance, else its worst incident."""
    if override is not None and (override_until is None or override_until > now):
        return ComponentStatus(override)
    if in_maintenance:
        return ComponentStatus.under_maintenance
    return worst_status(SEVERITY_STATUS[s] for s in open_severities if s in SEVERITY_STATUS)


def blend(statuses: Sequence[ComponentStatus]) -> PageStatus:
    """Return the top-level status blended from the components, as Statuspage computes it.

    One component: its own words. Two or more: the worst status, softened when only some
    components have it (one of several down is a partial outage of the system, not a major one).
    """
    worst = worst_status(statuses)
    if worst is ComponentStatus.operational:
        return ALL_OPERATIONAL
    if worst is ComponentStatus.under_maintenance:
        return UNDER_MAINTENANCE
    every = all(s is worst for s in statuses)
    if len(statuses) == 1:
        every = True
    if worst is ComponentStatus.major_outage:
        return (
            PageStatus(Impact.critical, "Major System Outage")
            if every
            else PageStatus(Impact.major, "Partial System Outage")
        )
    if worst is ComponentStatus.partial_outage:
        return (
            PageStatus(Impact.major, "Partial System Outage")
            if every
            else PageStatus(Impact.minor, "Minor Service Outage")
        )
    if every and len(statuses) > 1:
        return PageStatus(Impact.minor, "Degraded System Service")
    return PageStatus(Impact.minor, "Partially Degraded Service")


def page_status(
    statuses: Sequence[ComponentStatus], unresolved_impacts: Iterable[Impact]
) -> PageStatus:
    """Return the page's status: the blend, or an unresolved incident's impact if worse."""
    blended = blend(statuses)
    impact = worst_impact(unresolved_impacts)
    if _IMPACT_RANK[impact] > _IMPACT_RANK[blended.indicator]:
        return _IMPACT_STATUS[impact]
    return blended


def impact_of(statuses: Iterable[ComponentStatus]) -> Impact:
    """Return the impact of an incident affecting components in `statuses`."""
    return worst_impact(STATUS_IMPACT[s] for s in statuses)


def severity_at_least(severity: str, threshold: str) -> bool:
    """Return whether an internal incident of `severity` reaches `threshold`."""
    return SEVERITY_RANK.get(severity, -1) >= SEVERITY_RANK[threshold]


def with_dependency_impact(status: ComponentStatus, upstream_open: bool) -> ComponentStatus:
    """An operational component whose services' dependencies have open incidents is degraded.

    Its own incidents, a maintenance in progress and a pin all say more, and win.
    """
    if upstream_open and status is ComponentStatus.operational:
        return ComponentStatus.degraded_performance
    return status
