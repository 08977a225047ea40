"""The hand-off batcher: one in flight per workflow, the rest coalesced, failures shared."""

from __future__ import annotations

import asyncio

import pytest

from app.ingest.batching import Batcher


class Recorder:
    """A hand-off that records its batches and takes a moment, like a Temporal round trip."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.calls: list[tuple[str, str, list[int]]] = []
        self.fail_on = fail_on

    async def __call__(self, key: str, kind: str, items: list[int]) -> str:
        self.calls.append((key, kind, list(items)))
        await asyncio.sleep(0.01)
        if self.fail_on is not None and self.fail_on in items:
            raise ConnectionError("temporal went away")
        return f"{kind}:{len(items)}"


async def _in_flight() -> None:
    await asyncio.sleep(0.002)  # the first hand-off is now under way (each takes 10 ms)


async def test_first_goes_at_once_then_waiting_items_go_together() -> None:
    send = Recorder()
    batcher: Batcher[str, int] = Batcher(send, min_interval=0)
    first = asyncio.create_task(batcher.submit("wf", "trigger", [0]))
    await _in_flight()
    answers = await asyncio.gather(*(batcher.submit("wf", "trigger", [i]) for i in range(1, 50)))
    assert [items for _, _, items in send.calls] == [[0], list(range(1, 50))]
    assert await first == "trigger:1" and answers == ["trigger:49"] * 49
    assert batcher.stats.batches == 2 and batcher.pending == 0


async def test_keys_do_not_wait_for_each_other_and_kinds_never_mix() -> None:
    send = Recorder()
    batcher: Batcher[str, int] = Batcher(send, min_interval=0)
    first = asyncio.create_task(batcher.submit("a", "trigger", [1]))
    await _in_flight()
    jobs = [
        batcher.submit("b", "trigger", [2]),
        batcher.submit("a", "trigger", [3]),
        batcher.submit("a", "trigger", [4]),
        batcher.submit("a", "signal", [5]),
        batcher.submit("a", "trigger", [6]),
    ]
    await asyncio.gather(first, *jobs)
    by_key = [(kind, items) for k, kind, items in send.calls if k == "a"]
    assert by_key == [("trigger", [1]), ("trigger", [3, 4]), ("signal", [5]), ("trigger", [6])]
    assert ("b", "trigger", [2]) in send.calls
    assert send.calls.index(("b", "trigger", [2])) == 1  # b did not wait behind a


async def test_batches_are_bounded_by_count_and_size() -> None:
    send = Recorder()
    batcher: Batcher[str, int] = Batcher(send, max_items=3, max_bytes=25, min_interval=0)
    await asyncio.gather(*(batcher.submit("wf", "trigger", [i], size=10) for i in range(5)))
    await asyncio.gather(*(batcher.submit("wf", "trigger", [i, i], size=1) for i in range(3)))
    assert [len(items) for _, _, items in send.calls] == [2, 2, 1, 2, 2, 2]


async def test_a_failed_hand_off_fails_every_sender_in_its_batch_only() -> None:
    send = Recorder(fail_on=3)
    batcher: Batcher[str, int] = Batcher(send, min_interval=0)
    first = asyncio.create_task(batcher.submit("wf", "trigger", [0]))
    await asyncio.sleep(0)
    rest = [asyncio.create_task(batcher.submit("wf", "trigger", [i])) for i in (1, 2, 3)]
    await first
    results = await asyncio.gather(*rest, return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    assert await batcher.submit("wf", "trigger", [4]) == "trigger:1"  # and the queue goes on


async def test_close_waits_for_hand_offs_in_flight() -> None:
    send = Recorder()
    batcher: Batcher[str, int] = Batcher(send, min_interval=0)
    task = asyncio.create_task(batcher.submit("wf", "trigger", [1]))
    await asyncio.sleep(0)
    await batcher.close()
    assert await task == "trigger:1"


async def test_close_cancels_what_outlives_the_timeout() -> None:
    async def stuck(key: str, kind: str, items: list[int]) -> None:
        await asyncio.sleep(60)

    batcher: Batcher[str, int] = Batcher(stuck, min_interval=0)
    task = asyncio.create_task(batcher.submit("wf", "trigger", [1]))
    await asyncio.sleep(0)
    await batcher.close(timeout=0.05)
    with pytest.raises(RuntimeError, match="shutting down"):
        await task


async def test_hand_offs_to_one_workflow_are_spaced_so_a_trickle_still_batches() -> None:
    send = Recorder()
    # The interval is wide next to the trickle's 60 ms, so a loaded CI machine (whose sleeps
    # stretch) still sees all three arrive inside it; it was 0.1 s and split there once.
    batcher: Batcher[str, int] = Batcher(send, min_interval=1.0)
    first = await batcher.submit("wf", "trigger", [0])  # a lone alert goes at once
    assert first == "trigger:1"
    trickle = []
    for i in range(1, 4):  # arriving one by one, each after the previous hand-off ended
        trickle.append(asyncio.create_task(batcher.submit("wf", "trigger", [i])))
        await asyncio.sleep(0.02)
    await asyncio.gather(*trickle)
    assert [items for _, _, items in send.calls] == [[0], [1, 2, 3]]
    other = await batcher.submit("other", "trigger", [9])  # other workflows do not wait
    assert other == "trigger:1"


async def test_the_spacing_counts_from_the_end_of_the_previous_hand_off() -> None:
    """Senders answered by one batch send again at once; the next batch must wait for them.

    Spaced from the previous hand-off's start, a round trip longer than the spacing would
    send the first of those replies alone and make the rest wait a whole round trip.
    """
    loop = asyncio.get_running_loop()
    spans: list[tuple[float, float]] = []

    async def slow(key: str, kind: str, items: list[int]) -> int:
        start = loop.time()
        await asyncio.sleep(0.08)  # a round trip longer than the spacing
        spans.append((start, loop.time()))
        return len(items)

    batcher: Batcher[str, int] = Batcher(slow, min_interval=0.05)
    await batcher.submit("wf", "trigger", [0])
    replies = [asyncio.create_task(batcher.submit("wf", "trigger", [i])) for i in range(1, 6)]
    assert await asyncio.gather(*replies) == [5] * 5  # all five in one batch
    (_, first_end), (second_start, _) = spans
    assert second_start - first_end >= 0.045
