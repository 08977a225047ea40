"""Live streams share one PostgreSQL LISTEN per process, are capped per user, and end when
their token is revoked."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.audit.models import Actor
from app.config import Settings
from app.db import SessionMaker
from app.identity import service as identity
from app.identity.models import Role
from app.incidents.projection import NOTIFY_CHANNEL
from tests.factories import Login, login
from tests.live_server import serve


@pytest.fixture
async def live_api(settings: Settings, database_url: str) -> AsyncIterator[str]:
    """The API on a real loopback port (SSE needs a server that streams)."""
    from api import create_app

    configured = settings.model_copy(update={"stream_recheck": timedelta(seconds=0.5)})
    app: FastAPI = create_app(configured, database_url=database_url)
    async with app.router.lifespan_context(app), serve(app) as url:
        yield url


async def _listening(sessionmaker: SessionMaker) -> int:
    async with sessionmaker() as session:
        count = await session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND query ILIKE 'LISTEN%'"
            )
        )
    return int(count or 0)


async def _open_stream(
    stack: contextlib.AsyncExitStack, client: httpx.AsyncClient, who: Login
) -> AsyncIterator[str]:
    response = await stack.enter_async_context(
        client.stream("GET", "/api/v1/events", headers=who.headers)
    )
    assert response.status_code == 200, await response.aread()
    lines = response.aiter_lines()
    assert "connected" in "".join([await anext(lines), await anext(lines)])
    return lines


async def _next_event(lines: AsyncIterator[str]) -> dict[str, object]:
    async for line in lines:
        if line.startswith("data: "):
            return json.loads(line[6:])  # type: ignore[no-any-return]
    raise AssertionError("the stream ended")


async def test_thirty_streams_use_one_listening_connection_and_all_get_each_change(
    live_api: str, sessionmaker: SessionMaker
) -> None:
    people = [await login(sessionmaker, role=Role.observer) for _ in range(3)]
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(httpx.AsyncClient(base_url=live_api, timeout=10))
        streams = [await _open_stream(stack, client, p) for p in people for _ in range(10)]
        assert len(streams) == 30
        assert await _listening(sessionmaker) == 1
        async with sessionmaker() as session:
            payload = json.dumps({"incident_id": "i-1", "kind": "acknowledged"})
            await session.execute(
                text("SELECT pg_notify(:c, :p)"), {"c": NOTIFY_CHANNEL, "p": payload}
            )
            await session.commit()
        got = await asyncio.wait_for(asyncio.gather(*(_next_event(s) for s in streams)), 10)
        assert all(g["kind"] == "acknowledged" for g in got)


async def test_a_user_past_the_stream_cap_gets_429_and_a_slot_frees_when_a_stream_ends(
    live_api: str, sessionmaker: SessionMaker
) -> None:
    me = await login(sessionmaker, role=Role.observer)
    async with httpx.AsyncClient(base_url=live_api, timeout=10) as client:
        async with contextlib.AsyncExitStack() as stack:
            # Kept referenced: a dropped line iterator closes its stream.
            mine = [await _open_stream(stack, client, me) for _ in range(10)]
            refused = await client.get("/api/v1/events", headers=me.headers)
            assert refused.status_code == 429
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert int(refused.headers["retry-after"]) > 0
            other = await login(sessionmaker, role=Role.observer)
            async with contextlib.AsyncExitStack() as theirs:
                assert await _open_stream(theirs, client, other)  # the cap is per user
            assert len(mine) == 10
        # All ten closed: the slots are free again (the server notices within moments).
        for _ in range(50):
            async with contextlib.AsyncExitStack() as stack:
                response = await stack.enter_async_context(
                    client.stream("GET", "/api/v1/events", headers=me.headers)
                )
                if response.status_code == 200:
                    return
            await asyncio.sleep(0.1)
        raise AssertionError("the closed streams' slots were not freed")


async def test_a_stream_ends_soon_after_its_token_is_revoked(
    live_api: str, sessionmaker: SessionMaker
) -> None:
    me = await login(sessionmaker, role=Role.observer)
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(httpx.AsyncClient(base_url=live_api, timeout=10))
        lines = await _open_stream(stack, client, me)
        async with sessionmaker() as session:
            [token] = await identity.list_tokens(session=session, user_id=me.user.id)
            await identity.revoke_token(
                session=session,
                user_id=me.user.id,
                token_id=token.id,
                actor=Actor.system(via="test"),
            )
            await session.commit()

        async def rest() -> list[str]:
            return [line async for line in lines]

        assert [line for line in await asyncio.wait_for(rest(), 5) if line.startswith("data")] == []
