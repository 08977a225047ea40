"""Temporal worker entry: `python -m worker` (or `pagefree worker`)."""

from __future__ import annotations

import asyncio
import logging
import signal

from temporalio.worker import Worker

from activities import build_activities
from app import devstack, logs
from app.config import Settings, get_settings
from app.db import check_migrated, make_engine, make_sessionmaker
from app.notify.channels import build_channels
from app.temporal import connect
from workflows import WORKFLOWS

log = logging.getLogger("pagefree.worker")


async def run(settings: Settings) -> None:
    """Run the worker until SIGINT/SIGTERM."""
    engine = make_engine(devstack.database_url(settings))
    await check_migrated(engine)
    client = await connect(settings, devstack.temporal_address(settings))
    channels = build_channels(settings)
    for warning in channels.warnings:
        log.warning("notification channel: %s", warning)
    worker = Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(make_sessionmaker(engine), settings, channels),
        max_cached_workflows=2000,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker started on task queue %s", settings.temporal_task_queue)
    async with worker:
        await stop.wait()
    await engine.dispose()
    log.info("worker stopped")


if __name__ == "__main__":
    settings = get_settings()
    logs.configure(settings)
    asyncio.run(run(settings))
