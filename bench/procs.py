"""CPU and memory of the stack's processes, to see what saturates."""

from __future__ import annotations

import asyncio
import resource
import time
from contextlib import suppress

import psutil

MB = 1024 * 1024


def _tree(proc: psutil.Process, role: str) -> list[psutil.Process]:
    # PostgreSQL's work happens in its backends, children of the postmaster.
    if role != "postgres":
        return [proc]
    with suppress(psutil.Error):
        return [proc, *proc.children()]
    return [proc]


def _machine_busy() -> float:
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0) + getattr(t, "softirq", 0)


def cpu_seconds(procs: dict[str, psutil.Process]) -> dict[str, float]:
    """Return CPU seconds used so far by role, by finished load processes, and machine-wide."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = {"load": children.ru_utime + children.ru_stime, "machine": _machine_busy()}
    for role, proc in procs.items():
        total = 0.0
        for p in _tree(proc, role):
            with suppress(psutil.Error):
                times = p.cpu_times()
                total += times.user + times.system
        out[role] = total
    return out


class CpuMeter:
    """Measures how many cores each process used between start() and stop().

    `load` counts load processes that finished in the phase; `other` is the rest of the machine.
    """

    def __init__(self, procs: dict[str, psutil.Process]):
        self.procs = {**procs, "bench": psutil.Process()}
        self._t0 = 0.0
        self._cpu0: dict[str, float] = {}

    def start(self) -> None:
        """Take the first snapshot."""
        self._t0, self._cpu0 = time.monotonic(), cpu_seconds(self.procs)

    def stop(self) -> dict[str, float]:
        """Return cores used per role since start() (1.0 = one core busy all the time)."""
        wall = max(time.monotonic() - self._t0, 1e-6)
        now = cpu_seconds(self.procs)
        # max(0): a PostgreSQL backend that exited takes its CPU time with it.
        used = {
            role: round(max(now[role] - self._cpu0.get(role, 0.0), 0.0) / wall, 2) for role in now
        }
        # Whatever else ran on the machine (other jobs) competed for the same cores.
        ours = sum(v for k, v in used.items() if k != "machine")
        used["other"] = round(max(used.pop("machine") - ours, 0.0), 2)
        return used


def rss_mb(proc: psutil.Process) -> float:
    """Return a process's resident memory in MB (0 if it is gone)."""
    try:
        return float(proc.memory_info().rss) / MB
    except psutil.Error:
        return 0.0


class PeakRss:
    """Samples resident memory every second in the background and keeps the peak."""

    def __init__(self, procs: dict[str, psutil.Process]):
        self.procs = procs
        self.peak = {role: rss_mb(p) for role, p in procs.items()}
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            for role, proc in self.procs.items():
                self.peak[role] = max(self.peak[role], rss_mb(proc))
            await asyncio.sleep(1)

    def __enter__(self) -> PeakRss:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
