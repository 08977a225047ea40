"""Properties of rendered shifts, over random zones, rotations, restrictions and ranges."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.schedules.localtime import to_instant, to_local, zone
from app.schedules.rotation import on_call, shifts
from app.schedules.spec import LayerSpec, Restriction, ScheduleSpec, Shift
from tests.schedules.builders import A, B, C, D, layer

ZONES = ["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]
SECOND = timedelta(seconds=1)

restrictions = st.lists(
    st.one_of(
        st.builds(
            lambda h, m, d: Restriction("daily", time(h, m), timedelta(minutes=d)),
            st.integers(0, 23),
            st.sampled_from([0, 15, 30, 45]),
            st.integers(15, 24 * 60),
        ),
        st.builds(
            lambda day, h, m, d: Restriction("weekly", time(h, m), timedelta(minutes=d), day),
            st.integers(0, 6),
            st.integers(0, 23),
            st.sampled_from([0, 30]),
            st.integers(30, 7 * 24 * 60),
        ),
    ),
    max_size=3,
)
starts = st.datetimes(datetime(2025, 1, 1), datetime(2027, 1, 1)).map(
    lambda d: d.replace(second=0, microsecond=0)
)
layers = st.builds(
    lambda start, minutes, users, rs: layer(
        start.isoformat(), tuple(users), timedelta(minutes=minutes), *rs
    ),
    starts,
    st.integers(2, 14 * 48).map(lambda n: n * 30),
    st.lists(st.sampled_from([A, B, C, D]), min_size=1, max_size=4),
    restrictions,
)
specs = st.builds(
    lambda tz, ls: ScheduleSpec(timezone=tz, layers=tuple(ls)),
    st.sampled_from(ZONES),
    st.lists(layers, min_size=1, max_size=3),
)
ranges = st.tuples(starts, st.integers(60, 20 * 24 * 60)).map(
    lambda p: (p[0].replace(tzinfo=UTC), p[0].replace(tzinfo=UTC) + timedelta(minutes=p[1]))
)


def _allowed(spec: ScheduleSpec, ls: LayerSpec, at: datetime) -> bool:
    """Say, from first principles, whether the layer may be on call at `at`."""
    tz = zone(spec.timezone)
    if at < to_instant(ls.start, tz):
        return False
    if not ls.restrictions:
        return True
    today = to_local(at, tz).date()
    for r in ls.restrictions:
        for back in range(-1, 9):
            day = today - timedelta(days=back)
            if r.type == "weekly" and day.weekday() != r.start_day:
                continue
            opens = datetime.combine(day, r.start_time)
            if to_instant(opens, tz) <= at < to_instant(opens + r.duration, tz):
                return True
    return False


def _probes(items: list[Shift], since: datetime, until: datetime, extra: list[datetime]) -> set:  # type: ignore[type-arg]
    points = {since, until - SECOND, *extra}
    for s in items:
        points |= {s.start, s.start - SECOND, s.end, s.end - SECOND}
    return {p for p in points if since <= p < until}


def _covering(items: list[Shift], at: datetime) -> list[Shift]:
    return [s for s in items if s.start <= at < s.end]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=specs, window=ranges, extra=st.lists(st.integers(0, 10**9), max_size=8))
def test_layer_shifts_never_overlap_and_cover_exactly_the_restricted_windows(
    spec: ScheduleSpec, window: tuple[datetime, datetime], extra: list[int]
) -> None:
    since, until = window
    rendered = shifts(spec, since, until)
    span = (until - since).total_seconds()
    samples = [since + timedelta(seconds=x % span) for x in extra]
    for ls, items in zip(spec.layers, rendered.layers, strict=True):
        for s in items:
            assert since <= s.start < s.end <= until
        for prev, nxt in itertools.pairwise(items):
            assert prev.end <= nxt.start, "shifts of a layer overlap"
        for at in _probes(items, since, until, samples):
            assert bool(_covering(items, at)) == _allowed(spec, ls, at), at


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=specs, window=ranges, extra=st.lists(st.integers(0, 10**9), max_size=8))
def test_final_shifts_are_disjoint_merged_and_agree_with_on_call(
    spec: ScheduleSpec, window: tuple[datetime, datetime], extra: list[int]
) -> None:
    since, until = window
    rendered = shifts(spec, since, until)
    final = rendered.shifts
    for prev, nxt in itertools.pairwise(final):
        assert prev.end <= nxt.start
        assert not (prev.end == nxt.start and prev.user_id == nxt.user_id), "not merged"
    covered = sum(((s.end - s.start) for s in final), timedelta(0))
    gaps = sum(((g.end - g.start) for g in rendered.gaps), timedelta(0))
    assert covered + gaps == until - since
    span = (until - since).total_seconds()
    for at in _probes(final, since, until, [since + timedelta(seconds=x % span) for x in extra]):
        here = _covering(final, at)
        # The top layer that may be on call at `at` decides.
        top = next(
            (ls for ls in reversed(spec.layers) if _allowed(spec, ls, at)),
            None,
        )
        assert bool(here) == (top is not None)
        found = on_call(spec, at)
        assert found.user_id == (here[0].user_id if here else None)
        if here and found.start is not None and since < here[0].start:
            assert found.start == here[0].start
        if here and found.end is not None and here[0].end < until:
            assert found.end == here[0].end
