"""Server-Sent Events of incident changes, fed by PostgreSQL LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator

import psycopg

from app.incidents.projection import NOTIFY_CHANNEL

HEARTBEAT_SECONDS = 15.0


def _libpq_url(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


async def stream(
    database_url: str, *, heartbeat: float = HEARTBEAT_SECONDS
) -> AsyncGenerator[str, None]:
    """Yield SSE frames for every incident change until the client goes away."""
    conn = await psycopg.AsyncConnection.connect(_libpq_url(database_url), autocommit=True)
    try:
        await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        yield "retry: 2000\n: connected\n\n"
        while True:
            got_any = False
            async for note in conn.notifies(timeout=heartbeat):
                got_any = True
                data = json.loads(note.payload)
                yield f"event: incident\ndata: {json.dumps(data)}\n\n"
            if not got_any:
                yield ": keep-alive\n\n"
    except asyncio.CancelledError:
        raise
    finally:
        await conn.close()
