"""Escalation timer lateness (d) and worker memory with many open incidents (e)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from functools import partial

from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from bench.figures import percentile
from bench.fixtures import BenchService
from bench.procs import PeakRss, rss_mb
from bench.runner import Bench
from bench.stack import log

LEVEL_DELAY = 2.0  # seconds; the level-1 delay of the escalation service


def _seconds(ts: Timestamp) -> float:
    return ts.ToNanoseconds() / 1e9


@dataclass
class HistoryStats:
    """What the incident workflows' event histories say about timers and workflow tasks."""

    timer_late: list[float] = field(default_factory=list)  # fired - (started + timeout), s
    without_timer: int = 0  # workflows whose level deadline passed before a timer was set
    task_seconds: list[float] = field(default_factory=list)  # workflow task started→completed
    task_timeouts: int = 0
    tasks: list[int] = field(default_factory=list)  # workflow tasks completed, per workflow
    activities: dict[str, list[int]] = field(default_factory=dict)  # scheduled, by type
    # Where an incident's time went until it rested: "task 1 queued" (scheduled -> started),
    # "task 1 ran" (started -> completed), "open_incident queued", "open_incident ran", ...
    spans: dict[str, list[float]] = field(default_factory=dict)

    def span(self, name: str, seconds: float) -> None:
        """Add one incident's duration of one step."""
        self.spans.setdefault(name, []).append(seconds)


async def history_stats(client: Client, workflow_ids: list[str]) -> HistoryStats:
    """Read the histories of `workflow_ids` and collect timer and workflow-task figures."""
    stats, sem = HistoryStats(), asyncio.Semaphore(10)

    async def one(wid: str) -> None:
        async with sem:
            history = await client.get_workflow_handle(wid).fetch_history()
        due, started, fired, tasks = {}, 0.0, 0, 0
        kinds: dict[str, int] = {}
        when: dict[int, float] = {}  # event id -> its time, for the spans
        names: dict[int, str] = {}  # activity scheduled event id -> its type
        for e in history.events:
            now = when[e.event_id] = _seconds(e.event_time)
            if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
                timeout = e.timer_started_event_attributes.start_to_fire_timeout
                due[e.event_id] = now + timeout.ToNanoseconds() / 1e9
            elif e.event_type == EventType.EVENT_TYPE_TIMER_FIRED:
                fired += 1
                stats.timer_late.append(now - due[e.timer_fired_event_attributes.started_event_id])
            elif e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
                started = now
                sched = e.workflow_task_started_event_attributes.scheduled_event_id
                stats.span(f"task {tasks + 1} queued", now - when[sched])
            elif e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                stats.task_seconds.append(now - started)
                stats.span(f"task {tasks + 1} ran", now - started)
                tasks += 1
            elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                name = e.activity_task_scheduled_event_attributes.activity_type.name
                kinds[name] = kinds.get(name, 0) + 1
                names[e.event_id] = name
            elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                sched = e.activity_task_started_event_attributes.scheduled_event_id
                stats.span(f"{names[sched]} queued", now - when[sched])
            elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                done = e.activity_task_completed_event_attributes
                name = names[done.scheduled_event_id]
                stats.span(f"{name} ran", now - when[done.started_event_id])
            elif e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
                stats.task_timeouts += 1
        stats.without_timer += fired == 0
        stats.tasks.append(tasks)
        for name, n in kinds.items():
            stats.activities.setdefault(name, []).append(n)

    await asyncio.gather(*(one(w) for w in workflow_ids))
    return stats


