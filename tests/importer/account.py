"""A small PagerDuty account in PagerDuty's REST API v2 shapes, for the importer's tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.importer.stand_in import Account, ref

OLD_KEY = "a" * 32


def account() -> Account:
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    payments, search = ref("team", "PT1", "Payments"), ref("team", "PT2", "Search")
    return Account(
        users=[
            {"id": "PU1", "type": "user", "name": "Alice Admin", "email": "alice@example.com",
             "time_zone": "Europe/Berlin", "role": "admin", "teams": [payments]},
            {"id": "PU2", "type": "user", "name": "Bob Limited", "email": "bob@example.com",
             "time_zone": "America/New_York", "role": "limited_user", "teams": [payments]},
            {"id": "PU3", "type": "user", "name": "Carol Reader", "email": "carol@example.com",
             "time_zone": "Asia/Tokyo", "role": "read_only_user", "teams": [search]},
        ],
        contact_methods={
            "PU1": [
                {"id": "PC1", "type": "email_contact_method", "label": "Work",
                 "address": "alice@example.com"},
                {"id": "PC2", "type": "phone_contact_method", "label": "Mobile",
                 "country_code": 49, "address": "1701234567"},
                {"id": "PC3", "type": "sms_contact_method", "label": "Mobile",
                 "country_code": 1, "address": "555 010 0199"},
                {"id": "PC4", "type": "push_notification_contact_method", "label": "iPhone",
                 "address": "device-token"},
            ],
            "PU2": [{"id": "PC5", "type": "sms_contact_method", "label": "Old",
                     "country_code": 1, "address": "12"}],
        },
        notification_rules={
            "PU1": [
                {"id": "PR1", "type": "assignment_notification_rule", "urgency": "high",
                 "start_delay_in_minutes": 0, "contact_method": ref("email_contact_method", "PC1")},
                {"id": "PR2", "type": "assignment_notification_rule", "urgency": "high",
                 "start_delay_in_minutes": 5, "contact_method": ref("sms_contact_method", "PC3")},
                {"id": "PR3", "type": "assignment_notification_rule", "urgency": "low",
                 "start_delay_in_minutes": 10,
                 "contact_method": ref("phone_contact_method", "PC2")},
                {"id": "PR4", "type": "assignment_notification_rule", "urgency": "high",
                 "start_delay_in_minutes": 0,
                 "contact_method": ref("push_notification_contact_method", "PC4")},
            ],
        },
        teams=[
            {"id": "PT1", "type": "team", "name": "Payments", "description": "Money"},
            {"id": "PT2", "type": "team", "name": "Search", "description": None},
        ],
        members={
            "PT1": [{"user": ref("user", "PU1"), "role": "manager"},
                    {"user": ref("user", "PU2"), "role": "responder"}],
            "PT2": [{"user": ref("user", "PU3"), "role": "observer"}],
        },
        schedules=[
            {"id": "PS1", "type": "schedule", "name": "Payments primary",
             "time_zone": "Europe/Berlin", "description": None, "teams": [payments],
             # PagerDuty answers a GET with the highest layer first.
             "schedule_layers": [
                 {"id": "PL2", "name": "Weekend", "start": "2026-01-03T00:00:00+01:00",
                  "end": None, "rotation_virtual_start": "2026-01-03T00:00:00+01:00",
                  "rotation_turn_length_seconds": 604800, "users": [{"user": ref("user", "PU2")}],
                  "restrictions": [{"type": "weekly_restriction", "start_time_of_day": "00:00:00",
                                    "duration_seconds": 172800, "start_day_of_week": 6}]},
                 {"id": "PL1", "name": "Weekdays", "start": "2026-01-05T09:00:00+01:00",
                  "end": None, "rotation_virtual_start": "2026-01-05T09:00:00+01:00",
                  "rotation_turn_length_seconds": 86400,
                  "users": [{"user": ref("user", "PU1")}, {"user": ref("user", "PU2")}],
                  "restrictions": [{"type": "daily_restriction", "start_time_of_day": "09:00:00",
                                    "duration_seconds": 28800}]},
                 {"id": "PL0", "name": "Old", "start": "2024-01-01T00:00:00Z",
                  "end": "2025-01-01T00:00:00Z", "rotation_virtual_start": "2024-01-01T00:00:00Z",
                  "rotation_turn_length_seconds": 86400, "users": [{"user": ref("user", "PU1")}],
                  "restrictions": []},
             ]},
        ],
        overrides={
            "PS1": [{"id": "PO1", "start": soon.isoformat(),
                     "end": (soon + timedelta(hours=4)).isoformat(), "user": ref("user", "PU3")}],
        },
        policies=[
            {"id": "PP1", "type": "escalation_policy", "name": "Payments escalation",
             "num_loops": 2, "teams": [payments], "description": None,
             "escalation_rules": [
                 {"id": "PER1", "escalation_delay_in_minutes": 15,
                  "targets": [ref("schedule", "PS1")]},
                 {"id": "PER2", "escalation_delay_in_minutes": 30,
                  "targets": [ref("user", "PU1"), ref("user", "PU9")]},
             ]},
            {"id": "PP2", "type": "escalation_policy", "name": "Search escalation",
             "num_loops": 0, "teams": [search], "description": None,
             "escalation_rules": [{"id": "PER3", "escalation_delay_in_minutes": 10,
                                   "targets": [ref("user", "PU3")]}]},
        ],
        services=[
            {"id": "PSV1", "type": "service", "name": "Checkout", "status": "active",
             "description": "Takes money", "escalation_policy": ref("escalation_policy", "PP1"),
             "teams": [payments], "acknowledgement_timeout": 1800, "auto_resolve_timeout": 14400},
            {"id": "PSV2", "type": "service", "name": "Search API", "status": "disabled",
             "description": None, "escalation_policy": ref("escalation_policy", "PP2"),
             "teams": [search], "acknowledgement_timeout": None, "auto_resolve_timeout": None},
        ],
        integrations={
            "PSV1": [
                {"id": "PI1", "type": "events_api_v2_inbound_integration", "name": "Datadog",
                 "integration_key": OLD_KEY},
                {"id": "PI2", "type": "generic_email_inbound_integration", "name": "Mail",
                 "integration_email": "checkout@acme.pagerduty.com"},
            ],
        },
    )  # fmt: skip
