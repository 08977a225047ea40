"""Load generator, run as its own process so it never competes with the bench's event loop.

    python -m bench.load incidents --temporal ADDR --service-id ID --routing-key KEY \
        --name NAME --prefix P --count K [--same-key] [--concurrency 50]
    python -m bench.load baseline --temporal ADDR --task-queue Q --prefix P --count K

Prints one JSON line: t0 (wall clock before the first request), accepted (wall clock when the
last start was durable), done (baseline only: when the last workflow completed), errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass
class BenchService:
    """The three fields of a Service row that `signal_alert` reads."""

    id: str
    routing_key: str
    name: str


async def _bounded(count: int, limit: int, make: Callable[[int], Awaitable[Any]]) -> list[Any]:
    """Run make(0..count-1) with at most `limit` in flight; return results (or exceptions)."""
    sem = asyncio.Semaphore(limit)

    async def one(i: int) -> Any:
        async with sem:
            try:
                return await make(i)
            except Exception as exc:
                return exc

    return await asyncio.gather(*(one(i) for i in range(count)))


async def incidents(args: argparse.Namespace) -> dict[str, Any]:
    """Fire alerts by signal-with-start exactly as ingestion does."""
    from app.config import Settings
    from app.incidents.service import signal_alert
    from app.temporal import connect
    from workflows.incident_types import Actor, AlertIn

    settings = Settings()
    client = await connect(settings, args.temporal)
    service = BenchService(args.service_id, args.routing_key, args.name)
    actor = Actor(type="integration", via="bench")

    async def fire(i: int) -> str:
        key = args.prefix if args.same_key else f"{args.prefix}-{i}"
        alert = AlertIn(
            id=str(uuid.uuid4()),
            summary=f"bench alert {args.prefix} #{i}",
            dedup_key=key,
            received_at=datetime.now(UTC),
            actor=actor,
        )
        return await signal_alert(client=client, settings=settings, service=service, alert=alert)  # type: ignore[arg-type]

    t0 = time.time()
    results = await _bounded(args.count, args.concurrency, fire)
    accepted = time.time()
    return {"t0": t0, "accepted": accepted, "errors": _errors(results)}


async def baseline(args: argparse.Namespace) -> dict[str, Any]:
    """Start trivial workflows and wait until every one has completed."""
    from temporalio.client import Client

    from bench.baseline import WORKFLOW_NAME

    client = await Client.connect(args.temporal)

    async def start(i: int) -> Any:
        return await client.start_workflow(
            WORKFLOW_NAME, i, id=f"bench-baseline:{args.prefix}-{i}", task_queue=args.task_queue
        )

    t0 = time.time()
    handles = await _bounded(args.count, args.concurrency, start)
    accepted = time.time()
    started = [h for h in handles if not isinstance(h, Exception)]
    results = await _bounded(len(started), 200, lambda i: started[i].result())
    done = time.time()
    return {
        "t0": t0,
        "accepted": accepted,
        "done": done,
        "errors": _errors(handles) + _errors(results),
    }


def _errors(results: list[Any]) -> list[str]:
    errors = [f"{type(r).__name__}: {r}" for r in results if isinstance(r, Exception)]
    return errors[:5] + ([f"... {len(errors)} in all"] if len(errors) > 5 else [])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.load")
    parser.add_argument("mode", choices=["incidents", "baseline"])
    parser.add_argument("--temporal", required=True, help="Temporal address host:port")
    parser.add_argument("--prefix", required=True, help="dedup key / workflow id prefix")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--service-id")
    parser.add_argument("--routing-key")
    parser.add_argument("--name", default="bench")
    parser.add_argument("--same-key", action="store_true", help="one dedup key for every alert")
    parser.add_argument("--task-queue", help="baseline task queue")
    return parser


def main() -> None:
    """Run the load and print its JSON result."""
    args = _parser().parse_args()
    run = incidents if args.mode == "incidents" else baseline
    result = asyncio.run(run(args))
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    # Skip interpreter finalization: tearing down the Temporal client's Rust runtime there
    # sometimes crashes (SIGSEGV, "PyGILState_Release ... finalizing") after the work is done.
    os._exit(0)


if __name__ == "__main__":
    main()
