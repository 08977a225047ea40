"""Read-only probes of the PostgreSQL projection: the bench's view of what the workflows did."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg

LATENESS_SQL = """
SELECT
  extract(epoch FROM p2.at - p1.at) - %(delay)s AS paged_late,
  extract(epoch FROM n.created_at - p1.at) - %(delay)s AS notified_late
FROM incidents i
JOIN timeline_events p1 ON p1.incident_id = i.id AND p1.type = 'paged'
  AND p1.detail->>'level' = '1'
JOIN timeline_events p2 ON p2.incident_id = i.id AND p2.type = 'paged'
  AND p2.detail->>'level' = '2'
JOIN notifications n ON n.incident_id = i.id AND n.level = 2
WHERE i.workflow_id LIKE %(pattern)s
"""


def like_prefix(prefix: str) -> str:
    """Return a LIKE pattern matching strings that start with `prefix` literally."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


class Probe:
    """One autocommit connection to the stack's database."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]):
        self.conn = conn

    @classmethod
    async def connect(cls, url: str) -> Probe:
        """Connect to the database at a psycopg URL."""
        return cls(await psycopg.AsyncConnection.connect(url, autocommit=True))

    async def close(self) -> None:
        """Close the connection."""
        await self.conn.close()

    async def scalar(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> Any:
        """Return the first column of the first row."""
        row = await (await self.conn.execute(sql, params)).fetchone()  # type: ignore[arg-type]
        return row[0] if row else None

    async def rows(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[Any]:
        """Return every row."""
        return await (await self.conn.execute(sql, params)).fetchall()  # type: ignore[arg-type]

    async def incidents(self, wid_prefix: str) -> int:
        """Count incident rows whose workflow id starts with `wid_prefix`."""
        return int(
            await self.scalar(
                "SELECT count(*) FROM incidents WHERE workflow_id LIKE %s",
                (like_prefix(wid_prefix),),
            )
        )

    async def notified(self, wid_prefix: str, level: int = 1) -> int:
        """Count incidents (workflow id starting so) with a delivery-log row at `level`.

        Incidents, not rows: a user paged by SMS, e-mail and push at once has three rows,
        and counting rows reached "all paged" when a third of the incidents were.
        """
        return int(
            await self.scalar(
                "SELECT count(DISTINCT n.incident_id) FROM notifications n "
                "JOIN incidents i ON i.id = n.incident_id "
                "WHERE i.workflow_id LIKE %s AND n.level = %s",
                (like_prefix(wid_prefix), level),
            )
        )

    async def alert_count(self, workflow_id: str) -> int:
        """Return the projected alert count of the incident of `workflow_id` (0 before open)."""
        return int(
            await self.scalar(
                "SELECT coalesce(sum(alert_count), 0) FROM incidents WHERE workflow_id = %s",
                (workflow_id,),
            )
        )

    async def incident_ids(self, wid_prefix: str) -> list[str]:
        """Return the ids of incidents whose workflow id starts with `wid_prefix`."""
        rows = await self.rows(
            "SELECT id FROM incidents WHERE workflow_id LIKE %s ORDER BY number",
            (like_prefix(wid_prefix),),
        )
        return [str(r[0]) for r in rows]

    async def lateness(self, wid_prefix: str, delay: float) -> list[tuple[float, float]]:
        """Return (level-2 paged, level-2 notified) lateness in seconds per incident."""
        rows = await self.rows(LATENESS_SQL, {"delay": delay, "pattern": like_prefix(wid_prefix)})
        return [(float(a), float(b)) for a, b in rows]


async def wait_for(
    probe: Callable[[], Awaitable[int]],
    target: int,
    *,
    timeout: float,
    interval: float = 0.1,
    what: str = "rows",
) -> float:
    """Poll until probe() >= target; return the wall-clock time it was first seen."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value >= target:
            return time.time()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: {value} of {target} after {timeout:.0f}s")
        await asyncio.sleep(interval)
