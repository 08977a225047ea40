"""Hand-off RRULEs: accepted shapes, and rules that never fire or fire too often."""

from __future__ import annotations

from datetime import datetime

import pytest

from app.schedules.handoffs import InvalidRule, ListedHandoffs, PeriodicHandoffs, compile_rule

START = datetime(2026, 3, 4, 9, 0)  # a Wednesday


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("FREQ=SECONDLY", "more than once a minute"),
        ("FREQ=MINUTELY;BYSECOND=0,30", "more than once a minute"),
        ("FREQ=DAILY;BYHOUR=9;BYMINUTE=0;BYSECOND=0,20", "more than once a minute"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "never fires"),
        ("FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=4", "never fires"),
        ("FREQ=WEEKLY;BYDAY=MO;BYSETPOS=3", "never fires"),
        ("FREQ=WEEKLY;COUNT=3", "no COUNT"),
        ("FREQ=WEEKLY;UNTIL=20270101T000000Z", "no UNTIL"),
        ("DTSTART=20260101T000000;FREQ=DAILY", "DTSTART"),
        ("FREQ=FORTNIGHTLY", "FREQ must be"),
        ("BYDAY=MO", "FREQ must be"),
        ("FREQ=DAILY;BYHOUR=25", "not a valid RFC 5545 RRULE"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL must be between"),
        ("FREQ=DAILY;INTERVAL=x", "whole number"),
        ("FREQ=MONTHLY;INTERVAL=13", "INTERVAL must be between 1 and 12"),
        ("garbage", "is not NAME=VALUE"),
        ("FREQ=YEARLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYHOUR=1,2,3,4,5", "at most 1000 times a year"),
    ],
)
def test_bad_rules_are_refused_with_the_reason(rule: str, message: str) -> None:
    with pytest.raises(InvalidRule, match=message):
        compile_rule(rule, START)


def test_a_rule_firing_exactly_once_a_minute_is_allowed() -> None:
    handoffs = compile_rule("FREQ=MINUTELY", START)
    assert handoffs.local(1) == datetime(2026, 3, 4, 9, 1)
    assert handoffs.index(datetime(2026, 3, 11, 9, 0, 30)) == 7 * 24 * 60


def test_weekly_rules_repeat_without_listing_every_handoff() -> None:
    handoffs = compile_rule("RRULE:FREQ=WEEKLY;BYDAY=MO,TH", START)
    assert isinstance(handoffs, PeriodicHandoffs)
    # The start is not a Monday or Thursday: shift 0 runs from it to Thursday.
    assert [handoffs.local(k) for k in range(4)] == [
        START,
        datetime(2026, 3, 5, 9, 0),
        datetime(2026, 3, 9, 9, 0),
        datetime(2026, 3, 12, 9, 0),
    ]
    far = datetime(2031, 3, 3, 9, 0)  # a Monday five years on
    k = handoffs.index(far)
    assert handoffs.local(k) == far and handoffs.local(k + 1) == datetime(2031, 3, 6, 9, 0)
    assert handoffs.index(datetime(2026, 3, 4, 8, 59)) == -1


def test_calendar_rules_are_listed_lazily() -> None:
    handoffs = compile_rule("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", START)
    assert isinstance(handoffs, ListedHandoffs)
    assert handoffs.local(1) == datetime(2028, 2, 29, 9, 0)
    assert handoffs.index(datetime(2032, 3, 1)) == 2
