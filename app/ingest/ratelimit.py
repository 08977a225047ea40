"""Rate limits per integration key and per client IP (GCRA: a steady rate plus a burst).

In-process by default; shared by every API process through Redis when REDIS_URL is set. A
Redis that fails or is slow is skipped for a while and the in-process limiter takes over:
an outage of the limiter never rejects alerts.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: int


# Defaults: well above one sender's normal traffic, low enough that a runaway sender cannot
# take a whole API process. An integration may set its own (`rate_limit`).
DEFAULT_KEY_RATE = Rate(per_second=1000, burst=2000)
DEFAULT_IP_RATE = Rate(per_second=2000, burst=4000)
REDIS_RETRY_AFTER = 5.0  # seconds to keep using the local limiter after a Redis failure
_MAX_LOCAL_KEYS = 50_000


class LocalLimiter:
    """GCRA in this process: `tat` is when the bucket would be empty again."""

    def __init__(self) -> None:
        self._tat: dict[str, float] = {}

    def hit(self, key: str, rate: Rate, now: float | None = None) -> float:
        """Count one request; return 0 if allowed, else the seconds to wait."""
        now = time.monotonic() if now is None else now
        interval = 1.0 / rate.per_second
        tolerance = interval * (rate.burst - 1)
        tat = max(self._tat.get(key, now), now)
        if tat - now > tolerance:
            return tat - now - tolerance
        if len(self._tat) >= _MAX_LOCAL_KEYS:
            self._prune(now)
        self._tat[key] = tat + interval
        return 0.0

    def _prune(self, now: float) -> None:
        self._tat = {k: v for k, v in self._tat.items() if v > now}


# KEYS[1]: the bucket; ARGV: emission interval and tolerance in microseconds. Redis's own
# clock, so API hosts with skewed clocks share one view.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if tat - now > tolerance then return tat - now - tolerance end
local new = tat + interval
redis.call('SET', KEYS[1], string.format('%d', new), 'PX', math.ceil((new - now) / 1000) + 1000)
return 0
"""


class RateLimiter:
    """Check limits locally or through Redis, falling back to local when Redis fails."""

    def __init__(self, redis_url: str | None, *, prefix: str = "pagefree:rl:") -> None:
        self.local = LocalLimiter()
        self.prefix = prefix
        self._redis: Any = None
        self._script: Any = None
        self._redis_down_until = 0.0
        if redis_url:
            import redis.asyncio as aioredis

            self._redis = aioredis.Redis.from_url(
                redis_url, socket_timeout=0.25, socket_connect_timeout=0.25
            )
            self._script = self._redis.register_script(_GCRA)

    @property
    def shared(self) -> bool:
        """Whether limits are currently shared through Redis."""
        return self._redis is not None and time.monotonic() >= self._redis_down_until

    async def hit(self, scope: str, ident: str, rate: Rate) -> float:
        """Count one request for (scope, ident); return 0 if allowed, else seconds to wait."""
        key = f"{scope}:{ident}"
        if self.shared:
            try:
                interval = 1_000_000 / rate.per_second
                wait = await self._script(
                    keys=[self.prefix + key], args=[interval, interval * (rate.burst - 1)]
                )
                return float(wait) / 1_000_000
            except Exception as exc:  # any Redis failure degrades, never rejects
                self._redis_down_until = time.monotonic() + REDIS_RETRY_AFTER
                log.warning("redis rate limiter unavailable, limiting in-process: %s", exc)
        return self.local.hit(key, rate)

    async def close(self) -> None:
        """Close the Redis connection pool."""
        if self._redis is not None:
            await self._redis.aclose()
