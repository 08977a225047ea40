"""What every figure needs: the stack, its database, the HTTP client, the load process."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.db import Probe, wait_for
from bench.fixtures import BenchService, Fixtures
from bench.procs import CpuMeter
from bench.report import Results
from bench.stack import ROOT, Stack, log

TEARDOWN = 40  # seconds kept at the end of --time-budget for the report and stopping the stack


@dataclass
class Bench:
    """The shared state of one `python -m bench` run."""

    args: argparse.Namespace
    stack: Stack
    http: httpx.AsyncClient
    probe: Probe
    fixtures: Fixtures
    results: Results = field(default_factory=Results)
    cpu: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    loads: set[asyncio.subprocess.Process] = field(default_factory=set)

    def note(self, text: str) -> None:
        """Log an observation and keep it for the JSON report."""
        log(text)
        self.notes.append(text)

    async def load(self, mode: str, prefix: str, count: int, **extra: Any) -> dict[str, Any]:
        """Run `python -m bench.load` in its own process; return its JSON result."""
        argv = [
            sys.executable, "-m", "bench.load", mode,
            "--temporal", self.stack.temporal, "--prefix", prefix,
            "--count", str(count), "--concurrency", str(self.args.concurrency),
        ]  # fmt: skip
        for key, value in extra.items():
            flag = "--" + key.replace("_", "-")
            argv += [flag] if value is True else [flag, str(value)]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        proc = await asyncio.create_subprocess_exec(
            *argv, env=env, cwd=ROOT, stdout=asyncio.subprocess.PIPE
        )
        self.loads.add(proc)
        try:
            out, _ = await proc.communicate()
        finally:
            self.loads.discard(proc)
        if proc.returncode != 0:
            raise RuntimeError(f"bench.load {mode} exited with {proc.returncode}")
        result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
        if result["errors"]:
            raise RuntimeError(f"bench.load {mode}: {result['errors']}")
        return result

    def kill_loads(self) -> None:
        """Kill load processes still running (after a failure)."""
        for proc in self.loads:
            if proc.returncode is None:
                proc.kill()

    def start_load(self, mode: str, prefix: str, count: int, **extra: Any) -> asyncio.Task[Any]:
        """Start the load process in the background."""
        return asyncio.get_running_loop().create_task(self.load(mode, prefix, count, **extra))

    async def until(
        self,
        probe: Callable[[], Awaitable[int]],
        target: int,
        load: asyncio.Task[Any] | None,
        what: str,
        interval: float = 0.1,
        timeout: float | None = None,
    ) -> float:
        """Wait until probe() reaches target (failing early if the load failed)."""

        async def checked() -> int:
            if load is not None and load.done() and load.exception():
                raise load.exception()  # type: ignore[misc]
            return await probe()

        timeout = timeout or self.args.wait_timeout + target / 5
        # Never run past the whole run's time budget: fail the figure instead.
        timeout = max(min(timeout, self.args.deadline - time.monotonic() - TEARDOWN), 10)
        return await wait_for(checked, target, timeout=timeout, interval=interval, what=what)

    async def open_incidents(
        self, svc: BenchService, prefix: str, count: int, timeout: float | None = None
    ) -> dict[str, Any]:
        """Open `count` incidents and wait until each has paged its first level."""
        interval = 0.1 if count <= 1000 else 1.0
        wid = f"incident:{svc.routing_key}:{prefix}-"
        load = self.start_load(
            "incidents",
            prefix,
            count,
            service_id=svc.id,
            routing_key=svc.routing_key,
            name=svc.name,
        )
        opened = await self.until(
            lambda: self.probe.incidents(wid), count, load, "incidents", interval, timeout
        )
        paged = await self.until(
            lambda: self.probe.notified(wid), count, load, "notifications", interval, timeout
        )
        result = await load
        return {**result, "opened": opened, "paged": paged, "wid_prefix": wid}

    def measure_cpu(self, phase: str) -> CpuPhase:
        """Return a context that records the cores each process used during `phase`."""
        return CpuPhase(self, phase)


class CpuPhase:
    """Records per-process CPU use of one phase into bench.cpu and logs it."""

    def __init__(self, bench: Bench, phase: str):
        self.bench, self.phase = bench, phase
        self.meter = CpuMeter(bench.stack.processes())

    def __enter__(self) -> CpuPhase:
        self.started = time.monotonic()
        self.meter.start()
        return self

    def __exit__(self, *exc: object) -> None:
        used = self.meter.stop()
        self.bench.cpu[self.phase] = used
        parts = ", ".join(f"{role} {cores:.2f}" for role, cores in used.items())
        log(f"  cpu during {self.phase} ({time.monotonic() - self.started:.0f}s), cores: {parts}")
