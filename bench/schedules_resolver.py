"""How fast the schedule resolver answers who is on call: `python -m bench.schedules_resolver`.

A schedule in America/New_York with 3 layers (a weekly rotation handing off Mondays at 10:00,
a restricted nights layer, and weekday office hours made of five weekly windows) and 50
overrides spread over two years; `on_call` is asked at random instants within a year either
side of now, as an escalation activity would. Prints p50, p99 and max in milliseconds, then
the same for a schedule whose layers hand off by RRULE. Pure computation: no database.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from uuid import uuid4

from app.schedules.rotation import on_call
from app.schedules.spec import LayerSpec, OverrideSpec, Restriction, ScheduleSpec

YEAR = timedelta(days=365)


def build(*, rrule: bool) -> ScheduleSpec:
    """Return the benchmark schedule (hand-offs by RRULE when `rrule`)."""
    users = [uuid4() for _ in range(8)]
    start = datetime(2025, 1, 6, 10, 0)

    def layer(name: str, who: list, length: timedelta, rule: str, *rs: Restriction) -> LayerSpec:  # type: ignore[type-arg]
        return LayerSpec(
            id=uuid4(),
            name=name,
            start=start,
            users=tuple(who),
            rotation_length=None if rrule else length,
            handoff_rrule=rule if rrule else None,
            restrictions=rs,
        )

    nights = Restriction("daily", clock(18, 0), timedelta(hours=15))
    office = [Restriction("weekly", clock(9, 0), timedelta(hours=8), day) for day in range(5)]
    layers = (
        layer("base", users[:4], timedelta(weeks=1), "FREQ=WEEKLY;BYDAY=MO;BYHOUR=10"),
        layer("nights", users[4:6], timedelta(days=1), "FREQ=DAILY;BYHOUR=10", nights),
        layer("office", users[6:], timedelta(days=3), "FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=9", *office),
    )
    rng = random.Random(7)
    now = datetime.now(UTC)
    overrides = []
    for i in range(50):  # one every ~two weeks over two years, a few hours to two days long
        begin = now - YEAR + timedelta(days=14.6 * i + rng.uniform(0, 7))
        overrides.append(
            OverrideSpec(
                uuid4(), rng.choice(users), begin, begin + timedelta(hours=rng.randint(2, 48))
            )
        )
    return ScheduleSpec("America/New_York", layers, tuple(overrides))


def measure(
    spec: ScheduleSpec, calls: int, seed: int = 1, clock_: Callable[[], float] = time.perf_counter
) -> list[float]:
    """Return the duration of `calls` on_call answers at random instants, in milliseconds."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    instants = [
        now + timedelta(seconds=rng.uniform(-1, 1) * YEAR.total_seconds()) for _ in range(calls)
    ]
    out = []
    for at in instants:
        started = clock_()
        on_call(spec, at)
        out.append((clock_() - started) * 1000)
    return out


def report(label: str, values: list[float]) -> str:
    """Return one line of figures."""
    q = statistics.quantiles(values, n=100, method="inclusive")
    figures = f"p50={q[49]:.3f} ms  p99={q[98]:.3f} ms  max={max(values):.3f} ms"
    return f"{label:<42} calls={len(values):>6}  {figures}"


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    for label, spec in (
        ("3 layers, restrictions, 50 overrides", build(rrule=False)),
        ("same, hand-offs by RRULE", build(rrule=True)),
    ):
        on_call(spec, datetime.now(UTC))  # compile rules and warm caches once, as a worker would
        print(report(f"{label} (wall)", measure(spec, args.calls)), flush=True)
        # CPU time of this thread: what the resolver costs, without a busy machine's preemption.
        cpu = measure(spec, args.calls, seed=2, clock_=time.thread_time)
        print(report(f"{label} (cpu)", cpu), flush=True)


if __name__ == "__main__":
    main()
