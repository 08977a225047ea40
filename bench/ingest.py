"""Ingestion load: 50 concurrent senders against a running stack, over loopback.

    python -m bench.ingest --api http://127.0.0.1:8000 --key KEY --token TOKEN \
        [--senders 50] [--warmup 500] [--distinct 400] [--storm 5000] [--max-seconds 60] \
        [--settle 180]

KEY is a PagerDuty-type integration key (its rate limit must allow the load); TOKEN is an
API token that may read incidents. Two phases, each bounded by a count and a time:

  (b) a storm of identical alerts (one dedup key): all coalesce into one incident;
  (a) distinct alerts, each its own dedup key: every accepted alert opens an incident.
(b) runs first, on an idle worker: behind (a) it would also measure the worker's backlog.

For each it prints sustained accepted alerts/s and p50/p99 response latency, then checks
through the API that nothing was lost: (a) one incident per accepted alert, (b) exactly one
incident whose alert count equals the accepted count. Exits 1 if a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Phase:
    name: str
    accepted: int = 0
    refused: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def figures(self) -> dict[str, Any]:
        lat = sorted(self.latencies)
        pct = (
            (lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))] * 1000, 1)) if lat else None
        )
        return {
            "phase": self.name,
            "accepted": self.accepted,
            "refused": self.refused,
            "errors": self.errors,
            "seconds": round(self.seconds, 2),
            "accepted_per_s": round(self.accepted / self.seconds, 1) if self.seconds else 0,
            "p50_ms": pct(0.50) if pct else None,
            "p99_ms": pct(0.99) if pct else None,
            "mean_ms": round(statistics.fmean(lat) * 1000, 1) if lat else None,
        }


def _event(key: str, dedup_key: str, summary: str) -> bytes:
    return json.dumps(
        {
            "routing_key": key,
            "event_action": "trigger",
            "dedup_key": dedup_key,
            "payload": {
                "summary": summary,
                "source": "bench.ingest",
                "severity": "warning",
                "custom_details": {"bench": True},
            },
        }
    ).encode()


class Connection:
    """A minimal keep-alive HTTP/1.1 client: the load generator must cost less than the API.

    (httpx spent more CPU per request than the server it measured.)
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, dict[str, str]]:
        """Send one POST; return (status, headers). Reconnects after any failure."""
        try:
            if self._writer is None:
                self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
            assert self._reader is not None
            self._writer.write(
                f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json"
                f"\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            head = (await self._reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            status = int(head[0].split(" ", 2)[1])
            headers = {}
            for line in head[1:]:
                if ":" in line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            await self._reader.readexactly(int(headers.get("content-length", "0")))
            if headers.get("connection", "").lower() == "close":
                await self.close()
            return status, headers
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            await self.close()
            raise

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


async def _load(
    url: httpx.URL, phase: Phase, bodies: Any, count: int, senders: int, limit: float
) -> None:
    """Send `count` events from `senders` concurrent connections, stopping at `limit` s."""
    issued = 0
    started = time.perf_counter()
    deadline = started + limit

    async def sender() -> None:
        nonlocal issued
        conn = Connection(url.host, url.port or 80)
        while issued < count and time.perf_counter() < deadline:
            body = bodies(issued)
            issued += 1
            t0 = time.perf_counter()
            try:
                status, headers = await conn.post("/v2/enqueue", body)
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                phase.errors += 1
                continue
            took = time.perf_counter() - t0
            if status == 202:
                phase.accepted += 1
                phase.latencies.append(took)
            else:
                phase.refused[status] = phase.refused.get(status, 0) + 1
                if status in (429, 503):
                    await asyncio.sleep(float(headers.get("retry-after", "1")))
        await conn.close()

    await asyncio.gather(*(sender() for _ in range(senders)))
    phase.seconds = time.perf_counter() - started


async def _incidents(api: httpx.AsyncClient, token: str, q: str) -> list[dict[str, Any]]:
    """Every incident matching `q` (title or dedup key), all pages."""
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"q": q, "limit": 200, **({"cursor": cursor} if cursor else {})}
        r = await api.get(
            "/api/v1/incidents", params=params, headers={"Authorization": f"Bearer {token}"}
        )
        r.raise_for_status()
        page = r.json()
        out += page["data"]
        cursor = page["next_cursor"]
        if not cursor:
            return out


