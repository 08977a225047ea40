"""Hand edits of a postmortem's timeline: add an entry, reword, move, hide or restore one."""

from __future__ import annotations

import uuid
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import Actor
from app.errors import NotFound
from app.identity.models import User
from app.postmortems import service as postmortems
from app.postmortems import timeline as timeline_
from app.postmortems.models import Postmortem, TimelineEntryIn, TimelineEntryUpdate


async def add_entry(
    *,
    session: AsyncSession,
    postmortem_id: UUID,
    entry_in: TimelineEntryIn,
    user: User,
    actor: Actor,
) -> Postmortem:
    """Add a timeline entry by hand."""
    pm = await postmortems.get_for_edit(session=session, postmortem_id=postmortem_id, user=user)
    before = postmortems.summary(pm)
    entry = {
        "id": str(uuid.uuid4()),
        "at": entry_in.at.isoformat(),
        "text": entry_in.text,
        "source_event_id": None,
        "incident_id": None,
        "type": "manual",
        "hidden": entry_in.hidden,
    }
    pm.timeline = timeline_.sort_entries([*(pm.timeline or []), entry])
    return await postmortems.record_change(
        session, pm, user, actor, "postmortem.timeline.add", before, edited=True
    )


async def update_entry(
    *,
    session: AsyncSession,
    postmortem_id: UUID,
    entry_id: str,
    entry_in: TimelineEntryUpdate,
    user: User,
    actor: Actor,
) -> Postmortem:
    """Edit, hide or restore one timeline entry."""
    pm = await postmortems.get_for_edit(session=session, postmortem_id=postmortem_id, user=user)
    before = postmortems.summary(pm)
    entries = [dict(e) for e in pm.timeline or []]
    target = next((e for e in entries if e["id"] == entry_id), None)
    if target is None:
        raise NotFound(f"timeline entry {entry_id} does not exist")
    changes = entry_in.model_dump(exclude_unset=True, exclude_none=True, mode="json")
    target.update(changes)
    pm.timeline = timeline_.sort_entries(entries)
    return await postmortems.record_change(
        session, pm, user, actor, "postmortem.timeline.update", before, edited=True
    )
