"""Server-Sent Events of incident changes: one PostgreSQL LISTEN per process, fanned out.

A connection per stream let one observer with a hundred tabs starve ingestion and the worker
of PostgreSQL connections. Here a process holds one listening connection (opened with the
first stream, re-opened after a failure) and copies each notification into every stream's
in-memory queue. A user may hold `per_user` streams at once (429 beyond), and each stream asks
`still_allowed` every `recheck` seconds, ending once its token or session is revoked.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from uuid import UUID

import psycopg
from fastapi import FastAPI

from app.errors import RateLimited
from app.incidents.projection import NOTIFY_CHANNEL

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15.0
RECHECK_SECONDS = 60.0
STREAMS_PER_USER = 10
QUEUE_SIZE = 256  # a stream this far behind loses its oldest changes, never blocks the others
READY_TIMEOUT = 10.0
RETRY_AFTER = 30  # seconds a refused stream is told to wait


def _libpq_url(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


class Subscription:
    """One stream's place in the hub: a queue of notification payloads."""

    def __init__(self, hub: Hub, user_id: UUID) -> None:
        self.hub = hub
        self.user_id = user_id
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self.closed = False

    def offer(self, payload: str) -> None:
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(payload)

    def close(self) -> None:
        """Leave the hub (idempotent)."""
        if not self.closed:
            self.closed = True
            self.hub._leave(self)


class Hub:
    """One listening connection for the whole process, fanned out to subscriptions."""

    def __init__(self, database_url: str, *, per_user: int = STREAMS_PER_USER) -> None:
        self.database_url = _libpq_url(database_url)
        self.per_user = per_user
        self._subs: set[Subscription] = set()
        self._per_user: Counter[UUID] = Counter()
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    def subscribe(self, user_id: UUID) -> Subscription:
        """Add a stream for `user_id`, or raise RateLimited past the per-user cap."""
        if self._per_user[user_id] >= self.per_user:
            raise RateLimited(
                f"at most {self.per_user} live streams per user; close one and try again",
                retry_after=RETRY_AFTER,
            )
        sub = Subscription(self, user_id)
        self._subs.add(sub)
        self._per_user[user_id] += 1
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._listen(), name="pagefree-events-listen")
        return sub

    def _leave(self, sub: Subscription) -> None:
        self._subs.discard(sub)
        self._per_user[sub.user_id] -= 1
        if self._per_user[sub.user_id] <= 0:
            del self._per_user[sub.user_id]

    async def ready(self, timeout: float = READY_TIMEOUT) -> bool:
        """Wait until the hub is listening (False if it could not within `timeout`)."""
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def _listen(self) -> None:
        backoff = 0.5
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self.database_url, autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self._ready.set()
                    backoff = 0.5
                    async for note in conn.notifies():
                        for sub in list(self._subs):
                            sub.offer(note.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # PostgreSQL went away: listen again, a little later
                log.warning("event listener lost its connection: %s", type(exc).__name__)
            self._ready.clear()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0)

    async def close(self) -> None:
        """Stop listening (at app shutdown)."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        self._ready.clear()


def hub_of(app: FastAPI) -> Hub:
    """Return the app's hub, made on first use."""
    hub: Hub | None = getattr(app.state, "event_hub", None)
    if hub is None:
        settings = app.state.settings
        hub = Hub(app.state.database_url, per_user=settings.streams_per_user)
        app.state.event_hub = hub
    return hub


async def _always() -> bool:
    return True


async def stream(
    sub: Subscription,
    *,
    heartbeat: float = HEARTBEAT_SECONDS,
    still_allowed: Callable[[], Awaitable[bool]] = _always,
    recheck: float = RECHECK_SECONDS,
) -> AsyncIterator[str]:
    """Yield SSE frames of the subscription until the client goes away or is signed out."""
    loop = asyncio.get_running_loop()
    try:
        if not await sub.hub.ready():
            yield "retry: 5000\n: unavailable\n\n"
            return
        yield "retry: 2000\n: connected\n\n"
        checked = last_sent = loop.time()
        while True:
            now = loop.time()
            if now - checked >= recheck:
                if not await still_allowed():
                    return
                checked = now
            if now - last_sent >= heartbeat:
                yield ": keep-alive\n\n"
                last_sent = now
            timeout = max(0.01, min(checked + recheck, last_sent + heartbeat) - loop.time())
            try:
                payload = await asyncio.wait_for(sub.queue.get(), timeout)
            except TimeoutError:
                continue
            yield f"event: incident\ndata: {json.dumps(json.loads(payload))}\n\n"
            last_sent = loop.time()
    finally:
        sub.close()
