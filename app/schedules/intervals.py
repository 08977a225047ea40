"""Operations on sorted, non-overlapping lists of shifts and windows (half-open intervals)."""

from __future__ import annotations

from datetime import datetime

from app.schedules.spec import Gap, Shift

Window = tuple[datetime, datetime]


def union(windows: list[Window]) -> list[Window]:
    """Return the union of windows as a sorted list of disjoint, non-touching windows."""
    out: list[Window] = []
    for start, end in sorted(w for w in windows if w[0] < w[1]):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def intersect(shifts: list[Shift], windows: list[Window]) -> list[Shift]:
    """Return the parts of `shifts` inside `windows` (both sorted and disjoint)."""
    out: list[Shift] = []
    j = 0
    for shift in shifts:
        while j < len(windows) and windows[j][1] <= shift.start:
            j += 1
        k = j
        while k < len(windows) and windows[k][0] < shift.end:
            start, end = max(shift.start, windows[k][0]), min(shift.end, windows[k][1])
            if start < end:
                out.append(Shift(start, end, shift.user_id))
            k += 1
    return out


def overlay(lower: list[Shift], upper: list[Shift]) -> list[Shift]:
    """Return `upper` with `lower` filling the time `upper` leaves uncovered."""
    out: list[Shift] = []
    j = 0
    for shift in lower:
        cursor = shift.start
        while j < len(upper) and upper[j].end <= cursor:
            j += 1
        k = j
        while k < len(upper) and upper[k].start < shift.end:
            if upper[k].start > cursor:
                out.append(Shift(cursor, upper[k].start, shift.user_id))
            cursor = max(cursor, upper[k].end)
            k += 1
        if cursor < shift.end:
            out.append(Shift(cursor, shift.end, shift.user_id))
    out.extend(upper)
    out.sort(key=lambda s: s.start)
    return out


def merge_adjacent(shifts: list[Shift]) -> list[Shift]:
    """Join shifts of the same user that touch end to start."""
    out: list[Shift] = []
    for shift in shifts:
        if out and out[-1].user_id == shift.user_id and out[-1].end == shift.start:
            out[-1] = Shift(out[-1].start, shift.end, shift.user_id)
        else:
            out.append(shift)
    return out


def gaps(shifts: list[Shift], since: datetime, until: datetime) -> list[Gap]:
    """Return the times in [since, until) that no shift covers."""
    out: list[Gap] = []
    cursor = since
    for shift in shifts:
        if shift.start > cursor:
            out.append(Gap(cursor, min(shift.start, until)))
        cursor = max(cursor, shift.end)
    if cursor < until:
        out.append(Gap(cursor, until))
    return [g for g in out if g.start < g.end]
