"""Throughput and latency figures: baseline (f), opening (a), dedup (b), acknowledge (c)."""

from __future__ import annotations

import statistics
import time
import uuid
from functools import partial

from bench.baseline import baseline_worker
from bench.fixtures import BenchService
from bench.runner import Bench
from bench.stack import log


def percentile(values: list[float], pct: int) -> float:
    """Return the pct-th percentile (inclusive method; p100 is the max); NaN if no values."""
    if len(values) <= 1:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


async def baseline(bench: Bench) -> None:
    """(f) Trivial workflow + one trivial activity on a worker in this process: completed/s."""
    k = bench.args.alerts
    queue = f"bench-baseline-{uuid.uuid4().hex[:6]}"
    async with baseline_worker(bench.stack.temporal, queue):
        for run in range(bench.args.runs):
            with bench.measure_cpu(f"f baseline run {run + 1}"):
                r = await bench.load("baseline", f"f{run}-{queue}", k, task_queue=queue)
            accepted, done = k / (r["accepted"] - r["t0"]), k / (r["done"] - r["t0"])
            bench.results.add("f_accepted", "f. baseline workflow starts accepted", "/s", accepted)
            bench.results.add("f_completed", "f. baseline workflows completed", "/s", done)
            log(f"f run {run + 1}: {k} started {accepted:.0f}/s, completed {done:.1f}/s")


async def opening(bench: Bench, svc: BenchService) -> None:
    """(a) K distinct alerts by signal-with-start: accepted/s, opened/s, paged/s."""
    k = bench.args.alerts
    for run in range(bench.args.runs):
        with bench.measure_cpu(f"a opening run {run + 1}"):
            r = await bench.open_incidents(svc, f"a{run}", k)
        rates = {
            "accepted": k / (r["accepted"] - r["t0"]),
            "opened": k / (r["opened"] - r["t0"]),
            "paged": k / (r["paged"] - r["t0"]),
        }
        res = bench.results
        res.add("a_accepted", "a. alerts accepted (signal-with-start)", "/s", rates["accepted"])
        res.add("a_opened", "a. incidents opened end to end (row)", "/s", rates["opened"])
        res.add("a_paged", "a. incidents paged end to end (1st notif.)", "/s", rates["paged"])
        log(
            f"a run {run + 1}: {k} alerts accepted {rates['accepted']:.0f}/s, "
            f"opened {rates['opened']:.1f}/s, paged {rates['paged']:.1f}/s"
        )


async def dedup(bench: Bench, svc: BenchService) -> None:
    """(b) K alerts with one dedup key: accepted/s and time until alert_count reaches K."""
    k = bench.args.alerts
    for run in range(bench.args.runs):
        prefix = f"b{run}"
        wid = f"incident:{svc.routing_key}:{prefix}"
        with bench.measure_cpu(f"b dedup run {run + 1}"):
            load = bench.start_load(
                "incidents", prefix, k, same_key=True,
                service_id=svc.id, routing_key=svc.routing_key, name=svc.name,
            )  # fmt: skip
            counted = await bench.until(partial(bench.probe.alert_count, wid), k, load, "alerts")
            r = await load
        incidents = await bench.probe.incidents(wid)
        if incidents != 1:
            bench.note(f"b run {run + 1}: {k} alerts with one dedup key made {incidents} incidents")
        accepted = k / (r["accepted"] - r["t0"])
        bench.results.add("b_accepted", "b. dedup alerts accepted", "/s", accepted)
        bench.results.add(
            "b_counted", f"b. dedup: {k} alerts counted on 1 incident", "s", counted - r["t0"]
        )
        took = counted - r["t0"]
        log(f"b run {run + 1}: accepted {accepted:.0f}/s, all counted after {took:.2f}s")


async def acknowledge(bench: Bench, svc: BenchService) -> None:
    """(c) HTTP acknowledge round trip over M freshly paged incidents: p50 and p99."""
    m = bench.args.incidents
    for run in range(bench.args.runs):
        r = await bench.open_incidents(svc, f"c{run}", m)
        ids = await bench.probe.incident_ids(r["wid_prefix"])
        latencies, failures = [], 0
        with bench.measure_cpu(f"c acknowledge run {run + 1}"):
            for incident_id in ids:
                t0 = time.perf_counter()
                response = await bench.http.post(f"/api/v1/incidents/{incident_id}/acknowledge")
                latencies.append((time.perf_counter() - t0) * 1000)
                if response.status_code != 200 or response.json()["status"] != "acknowledged":
                    failures += 1
        if failures:
            bench.note(f"c run {run + 1}: {failures} of {len(ids)} acknowledgements failed")
        p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
        bench.results.add("c_p50", "c. acknowledge round trip p50", "ms", p50)
        bench.results.add("c_p99", "c. acknowledge round trip p99", "ms", p99)
        log(f"c run {run + 1}: {len(ids)} acks p50 {p50:.0f} ms, p99 {p99:.0f} ms")
