"""PageFree benchmarks: `python -m bench` prints one table of figures and writes JSON.

Usage (from the repository root, with the project's venv):

    python -m bench                 # full run, ~10 min on 2 cores: 3 runs of every figure
    python -m bench --quick         # smoke run: small counts, 1 run (1-3 min)
    python -m bench --runs 5 --alerts 500 --incidents 200 --open-incidents 20000
    python -m bench --api http://127.0.0.1:8000 --token pf_... \\
        --temporal 127.0.0.1:7233 --database-url postgresql://postgres@/pagefree?host=/path \\
        [--worker-pid PID --api-pid PID]   # a stack that already runs

Without --api it starts its own `pagefree dev --demo` in a fresh temporary data dir (API
18000, Temporal 17233, UI 18233, or free ports if those are taken), with
PAGEFREE_MIN_ESCALATION_DELAY=PT1S, and stops it (SIGINT) at the end. It creates its own users,
escalation policies and services through the HTTP API, then measures (median, min, max of
--runs runs): f. a trivial Temporal workflow baseline, a. incidents opened per second,
b. deduplicated ingestion, c. acknowledge latency, d. escalation lateness, e. memory with
--open-incidents incidents waiting on timers (reduced to fit --open-budget seconds and
--time-budget, 570 s by default, for the whole run).
Progress goes to stderr; the table to stdout; everything to bench/results/latest.json.
See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
import temporalio

from bench import figures, scale
from bench.db import Probe
from bench.fixtures import BenchService, Fixtures
from bench.report import RESULTS, Results, table, write_json
from bench.runner import TEARDOWN, Bench
from bench.stack import Stack, log, pick_ports, psycopg_url, scan_log, start_dev, stop

FULL = {"runs": 3, "alerts": 200, "incidents": 100, "open_incidents": 10_000}
ASSUMED_RATE = 5.0  # incidents/s, to size e when figure a did not run
QUICK = {"runs": 1, "alerts": 50, "incidents": 20, "open_incidents": 300}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line; counts left unset take the full or --quick defaults."""
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small counts, one run")
    p.add_argument("--runs", type=int, help="runs per figure (3; quick 1)")
    p.add_argument("--alerts", type=int, help="K alerts for a, b and f (200; quick 50)")
    p.add_argument("--incidents", type=int, help="M incidents for c and d (100; quick 20)")
    p.add_argument("--open-incidents", type=int, help="incidents for e (10000; quick 300)")
    p.add_argument("--open-budget", type=float, default=240, help="max seconds for e (0: no cap)")
    p.add_argument(
        "--time-budget", type=float, default=570, help="seconds for the whole run; e shrinks to fit"
    )
    p.add_argument("--concurrency", type=int, default=50, help="starts in flight per load")
    p.add_argument("--wait-timeout", type=float, default=60, help="base wait timeout, seconds")
    p.add_argument("--only", help="comma-separated figures to run, e.g. a,c (default: all)")
    p.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    p.add_argument("--output", type=Path, help="JSON file (default bench/results/latest.json)")
    p.add_argument("--ports", default="18000,17233,18233", help="API,Temporal,UI ports")
    g = p.add_argument_group("use a running stack instead of starting one")
    g.add_argument("--api", help="API base URL")
    g.add_argument("--token", help="admin API token")
    g.add_argument("--temporal", help="Temporal address host:port")
    g.add_argument("--database-url", help="PostgreSQL URL")
    g.add_argument("--worker-pid", type=int, help="worker process, for CPU and memory figures")
    g.add_argument("--api-pid", type=int, help="API process, for CPU and memory figures")
    args = p.parse_args(argv)
    args.deadline = time.monotonic() + args.time_budget
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    configured = [args.api, args.token, args.temporal, args.database_url]
    if any(configured) and not all(configured):
        p.error("--api needs --token, --temporal and --database-url")
    return args


