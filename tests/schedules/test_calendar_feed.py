"""Calendar feeds: secret URLs serve valid RFC 5545 that a real parser reads back; revocable."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
from icalendar import Calendar
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.db import SessionMaker
from app.identity.models import Role
from tests.factories import Login, assert_problem, login
from tests.schedules.conftest import URL, Api, layer_body, make_schedule


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def _feed(client: httpx.AsyncClient, url: str) -> Calendar:
    answer = await client.get(_path(url))  # no bearer token: the URL is the credential
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/calendar")
    return Calendar.from_ical(answer.content)


async def test_schedule_feed_parses_back_into_the_weekly_shifts(
    api: Api, client: httpx.AsyncClient, bob: Login, carol: Login, sessionmaker: SessionMaker
) -> None:
    weekly = layer_body(bob, carol, start="2026-01-05T10:00:00", rotation_length="P7D")
    schedule = await make_schedule(api, bob, layers=[weekly])
    made = await api("POST", f"{URL}/{schedule['id']}/calendar-feeds", as_=carol)
    assert made.status_code == 201, made.text
    feed = made.json()
    assert feed["token"].startswith("pfcal_") and feed["token"] in feed["url"]
    assert feed["url"].endswith(
        f"/api/v1/schedules/{schedule['id']}/calendar.ics?token={feed['token']}"
    )

    cal = await _feed(client, feed["url"])
    assert cal["VERSION"] == "2.0" and str(cal["PRODID"]).startswith("-//PageFree")
    assert str(cal["X-WR-CALNAME"]) == "Checkout primary"
    events = list(cal.walk("VEVENT"))
    assert 25 <= len(events) <= 32  # 30 days back, 180 ahead, one per week
    now = datetime.now(UTC)
    berlin = schedule["timezone"]
    for event in events:
        start, end = event["DTSTART"].dt, event["DTEND"].dt
        assert start.tzinfo is not None and start < end
        assert now - timedelta(days=31) <= start and end <= now + timedelta(days=181)
        assert str(event["SUMMARY"]) in ("Bob on call", "Carol on call")
        assert event["UID"] and event["DTSTAMP"]
    inner = events[1:-1]  # the first and last are clipped to the feed's range
    for event in inner:
        local = event["DTSTART"].dt.astimezone(ZoneInfo(berlin))
        assert (local.weekday(), local.hour, local.minute) == (0, 10, 0)  # Monday 10:00, DST or not
    names = [str(e["SUMMARY"]) for e in inner]
    assert all(a != b for a, b in itertools.pairwise(names))  # they alternate
    uids = [str(e["UID"]) for e in events]
    assert len(set(uids)) == len(uids)

    # Revoked: the URL stops working at once; list no longer shows it live.
    url = f"{URL}/{schedule['id']}/calendar-feeds"
    listed = (await api("GET", url, as_=carol)).json()
    assert [f["id"] for f in listed] == [feed["id"]] and "token" not in listed[0]
    assert (await api("GET", url, as_=bob)).json() == []  # not Bob's feed
    assert_problem(await api("DELETE", f"{url}/{feed['id']}", as_=bob), 403)
    assert (await api("DELETE", f"{url}/{feed['id']}", as_=carol)).status_code == 204
    assert_problem(await client.get(_path(feed["url"])), 401)
    async with sessionmaker() as session:
        actions = (
            await session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.entity_id == feed["id"])
                .order_by(AuditEvent.id)
            )
        ).all()
    assert list(actions) == ["calendar_feed.create", "calendar_feed.revoke"]


async def test_feed_tokens_open_only_their_own_feed(
    api: Api, client: httpx.AsyncClient, bob: Login
) -> None:
    one = await make_schedule(api, bob)
    two = await make_schedule(api, bob, name="Other")
    feed = (await api("POST", f"{URL}/{one['id']}/calendar-feeds")).json()
    assert_problem(
        await client.get(f"{URL}/{two['id']}/calendar.ics", params={"token": feed["token"]}), 401
    )
    assert_problem(
        await client.get(f"{URL}/{one['id']}/calendar.ics", params={"token": "pfcal_guess"}), 401
    )
    assert_problem(await client.get(f"{URL}/{one['id']}/calendar.ics"), 422)
    user_url = f"/api/v1/users/{bob.user.id}/calendar.ics"
    assert_problem(await client.get(user_url, params={"token": feed["token"]}), 401)


async def test_user_feed_lists_their_shifts_in_every_schedule(
    api: Api, client: httpx.AsyncClient, bob: Login, carol: Login, sessionmaker: SessionMaker
) -> None:
    await make_schedule(api, bob, carol, name="Checkout")
    await make_schedule(api, carol, name="Search")
    assert_problem(await api("POST", f"/api/v1/users/{carol.user.id}/calendar-feeds", as_=bob), 403)
    feed = await api("POST", f"/api/v1/users/{bob.user.id}/calendar-feeds", as_=bob)
    assert feed.status_code == 201, feed.text
    cal = await _feed(client, feed.json()["url"])
    events = list(cal.walk("VEVENT"))
    assert events and {str(e["SUMMARY"]) for e in events} == {"On call: Checkout"}
    assert str(cal["X-WR-CALNAME"]) == "Bob on call"
    observer = await login(sessionmaker, role=Role.observer)
    assert_problem(
        await api("GET", f"/api/v1/users/{bob.user.id}/calendar-feeds", as_=observer), 403
    )
    listed = await api("GET", f"/api/v1/users/{bob.user.id}/calendar-feeds")  # an admin
    assert [f["id"] for f in listed.json()] == [feed.json()["id"]]
    revoke = f"/api/v1/users/{bob.user.id}/calendar-feeds/{feed.json()['id']}"
    assert (await api("DELETE", revoke, as_=bob)).status_code == 204
    assert_problem(await client.get(_path(feed.json()["url"])), 401)
