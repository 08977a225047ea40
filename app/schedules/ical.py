"""iCalendar (RFC 5545) feeds of on-call shifts. Pure: values in, bytes out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event

PRODID = "-//PageFree//On-call schedules//EN"
# How far back and ahead a feed reaches: calendar apps re-fetch it every few hours.
PAST = timedelta(days=30)
AHEAD = timedelta(days=180)
# Calendar applications refresh at their own pace; this asks for at least twice a day.
REFRESH = "PT12H"


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """One shift as a calendar event; `uid` stays the same while the shift does."""

    uid: str
    start: datetime
    end: datetime
    summary: str
    description: str = ""


def shift_uid(schedule_id: object, user_id: object, start: datetime) -> str:
    """Return a stable event UID for a user's shift in a schedule."""
    return f"{schedule_id}-{user_id}-{int(start.timestamp())}@pagefree"


def calendar(*, name: str, timezone: str, events: list[FeedEvent], now: datetime) -> bytes:
    """Return an RFC 5545 VCALENDAR with one VEVENT per shift, times in UTC."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", timezone)
    cal.add("x-published-ttl", REFRESH)
    stamp = now.astimezone(UTC).replace(microsecond=0)
    for item in events:
        event = Event()
        event.add("uid", item.uid)
        event.add("dtstamp", stamp)
        event.add("dtstart", item.start.astimezone(UTC))
        event.add("dtend", item.end.astimezone(UTC))
        event.add("summary", item.summary)
        if item.description:
            event.add("description", item.description)
        # Being on call does not make someone busy for meetings.
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    ical: bytes = cal.to_ical()
    return ical