def open_count(bench: Bench) -> int:
    """Return the count for (e): as asked, or fewer to fit --open-budget and the time left."""
    wanted, budget = bench.args.open_incidents, bench.args.open_budget
    rate = bench.results.median("a_paged")
    if not budget:
        return int(wanted)
    if not rate:
        rate = ASSUMED_RATE
        bench.note(f"e: no figure a to size e by; assuming {rate:.0f} incidents/s")
    left = bench.args.deadline - time.monotonic() - TEARDOWN
    if left < 30:
        bench.note(f"e skipped: only {left:.0f}s of --time-budget left")
        return 0
    budget = min(budget, left)
    # Later incidents open slower than the first ones (more open workflows, a fuller cache).
    rate *= 0.75
    if wanted / rate <= budget:
        return int(wanted)
    count = max(100, int(rate * budget) // 100 * 100)
    bench.note(
        f"e: {wanted} incidents at ~{rate:.1f}/s would take ~{wanted / rate:.0f}s, over the "
        f"{budget:.0f}s left for e: measuring {count} instead (--open-budget 0 to insist)"
    )
    return count


async def run_all(bench: Bench) -> dict[str, Any]:
    """Create the bench services and run every selected figure; return extra metadata."""
    only = set((bench.args.only or "a,b,c,d,e,f").split(","))
    fx = bench.fixtures
    a, b = await fx.user("a"), await fx.user("b")
    svc = {
        "open": await fx.service("open", [("PT1H", a)]),
        "dedup": await fx.service("dedup", [("PT1H", a)]),
        "ack": await fx.service("ack", [("PT1H", a)]),
        "escalate": await fx.service("escalate", [("PT2S", a), ("PT1H", b)]),
        "idle": await fx.service("idle", [("PT1H", a)]),
    }
    log("created bench users, escalation policies and services")
    meta: dict[str, Any] = {}
    phases: list[tuple[str, Any]] = [
        ("f", lambda: figures.baseline(bench)),
        ("a", lambda: figures.opening(bench, svc["open"])),
        ("b", lambda: figures.dedup(bench, svc["dedup"])),
        ("c", lambda: figures.acknowledge(bench, svc["ack"])),
        ("d", lambda: scale.escalation(bench, svc["escalate"])),
        ("e", lambda: _memory(bench, svc["idle"], meta)),
    ]
    for name, phase in phases:
        if name in only:
            await _phase(bench, name, phase())
    fa, ff = bench.results.figures.get("a_opened"), bench.results.figures.get("f_completed")
    if fa and ff:
        for opened, done in zip(fa.values, ff.values, strict=False):
            bench.results.add(
                "ratio", "a/f. incidents opened / baseline completed", "x", opened / done
            )
    return meta


async def _memory(bench: Bench, svc: BenchService, meta: dict[str, Any]) -> None:
    meta["e_count"] = count = open_count(bench)
    if count:
        await scale.memory(bench, svc, count)


async def _phase(bench: Bench, name: str, work: Awaitable[None]) -> None:
    log(f"--- figure {name}")
    try:
        await work
    except Exception as exc:
        bench.kill_loads()
        bench.results.fail(f"{name}_failed", f"{name}. (failed: see notes)", "", repr(exc))
        bench.note(f"figure {name} failed: {exc!r}")


async def main_async(args: argparse.Namespace, stack: Stack) -> dict[str, Any]:
    """Connect to the stack, run the figures, print the table and write the JSON."""
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {stack.token}"}
    probe = await Probe.connect(stack.database_url)
    async with httpx.AsyncClient(base_url=stack.api, headers=headers, timeout=30) as http:
        bench = Bench(args=args, stack=stack, http=http, probe=probe, fixtures=Fixtures(http))
        try:
            meta = await run_all(bench)
        finally:
            bench.kill_loads()
            await probe.close()
    busy = [cores.get("other", 0.0) for cores in bench.cpu.values()]
    if busy and max(busy) > 0.25:
        bench.note(
            f"other work on this machine used up to {max(busy):.2f} cores during the figures "
            f"(mean {sum(busy) / len(busy):.2f}): the figures are pessimistic"
        )
    meta |= {
        "cpu_cores_by_phase": bench.cpu,
        "notes": bench.notes,
        "bench_seconds": round(time.monotonic() - started, 1),
    }
    print(table(bench.results), flush=True)
    meta["results"] = bench.results
    return meta


def machine() -> dict[str, Any]:
    """Describe the machine the figures come from."""
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average": os.getloadavg(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "temporalio": temporalio.__version__,
    }


def main(argv: list[str] | None = None) -> None:
    """Run the benchmarks end to end (`python -m bench quiet ...`: bench/quiet.py)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["quiet"]:
        from bench import quiet

        quiet.main(argv[1:])
        return
    args = parse_args(argv)
    started, started_at = time.monotonic(), datetime.now(UTC)
    meta: dict[str, Any] = {"started_at": started_at.isoformat(), "machine_at_start": machine()}
    if args.api:
        stack = Stack(
            api=args.api.rstrip("/"), token=args.token, temporal=args.temporal,
            database_url=psycopg_url(args.database_url),
            worker_pid=args.worker_pid, api_pid=args.api_pid,
        )  # fmt: skip
    else:
        api_port, temporal_port, ui_port = (int(p) for p in args.ports.split(","))
        stack = start_dev(pick_ports(api_port, temporal_port, ui_port))
    failed = True
    try:
        meta |= asyncio.run(main_async(args, stack))
        failed = any(f.error for f in meta["results"].figures.values())
    finally:
        meta["dev_log"] = scan_log(stack)
        if meta["dev_log"]:
            log(f"in the output of `pagefree dev`: {meta['dev_log']}")
        stop(stack, keep=args.keep, save_log=RESULTS / "dev-last-failure.log" if failed else None)
    results: Results = meta.pop("results")
    meta |= {
        "args": vars(args) | {"token": "***"},
        "stack": {"api": stack.api, "temporal": stack.temporal, "embedded": stack.dev is not None},
        "load_average_at_end": os.getloadavg(),
        "total_seconds": round(time.monotonic() - started, 1),
    }
    path = write_json(results, meta, args.output)
    log(f"total {meta['total_seconds']:.0f}s; wrote {path}")


if __name__ == "__main__":
    main()
