"""Limits on verification codes sent by SMS and voice, against SMS pumping and toll fraud.

Anyone who can add a contact method can make PageFree text or call any number, at the
operator's cost; premium-rate numbers pay the attacker. So a code to a paid channel is
limited per user and per destination number: a cooldown between two codes and a daily cap.
Counted by every API process together through Redis when REDIS_URL is set (in-process
otherwise), with the ingestion limiter's fallback to in-process counts when Redis fails.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from fastapi import FastAPI

from app.errors import RateLimited
from app.ingest.ratelimit import Rate, RateLimiter
from app.notify.models import ContactMethod, ContactType

PAID = frozenset({ContactType.sms, ContactType.voice})
LIMIT_PREFIX = "pagefree:send-code:"
DAY = 86_400.0


@dataclass(frozen=True)
class CodeLimits:
    cooldown_seconds: float = 60.0
    per_user_per_day: int = 10
    per_destination_per_day: int = 5

    def rates(self) -> list[tuple[str, Rate]]:
        """Return (scope, rate) pairs: cooldowns first, so a cooldown does not eat the cap."""
        cooldown = Rate(per_second=1 / self.cooldown_seconds, burst=1)
        return [
            ("user-cooldown", cooldown),
            ("to-cooldown", cooldown),
            ("user-day", Rate(per_second=self.per_user_per_day / DAY, burst=self.per_user_per_day)),
            (
                "to-day",
                Rate(
                    per_second=self.per_destination_per_day / DAY,
                    burst=self.per_destination_per_day,
                ),
            ),
        ]


LIMITS = CodeLimits()


def limiter_of(app: FastAPI) -> RateLimiter:
    """Return the app's send-code limiter, made on first use (one Redis pool per app)."""
    limiter: RateLimiter | None = getattr(app.state, "send_code_limiter", None)
    if limiter is None:
        limiter = RateLimiter(app.state.settings.redis_url, prefix=LIMIT_PREFIX)
        app.state.send_code_limiter = limiter
    return limiter


async def check(
    limiter: RateLimiter, *, method: ContactMethod, limits: CodeLimits = LIMITS
) -> None:
    """Count one code to `method`; raise RateLimited with the wait if a limit is reached."""
    if ContactType(method.type) not in PAID:
        return
    # The number is hashed: Redis keys are no place for phone numbers.
    to = hashlib.sha256(method.address.encode()).hexdigest()[:32]
    idents = {"user": str(method.user_id), "to": to}
    for scope, rate in limits.rates():
        wait = await limiter.hit(scope, idents[scope.split("-")[0]], rate)
        if wait > 0:
            raise RateLimited(
                "too many verification codes to this number or from this user; "
                f"try again in {math.ceil(wait)} seconds",
                retry_after=math.ceil(wait),
            )