async def escalation(bench: Bench, svc: BenchService) -> None:
    """(d) Level 1 waits 2 s, then level 2 is paged: how late is level 2, p50 and p99."""
    m = bench.args.incidents
    client = await Client.connect(bench.stack.temporal)
    for run in range(bench.args.runs):
        with bench.measure_cpu(f"d escalation run {run + 1}"):
            r = await bench.open_incidents(svc, f"d{run}", m)
            wid = r["wid_prefix"]
            await bench.until(partial(bench.probe.notified, wid, level=2), m, None, "level 2")
        rows = await bench.probe.lateness(wid, LEVEL_DELAY)
        hist = await history_stats(client, [f"{wid}{i}" for i in range(m)])
        res = bench.results
        for key, label, values in (
            ("d_paged", "level 2 paged late", [p for p, _ in rows]),
            ("d_notified", "level 2 notified late", [n for _, n in rows]),
            ("d_timer", "Temporal timer fired late", hist.timer_late),
            ("d_task", "workflow task processing", hist.task_seconds),
        ):
            if values:
                res.add(f"{key}_p50", f"d. {label} p50", "ms", percentile(values, 50) * 1000)
                res.add(f"{key}_p99", f"d. {label} p99", "ms", percentile(values, 99) * 1000)
        res.add(
            "d_no_timer",
            "d. level 1 over before its timer was set",
            "%",
            100 * hist.without_timer / m,
        )
        res.add("d_task_timeouts", "d. workflow task timeouts", "count", hist.task_timeouts)
        notified = [n for _, n in rows]
        log(
            f"d run {run + 1}: level 2 notified late p50 {percentile(notified, 50):.2f}s, "
            f"p99 {percentile(notified, 99):.2f}s; {hist.without_timer} of {m} without a timer; "
            f"workflow tasks p99 {percentile(hist.task_seconds, 99):.2f}s"
        )


async def memory(bench: Bench, svc: BenchService, count: int) -> None:
    """(e) Open `count` incidents that wait on a 1 h timer; read worker and API memory."""
    procs = bench.stack.processes()
    if "worker" not in procs:
        bench.note("e skipped: the worker process is unknown (pass --worker-pid)")
        return
    before = {role: rss_mb(p) for role, p in procs.items()}
    with PeakRss(procs) as peak, bench.measure_cpu(f"e open {count}"):
        timeout = bench.args.wait_timeout + 1.5 * (bench.args.open_budget or count / 5)
        r = await bench.open_incidents(svc, "e0", count, timeout)
    await asyncio.sleep(2)  # let the last workflow tasks settle
    after = {role: rss_mb(p) for role, p in procs.items()}
    peak_worker = max(peak.peak["worker"], after["worker"])
    res = bench.results
    n = f"{count:,}"
    res.add(
        "e_rate", f"e. {n} incidents opened+paged, sustained", "/s", count / (r["paged"] - r["t0"])
    )
    res.add("e_worker", f"e. worker RSS, {n} incidents waiting", "MB", after["worker"])
    res.add("e_worker_peak", f"e. worker RSS peak while opening {n}", "MB", peak_worker)
    res.add(
        "e_worker_per_incident", "e. worker RSS growth per open incident", "KiB",
        (after["worker"] - before["worker"]) * 1024 / count,
    )  # fmt: skip
    for role in ("api", "temporal"):
        if role in after:
            res.add(f"e_{role}", f"e. {role} RSS, {n} incidents waiting", "MB", after[role])
    log(
        f"e: {count} incidents paged in {r['paged'] - r['t0']:.0f}s; worker RSS "
        f"{before['worker']:.0f} -> {after['worker']:.0f} MB (peak {peak_worker:.0f})"
    )


async def round_trips(bench: Bench, wid_prefix: str, count: int, sample: int = 50) -> None:
    """Count the workflow tasks and activities of a sample of the incidents just paged.

    Read a few seconds after the last first page, when each incident rests on its level-1
    timer: what opening and paging one incident cost the Temporal server.
    """
    await asyncio.sleep(3)
    client = await Client.connect(bench.stack.temporal)
    step = max(count // sample, 1)
    hist = await history_stats(client, [f"{wid_prefix}{i}" for i in range(0, count, step)])
    n = len(hist.tasks)
    tasks = sum(hist.tasks) / n
    acts = {name: sum(v) / n for name, v in sorted(hist.activities.items())}
    bench.results.add("a_tasks", "a. workflow tasks per incident (to its first timer)", "", tasks)
    bench.results.add(
        "a_activities", "a. activities per incident (to its first timer)", "", sum(acts.values())
    )
    shown = ", ".join(f"{name} {v:.1f}" for name, v in acts.items())
    log(f"a: per incident (sample of {n}) {tasks:.1f} workflow tasks; activities: {shown}")
    spans = ", ".join(
        f"{name} {percentile(v, 50) * 1000:.0f}/{percentile(v, 99) * 1000:.0f}"
        for name, v in hist.spans.items()
    )
    log(f"a: where the time went, ms p50/p99: {spans}")
