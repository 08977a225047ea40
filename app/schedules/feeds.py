"""Calendar feeds: secret, revocable URLs that serve shifts to calendar applications."""

from __future__ import annotations

import secrets
from datetime import datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.audit.models import Actor
from app.config import Settings
from app.db import utcnow
from app.errors import Unauthorized, not_found
from app.identity import service as identity
from app.schedules import service as schedules
from app.schedules import shifts
from app.schedules.ical import AHEAD, PAST, FeedEvent, calendar, shift_uid
from app.schedules.models import CalendarFeed, CalendarFeedCreated, CalendarFeedPublic

FEED_PREFIX = "pfcal_"


def feed_public(feed: CalendarFeed) -> CalendarFeedPublic:
    """Return a feed's public view (never its token)."""
    return CalendarFeedPublic.model_validate(feed, from_attributes=True)


def feed_url(settings: Settings, feed: CalendarFeed, token: str) -> str:
    """Return the URL a calendar application subscribes to."""
    if feed.schedule_id is not None:
        path = f"/api/v1/schedules/{feed.schedule_id}/calendar.ics"
    else:
        path = f"/api/v1/users/{feed.user_id}/calendar.ics"
    return f"{settings.base_url}{path}?token={token}"


async def create_feed(
    *,
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    schedule_id: UUID | None = None,
    user_id: UUID | None = None,
) -> CalendarFeedCreated:
    """Create a feed of a schedule or of a user's shifts; the token is shown this once."""
    if schedule_id is not None:
        await schedules.get_schedule(session=session, schedule_id=schedule_id)
    if user_id is not None:
        await identity.get_user(session=session, user_id=user_id)
    token = FEED_PREFIX + secrets.token_urlsafe(32)
    feed = CalendarFeed(
        schedule_id=schedule_id,
        user_id=user_id,
        token_hash=identity.hash_token(token),
        prefix=token[:10],
        created_by=actor.id if isinstance(actor.id, UUID) else None,
    )
    session.add(feed)
    await session.flush()
    await session.refresh(feed)
    public = feed_public(feed)
    await audit.record(
        session=session,
        actor=actor,
        action="calendar_feed.create",
        entity_type="calendar_feed",
        entity_id=feed.id,
        after=public,
    )
    return CalendarFeedCreated(
        **public.model_dump(), token=token, url=feed_url(settings, feed, token)
    )


async def list_feeds(
    *, session: AsyncSession, schedule_id: UUID | None = None, user_id: UUID | None = None
) -> list[CalendarFeed]:
    """Return the feeds of a schedule or of a user, newest first."""
    query = select(CalendarFeed).order_by(col(CalendarFeed.created_at).desc())
    if schedule_id is not None:
        query = query.where(col(CalendarFeed.schedule_id) == schedule_id)
    if user_id is not None:
        query = query.where(col(CalendarFeed.user_id) == user_id)
    return list((await session.scalars(query)).all())


async def get_feed(*, session: AsyncSession, feed_id: UUID) -> CalendarFeed:
    """Return a feed or raise 404."""
    feed = await session.get(CalendarFeed, feed_id)
    if feed is None:
        raise not_found("calendar feed", feed_id)
    return feed


async def revoke_feed(*, session: AsyncSession, feed: CalendarFeed, actor: Actor) -> None:
    """Revoke a feed; its URL stops working at once."""
    if feed.revoked_at is not None:
        return
    before = feed_public(feed)
    feed.revoked_at = utcnow()
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="calendar_feed.revoke",
        entity_type="calendar_feed",
        entity_id=feed.id,
        before=before,
        after=feed_public(feed),
    )


async def _authenticate(
    session: AsyncSession, token: str, *, schedule_id: UUID | None, user_id: UUID | None
) -> None:
    feed = await session.scalar(
        select(CalendarFeed).where(col(CalendarFeed.token_hash) == identity.hash_token(token))
    )
    if (
        feed is None
        or feed.revoked_at is not None
        or feed.schedule_id != schedule_id
        or feed.user_id != user_id
    ):
        raise Unauthorized("the calendar token is unknown or revoked")


async def schedule_calendar(
    *, session: AsyncSession, schedule_id: UUID, token: str, now: datetime | None = None
) -> bytes:
    """Return a schedule's feed: everyone's final shifts from a month ago to half a year on."""
    await _authenticate(session, token, schedule_id=schedule_id, user_id=None)
    now = now or utcnow()
    schedule = await schedules.get_schedule(session=session, schedule_id=schedule_id)
    rendered = await shifts.schedule_shifts(
        session=session, schedule=schedule, since=now - PAST, until=now + AHEAD
    )
    events = [
        FeedEvent(
            uid=shift_uid(schedule.id, s.user_id, s.start),
            start=s.start,
            end=s.end,
            summary=f"{s.name} on call",
            description=f"{s.name} is on call for {schedule.name}.",
        )
        for s in rendered.data
    ]
    return calendar(name=schedule.name, timezone=schedule.timezone, events=events, now=now)


async def user_calendar(
    *, session: AsyncSession, user_id: UUID, token: str, now: datetime | None = None
) -> bytes:
    """Return a user's feed: their shifts in every schedule."""
    await _authenticate(session, token, schedule_id=None, user_id=user_id)
    now = now or utcnow()
    user = await identity.get_user(session=session, user_id=user_id)
    found = await shifts.user_shifts(
        session=session, user_id=user_id, since=now - PAST, until=now + AHEAD
    )
    events = [
        FeedEvent(
            uid=shift_uid(s.schedule_id, user_id, s.start),
            start=s.start,
            end=s.end,
            summary=f"On call: {s.schedule_name}",
            description=f"{user.name} is on call for {s.schedule_name}.",
        )
        for s in found.data
    ]
    return calendar(name=f"{user.name} on call", timezone=user.timezone, events=events, now=now)
