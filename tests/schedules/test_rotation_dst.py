"""Hand-offs stay at their local wall-clock time across DST, in every kind of zone."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.schedules.rotation import on_call, shifts
from tests.schedules.builders import A, B, C, layer, rows, schedule, utc

DAY, WEEK = timedelta(days=1), timedelta(weeks=1)

# (zone, layer start (local), rotation, users, since, until (UTC), expected shifts in UTC)
HANDOFFS = [
    pytest.param(
        "America/New_York",
        "2026-03-06T09:00",
        DAY,
        (A, B),
        "2026-03-06T14:00",
        "2026-03-10T00:00",
        [
            ("03-06T14:00", "03-07T14:00", "a"),
            ("03-07T14:00", "03-08T13:00", "b"),
            ("03-08T13:00", "03-09T13:00", "a"),
            ("03-09T13:00", "03-10T00:00", "b"),
        ],
        id="new-york-spring-forward-daily-0900",
    ),
    pytest.param(
        "America/New_York",
        "2026-10-30T09:00",
        DAY,
        (A, B),
        "2026-10-31T00:00",
        "2026-11-03T00:00",
        [
            ("10-31T00:00", "10-31T13:00", "a"),
            ("10-31T13:00", "11-01T14:00", "b"),
            ("11-01T14:00", "11-02T14:00", "a"),
            ("11-02T14:00", "11-03T00:00", "b"),
        ],
        id="new-york-fall-back-daily-0900",
    ),
    pytest.param(
        "America/New_York",
        "2026-03-07T02:30",
        DAY,
        (A, B),
        "2026-03-07T00:00",
        "2026-03-09T12:00",
        # 02:30 does not exist on 8 March: the hand-off happens when clocks jump (03:00 EDT).
        [
            ("03-07T07:30", "03-08T07:00", "a"),
            ("03-08T07:00", "03-09T06:30", "b"),
            ("03-09T06:30", "03-09T12:00", "a"),
        ],
        id="new-york-handoff-inside-the-skipped-hour",
    ),
    pytest.param(
        "America/New_York",
        "2026-10-31T01:30",
        DAY,
        (A, B),
        "2026-10-31T05:30",
        "2026-11-02T12:00",
        # 01:30 happens twice on 1 November: the first one (EDT) is the hand-off.
        [
            ("10-31T05:30", "11-01T05:30", "a"),
            ("11-01T05:30", "11-02T06:30", "b"),
            ("11-02T06:30", "11-02T12:00", "a"),
        ],
        id="new-york-handoff-inside-the-repeated-hour",
    ),
    pytest.param(
        "America/New_York",
        "2026-03-07T08:00",
        timedelta(hours=12),
        (A, B),
        "2026-03-07T13:00",
        "2026-03-09T13:00",
        # 12 wall-clock hours: the night of the change lasts 11 real hours.
        [
            ("03-07T13:00", "03-08T01:00", "a"),
            ("03-08T01:00", "03-08T12:00", "b"),
            ("03-08T12:00", "03-09T00:00", "a"),
            ("03-09T00:00", "03-09T12:00", "b"),
            ("03-09T12:00", "03-09T13:00", "a"),
        ],
        id="new-york-twelve-hour-rotation",
    ),
    pytest.param(
        "America/New_York",
        "2026-03-02T10:00",
        WEEK,
        (A, B),
        "2026-03-02T15:00",
        "2026-03-16T14:00",
        [("03-02T15:00", "03-09T14:00", "a"), ("03-09T14:00", "03-16T14:00", "b")],
        id="new-york-weekly-monday-1000-spring",
    ),
    pytest.param(
        "America/New_York",
        "2026-03-02T10:00",
        WEEK,
        (A, B),
        "2026-10-26T14:00",
        "2026-11-09T15:00",
        # 34 weeks after the start: a's turn; the week of the change lasts 169 hours.
        [("10-26T14:00", "11-02T15:00", "a"), ("11-02T15:00", "11-09T15:00", "b")],
        id="new-york-weekly-monday-1000-fall",
    ),
    pytest.param(
        "Europe/Berlin",
        "2026-03-23T10:00",
        WEEK,
        (A, B, C),
        "2026-03-23T09:00",
        "2026-04-06T08:00",
        [("03-23T09:00", "03-30T08:00", "a"), ("03-30T08:00", "04-06T08:00", "b")],
        id="berlin-weekly-monday-1000-spring",
    ),
    pytest.param(
        "Europe/Berlin",
        "2026-03-23T10:00",
        WEEK,
        (A, B, C),
        "2026-10-19T08:00",
        "2026-11-02T09:00",
        [("10-19T08:00", "10-26T09:00", "a"), ("10-26T09:00", "11-02T09:00", "b")],
        id="berlin-weekly-monday-1000-fall",
    ),
    pytest.param(
        "Europe/Berlin",
        "2026-03-28T02:30",
        DAY,
        (A, B),
        "2026-03-28T01:30",
        "2026-03-30T01:00",
        [
            ("03-28T01:30", "03-29T01:00", "a"),
            ("03-29T01:00", "03-30T00:30", "b"),
            ("03-30T00:30", "03-30T01:00", "a"),
        ],
        id="berlin-handoff-inside-the-skipped-hour",
    ),
    pytest.param(
        "Australia/Lord_Howe",
        "2026-10-02T09:00",
        DAY,
        (A, B),
        "2026-10-02T00:00",
        "2026-10-04T23:00",
        # Clocks move 30 minutes: the shift over the change lasts 23.5 hours.
        [
            ("10-02T00:00", "10-02T22:30", "a"),
            ("10-02T22:30", "10-03T22:00", "b"),
            ("10-03T22:00", "10-04T22:00", "a"),
            ("10-04T22:00", "10-04T23:00", "b"),
        ],
        id="lord-howe-half-hour-spring-forward",
    ),
    pytest.param(
        "Australia/Lord_Howe",
        "2026-04-03T09:00",
        DAY,
        (A, B),
        "2026-04-02T22:00",
        "2026-04-05T23:00",
        [
            ("04-02T22:00", "04-03T22:00", "a"),
            ("04-03T22:00", "04-04T22:30", "b"),
            ("04-04T22:30", "04-05T22:30", "a"),
            ("04-05T22:30", "04-05T23:00", "b"),
        ],
        id="lord-howe-half-hour-fall-back",
    ),
    pytest.param(
        "Australia/Lord_Howe",
        "2026-10-03T02:15",
        DAY,
        (A, B),
        "2026-10-02T15:45",
        "2026-10-05T00:00",
        # 02:15 on 4 October falls in the skipped half hour: hand-off when clocks jump.
        [
            ("10-02T15:45", "10-03T15:30", "a"),
            ("10-03T15:30", "10-04T15:15", "b"),
            ("10-04T15:15", "10-05T00:00", "a"),
        ],
        id="lord-howe-handoff-inside-the-skipped-half-hour",
    ),
    pytest.param(
        "Australia/Lord_Howe",
        "2026-04-04T01:45",
        DAY,
        (A, B),
        "2026-04-03T14:45",
        "2026-04-06T00:00",
        [
            ("04-03T14:45", "04-04T14:45", "a"),
            ("04-04T14:45", "04-05T15:15", "b"),
            ("04-05T15:15", "04-06T00:00", "a"),
        ],
        id="lord-howe-handoff-inside-the-repeated-half-hour",
    ),
    pytest.param(
        "Asia/Kolkata",
        "2026-03-06T09:00",
        DAY,
        (A, B),
        "2026-03-07T00:00",
        "2026-03-10T00:00",
        [
            ("03-07T00:00", "03-07T03:30", "a"),
            ("03-07T03:30", "03-08T03:30", "b"),
            ("03-08T03:30", "03-09T03:30", "a"),
            ("03-09T03:30", "03-10T00:00", "b"),
        ],
        id="kolkata-no-dst",
    ),
]


@pytest.mark.parametrize(("tz", "start", "length", "users", "since", "until", "expected"), HANDOFFS)
def test_handoffs_follow_local_wall_clock_time(
    tz: str, start: str, length: timedelta, users: tuple, since: str, until: str, expected: list
) -> None:
    spec = schedule(tz, layer(start, users, length))
    assert rows(shifts(spec, utc(since), utc(until)).shifts) == expected


# (zone, layer start (local), rotation, instant (UTC), who, shift start, shift end (UTC))
INSTANTS = [
    (
        "America/New_York",
        "2026-03-06T09:00",
        DAY,
        "2026-03-08T12:59",
        B,
        "03-07T14:00",
        "03-08T13:00",
    ),
    (
        "America/New_York",
        "2026-03-06T09:00",
        DAY,
        "2026-03-08T13:00",
        A,
        "03-08T13:00",
        "03-09T13:00",
    ),
    # 01:15 EST comes after the 01:30 EDT hand-off even though its wall-clock time is earlier.
    (
        "America/New_York",
        "2026-10-31T01:30",
        DAY,
        "2026-11-01T06:15",
        B,
        "11-01T05:30",
        "11-02T06:30",
    ),
    (
        "Europe/Berlin",
        "2026-03-23T10:00",
        WEEK,
        "2026-03-30T07:59",
        A,
        "03-23T09:00",
        "03-30T08:00",
    ),
    (
        "Europe/Berlin",
        "2026-03-23T10:00",
        WEEK,
        "2026-03-30T08:00",
        B,
        "03-30T08:00",
        "04-06T08:00",
    ),
    (
        "Australia/Lord_Howe",
        "2026-10-02T09:00",
        DAY,
        "2026-10-03T21:59",
        B,
        "10-02T22:30",
        "10-03T22:00",
    ),
    ("Asia/Kolkata", "2026-03-06T09:00", DAY, "2026-03-29T03:29", A, "03-28T03:30", "03-29T03:30"),
]


@pytest.mark.parametrize(("tz", "start", "length", "at", "who", "begins", "ends"), INSTANTS)
def test_on_call_answers_the_user_and_the_bounds_of_their_shift(
    tz: str, start: str, length: timedelta, at: str, who: object, begins: str, ends: str
) -> None:
    found = on_call(schedule(tz, layer(start, (A, B), length)), utc(at))
    assert found.user_id == who
    assert found.start is not None and found.start.strftime("%m-%dT%H:%M") == begins
    assert found.end is not None and found.end.strftime("%m-%dT%H:%M") == ends


def test_before_the_first_layer_starts_nobody_is_on_call() -> None:
    spec = schedule("Europe/Berlin", layer("2026-03-23T10:00", (A,)))
    assert on_call(spec, utc("2026-03-23T08:59")).user_id is None
    rendered = shifts(spec, utc("2026-03-23T00:00"), utc("2026-03-23T12:00"))
    assert [(g.start, g.end) for g in rendered.gaps] == [
        (utc("2026-03-23T00:00"), utc("2026-03-23T09:00"))
    ]


def test_one_user_rotating_alone_is_one_merged_shift() -> None:
    spec = schedule("UTC", layer("2026-01-01T00:00", (A,)))
    assert rows(shifts(spec, utc("2026-02-01T00:00"), utc("2026-02-05T00:00")).shifts) == [
        ("02-01T00:00", "02-05T00:00", "a")
    ]
    # The shift began with the layer, within the horizon; it never ends.
    found = on_call(spec, utc("2026-02-01T00:00"), horizon=timedelta(days=40))
    assert (found.user_id, found.start, found.end) == (A, utc("2026-01-01T00:00"), None)
    found = on_call(spec, utc("2026-02-01T00:00"), horizon=timedelta(days=20))
    assert (found.user_id, found.start, found.end) == (A, None, None)


def test_same_user_twice_in_a_row_merges_across_the_handoff() -> None:
    spec = schedule("UTC", layer("2026-01-01T00:00", (A, A, B)))
    assert rows(shifts(spec, utc("2026-01-01T00:00"), utc("2026-01-05T00:00")).shifts) == [
        ("01-01T00:00", "01-03T00:00", "a"),
        ("01-03T00:00", "01-04T00:00", "b"),
        ("01-04T00:00", "01-05T00:00", "a"),
    ]
    found = on_call(spec, utc("2026-01-02T12:00"))
    assert (found.start, found.end) == (utc("2026-01-01T00:00"), utc("2026-01-03T00:00"))


def test_rrule_handoffs_stay_at_local_time_across_dst() -> None:
    rule = "FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=9;BYMINUTE=0"
    spec = schedule("America/New_York", layer("2026-03-02T09:00", (A, B), None, rrule=rule))
    assert rows(shifts(spec, utc("2026-03-02T14:00"), utc("2026-03-12T13:00")).shifts) == [
        ("03-02T14:00", "03-05T14:00", "a"),
        ("03-05T14:00", "03-09T13:00", "b"),
        ("03-09T13:00", "03-12T13:00", "a"),
    ]
    # A year on the pattern (and the local hand-off hour) still holds: 104 hand-offs later.
    assert on_call(spec, utc("2027-03-01T13:59")).user_id == B
    assert on_call(spec, utc("2027-03-01T14:00")).user_id == A


def test_a_rule_that_does_not_fire_at_the_start_still_starts_the_first_shift_there() -> None:
    rule = "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=8;BYMINUTE=0"
    spec = schedule("Europe/Berlin", layer("2026-03-15T12:00", (A, B), None, rrule=rule))
    assert rows(shifts(spec, utc("2026-03-15T11:00"), utc("2026-05-01T07:00")).shifts) == [
        ("03-15T11:00", "04-01T06:00", "a"),
        ("04-01T06:00", "05-01T06:00", "b"),
        ("05-01T06:00", "05-01T07:00", "a"),
    ]
