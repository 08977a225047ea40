"""Block Kit of incident messages and parsing of `/oncall`: pure functions."""

from __future__ import annotations

import json

from app.slack.blocks import IncidentCard, Person, fallback_text, incident_blocks
from app.slack.commands import Parsed, incident_number, parse


def _card(**extra: object) -> IncidentCard:
    base: dict[str, object] = {
        "incident_id": "5b1c7c52-4b7e-4d55-9d43-6a3f3f0b1e10",
        "number": 42,
        "title": "Checkout <b>down</b> & out",
        "status": "triggered",
        "severity": "critical",
        "urgency": "high",
        "service_name": "Checkout API",
        "escalation_level": 2,
        "url": "http://pf.example/incidents/5b1c",
        "temporal_url": "http://temporal.example/wf",
        "assigned": [Person("Ana", "UANA"), Person("Bo")],
    }
    base.update(extra)
    return IncidentCard(**base)  # type: ignore[arg-type]


def test_a_triggered_card_shows_the_facts_links_and_all_five_controls() -> None:
    blocks = incident_blocks(_card())
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "#42 Checkout <b>down</b> & out"},
    }
    fields = [f["text"] for f in blocks[1]["fields"]]
    assert fields == [
        "*Service*\nCheckout API",
        "*Severity*\nCRITICAL (high urgency)",
        "*Status*\n:red_circle: Triggered (level 2)",
        "*Assigned to*\n<@UANA>, Bo",
    ]
    context = blocks[2]["elements"][0]["text"]
    assert "<http://pf.example/incidents/5b1c|Open in PageFree>" in context
    assert "<http://temporal.example/wf|Temporal workflow>" in context
    actions = blocks[3]
    assert actions["block_id"] == "incident_actions:5b1c7c52-4b7e-4d55-9d43-6a3f3f0b1e10"
    assert [e["action_id"] for e in actions["elements"]] == [
        "incident_acknowledge",
        "incident_resolve",
        "incident_escalate",
        "incident_run_runbook",
        "incident_reassign",
    ]
    assert actions["elements"][4]["type"] == "users_select"
    assert {e.get("value") for e in actions["elements"][:4]} == {_card().incident_id}


def test_user_text_is_escaped_in_mrkdwn() -> None:
    assert fallback_text(_card()) == (
        "#42 [TRIGGERED] CRITICAL on Checkout API: Checkout &lt;b&gt;down&lt;/b&gt; &amp; out"
    )
    blocks = incident_blocks(_card(service_name="<!channel>"))
    assert blocks[1]["fields"][0]["text"] == "*Service*\n&lt;!channel&gt;"


def test_acknowledged_and_resolved_cards() -> None:
    acked = incident_blocks(_card(status="acknowledged", acknowledged_by=Person("Ana", "UANA")))
    ids = [e["action_id"] for e in acked[-1]["elements"]]
    assert "incident_acknowledge" not in ids and "incident_resolve" in ids
    assert "Acknowledged by <@UANA>" in acked[2]["elements"][0]["text"]
    done = incident_blocks(
        _card(status="resolved", acknowledged_by=Person("Ana"), resolved_by=Person("Bo"))
    )
    assert all(b["type"] != "actions" for b in done)
    assert "Resolved by Bo" in json.dumps(done)


def test_a_long_title_fits_slacks_header_limit() -> None:
    header = incident_blocks(_card(title="x" * 400))[0]["text"]["text"]
    assert len(header) == 150


def test_parse_oncall_commands() -> None:
    assert parse("") == Parsed("help")
    assert parse("ACK 42") == Parsed("ack", ["42"])
    assert parse('trigger "Checkout API" it is down --share') == Parsed(
        "trigger", ["Checkout API", "it", "is", "down"], share=True
    )
    assert parse('resolve 7 "unbalanced') == Parsed("resolve", ["7", '"unbalanced'])
    assert [incident_number(w) for w in ("42", "#42", "x", "", "1" * 30)] == [
        42,
        42,
        None,
        None,
        None,
    ]
