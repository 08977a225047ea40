"""The web UI's live stream: incident changes from PostgreSQL NOTIFY, only while signed in."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import delete, text

from app.config import Settings
from app.db import SessionMaker
from app.incidents import events
from app.incidents.projection import NOTIFY_CHANNEL
from app.web import auth
from app.web.models import WebSession
from tests.factories import make_user


async def test_stream_passes_changes_and_stops_when_the_session_ends(
    database_url: str, sessionmaker: SessionMaker, settings: Settings
) -> None:
    async with sessionmaker() as session:
        user = await make_user(session)
        raw, _ = await auth.start_session(
            session=session, settings=settings, user=user, method="password"
        )
        await session.commit()

    async def still_signed_in() -> bool:
        async with sessionmaker() as session:
            return await auth.lookup(session=session, settings=settings, raw=raw) is not None

    hub = events.Hub(database_url)
    frames = events.stream(
        hub.subscribe(user.id), heartbeat=0.2, still_allowed=still_signed_in, recheck=0.1
    )
    assert "connected" in await asyncio.wait_for(anext(frames), 5)
    async with sessionmaker() as session:
        payload = json.dumps({"incident_id": "i-1", "kind": "acknowledged"})
        await session.execute(text("SELECT pg_notify(:c, :p)"), {"c": NOTIFY_CHANNEL, "p": payload})
        await session.commit()
    frame = await asyncio.wait_for(anext(frames), 5)
    assert frame.startswith("event: incident\n") and '"kind": "acknowledged"' in frame

    async with sessionmaker() as session:
        await session.execute(delete(WebSession))
        await session.commit()

    async def rest() -> list[str]:
        return [f async for f in frames]

    # It ends at the next re-check (0.1 s) at the latest.
    assert await asyncio.wait_for(rest(), 5) == []
    await hub.close()
