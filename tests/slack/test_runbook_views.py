"""The runbook modal's Block Kit: pure, checked without Slack."""

from __future__ import annotations

from app.runbooks.models import Definition
from app.slack import runbook_views as views
from tests.runbooks import helpers

DEFINITION = Definition.model_validate(
    helpers.definition(
        "https://a.example/run",
        parameters=[
            {"name": "unit", "type": "choice", "required": True, "choices": ["web", "db"]},
            {"name": "dry", "type": "boolean", "default": True},
            {"name": "note", "type": "string"},
        ],
    )
)
DRAFT = views.Draft(incident_id="i", channel="C1", runbook_id="r", version=3)


def test_each_parameter_gets_the_input_of_its_type_with_its_default() -> None:
    view = views.parameters_view(DRAFT, "Restart <unit>", DEFINITION)
    assert view["callback_id"] == "runbook_parameters"
    assert views.Draft.load(view["private_metadata"]) == DRAFT
    assert view["blocks"][0]["text"]["text"] == "*Restart &lt;unit&gt;* v3"
    unit, dry, note = view["blocks"][1:]
    assert (unit["block_id"], unit["optional"]) == ("p.unit", False)
    assert [o["value"] for o in unit["element"]["options"]] == ["web", "db"]
    assert dry["element"]["initial_option"]["value"] == "true" and dry["optional"] is True
    assert note["element"] == {"type": "plain_text_input", "action_id": "value"}


def test_submitted_values_are_read_back_and_errors_land_on_their_fields() -> None:
    state = {
        "p.unit": {"value": {"type": "static_select", "selected_option": {"value": "db"}}},
        "p.dry": {"value": {"type": "static_select", "selected_option": None}},
        "p.note": {"value": {"type": "plain_text_input", "value": "hi"}},
    }
    assert views.submitted(DEFINITION, state) == {"unit": "db", "dry": None, "note": "hi"}
    errors = [
        {"field": "parameters.unit", "message": "required"},
        {"field": "definition.body", "message": "undefined"},  # no field of its own: the first
    ]
    assert views.field_errors(DEFINITION, errors) == {"p.unit": "required"}
    assert views.field_errors(DEFINITION, errors[1:]) == {"p.unit": "undefined"}
