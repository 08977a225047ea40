"""The timeline generator (pure): order, deduplication, noise hidden but kept."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from app.postmortems.facts import human_duration
from app.postmortems.timeline import SourceEvent, entry_id, generate

T0 = datetime(2026, 11, 3, 14, 0, tzinfo=UTC)
A, B = uuid.uuid4(), uuid.uuid4()
SYS = {"type": "system"}


def ev(
    eid: str, minutes: float, kind: str, inc: uuid.UUID = A, number: int = 7, **detail: object
) -> SourceEvent:
    return SourceEvent(
        id=eid,
        incident_id=inc,
        incident_number=number,
        at=T0 + timedelta(minutes=minutes),
        type=kind,
        actor=SYS,
        detail=detail,
    )


def test_entries_are_sorted_by_instant_whatever_the_input_order() -> None:
    events = [
        ev("c", 5, "resolved"),
        ev("a", 0, "triggered", summary="x"),
        ev("b", 2, "escalated", level=2),
    ]
    entries = generate(events, {}, several_incidents=False)
    assert [e["source_event_id"] for e in entries] == ["a", "b", "c"]
    assert entries[1]["text"] == "Escalated to level 2"
    assert entries[0]["id"] == entry_id("a")


def test_the_same_event_twice_and_identical_facts_at_one_instant_become_one_entry() -> None:
    events = [
        ev("a", 0, "triggered", summary="x"),
        ev("a", 0, "triggered", summary="x"),
        ev("z", 3, "note", body="hi"),
        ev("y", 3, "note", body="hi"),
    ]
    entries = generate(events, {}, several_incidents=False)
    assert [e["source_event_id"] for e in entries] == ["a", "y"] or [
        e["source_event_id"] for e in entries
    ] == ["a", "z"]
    assert len(entries) == 2


def test_notified_rows_and_repeated_alerts_are_hidden_but_kept() -> None:
    events = [
        ev("t", 0, "triggered", summary="x"),
        ev("a1", 1, "alert", summary="x"),
        ev("n1", 1, "notified", user_id="u", channel="sms"),
        ev("a2", 2, "alert", summary="x"),
        ev("a3", 3, "alert", summary="y"),
        ev("b1", 3, "alert", inc=B, number=8, summary="x"),
    ]
    entries = {
        e["source_event_id"]: e for e in generate(events, {"u": "Ann"}, several_incidents=True)
    }
    assert len(entries) == 6
    assert entries["n1"]["hidden"] and entries["n1"]["text"] == "#7 Notified Ann by sms"
    assert not entries["a1"]["hidden"]
    assert entries["a2"]["hidden"] and entries["a3"]["hidden"]
    assert not entries["b1"]["hidden"]  # the first alert of the other incident
    assert not entries["t"]["hidden"]


def test_durations_read_as_people_say_them() -> None:
    assert human_duration(timedelta(seconds=42)) == "42 s"
    assert human_duration(timedelta(minutes=4)) == "4 min"
    assert human_duration(timedelta(minutes=5, seconds=3)) == "5 min 3 s"
    assert human_duration(timedelta(hours=2, minutes=10)) == "2 h 10 min"
    assert human_duration(timedelta(days=1, hours=3)) == "1 d 3 h"
    assert human_duration(None) == "—"
