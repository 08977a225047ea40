"""The webhook delivery log, written in batches off the request path.

One row per request to a receiver. Rows are buffered in memory and written together every
FLUSH_INTERVAL, so a storm of a thousand alerts a second costs a few inserts a second rather
than a transaction per request; a crash loses at most the last interval's rows of this log
(never an alert: alerts are in Temporal before anyone is answered). Old rows are pruned.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import delete, insert, select
from sqlmodel import col

from app.db import SessionMaker
from app.incidents import projection
from app.ingest.models import IngestDelivery, IngestSignature

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 0.25
MAX_BUFFER = 50_000  # beyond this, rows are dropped (and counted) rather than memory grown
RETENTION = timedelta(days=14)
PRUNE_EVERY = timedelta(minutes=10)
MAX_RETRY_DELAY = 30.0  # seconds between attempts while PostgreSQL stays unreachable


class DeliveryLog:
    """Buffer delivery rows and write them in the background."""

    def __init__(self, sessionmaker: SessionMaker, *, interval: float = FLUSH_INTERVAL) -> None:
        self._sessionmaker = sessionmaker
        self._interval = interval
        self._rows: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._last_prune = datetime.now(UTC)
        self.dropped = 0
        self.failures = 0  # failed writes in a row

    def record(self, **row: Any) -> None:
        """Add a row; it is written within FLUSH_INTERVAL."""
        if len(self._rows) >= MAX_BUFFER:
            self.dropped += 1
            return
        self._rows.append(row)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="delivery log")

    async def _run(self) -> None:
        delay, self.failures = self._interval, 0
        while self._rows:
            await asyncio.sleep(delay)
            try:
                await self.flush()
            except Exception as exc:  # the log must never take the receivers down
                # Back off, and say it once: during a PostgreSQL outage, a retry and a
                # formatted traceback four times a second cost a receiver its CPU.
                self.failures += 1
                delay = min(self._interval * 2**self.failures, MAX_RETRY_DELAY)
                if self.failures == 1:
                    first_line = (str(exc).splitlines() or [""])[0][:200]
                    log.warning(
                        "writing the delivery log failed (%s: %s); retrying with backoff",
                        type(exc).__name__,
                        first_line,
                    )
                continue
            if self.failures:
                log.info("delivery log written again after %d failed tries", self.failures)
            delay, self.failures = self._interval, 0

    async def flush(self) -> None:
        """Write every buffered row now."""
        async with self._lock:
            rows, self._rows = self._rows, []
            if not rows:
                return
            try:
                async with self._sessionmaker() as session:
                    await session.execute(insert(IngestDelivery), rows)
                    await self._maybe_prune(session)
                    await session.commit()
            except Exception:
                self._rows[:0] = rows[: MAX_BUFFER - len(self._rows)]
                raise

    async def _maybe_prune(self, session: Any) -> None:
        now = datetime.now(UTC)
        if now - self._last_prune < PRUNE_EVERY:
            return
        self._last_prune = now
        old = now - RETENTION
        await session.execute(delete(IngestDelivery).where(col(IngestDelivery.received_at) < old))
        await session.execute(delete(IngestSignature).where(col(IngestSignature.expires_at) < now))
        await projection.prune_staged(session, old)  # alert rows whose hand-off failed

    async def close(self) -> None:
        """Write what is left and stop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            await self.flush()
        except Exception:
            log.exception("could not write the last delivery-log rows")


async def list_deliveries(
    *,
    session: Any,
    integration_id: UUID | None,
    unmatched: bool = False,
    outcome: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[IngestDelivery]:
    """Return delivery rows, newest first."""
    query = select(IngestDelivery).order_by(col(IngestDelivery.id).desc()).limit(limit)
    if integration_id is not None:
        query = query.where(col(IngestDelivery.integration_id) == integration_id)
    elif unmatched:
        query = query.where(col(IngestDelivery.integration_id).is_(None))
    if outcome:
        query = query.where(col(IngestDelivery.outcome) == outcome)
    if before_id is not None:
        query = query.where(col(IngestDelivery.id) < before_id)
    return list((await session.scalars(query)).all())
