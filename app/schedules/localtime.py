"""Wall-clock time in a schedule's zone and instants, with one rule for DST gaps and repeats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

_SECOND = timedelta(seconds=1)


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """Return the IANA zone `name` (cached)."""
    return ZoneInfo(name)


def to_local(instant: datetime, tz: ZoneInfo) -> datetime:
    """Return the naive wall-clock time that clocks in `tz` show at `instant`."""
    return instant.astimezone(tz).replace(tzinfo=None)


@lru_cache(maxsize=32768)
def to_instant(local: datetime, tz: ZoneInfo) -> datetime:
    """Return the UTC instant of a wall-clock time in `tz`.

    A time that occurs twice (clocks fall back) means its first occurrence; a time that never
    occurs (clocks spring forward over it) means the instant the clocks jump. Both keep the
    mapping monotone, so hand-offs and windows never run backwards or overlap.
    """
    first = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == local:
        return first
    # Skipped: fold=1 reads the time with the offset after the jump (an instant before it),
    # fold=0 with the offset before (an instant after it); the jump lies between.
    # Zones change offset on whole seconds, so a search over whole seconds finds it exactly.
    lo = _whole(local.replace(tzinfo=tz, fold=1).astimezone(UTC))
    hi = _whole(first)
    if hi < first:
        hi += _SECOND
    before = lo.astimezone(tz).utcoffset()
    while hi - lo > _SECOND:
        mid = _whole(lo + (hi - lo) / 2)
        if mid.astimezone(tz).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return hi


def _whole(instant: datetime) -> datetime:
    return instant - timedelta(microseconds=instant.microsecond)
