"""A Slack channel of its own for a severe incident: responders invited, the timeline mirrored."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.catalog.models import Service
from app.identity.models import User
from app.incidents.models import Incident, TimelineEvent
from app.slack.blocks import escape
from app.slack.models import SlackMessage

SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2, "critical": 3}
MIRROR_BATCH = 50  # timeline events per mirrored message
QUIET_EVENTS = frozenset({"notified"})  # one per send: noise in a war room


def wanted(service: Service, incident: Incident) -> bool:
    """Return whether the incident is severe enough for a channel of its own."""
    threshold = service.slack_incident_channel_severity
    if threshold is None:
        return False
    return SEVERITY_RANK.get(incident.severity, 0) >= SEVERITY_RANK.get(threshold, 99)


def channel_name(number: int, title: str) -> str:
    """Return a valid Slack channel name: lowercase, digits, - and _, at most 80 characters."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return f"inc-{number}-{slug}"[:80].rstrip("-")


def timeline_line(event: TimelineEvent, names: dict[str, str]) -> str | None:
    """Return how one timeline event reads in the incident's channel (None: not mirrored)."""
    if event.type in QUIET_EVENTS:
        return None
    actor: dict[str, Any] = event.actor or {}
    detail: dict[str, Any] = event.detail or {}
    who = names.get(str(actor.get("id")), "") if actor.get("type") == "user" else ""
    via = f" via {actor['via']}" if actor.get("via") else ""
    at = f"{event.at:%H:%M:%S}" if event.at else ""
    text = f"`{at}` *{event.type.replace('_', ' ')}*"
    if who:
        text += f" by {escape(who)}{via}"
    if event.type == "paged":
        text += f": {escape(str(detail.get('name', '')))} (level {detail.get('level')})"
    elif event.type == "escalated":
        text += f" to level {detail.get('level')}"
    elif event.type in ("note", "resolved") and (detail.get("body") or detail.get("note")):
        text += f": {escape(str(detail.get('body') or detail.get('note')))}"
    elif event.type in ("triggered", "alert") and detail.get("summary"):
        text += f": {escape(str(detail['summary']))}"
    return text


async def create(
    *, client: AsyncWebClient, incident: Incident, text: str, blocks: list[dict[str, Any]]
) -> tuple[str, str]:
    """Create the incident's channel and post its card there; return (channel id, ts)."""
    name = channel_name(incident.number or 0, incident.title)
    try:
        created = await client.conversations_create(name=name)
    except SlackApiError as exc:
        if exc.response.get("error") != "name_taken":
            raise
        # A channel of that name exists (an older installation): make ours unique.
        created = await client.conversations_create(name=f"{name[:72]}-{incident.id.hex[:6]}")
    channel = str(created["channel"]["id"])
    posted = await client.chat_postMessage(channel=channel, text=text, blocks=blocks)
    return channel, str(posted["ts"])


async def follow(
    *, session: AsyncSession, client: AsyncWebClient, incident: Incident, ref: SlackMessage
) -> None:
    """Invite the incident's responders and mirror new timeline events into its channel."""
    responders = {*incident.assigned_to}
    for ref_id in (incident.acknowledged_by, incident.resolved_by):
        try:
            responders.add(UUID(ref_id or ""))
        except ValueError:
            pass
    slack_ids = sorted(
        str(u)
        for u in await session.scalars(
            select(col(User.slack_user_id)).where(
                col(User.id).in_(responders), col(User.slack_user_id).is_not(None)
            )
        )
    )
    invited = set((ref.invited or "").split(",")) - {""}
    if new := [u for u in slack_ids if u not in invited]:
        try:
            await client.conversations_invite(channel=ref.channel, users=",".join(new))
        except SlackApiError as exc:
            if exc.response.get("error") not in ("already_in_channel", "cant_invite_self"):
                raise
        ref.invited = ",".join(sorted(invited | set(new)))
    events = list(
        await session.scalars(
            select(TimelineEvent)
            .where(
                col(TimelineEvent.incident_id) == incident.id,
                col(TimelineEvent.seq) > (ref.mirrored_seq or 0),
            )
            .order_by(col(TimelineEvent.seq))
            .limit(MIRROR_BATCH)
        )
    )
    if not events:
        return
    user_ids = {str(e.actor.get("id")) for e in events if e.actor and e.actor.get("type") == "user"}
    names: dict[str, str] = {}
    if valid := [UUID(u) for u in user_ids if _is_uuid(u)]:
        rows = await session.scalars(select(User).where(col(User.id).in_(valid)))
        names = {str(u.id): u.name for u in rows}
    lines = [line for e in events if (line := timeline_line(e, names))]
    if lines:
        await client.chat_postMessage(channel=ref.channel, text="\n".join(lines))
    ref.mirrored_seq = events[-1].seq


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True
