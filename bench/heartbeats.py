"""Heartbeat monitors under load: ping throughput, and how late a missed deadline pages.

    python -m bench.heartbeats [--monitors 200] [--every 3] [--seconds 20] [--silent 20] \
        [--api URL --token TOKEN]

Without --api it starts `pagefree dev --demo` on free loopback ports and stops it after.
It creates MONITORS monitors (interval 10 s, no grace) on the first service, pings each every
EVERY seconds for SECONDS seconds (all concurrently, over loopback), then lets SILENT of them
go quiet and waits (at most 60 s) for their incidents. Prints JSON: accepted pings per second,
ping latency p50/p99, and detection lateness p50/p99 (incident opened minus deadline, where the
deadline is the last accepted ping + interval). Every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench import stack as stacks

INTERVAL = 10.0
WAIT_FOR_INCIDENTS = 60.0


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


async def run(api: str, token: str, args: argparse.Namespace) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=20)
    async with httpx.AsyncClient(base_url=api, headers=headers, timeout=30, limits=limits) as c:
        services = (await c.get("/api/v1/services", params={"limit": 1})).json()["data"]
        service_id = services[0]["id"]
        monitors = []
        for i in range(args.monitors):
            made = await c.post(
                f"/api/v1/services/{service_id}/heartbeats",
                json={"name": f"bench-{i}", "interval": INTERVAL},
            )
            made.raise_for_status()
            monitors.append(made.json())
        keys = {m["id"]: m["url"].rsplit("/heartbeat/", 1)[1] for m in monitors}
        last_ok: dict[str, datetime] = {}
        latencies: list[float] = []
        refused = 0
        errors: list[str] = []
        silent = set(list(keys)[: args.silent])

        async def ping(hb_id: str) -> None:
            nonlocal refused
            started = time.perf_counter()
            try:
                answer = await c.post(f"/heartbeat/{keys[hb_id]}")
            except httpx.HTTPError:
                errors.append(hb_id)
                return
            latencies.append(time.perf_counter() - started)
            if answer.status_code == 200:
                last_ok[hb_id] = datetime.now(UTC)
            else:
                refused += 1

        started = time.perf_counter()
        rounds = max(1, int(args.seconds / args.every))
        for _ in range(rounds):
            tick = time.perf_counter()
            await asyncio.gather(*(ping(h) for h in keys))
            await asyncio.sleep(max(0.0, args.every - (time.perf_counter() - tick)))
        # The silent ones stop; the others keep pinging while we wait for the incidents.
        since = datetime.now(UTC) - timedelta(minutes=5)
        found: dict[str, datetime] = {}
        deadline = time.perf_counter() + WAIT_FOR_INCIDENTS
        while time.perf_counter() < deadline and len(found) < len(silent):
            tick = time.perf_counter()
            await asyncio.gather(*(ping(h) for h in keys if h not in silent))
            page = await c.get(
                "/api/v1/incidents",
                params={"service_id": service_id, "since": since.isoformat(), "limit": 200},
            )
            for inc in page.json()["data"]:
                hb_id = inc["dedup_key"].removeprefix("heartbeat:")
                if hb_id in silent and hb_id not in found:
                    found[hb_id] = datetime.fromisoformat(inc["created_at"])
            await asyncio.sleep(max(0.0, args.every - (time.perf_counter() - tick)))
        pinging = time.perf_counter() - started
        lateness = [
            (found[h] - (last_ok[h] + timedelta(seconds=INTERVAL))).total_seconds()
            for h in found
            if h in last_ok
        ]
        for m in monitors:  # leave the stack as it was
            await c.delete(f"/api/v1/services/{service_id}/heartbeats/{m['id']}")
    return {
        "monitors": args.monitors,
        "pings": len(latencies),
        "refused": refused,
        "errors": len(errors),
        "pings_per_s": round(len(latencies) / pinging, 1),
        "ping_p50_ms": round((pct(latencies, 0.5) or 0) * 1000, 1),
        "ping_p99_ms": round((pct(latencies, 0.99) or 0) * 1000, 1),
        "silent": len(silent),
        "detected": len(found),
        "lateness_p50_s": pct(lateness, 0.5),
        "lateness_p99_s": pct(lateness, 0.99),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api")
    parser.add_argument("--token")
    parser.add_argument("--monitors", type=int, default=200)
    parser.add_argument("--every", type=float, default=3.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--silent", type=int, default=20)
    args = parser.parse_args()
    started = None
    if args.api is None:
        started = stacks.start_dev(stacks.pick_ports(8000, 7233, 8233))
        args.api, args.token = started.api, started.token
    try:
        figures = asyncio.run(run(args.api, args.token, args))
    finally:
        if started is not None:
            stacks.stop(started)
    print(json.dumps(figures, indent=2))
    return 0 if figures["detected"] == figures["silent"] else 1


if __name__ == "__main__":
    sys.exit(main())