async def _settled(
    api: httpx.AsyncClient, token: str, q: str, want: int, settle: float
) -> list[dict[str, Any]]:
    """Wait until the incidents matching `q` hold `want` alerts in all (or `settle` passes)."""
    deadline = time.monotonic() + settle
    while True:
        found = await _incidents(api, token, q)
        if sum(i["alert_count"] for i in found) >= want or time.monotonic() > deadline:
            return found
        await asyncio.sleep(1)


async def run(args: argparse.Namespace) -> int:
    run_id = uuid.uuid4().hex[:8]
    url = httpx.URL(args.api)
    ok = True
    async with httpx.AsyncClient(base_url=args.api, timeout=30) as client:
        if args.warmup:
            # Not measured: the first requests pay for connections, caches and the worker's
            # first workflow tasks, which a running platform has long paid for.
            warm = Phase("warm-up")
            warm_body = _event(args.key, f"bench-{run_id}-warmup", f"bench {run_id} warm-up")
            await _load(url, warm, lambda _: warm_body, args.warmup, args.senders, args.max_seconds)
            await _settled(client, args.token, f"bench-{run_id}-warmup", warm.accepted, args.settle)

        # The storm first: behind the distinct phase it would compete for the two cores with
        # the worker still paging those new incidents, and measure that backlog as well.
        storm = Phase("storm")
        storm_key = f"bench-{run_id}-storm"
        body = _event(args.key, storm_key, f"bench {run_id} storm")
        await _load(url, storm, lambda _: body, args.storm, args.senders, args.max_seconds)
        print(json.dumps(storm.figures()), flush=True)
        found = await _settled(client, args.token, storm_key, storm.accepted, args.settle)

        distinct = Phase("distinct")
        prefix = f"bench-{run_id}-d"
        await _load(
            url,
            distinct,
            lambda i: _event(args.key, f"{prefix}{i:06d}", f"bench {run_id} distinct {i}"),
            args.distinct,
            args.senders,
            args.max_seconds,
        )
        print(json.dumps(distinct.figures()), flush=True)
        found_d = await _settled(client, args.token, prefix, distinct.accepted, args.settle)

        # Verification through the API: nothing lost, one incident for the storm.
        storm_alerts = sum(i["alert_count"] for i in found)
        storm_ok = len(found) == 1 and storm_alerts == storm.accepted
        distinct_alerts = sum(i["alert_count"] for i in found_d)
        distinct_ok = len(found_d) == distinct.accepted == distinct_alerts
        print(
            json.dumps(
                {
                    "check": "no alert lost",
                    "distinct": {
                        "accepted": distinct.accepted,
                        "incidents": len(found_d),
                        "alerts_on_incidents": distinct_alerts,
                        "ok": distinct_ok,
                    },
                    "storm": {
                        "accepted": storm.accepted,
                        "incidents": len(found),
                        "alerts_on_incidents": storm_alerts,
                        "ok": storm_ok,
                    },
                }
            ),
            flush=True,
        )
        ok = distinct_ok and storm_ok
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api", required=True, help="base URL of a running PageFree API")
    parser.add_argument("--key", required=True, help="a pagerduty integration key")
    parser.add_argument("--token", required=True, help="an API token that reads incidents")
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--distinct", type=int, default=400, help="alerts in phase (a)")
    parser.add_argument("--storm", type=int, default=5000, help="alerts in phase (b)")
    parser.add_argument("--warmup", type=int, default=500, help="unmeasured alerts first")
    parser.add_argument("--max-seconds", type=float, default=60, help="time bound per phase")
    parser.add_argument("--settle", type=float, default=180, help="wait for the projection")
    sys.exit(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
