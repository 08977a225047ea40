"""When a restricted layer may be on call: its daily and weekly windows as instants."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from app.schedules.intervals import Window, union
from app.schedules.localtime import to_instant, to_local
from app.schedules.spec import Restriction

_DAY = timedelta(days=1)
_WEEK = timedelta(weeks=1)


def _local_windows(
    restriction: Restriction, first: datetime, last: datetime
) -> list[tuple[datetime, datetime]]:
    """Return the restriction's local windows that start between `first` and `last`."""
    day = first.date()
    if restriction.type == "weekly" and restriction.start_day is not None:
        # The last start on that weekday at or before `first`, which may still be open.
        day -= timedelta(days=(day.weekday() - restriction.start_day) % 7)
    step = _WEEK if restriction.type == "weekly" else _DAY
    out = []
    start = datetime.combine(day, restriction.start_time)
    while start <= last:
        out.append((start, start + restriction.duration))
        start += step
    return out


def restriction_windows(
    restrictions: tuple[Restriction, ...], tz: ZoneInfo, since: datetime, until: datetime
) -> list[Window]:
    """Return the instants in [since, until) when any of `restrictions` allows the layer.

    Windows are laid out in local wall-clock time, so "09:00 for 8 hours" stays 09:00-17:00
    on the days clocks change.
    """
    local_since = to_local(since, tz)
    last = to_local(until, tz) + _DAY
    found: list[Window] = []
    for restriction in restrictions:
        # A window that opened one window-length (and a DST shift) before `since` may be open.
        first = local_since - restriction.duration - _DAY
        for local_start, local_end in _local_windows(restriction, first, last):
            start, end = to_instant(local_start, tz), to_instant(local_end, tz)
            if start < until and end > since:
                found.append((max(start, since), min(end, until)))
    return union(found)
