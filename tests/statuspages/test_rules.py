"""Statuspage's rules without servers: component status, the page's blended status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.statuspages import rules
from app.statuspages.models import ComponentStatus as C
from app.statuspages.models import Impact

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def status(severities: list[str], maint: bool = False, pin: str | None = None, until=None) -> C:  # type: ignore[no-untyped-def]
    return rules.component_status(
        open_severities=severities,
        in_maintenance=maint,
        override=pin,
        override_until=until,
        now=NOW,
    )


@pytest.mark.parametrize(
    ("severities", "expected"),
    [
        ([], C.operational),
        (["info"], C.operational),
        (["warning"], C.degraded_performance),
        (["error"], C.partial_outage),
        (["critical"], C.major_outage),
        (["warning", "critical", "error"], C.major_outage),
        (["info", "warning"], C.degraded_performance),
    ],
)
def test_component_takes_the_worst_impact_of_its_open_incidents(
    severities: list[str], expected: C
) -> None:
    assert status(severities) is expected


def test_maintenance_wins_over_incidents_and_a_pin_wins_over_both() -> None:
    assert status(["critical"], maint=True) is C.under_maintenance
    assert status(["critical"], maint=True, pin="operational") is C.operational


def test_a_pin_lapses_at_its_until() -> None:
    assert status([], pin="major_outage", until=NOW + timedelta(seconds=1)) is C.major_outage
    assert status(["warning"], pin="major_outage", until=NOW) is C.degraded_performance


@pytest.mark.parametrize(
    ("statuses", "indicator", "description"),
    [
        ([], "none", "All Systems Operational"),
        ([C.operational, C.operational], "none", "All Systems Operational"),
        ([C.under_maintenance], "none", "Service Under Maintenance"),
        ([C.under_maintenance, C.operational], "none", "Service Under Maintenance"),
        ([C.degraded_performance], "minor", "Partially Degraded Service"),
        ([C.degraded_performance, C.operational], "minor", "Partially Degraded Service"),
        ([C.degraded_performance, C.degraded_performance], "minor", "Degraded System Service"),
        ([C.partial_outage], "major", "Partial System Outage"),
        ([C.partial_outage, C.operational], "minor", "Minor Service Outage"),
        ([C.partial_outage, C.partial_outage], "major", "Partial System Outage"),
        ([C.major_outage], "critical", "Major System Outage"),
        ([C.major_outage, C.operational], "major", "Partial System Outage"),
        ([C.major_outage, C.partial_outage], "major", "Partial System Outage"),
        ([C.major_outage, C.major_outage], "critical", "Major System Outage"),
        ([C.under_maintenance, C.degraded_performance], "minor", "Partially Degraded Service"),
    ],
)
def test_page_status_blends_components_like_statuspage(
    statuses: list[C], indicator: str, description: str
) -> None:
    got = rules.page_status(statuses, [])
    assert (got.indicator.value, got.description) == (indicator, description)


def test_an_unresolved_incident_worse_than_the_components_sets_the_indicator() -> None:
    got = rules.page_status([C.operational], [Impact.major])
    assert (got.indicator, got.description) == (Impact.major, "Partial System Outage")
    # Not worse: the blend stands.
    got = rules.page_status([C.major_outage], [Impact.minor])
    assert (got.indicator, got.description) == (Impact.critical, "Major System Outage")


def test_incident_impact_follows_the_components_it_affects() -> None:
    assert rules.impact_of([]) is Impact.none
    assert rules.impact_of([C.degraded_performance, C.partial_outage]) is Impact.major
    assert rules.impact_of([C.major_outage]) is Impact.critical
