"""Announcements: what subscribers are told, written once per event in the change's transaction."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.statuspages.models import Announcement, PageIncident, StatusPage

NOTIFY_CHANNEL = "pagefree_status_announcements"


async def record(
    session: AsyncSession,
    *,
    key: str,
    page_id: UUID,
    kind: str,
    subject: str,
    body: str,
    component_ids: list[UUID],
    subscriber_id: UUID | None = None,
) -> bool:
    """Write an announcement once (its key is the event); return whether it is new."""
    stmt = (
        insert(Announcement)
        .values(
            id=key,
            page_id=page_id,
            kind=kind,
            subject=subject[:500],
            body=body,
            component_ids=component_ids,
            subscriber_id=subscriber_id,
        )
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(col(Announcement.id))
    )
    written = await session.scalar(stmt) is not None
    if written:  # the feeder starts its delivery on commit
        await session.execute(text("SELECT pg_notify(:c, :p)"), {"c": NOTIFY_CHANNEL, "p": key})
    return written


async def incident_update(
    session: AsyncSession, page: StatusPage, pi: PageIncident, update_id: UUID, body: str
) -> None:
    """Announce an update of a published page incident."""
    if not pi.published:
        return
    await record(
        session,
        key=f"incident-update:{update_id}",
        page_id=page.id,
        kind="incident_update",
        subject=f"[{page.name}] {pi.name}: {pi.status}",
        body=body,
        component_ids=list(pi.component_ids),
    )


_MAINTENANCE_WORDS = {
    "reminder": "starts at {start} UTC",
    "started": "is in progress",
    "completed": "is completed",
}


async def maintenance(session: AsyncSession, maintenance_id: UUID, kind: str) -> bool:
    """Announce a maintenance's reminder, start or completion; False if it is gone."""
    m = await session.get(PageIncident, maintenance_id)
    if m is None or m.status == "cancelled":
        return False
    page = await session.get(StatusPage, m.page_id)
    if page is None:
        return False
    start = m.scheduled_for.strftime("%Y-%m-%d %H:%M") if m.scheduled_for else "?"
    words = _MAINTENANCE_WORDS[kind].format(start=start)
    return await record(
        session,
        key=f"maintenance:{maintenance_id}:{kind}",
        page_id=page.id,
        kind=f"maintenance_{kind}",
        subject=f"[{page.name}] Maintenance {words}: {m.name}",
        body=f"{m.name} {words}.",
        component_ids=list(m.component_ids),
    )


async def list_for_page(
    session: AsyncSession, page_id: UUID, limit: int = 100
) -> list[Announcement]:
    """Return a page's announcements, newest first."""
    rows = await session.scalars(
        select(Announcement)
        .where(col(Announcement.page_id) == page_id, col(Announcement.subscriber_id).is_(None))
        .order_by(col(Announcement.created_at).desc(), col(Announcement.id))
        .limit(limit)
    )
    return list(rows.all())
