"""The resolver: who is on call at an instant, and the final shifts of a range. Pure."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from app.schedules.handoffs import Handoffs, handoffs
from app.schedules.intervals import gaps, intersect, merge_adjacent, overlay
from app.schedules.localtime import to_instant, to_local, zone
from app.schedules.spec import LayerSpec, OnCall, Rendering, ScheduleSpec, Shift, SwapSpec
from app.schedules.windows import restriction_windows

# A shift whose ends lie further than this from the instant asked about reports None there.
HORIZON = timedelta(days=366)
# Rendering more shifts than this per layer is refused rather than allowed to exhaust memory.
MAX_SHIFTS = 20_000
_FIRST_SPAN = timedelta(hours=12)


class TooManyShifts(ValueError):
    """The range asked for holds too many shifts to render at once."""


@dataclass(slots=True)
class _Layer:
    spec: LayerSpec
    handoffs: Handoffs
    tz: ZoneInfo
    swapped: dict[int, UUID]

    def instant(self, k: int) -> datetime:
        return to_instant(self.handoffs.local(k), self.tz)

    def user(self, k: int) -> UUID:
        return self.swapped.get(k, self.spec.users[k % len(self.spec.users)])

    def shift_at(self, at: datetime) -> int:
        """Return the shift holding `at` (-1 before the layer starts)."""
        k = self.handoffs.index(to_local(at, self.tz))
        # Local time runs backwards for an hour when clocks fall back: settle on instants.
        while k >= 0 and self.instant(k) > at:
            k -= 1
        while self.instant(k + 1) <= at:
            k += 1
        return k

    def shift_starting(self, start: datetime) -> int | None:
        k = self.shift_at(start)
        return k if k >= 0 and self.instant(k) == start else None


def _swap_into(layer: _Layer, swap: SwapSpec) -> bool:
    """Apply a swap to the layer; say False when it no longer matches the rotation."""
    mine, theirs = layer.shift_starting(swap.start), layer.shift_starting(swap.with_start)
    if mine is None or theirs is None or mine == theirs:
        return False
    if layer.user(mine) != swap.user_id or layer.user(theirs) != swap.with_user_id:
        return False
    layer.swapped[mine], layer.swapped[theirs] = swap.with_user_id, swap.user_id
    return True


def _compile(spec: ScheduleSpec) -> tuple[list[_Layer], list[str]]:
    tz = zone(spec.timezone)
    layers, warnings = [], []
    for ls in spec.layers:
        layer = _Layer(ls, handoffs(ls.start, ls.rotation_length, ls.handoff_rrule), tz, {})
        for swap in sorted(spec.swaps, key=lambda s: (s.start, str(s.id))):
            if swap.layer_id == ls.id and not _swap_into(layer, swap):
                warnings.append(
                    f"swap {swap.id} no longer matches the rotation of layer {ls.name!r}; "
                    "it is ignored"
                )
        layers.append(layer)
    return layers, warnings


def _layer_shifts(layer: _Layer, since: datetime, until: datetime) -> list[Shift]:
    out: list[Shift] = []
    k = max(layer.shift_at(since), 0)
    start = layer.instant(k)
    while start < until:
        end = layer.instant(k + 1)
        if end > since and start < end:
            out.append(Shift(max(start, since), min(end, until), layer.user(k)))
            if len(out) > MAX_SHIFTS:
                raise TooManyShifts(f"more than {MAX_SHIFTS} shifts in layer {layer.spec.name!r}")
        k, start = k + 1, end
    if layer.spec.restrictions:
        windows = restriction_windows(layer.spec.restrictions, layer.tz, since, until)
        out = intersect(out, windows)
    return merge_adjacent(out)


def _disjoint(spec: ScheduleSpec) -> list[Shift]:
    """Return the overrides by start; stored ones never overlap, and clipping keeps it so."""
    out: list[Shift] = []
    for o in sorted(spec.overrides, key=lambda o: (o.start, o.end)):
        start = max(o.start, out[-1].end) if out else o.start
        if start < o.end:
            out.append(Shift(start, o.end, o.user_id))
    return out


def _overrides(
    overrides: list[Shift], ends: list[datetime], since: datetime, until: datetime
) -> list[Shift]:
    out: list[Shift] = []
    # Disjoint and sorted, so their ends are sorted too: skip those over before `since`.
    for o in overrides[bisect_right(ends, since) :]:
        if o.start >= until:
            break
        out.append(Shift(max(o.start, since), min(o.end, until), o.user_id))
    return out


@dataclass(slots=True)
class _Compiled:
    layers: list[_Layer]
    warnings: list[str]
    overrides: list[Shift]
    ends: list[datetime]


def _compile_all(spec: ScheduleSpec) -> _Compiled:
    layers, warnings = _compile(spec)
    overrides = _disjoint(spec)
    return _Compiled(layers, warnings, overrides, [o.end for o in overrides])


def _render(c: _Compiled, since: datetime, until: datetime) -> Rendering:
    per_layer = [_layer_shifts(layer, since, until) for layer in c.layers]
    final: list[Shift] = []
    for shifts in per_layer:
        final = overlay(final, shifts) if final else shifts
    final = merge_adjacent(overlay(final, _overrides(c.overrides, c.ends, since, until)))
    return Rendering(final, per_layer, gaps(final, since, until), list(c.warnings))


def shifts(spec: ScheduleSpec, since: datetime, until: datetime) -> Rendering:
    """Return the final shifts of [since, until): layers merged, restrictions, swaps, overrides.

    Shifts are clipped to the range; adjacent shifts of the same user are merged.
    """
    return _render(_compile_all(spec), since, until)


def on_call(spec: ScheduleSpec, at: datetime, horizon: timedelta = HORIZON) -> OnCall:
    """Return who is on call at `at` and the bounds of their merged shift."""
    compiled = _compile_all(spec)
    span = _FIRST_SPAN
    shift, open_start, open_end = None, False, False
    while True:
        try:
            rendered = _render(compiled, at - span, at + span)
        except TooManyShifts:
            # Minute-long rotations of one user: the wider look costs too much; the bounds
            # stay unknown rather than the answer failing (the first look is always small).
            break
        shift = next((s for s in rendered.shifts if s.start <= at < s.end), None)
        if shift is None:
            return OnCall(at, None)
        # A bound on the edge of the rendered range may reach further: look wider.
        open_start, open_end = shift.start <= at - span, shift.end >= at + span
        if not (open_start or open_end) or span >= horizon:
            break
        span = min(span * 4, horizon)
    assert shift is not None
    return OnCall(
        at,
        shift.user_id,
        None if open_start else shift.start,
        None if open_end else shift.end,
    )


def rotation_shift(spec: ScheduleSpec, layer_id: UUID, start: datetime) -> Shift | None:
    """Return the layer's rotation shift that starts exactly at `start`, before any swap."""
    tz = zone(spec.timezone)
    for ls in spec.layers:
        if ls.id == layer_id:
            layer = _Layer(ls, handoffs(ls.start, ls.rotation_length, ls.handoff_rrule), tz, {})
            k = layer.shift_starting(start)
            if k is None:
                return None
            return Shift(start, layer.instant(k + 1), layer.user(k))
    return None
