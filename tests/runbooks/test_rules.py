"""Pure rules of runbooks: retry classes, back-off, content hash, parameters, the sandbox."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.errors import Invalid
from app.runbooks import definition as rules
from app.runbooks.models import Definition
from tests.runbooks import helpers
from workflows import incident_rules
from workflows.incident_rules import Rejected
from workflows.incident_types import Actor, IncidentInput
from workflows.runbook_types import (
    RunbookRequest,
    RunbookRunInput,
    StartRunbookIn,
    backoff,
    is_retryable_status,
)

RUN = RunbookRunInput(
    run_id="r",
    runbook_id="rb",
    runbook_name="Restart unit",
    version=1,
    content_hash="sha256:0",
    incident_id="inc",
    request=RunbookRequest(url="https://a.example/run", method="POST"),
)


def test_only_5xx_408_and_429_are_retried() -> None:
    assert [s for s in (200, 400, 401, 404, 408, 409, 429, 500, 503) if is_retryable_status(s)] == [
        408,
        429,
        500,
        503,
    ]


def test_backoff_doubles_up_to_a_minute() -> None:
    assert [backoff(n) for n in (1, 2, 3)] == [timedelta(seconds=s) for s in (1, 2, 4)]
    assert backoff(20) == timedelta(seconds=60)


def test_content_hash_depends_on_content_only() -> None:
    one = Definition.model_validate(helpers.definition("https://a.example/run"))
    same = Definition.model_validate(helpers.definition("https://a.example/run"))
    other = Definition.model_validate(helpers.definition("https://a.example/run", retries=1))
    assert rules.content_hash(one) == rules.content_hash(same) != rules.content_hash(other)


def test_parameters_fill_defaults_and_name_the_bad_one() -> None:
    definition = Definition.model_validate(helpers.definition("https://a.example/run"))
    assert rules.parameters(definition, {"unit": "db"}) == {"unit": "db", "count": 1}
    for given, field in (
        ({}, "parameters.unit"),
        ({"unit": "db", "count": True}, "parameters.count"),
        ({"unit": "db", "extra": 1}, "parameters.extra"),
    ):
        with pytest.raises(Invalid) as caught:
            rules.parameters(definition, given)
        assert [e["field"] for e in caught.value.errors or []] == [field]


def test_the_body_template_is_sandboxed_and_strict() -> None:
    with pytest.raises(Invalid):
        rules.render_body("{{ params.__class__.__mro__ }}", incident={}, params={})
    with pytest.raises(Invalid):
        rules.render_body("{{ params.missing }}", incident={}, params={})
    assert rules.render_body("{{ incident.number }}", incident={"number": 7}, params={}) == "7"


def test_text_from_a_form_becomes_typed_parameters() -> None:
    definition = Definition.model_validate(
        helpers.definition(
            "https://a.example/run",
            parameters=[
                {"name": "unit", "type": "choice", "choices": ["web", "db"]},
                {"name": "count", "type": "integer"},
                {"name": "dry", "type": "boolean"},
                {"name": "note", "type": "string"},
            ],
        )
    )
    raw = {"unit": "db", "count": "-3", "dry": "true", "note": ""}
    assert rules.from_text(definition, raw) == {"unit": "db", "count": -3, "dry": True}
    # Not a number stays text, so `parameters` names it; an unchecked box is false.
    assert rules.from_text(definition, {"count": "two"}) == {"count": "two", "dry": False}


def test_a_runbook_starts_on_an_open_incident_only() -> None:
    s = incident_rules.new_state(IncidentInput(incident_id="inc", service_id="s", dedup_key="d"))
    start = StartRunbookIn(actor=Actor(), run=RUN)
    incident_rules.check_start_runbook(s, start)
    with pytest.raises(Rejected, match="runbooks run on open incidents"):
        incident_rules.check_start_runbook(s.model_copy(update={"status": "resolved"}), start)
    with pytest.raises(Rejected):  # meant for an earlier incident of the same workflow
        incident_rules.check_start_runbook(s, start.model_copy(update={"incident_id": "old"}))
