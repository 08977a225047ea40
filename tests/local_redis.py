"""The local Redis that the shared-limit tests use (the product never needs one)."""

from __future__ import annotations

import socket

import pytest

REDIS_URL = "redis://127.0.0.1:6379/0"


def _reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


needs_redis = pytest.mark.skipif(
    not _reachable(),
    reason="no Redis on 127.0.0.1:6379 (install redis-server; scripts/test.sh starts it)",
)


async def drop_keys(prefix: str) -> list[bytes]:
    """Delete a test's keys (those under `prefix`) and return them, for checks on their names."""
    import redis.asyncio as aioredis

    redis = aioredis.Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in redis.scan_iter(match=prefix + "*")]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()
    return keys
