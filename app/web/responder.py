"""The top of the responder's dashboard: my open incidents, and whether I am on call."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.incidents import service as incidents
from app.schedules import shifts as schedule_shifts
from app.web.auth import Viewer

LOOK_AHEAD = timedelta(days=14)


async def responder_summary(session: AsyncSession, viewer: Viewer) -> dict[str, Any]:
    """Return `my_counts` (open incidents assigned to me) and my current and next shift.

    Back-to-back shifts (one schedule's end is the next one's start) count as one stretch,
    so "on call until" is when I am really free.
    """
    now = utcnow()
    mine = await incidents.count_by_status(session=session, assigned_to=viewer.user.id)
    shifts = (
        await schedule_shifts.user_shifts(
            session=session, user_id=viewer.user.id, since=now, until=now + LOOK_AHEAD
        )
    ).data
    current = [s for s in shifts if s.start <= now < s.end]
    until = max((s.end for s in current), default=None)
    schedules = sorted({s.schedule_name for s in current})
    while until is not None:
        later = max((s.end for s in shifts if s.start <= until < s.end), default=until)
        if later == until:
            break
        until = later
    upcoming = next((s for s in shifts if s.start > now), None)
    return {
        "my_counts": mine,
        "on_call_until": until,
        "on_call_schedules": schedules,
        "next_shift": upcoming,
        "look_ahead_days": LOOK_AHEAD.days,
    }
