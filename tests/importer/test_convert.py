"""PagerDuty objects → PageFree inputs: numbers, roles, rules, layers, policies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from app.importer import convert

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def test_phone_numbers_become_e164_or_are_refused() -> None:
    assert convert.e164({"country_code": 1, "address": "(555) 010-0199"}) == "+15550100199"
    assert convert.e164({"country_code": 44, "address": "07700 900123"}) == "+447700900123"
    assert convert.e164({"address": "+33 6 12 34 56 78"}) == "+33612345678"
    assert convert.e164({"country_code": 1, "address": "12"}) is None


def test_roles_map_to_three_and_unknown_roles_respond() -> None:
    def role(r: str) -> str:
        made = convert.user({"id": "P", "name": "N", "email": "n@example.com", "role": r}).value
        assert made is not None
        return made.role.value

    assert [
        role(r)
        for r in (
            "owner",
            "admin",
            "user",
            "limited_user",
            "read_only_user",
            "observer",
            "something_new",
        )
    ] == ["admin", "admin", "responder", "responder", "observer", "observer", "responder"]


def test_a_rule_on_a_method_that_was_not_imported_is_skipped() -> None:
    method = uuid4()
    kept = convert.notification_rule(
        {"id": "R1", "start_delay_in_minutes": 3, "urgency": "low", "contact_method": {"id": "C1"}},
        {"C1": method},
    )
    assert kept.value is not None and kept.value.delay == timedelta(minutes=3)
    lost = convert.notification_rule({"id": "R2", "contact_method": {"id": "C9"}}, {})
    assert lost.value is None and "not imported" in lost.skips[0].reason


def test_a_layer_ending_later_is_kept_and_the_loss_is_named() -> None:
    user = uuid4()
    got = convert.layer(
        {
            "id": "L",
            "name": "Holiday",
            "start": "2026-01-01T00:00:00Z",
            "end": "2026-06-01T00:00:00Z",
            "rotation_virtual_start": "2026-01-01T00:00:00Z",
            "rotation_turn_length_seconds": 43200,
            "users": [{"user": {"id": "U"}}],
            "restrictions": [],
        },
        {"U": user},
        NOW,
    )
    assert got.value is not None and got.value.rotation_length == timedelta(hours=12)
    assert "do not end" in got.skips[0].reason


def test_num_loops_above_pagefrees_limit_is_capped_and_said() -> None:
    user = uuid4()
    got = convert.policy(
        {
            "id": "P",
            "name": "Loud",
            "num_loops": 50,
            "escalation_rules": [
                {
                    "id": "E",
                    "escalation_delay_in_minutes": 5,
                    "targets": [{"id": "U", "type": "user_reference"}],
                }
            ],
        },
        {"U": user},
        {},
    )
    assert got.value is not None and got.value.repeat == 20
    assert "capped" in got.skips[0].reason
