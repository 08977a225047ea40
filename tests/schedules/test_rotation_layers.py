"""Restrictions, layers, overrides and swaps: what the final shifts are made of."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from app.schedules.rotation import TooManyShifts, on_call, rotation_shift, shifts
from app.schedules.spec import SwapSpec
from tests.schedules.builders import (
    A,
    B,
    C,
    D,
    daily,
    layer,
    override,
    rows,
    schedule,
    utc,
    weekly,
)

WEEK = timedelta(weeks=1)
NIGHTS = daily("22:00", timedelta(hours=10))  # 22:00 to 08:00 the next morning


@pytest.mark.parametrize(
    ("at", "who"),
    [
        ("2026-03-24T20:59", None),  # 21:59 CET
        ("2026-03-24T21:00", A),  # 22:00
        ("2026-03-24T23:30", A),  # 00:30, past midnight
        ("2026-03-25T06:59", A),  # 07:59
        ("2026-03-25T07:00", None),  # 08:00
        ("2026-03-29T05:59", A),  # 07:59 CEST, the morning after clocks sprang forward
        ("2026-03-29T06:00", None),
    ],
)
def test_a_night_restriction_crosses_midnight(at: str, who: object) -> None:
    spec = schedule("Europe/Berlin", layer("2026-03-23T00:00", (A,), WEEK, NIGHTS))
    assert on_call(spec, utc(at)).user_id == who


def test_restricted_shifts_follow_the_wall_clock_through_a_dst_night() -> None:
    spec = schedule("Europe/Berlin", layer("2026-03-23T00:00", (A,), WEEK, NIGHTS))
    rendered = shifts(spec, utc("2026-03-27T12:00"), utc("2026-03-30T12:00"))
    assert rows(rendered.shifts) == [
        ("03-27T21:00", "03-28T07:00", "a"),
        ("03-28T21:00", "03-29T06:00", "a"),  # nine real hours: 22:00 CET to 08:00 CEST
        ("03-29T20:00", "03-30T06:00", "a"),
    ]
    assert [(g.start.hour, g.end.hour) for g in rendered.gaps] == [
        (12, 21),
        (7, 21),
        (6, 20),
        (6, 12),
    ]


def test_a_weekly_restriction_covers_the_weekend_across_midnights() -> None:
    weekend = weekly(4, "18:00", timedelta(days=2, hours=14))  # Friday 18:00 to Monday 08:00
    spec = schedule("Asia/Kolkata", layer("2026-03-02T09:00", (A, B), WEEK, weekend))
    assert rows(shifts(spec, utc("2026-03-02T00:00"), utc("2026-03-16T00:00")).shifts) == [
        ("03-06T12:30", "03-09T02:30", "a"),  # the hand-off (Monday 09:00) is after the window
        ("03-13T12:30", "03-16T00:00", "b"),
    ]


def test_a_handoff_inside_a_restricted_window_splits_it_between_users() -> None:
    spec = schedule("UTC", layer("2026-03-02T00:00", (A, B), timedelta(days=1), NIGHTS))
    assert rows(shifts(spec, utc("2026-03-02T20:00"), utc("2026-03-03T10:00")).shifts) == [
        ("03-02T22:00", "03-03T00:00", "a"),
        ("03-03T00:00", "03-03T08:00", "b"),
    ]


def test_higher_layers_win_where_they_have_someone_and_lower_layers_fill_the_gaps() -> None:
    # Restrictions add up: one window per weekday makes office hours.
    office = [weekly(day, "09:00", timedelta(hours=8)) for day in range(5)]
    base = layer("2026-03-02T10:00", (A, B), WEEK, name="base")
    day = layer("2026-03-02T00:00", (C,), WEEK, *office)
    spec = schedule("Europe/Berlin", base, day)
    rendered = shifts(spec, utc("2026-03-06T00:00"), utc("2026-03-10T00:00"))
    assert rows(rendered.shifts) == [
        ("03-06T00:00", "03-06T08:00", "a"),
        ("03-06T08:00", "03-06T16:00", "c"),  # Friday office hours
        ("03-06T16:00", "03-09T08:00", "a"),  # the weekend, and Monday before 09:00
        ("03-09T08:00", "03-09T16:00", "c"),  # base hands off at 10:00 underneath
        ("03-09T16:00", "03-10T00:00", "b"),
    ]
    assert rows(rendered.layers[1]) == [
        ("03-06T08:00", "03-06T16:00", "c"),
        ("03-09T08:00", "03-09T16:00", "c"),
    ]
    assert rendered.gaps == []


def test_an_override_straddling_a_handoff_covers_both_shifts() -> None:
    base = layer("2026-03-02T10:00", (A, B), WEEK)
    cover = override(C, "2026-03-08T19:00", "2026-03-10T07:00")  # Sunday night to Tuesday
    spec = schedule("Europe/Berlin", base, overrides=(cover,))
    assert rows(shifts(spec, utc("2026-03-08T00:00"), utc("2026-03-11T00:00")).shifts) == [
        ("03-08T00:00", "03-08T19:00", "a"),
        ("03-08T19:00", "03-10T07:00", "c"),
        ("03-10T07:00", "03-11T00:00", "b"),
    ]
    found = on_call(spec, utc("2026-03-09T09:30"))  # across the Monday hand-off
    assert (found.user_id, found.start, found.end) == (
        C,
        utc("2026-03-08T19:00"),
        utc("2026-03-10T07:00"),
    )


def test_overrides_win_over_every_layer_and_fill_gaps() -> None:
    spec = schedule(
        "UTC",
        layer("2026-03-02T00:00", (A,), WEEK, NIGHTS),
        layer("2026-03-02T00:00", (B,), WEEK, daily("12:00", timedelta(hours=1))),
        overrides=(override(D, "2026-03-03T11:30", "2026-03-03T12:30"),),
    )
    assert rows(shifts(spec, utc("2026-03-03T07:00"), utc("2026-03-03T23:00")).shifts) == [
        ("03-03T07:00", "03-03T08:00", "a"),
        ("03-03T11:30", "03-03T12:30", "d"),
        ("03-03T12:30", "03-03T13:00", "b"),
        ("03-03T22:00", "03-03T23:00", "a"),
    ]


def test_an_override_by_the_user_already_on_call_merges_with_their_shift() -> None:
    spec = schedule(
        "UTC",
        layer("2026-03-02T00:00", (A, B), timedelta(days=1)),
        overrides=(override(A, "2026-03-03T00:00", "2026-03-03T06:00"),),
    )
    assert rows(shifts(spec, utc("2026-03-02T00:00"), utc("2026-03-04T00:00")).shifts) == [
        ("03-02T00:00", "03-03T06:00", "a"),
        ("03-03T06:00", "03-04T00:00", "b"),
    ]


def _swap(layer_id, user, start, with_user, with_start):  # type: ignore[no-untyped-def]
    return SwapSpec(uuid4(), layer_id, user, utc(start), with_user, utc(with_start))


def test_a_swap_trades_two_shifts_of_a_layer() -> None:
    base = layer("2026-03-02T09:00", (A, B, C), timedelta(days=1))
    trade = _swap(base.id, A, "2026-03-02T08:00", C, "2026-03-04T08:00")
    spec = schedule("Europe/Berlin", base, swaps=(trade,))
    rendered = shifts(spec, utc("2026-03-02T08:00"), utc("2026-03-05T08:00"))
    assert rows(rendered.shifts) == [
        ("03-02T08:00", "03-03T08:00", "c"),
        ("03-03T08:00", "03-04T08:00", "b"),
        ("03-04T08:00", "03-05T08:00", "a"),
    ]
    assert rendered.warnings == []
    # The next round is untouched.
    assert on_call(spec, utc("2026-03-05T08:00")).user_id == A
    assert on_call(spec, utc("2026-03-07T08:00")).user_id == C


def test_a_swap_that_no_longer_matches_the_rotation_is_ignored_with_a_warning() -> None:
    base = layer("2026-03-02T09:00", (A, B), timedelta(days=1))
    stale = _swap(base.id, B, "2026-03-02T08:00", A, "2026-03-03T08:00")  # A has day one
    spec = schedule("Europe/Berlin", base, swaps=(stale,))
    rendered = shifts(spec, utc("2026-03-02T08:00"), utc("2026-03-04T08:00"))
    assert rows(rendered.shifts) == [
        ("03-02T08:00", "03-03T08:00", "a"),
        ("03-03T08:00", "03-04T08:00", "b"),
    ]
    assert len(rendered.warnings) == 1 and "ignored" in rendered.warnings[0]


def test_rotation_shift_names_the_shift_starting_at_an_instant() -> None:
    base = layer("2026-03-06T09:00", (A, B), timedelta(days=1))
    spec = schedule("America/New_York", base)
    found = rotation_shift(spec, base.id, utc("2026-03-07T14:00"))
    assert found is not None and (found.user_id, found.end) == (B, utc("2026-03-08T13:00"))
    assert rotation_shift(spec, base.id, utc("2026-03-07T15:00")) is None
    assert rotation_shift(spec, uuid4(), utc("2026-03-07T14:00")) is None


def test_minute_rotations_answer_without_rendering_a_year_of_shifts() -> None:
    spec = schedule("UTC", layer("2026-03-02T00:00", (A,), timedelta(minutes=1)))
    found = on_call(spec, utc("2026-06-01T12:00"))
    assert found.user_id == A and found.end is None
    with pytest.raises(TooManyShifts):
        shifts(spec, utc("2026-03-02T00:00"), utc("2026-06-01T00:00"))
