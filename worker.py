"""Temporal worker entry: `python -m worker` (or `pagefree worker`)."""

from __future__ import annotations

import asyncio
import compileall
import gc
import logging
import signal
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from temporalio.runtime import MetricBuffer
from temporalio.worker import Worker

from activities import build_activities
from app import devstack, logs, metrics
from app.config import Settings, get_settings
from app.db import check_migrated, make_engine, make_sessionmaker
from app.notify.channels import build_channels
from app.statuspages.feeder import Feeder
from app.temporal import connect
from workflows.registry import WORKFLOWS, workflow_runner

if sys.platform != "win32":  # uvloop is not built for Windows
    import uvloop

log = logging.getLogger("pagefree.worker")

# How long a workflow task waits on this worker's own (sticky) queue before any worker may take
# it from the shared queue. After `kill -9` the server usually stops routing to the dead
# worker's sticky queue once its poll connection is gone (next level paged ~1 s after it was
# due); where it still believes that worker alive, this bounds the delay: with the SDK's 10 s
# the crash test measured 10.7 s in a full-suite run, over the 10 s promise. 5 s keeps the
# bound with room. The cost, seen once in an overloaded bench run (100 incidents opened at once
# on a machine shared with other jobs): 45 workflow task timeouts, i.e. tasks replayed from
# whole histories on the shared queue — slower under overload, never lost (docs/design.md).
STICKY_TIMEOUT = timedelta(seconds=5)

# How many workflow runs the worker keeps in memory (the sticky cache); a run that is not
# cached replays its history when its timer or an alert wakes it. A trade-off, measured in
# docs/benchmarks.md (stop 24): the garbage collector's full passes over 2,000 cached runs
# stretch the tail of an alert storm into one incident (bench b at 2,000 open: p99 0.9-2.9 s,
# 117-182 ms with 500 cached), but with 500 new incidents evict runs that are still paging
# and replay them: opening slowed from 16 to 10/s and alert -> first SMS at 10/s went from
# p99 735 ms to 1.26 s. First pages matter most, so 2,000 (worker RSS at 10,000 open: 810 MB,
# 641 MB once the incident workflow ran outside the sandbox).
CACHED_WORKFLOWS = 2000


# The garbage collector's thresholds: a young-generation pass after 20,000 net allocations
# instead of 700, the middle one after 5 of those instead of 10. With Python's defaults the
# objects of workflow tasks and activities in flight live long enough to reach the oldest
# generation, and each full pass over it walks every cached run: while 2,000 incidents opened,
# 14 full passes of up to 1.1 s (8.7 s in all), each stopping every page and escalation in the
# worker. With these: one full pass (1.4 s), and middle passes of at most 0.2 s (six, against
# 251 of up to 28 ms). docs/benchmarks.md ("The worker's garbage collector, again").
GC_THRESHOLDS = (20_000, 5, 10)


def compile_workflow_modules() -> None:
    """Write the bytecode of the workflow modules once, at start.

    The sandbox imports them anew for every workflow run it creates (each new incident, each
    evicted one that wakes up). Where bytecode is not written (PYTHONDONTWRITEBYTECODE, common
    in containers and set on our development machines) each of those imports compiled the
    source again: ~20-40 ms of CPU per run, about a tenth of the worker's time while incidents
    open. Reading cached bytecode is allowed even with that setting. A read-only install that
    shipped no bytecode just keeps compiling (the Dockerfile precompiles).
    """
    import workflows

    if not compileall.compile_dir(Path(workflows.__file__).parent, maxlevels=0, quiet=2):
        log.info("workflow modules not precompiled (read-only install?); the sandbox compiles them")


def start_metrics(settings: Settings, sdk_metrics: MetricBuffer) -> Callable[[], None]:
    """Serve the worker's /metrics (when a port is set) and feed it the SDK's latencies."""
    drain = asyncio.get_running_loop().create_task(metrics.drain_sdk_metrics_forever(sdk_metrics))
    stop_server: Callable[[], None] = lambda: None  # noqa: E731
    if settings.worker_metrics_port:
        token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
        stop_server = metrics.serve_worker_metrics(
            settings.worker_metrics_host, settings.worker_metrics_port, token
        ).stop
        log.info(
            "worker metrics on %s:%s", settings.worker_metrics_host, settings.worker_metrics_port
        )

    def stop() -> None:
        drain.cancel()
        stop_server()

    return stop


async def run(settings: Settings) -> None:
    """Run the worker until SIGINT/SIGTERM."""
    gc.set_threshold(*GC_THRESHOLDS)
    compile_workflow_modules()
    database_url = devstack.database_url(settings)
    engine = make_engine(database_url)
    await check_migrated(engine)
    runtime, sdk_metrics = metrics.sdk_runtime()
    client = await connect(settings, devstack.temporal_address(settings), runtime=runtime)
    stop_metrics = start_metrics(settings, sdk_metrics)
    channels = build_channels(settings)
    for warning in channels.warnings:
        log.warning("notification channel: %s", warning)
    worker = Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(make_sessionmaker(engine), settings, channels),
        workflow_runner=workflow_runner(),
        max_cached_workflows=CACHED_WORKFLOWS,
        sticky_queue_schedule_to_start_timeout=STICKY_TIMEOUT,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker started on task queue %s", settings.temporal_task_queue)
    feeder = Feeder(
        client=client,
        settings=settings,
        sessionmaker=make_sessionmaker(engine),
        database_url=database_url,
    )
    async with worker:
        feeding = asyncio.create_task(feeder.run(stop), name="status-page feeder")
        await stop.wait()
        await feeding
    stop_metrics()
    await engine.dispose()
    log.info("worker stopped")


def main(settings: Settings) -> None:
    """Run the worker on uvloop's event loop where there is one.

    Paging is bound by the worker's one event loop (the SDK takes an activity task from its
    core once per trip round it), and psycopg registers and unregisters the socket with the
    loop for every wait: asyncio's selector did that in Python, 7 % of the loop's samples.
    Figure a, four alternating pairs: 21.0, 22.7, 21.5 and 19.7 incidents paged /s on uvloop
    against 21.8, 19.7, 18.0 and 19.1 on asyncio's loop (docs/benchmarks.md).
    """
    if sys.platform == "win32":
        asyncio.run(run(settings))
    else:
        uvloop.run(run(settings))


if __name__ == "__main__":
    settings = get_settings()
    logs.configure(settings)
    main(settings)
