"""HTTP routes for calendar feeds: create, list and revoke secret URLs; serve iCalendar."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from app.deps import CurrentUser, SessionDep, SettingsDep, actor_of
from app.errors import not_found
from app.identity.models import Role, User
from app.problems import Problem
from app.schedules import feeds
from app.schedules.models import CalendarFeedCreated, CalendarFeedPublic

router = APIRouter()
ICS = "text/calendar; charset=utf-8"
TokenQuery = Query(min_length=1, max_length=200, description="the feed's secret token")


def _self_or_admin(actor: User, user_id: UUID) -> None:
    if actor.role != Role.admin and actor.id != user_id:
        raise Problem(
            403,
            "Forbidden",
            "only admins may manage other users' feeds",
            type_="/problems/forbidden",
        )


@router.post(
    "/schedules/{schedule_id}/calendar-feeds",
    response_model=CalendarFeedCreated,
    status_code=status.HTTP_201_CREATED,
)
async def create_schedule_feed(
    session: SessionDep, settings: SettingsDep, actor: CurrentUser, schedule_id: UUID
) -> CalendarFeedCreated:
    """Create a secret calendar URL for a schedule; the token is shown in this answer only."""
    return await feeds.create_feed(
        session=session, settings=settings, actor=actor_of(actor), schedule_id=schedule_id
    )


@router.get("/schedules/{schedule_id}/calendar-feeds", response_model=list[CalendarFeedPublic])
async def list_schedule_feeds(
    session: SessionDep, actor: CurrentUser, schedule_id: UUID
) -> list[CalendarFeedPublic]:
    """List a schedule's feeds: all of them for admins, one's own for others."""
    rows = await feeds.list_feeds(session=session, schedule_id=schedule_id)
    mine = [f for f in rows if actor.role == Role.admin or f.created_by == actor.id]
    return [feeds.feed_public(f) for f in mine]


@router.delete(
    "/schedules/{schedule_id}/calendar-feeds/{feed_id}", status_code=status.HTTP_204_NO_CONTENT
)
async def revoke_schedule_feed(
    session: SessionDep, actor: CurrentUser, schedule_id: UUID, feed_id: UUID
) -> Response:
    """Revoke a schedule feed (its creator or an admin)."""
    feed = await feeds.get_feed(session=session, feed_id=feed_id)
    if feed.schedule_id != schedule_id:
        raise not_found("calendar feed", feed_id)
    if actor.role != Role.admin and feed.created_by != actor.id:
        raise Problem(
            403,
            "Forbidden",
            "only its creator or an admin may revoke a feed",
            type_="/problems/forbidden",
        )
    await feeds.revoke_feed(session=session, feed=feed, actor=actor_of(actor))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/schedules/{schedule_id}/calendar.ics", response_class=Response)
async def schedule_calendar(
    session: SessionDep, schedule_id: UUID, token: str = TokenQuery
) -> Response:
    """Serve a schedule's shifts as iCalendar; the token in the URL is the credential."""
    body = await feeds.schedule_calendar(session=session, schedule_id=schedule_id, token=token)
    return Response(body, media_type=ICS, headers={"Cache-Control": "private, max-age=300"})


@router.post(
    "/users/{user_id}/calendar-feeds",
    response_model=CalendarFeedCreated,
    status_code=status.HTTP_201_CREATED,
)
async def create_user_feed(
    session: SessionDep, settings: SettingsDep, actor: CurrentUser, user_id: UUID
) -> CalendarFeedCreated:
    """Create a secret calendar URL of a user's shifts (the user or an admin)."""
    _self_or_admin(actor, user_id)
    return await feeds.create_feed(
        session=session, settings=settings, actor=actor_of(actor), user_id=user_id
    )


@router.get("/users/{user_id}/calendar-feeds", response_model=list[CalendarFeedPublic])
async def list_user_feeds(
    session: SessionDep, actor: CurrentUser, user_id: UUID
) -> list[CalendarFeedPublic]:
    """List the feeds of a user's shifts (the user or an admin)."""
    _self_or_admin(actor, user_id)
    return [feeds.feed_public(f) for f in await feeds.list_feeds(session=session, user_id=user_id)]


@router.delete("/users/{user_id}/calendar-feeds/{feed_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_user_feed(
    session: SessionDep, actor: CurrentUser, user_id: UUID, feed_id: UUID
) -> Response:
    """Revoke a feed of a user's shifts (the user or an admin)."""
    _self_or_admin(actor, user_id)
    feed = await feeds.get_feed(session=session, feed_id=feed_id)
    if feed.user_id != user_id:
        raise not_found("calendar feed", feed_id)
    await feeds.revoke_feed(session=session, feed=feed, actor=actor_of(actor))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/users/{user_id}/calendar.ics", response_class=Response)
async def user_calendar(session: SessionDep, user_id: UUID, token: str = TokenQuery) -> Response:
    """Serve a user's shifts in every schedule as iCalendar; the token is the credential."""
    body = await feeds.user_calendar(session=session, user_id=user_id, token=token)
    return Response(body, media_type=ICS, headers={"Cache-Control": "private, max-age=300"})
