"""Hand-off times of a layer in local wall-clock time: a fixed rotation length or an RRULE."""

from __future__ import annotations

import itertools
import math
from bisect import bisect_right
from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Protocol

from dateutil.rrule import rrule, rrulestr

MIN_GAP = timedelta(minutes=1)
FAR_FUTURE = datetime(9000, 1, 1)
_WEEK = timedelta(weeks=1)
_UNITS = {"MINUTELY": 60, "HOURLY": 3600, "DAILY": 86400, "WEEKLY": 7 * 86400}
_CALENDAR_PARTS = {"BYMONTH", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO"}
_REFUSED_PARTS = {
    "DTSTART": "the layer's start is the rule's DTSTART; leave it out of the rule",
    "COUNT": "a hand-off rule must repeat for as long as the layer exists (no COUNT)",
    "UNTIL": "a hand-off rule must repeat for as long as the layer exists (no UNTIL)",
    "BYEASTER": "BYEASTER is not part of RFC 5545",
}
# A calendar rule (months, years) is checked over this span: long enough for 29 February.
_CALENDAR_SPAN = timedelta(days=8 * 366)
_CALENDAR_MAX = 8 * 1000
_MAX_INTERVAL = {"MONTHLY": 12, "YEARLY": 10}
_PROBE_YEAR = 9980
_TOO_OFTEN = "the rule fires more than once a minute"
_CALENDAR_TOO_OFTEN = "a monthly or yearly rule may fire at most 1000 times a year"


class InvalidRule(ValueError):
    """The hand-off RRULE is malformed, never fires, or fires too often."""


class Handoffs(Protocol):
    """Shift k of a layer starts at `local(k)`; shift 0 starts at the layer's start."""

    def local(self, k: int) -> datetime: ...

    def index(self, local: datetime) -> int:
        """Return the shift whose start is the last at or before `local` (-1 before start)."""
        ...


class FixedHandoffs:
    """Hand-offs every `length` of wall-clock time from `start`."""

    def __init__(self, start: datetime, length: timedelta) -> None:
        self.start, self.length = start, length

    def local(self, k: int) -> datetime:
        """Return the local start of shift k."""
        return self.start + k * self.length

    def index(self, local: datetime) -> int:
        """Return the shift that holds `local` (negative before the start)."""
        return (local - self.start) // self.length


class PeriodicHandoffs:
    """Hand-offs of a rule that repeats the same pattern every `period` from `start`."""

    def __init__(self, start: datetime, period: timedelta, offsets: list[timedelta]) -> None:
        self.start, self.period, self.offsets = start, period, offsets
        # Shift 0 starts at the layer's start even when the rule does not fire then.
        self.lead = 0 if offsets[0] == timedelta(0) else 1

    def local(self, k: int) -> datetime:
        """Return the local start of shift k."""
        if k < self.lead:
            return self.start
        q, r = divmod(k - self.lead, len(self.offsets))
        return self.start + q * self.period + self.offsets[r]

    def index(self, local: datetime) -> int:
        """Return the shift that holds `local` (-1 before the start)."""
        if local < self.start:
            return -1
        q, r = divmod(local - self.start, self.period)
        return q * len(self.offsets) + bisect_right(self.offsets, r) - 1 + self.lead


class ListedHandoffs:
    """Hand-offs of a calendar rule (months, years), listed lazily and kept."""

    def __init__(self, start: datetime, rule: rrule) -> None:
        self.start = start
        self._next: Iterator[datetime] = rule.xafter(start, inc=False)
        self._seen = [start]
        self._done = False

    def _more(self) -> bool:
        if not self._done:
            nxt = next(self._next, None)
            if nxt is None or nxt >= FAR_FUTURE:
                self._done = True
            else:
                self._seen.append(nxt)
        return not self._done

    def local(self, k: int) -> datetime:
        """Return the local start of shift k."""
        while len(self._seen) <= k and self._more():
            pass
        return self._seen[k] if k < len(self._seen) else FAR_FUTURE

    def index(self, local: datetime) -> int:
        """Return the shift that holds `local` (-1 before the start)."""
        if local < self.start:
            return -1
        while self._seen[-1] <= local and self._more():
            pass
        return bisect_right(self._seen, local) - 1


def _parts(text: str) -> dict[str, str]:
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    parts: dict[str, str] = {}
    for chunk in body.split(";"):
        name, sep, value = chunk.partition("=")
        if not sep or not name.strip():
            raise InvalidRule(f"{chunk!r} is not NAME=VALUE")
        parts[name.strip().upper()] = value.strip().upper()
    return parts


def _periodic(parts: dict[str, str]) -> bool:
    """Say whether the rule repeats every few weeks (no months, years, or nth weekdays)."""
    if parts.get("FREQ") not in _UNITS or _CALENDAR_PARTS & parts.keys():
        return False
    return not any(ch.isdigit() for ch in parts.get("BYDAY", ""))


def _check_gaps(times: list[timedelta]) -> None:
    for a, b in itertools.pairwise(times):
        if b - a < MIN_GAP:
            raise InvalidRule(_TOO_OFTEN)


def _interval(parts: dict[str, str]) -> int:
    try:
        interval = int(parts.get("INTERVAL", "1"))
    except ValueError:
        raise InvalidRule("INTERVAL must be a whole number") from None
    limit = _MAX_INTERVAL.get(parts["FREQ"], 1000)
    if not 1 <= interval <= limit:
        raise InvalidRule(f"INTERVAL must be between 1 and {limit} for FREQ={parts['FREQ']}")
    return interval


def _probe_start(start: datetime, months: int) -> datetime:
    """Move `start` by whole repeats of a calendar rule's pattern to just before year 9999.

    dateutil looks for the first firing of a rule that never fires until year 9999; from
    there that search is short, and a rule that repeats shows the same pattern there.
    """
    repeats = (_PROBE_YEAR - start.year) * 12 // months
    return start.replace(year=start.year + repeats * months // 12) if repeats > 0 else start


def _parse(text: str, start: datetime) -> tuple[dict[str, str], rrule]:
    parts = _parts(text)
    for name, why in _REFUSED_PARTS.items():
        if name in parts:
            raise InvalidRule(why)
    freq = parts.get("FREQ")
    if freq == "SECONDLY":
        raise InvalidRule(_TOO_OFTEN)
    if freq not in (*_UNITS, "MONTHLY", "YEARLY"):
        raise InvalidRule("FREQ must be MINUTELY, HOURLY, DAILY, WEEKLY, MONTHLY or YEARLY")
    _interval(parts)
    try:
        rule = rrulestr(";".join(f"{k}={v}" for k, v in parts.items()), dtstart=start)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise InvalidRule(f"not a valid RFC 5545 RRULE: {exc}") from None
    if not isinstance(rule, rrule):
        raise InvalidRule("give one RRULE")
    return parts, rule


def _firings(
    rule: rrule, start: datetime, span: timedelta, limit: int, too_many: str = _TOO_OFTEN
) -> list[timedelta]:
    """Return when `rule` fires in [start, start + span) as offsets from `start`."""
    out = []
    for when in rule.replace(dtstart=start, until=start + span):
        if when >= start + span:
            break
        out.append(when - start)
        if len(out) > limit:
            raise InvalidRule(too_many)
    if not out:
        raise InvalidRule("the rule never fires")
    return out


@lru_cache(maxsize=1024)
def compile_rule(text: str, start: datetime) -> Handoffs:
    """Return the hand-offs of an RFC 5545 RRULE from `start`, or raise InvalidRule."""
    parts, rule = _parse(text, start)
    if _periodic(parts):
        cycle = _interval(parts) * _UNITS[parts["FREQ"]]
        period = timedelta(seconds=math.lcm(cycle, int(_WEEK.total_seconds())))
        room = datetime(_PROBE_YEAR, 1, 1) - start
        probe = start + max(room // period, 0) * period
        offsets = _firings(rule, probe, period, period // MIN_GAP)
        _check_gaps([*offsets, offsets[0] + period])
        return PeriodicHandoffs(start, period, offsets)
    # Calendar rules repeat with the Gregorian calendar, every 400 years (times the interval).
    unit_months = 12 if parts["FREQ"] == "YEARLY" else 1
    months = math.lcm(_interval(parts) * unit_months, 4800)
    probe = _probe_start(start, months)
    seen = _firings(rule, probe, _CALENDAR_SPAN, _CALENDAR_MAX, _CALENDAR_TOO_OFTEN)
    _check_gaps(seen)
    return ListedHandoffs(start, rule)


def handoffs(start: datetime, length: timedelta | None, rule: str | None) -> Handoffs:
    """Return a layer's hand-offs: its RRULE when it has one, else every `length`."""
    if rule:
        return compile_rule(rule, start)
    if length is None or length <= timedelta(0):
        raise InvalidRule("a layer needs a rotation_length or a handoff_rrule")
    return FixedHandoffs(start, length)
