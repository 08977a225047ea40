"""Which automations an incident's change sets off: the pure rules, without a server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflows import automation_rules as rules
from workflows import incident_rules
from workflows.automation_types import AutomationTrigger, ConditionSpec, Facts
from workflows.incident_types import Actor, IncidentInput

FACTS = Facts(
    severity="error",
    urgency="high",
    service_id="svc-1",
    team_id="team-1",
    title="Checkout latency high",
    escalation_level=2,
    status="triggered",
    labels={"env": "prod", "region": "eu-west-1"},
)


@pytest.mark.parametrize(
    ("field", "op", "value", "holds"),
    [
        ("severity", "eq", "error", True),
        ("severity", "neq", "error", False),
        ("severity", "gte", "warning", True),
        ("severity", "gte", "critical", False),
        ("severity", "lte", "error", True),
        ("urgency", "in", ["high", "low"], True),
        ("urgency", "not_in", ["high"], False),
        ("title", "contains", "LATENCY", True),
        ("title", "matches", r"^Checkout\s", True),
        ("title", "matches", r"([", False),  # a broken pattern never matches, never raises
        ("escalation_level", "gte", 2, True),
        ("escalation_level", "lte", 1, False),
        ("team_id", "eq", "team-1", True),
        ("alert.labels.env", "eq", "prod", True),
        ("alert.labels.env", "in", ["staging"], False),
        ("alert.labels.missing", "eq", "x", False),
        ("alert.labels.missing", "neq", "x", True),
        ("alert.labels.missing", "contains", "x", False),
    ],
)
def test_condition_table(field: str, op: str, value: object, holds: bool) -> None:
    assert rules.check(ConditionSpec(field=field, op=op, value=value), FACTS) is holds


def _trigger(event: str, once: bool = True, **kw: object) -> AutomationTrigger:
    return AutomationTrigger(
        automation_id="a1", version=3, name="n", event=event, run_once_per_incident=once, **kw
    )


def test_opening_fires_triggered_and_starts_unacknowledged_watch() -> None:
    assert rules.changes(None, FACTS) == ["incident.triggered", "incident.unacknowledged"]


def test_transitions_name_their_events() -> None:
    acked = FACTS.model_copy(update={"status": "acknowledged"})
    assert rules.changes(FACTS, acked) == ["incident.acknowledged"]
    escalated = FACTS.model_copy(update={"escalation_level": 3, "severity": "critical"})
    assert rules.changes(FACTS, escalated) == ["incident.escalated", "incident.severity_changed"]
    assert rules.changes(acked, FACTS) == ["incident.unacknowledged"]  # triggered again
    resolved = FACTS.model_copy(update={"status": "resolved"})
    assert rules.changes(acked, resolved) == ["incident.resolved"]
    assert rules.changes(FACTS, FACTS) == []


def test_once_per_incident_plays_share_one_id_repeating_ones_do_not() -> None:
    once = rules.plays([_trigger("incident.escalated")], "incident.escalated", FACTS, "i1", 7)
    assert [p.workflow_id for p in once] == ["automation:a1:i1"]
    again = rules.plays(
        [_trigger("incident.escalated", once=False)], "incident.escalated", FACTS, "i1", 7
    )
    assert [p.workflow_id for p in again] == ["automation:a1:i1:escalated:7"]


def test_plays_need_the_event_and_every_condition() -> None:
    cond = [ConditionSpec(field="severity", op="eq", value="critical")]
    trigger = _trigger("incident.triggered", conditions=cond)
    assert rules.plays([trigger], "incident.triggered", FACTS, "i1", 1) == []
    assert rules.plays([_trigger("incident.resolved")], "incident.triggered", FACTS, "i1", 1) == []
    critical = FACTS.model_copy(update={"severity": "critical"})
    assert len(rules.plays([trigger], "incident.triggered", critical, "i1", 1)) == 1


severities = st.sampled_from(["info", "warning", "error", "critical"])


@given(severities, severities)
def test_gte_and_lte_agree_with_the_severity_order(actual: str, wanted: str) -> None:
    facts = FACTS.model_copy(update={"severity": actual})
    gte = rules.check(ConditionSpec(field="severity", op="gte", value=wanted), facts)
    lte = rules.check(ConditionSpec(field="severity", op="lte", value=wanted), facts)
    assert gte == (rules.SEVERITY_RANK[actual] >= rules.SEVERITY_RANK[wanted])
    assert gte or lte  # a total order: one of them holds


@given(st.text(max_size=20), st.lists(st.text(max_size=5), max_size=4))
def test_in_and_not_in_are_complements_and_eq_neq_too(value: str, options: list[str]) -> None:
    facts = FACTS.model_copy(update={"title": value})
    inside = rules.check(ConditionSpec(field="title", op="in", value=options), facts)
    outside = rules.check(ConditionSpec(field="title", op="not_in", value=options), facts)
    assert inside != outside
    eq = rules.check(ConditionSpec(field="title", op="eq", value=value), facts)
    neq = rules.check(ConditionSpec(field="title", op="neq", value=value), facts)
    assert eq and not neq


def test_set_severity_records_the_change_and_refuses_a_resolved_incident() -> None:
    now = datetime.now(UTC)
    s = incident_rules.new_state(IncidentInput(incident_id="i1", service_id="s1", dedup_key="k"))
    s = s.model_copy(update={"opened": True})
    out = incident_rules.set_severity(s, Actor(), "warning", now).state
    assert out.severity == "warning" and s.severity == "critical"
    assert [(e.type, e.detail) for e in out.outbox] == [
        ("severity_changed", {"old": "critical", "new": "warning"})
    ]
    assert incident_rules.set_severity(out, Actor(), "warning", now).state is out  # no change
    with pytest.raises(incident_rules.Rejected):
        incident_rules.set_severity(
            out.model_copy(update={"status": "resolved"}), Actor(), "info", now
        )
