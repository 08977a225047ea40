"""Coalesce hand-offs bound for the same workflow inside the API process.

The first alert for a workflow goes at once. While its hand-off is in flight, later alerts for
the same workflow wait in a queue; when it returns, everything waiting goes together as one
hand-off (one signal carrying a list). Each sender is answered when the batch holding its
alerts has been durably accepted, or fails with that batch's error: nobody is told "accepted"
for alerts that were not. A storm of identical alerts therefore costs a handful of Temporal
round trips instead of one per alert.

Hand-offs to one workflow are also at least MIN_INTERVAL apart, counted from the end of one
to the start of the next: a lone alert goes at once, but when alerts for a workflow keep
coming they gather for up to MIN_INTERVAL instead of each costing the workflow a signal, a
workflow task and a projection write. Counting from the end matters: the senders answered by
one batch send their next alerts a moment later, and they should go together, not the first
alone and the rest a whole round trip after it. That bounds the work a storm causes in
Temporal and the worker (at most one hand-off per round trip + MIN_INTERVAL per workflow),
at the price of at most MIN_INTERVAL of latency.

A batch holds entries of one kind only (see `Entry.kind`), in arrival order, so an acknowledge
sent after a trigger is never applied before it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")

MAX_BATCH_ITEMS = 1000
MAX_BATCH_BYTES = 400_000  # under the SDK's 512 KB warning, far under the 2 MB limit
MIN_INTERVAL = 0.02  # seconds from the end of one hand-off to one workflow to the next


@dataclass
class Entry(Generic[T]):
    kind: str
    items: list[T]
    size: int
    done: asyncio.Future[Any]


@dataclass
class BatchStats:
    batches: int = 0
    items: int = 0
    largest: int = 0
    sizes: list[int] = field(default_factory=list)

    def add(self, n: int) -> None:
        self.batches += 1
        self.items += n
        self.largest = max(self.largest, n)
        if len(self.sizes) < 10_000:
            self.sizes.append(n)


Send = Callable[[K, str, list[T]], Awaitable[Any]]


class Batcher(Generic[K, T]):
    """Per-key queues drained by one task per busy key; `send` does one hand-off."""

    def __init__(
        self,
        send: Send[K, T],
        *,
        max_items: int = MAX_BATCH_ITEMS,
        max_bytes: int = MAX_BATCH_BYTES,
        concurrency: int = 128,
        min_interval: float = MIN_INTERVAL,
    ) -> None:
        self._send = send
        self._min_interval = min_interval
        self._last_end: dict[K, float] = {}
        self._max_items = max_items
        self._max_bytes = max_bytes
        self._slots = asyncio.Semaphore(concurrency)  # hand-offs in flight across all keys
        self._queues: dict[K, deque[Entry[T]]] = {}
        self._tasks: dict[K, asyncio.Task[None]] = {}
        self.stats = BatchStats()

    async def submit(self, key: K, kind: str, items: list[T], size: int = 0) -> Any:
        """Queue `items` for `key`; return `send`'s answer once they are handed off (or raise)."""
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queues.setdefault(key, deque()).append(Entry(kind, items, size, done))
        if key not in self._tasks:
            self._tasks[key] = asyncio.create_task(self._drain(key), name=f"handoff {key}")
        return await done

    def _take(self, queue: deque[Entry[T]]) -> list[Entry[T]]:
        first = queue.popleft()
        batch, count, size = [first], len(first.items), first.size
        while queue:
            nxt = queue[0]
            if nxt.kind != first.kind:
                break
            if count + len(nxt.items) > self._max_items or size + nxt.size > self._max_bytes:
                break
            batch.append(queue.popleft())
            count += len(nxt.items)
            size += nxt.size
        return batch

    async def _drain(self, key: K) -> None:
        queue = self._queues[key]
        batch: list[Entry[T]] = []
        loop = asyncio.get_running_loop()
        try:
            while queue:
                wait = self._last_end.get(key, -1e9) + self._min_interval - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)  # later arrivals join this batch meanwhile
                batch = self._take(queue)
                items = [item for entry in batch for item in entry.items]
                try:
                    async with self._slots:
                        result = await self._send(key, batch[0].kind, items)
                except Exception as exc:
                    _settle(batch, error=exc)
                else:
                    self.stats.add(len(items))
                    _settle(batch, result=result)
                finally:
                    self._last_end[key] = loop.time()
        except asyncio.CancelledError:
            # Shutting down: whoever still waits hears that their alerts were not taken.
            _settle([*batch, *queue], error=RuntimeError("the API is shutting down"))
            queue.clear()
            raise
        finally:
            del self._tasks[key]
            if not queue:
                self._queues.pop(key, None)
            if len(self._last_end) > 10_000:
                old = loop.time() - self._min_interval
                self._last_end = {k: t for k, t in self._last_end.items() if t > old}

    @property
    def pending(self) -> int:
        """Alerts waiting or in flight."""
        return sum(len(e.items) for q in self._queues.values() for e in q) + len(self._tasks)

    async def close(self, timeout: float = 10.0) -> None:
        """Let hand-offs in flight finish (up to `timeout`), then cancel the rest."""
        tasks = list(self._tasks.values())
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=timeout)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)


def _settle(
    entries: list[Entry[T]], *, result: Any = None, error: BaseException | None = None
) -> None:
    for entry in entries:
        if entry.done.done():
            continue  # answered already, or its sender went away
        if error is None:
            entry.done.set_result(result)
        else:
            entry.done.set_exception(error)
