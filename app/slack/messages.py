"""Post an incident's Slack message once and keep every message showing it up to date."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.catalog.models import Service
from app.config import Settings
from app.incidents.models import Incident
from app.slack import incident_channel
from app.slack import service as slack
from app.slack.blocks import fallback_text, incident_blocks
from app.slack.models import SlackMessage

log = logging.getLogger("pagefree.slack")

# Errors that retrying cannot fix: the configuration, the token or the recipient is wrong.
# One set for every post, the incident card and the plain-text page alike.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "missing_scope",
        "invalid_blocks",
        "msg_too_long",
        "user_not_found",
        "user_disabled",
        "cannot_dm_bot",
    }
)
# The message is gone (deleted by someone): nothing to update, and not worth failing for.
GONE_ERRORS = frozenset({"message_not_found", "cant_update_message", "channel_not_found"})


class SlackPermanentError(Exception):
    """Slack refused for a reason that retrying will not change."""


@dataclass
class SyncResult:
    posted: list[str] = field(default_factory=list)  # channels posted to
    updated: list[str] = field(default_factory=list)  # channels whose message was updated
    skipped: list[str] = field(default_factory=list)  # messages that no longer exist
    failed: list[str] = field(default_factory=list)  # posts Slack refused for good


def error_code(exc: SlackApiError) -> str:
    """Return Slack's error code of a failed call."""
    return str(exc.response.get("error") or f"http_{exc.response.status_code}")


async def sync_incident(
    *, session: AsyncSession, client: AsyncWebClient, settings: Settings, incident_id: UUID
) -> SyncResult:
    """Post the incident to its channel if not yet posted; update every message showing it.

    Runs under a per-incident advisory lock, so concurrent syncs (a retry racing a newer one)
    never post twice; the message reflects the projection as it is when the lock is taken.
    A post Slack refuses for good (the app is not in the channel, say) does not stop the
    other messages' updates; SlackPermanentError is raised after them. Other errors
    propagate and the activity retries them.
    """
    out = SyncResult()
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"slack:{incident_id}"}
    )
    incident = await session.get(Incident, incident_id)
    if incident is None:
        return out
    card = await slack.card(session=session, settings=settings, incident=incident)
    blocks, fallback = incident_blocks(card), fallback_text(card)
    refs = {
        m.channel: m
        for m in await session.scalars(
            select(SlackMessage).where(col(SlackMessage.incident_id) == incident_id)
        )
    }
    service = await session.get(Service, incident.service_id)
    channel = await slack.channel_for(session=session, service=service) if service else None
    if channel and channel not in refs:
        try:
            answer = await client.chat_postMessage(
                channel=channel, text=fallback, blocks=blocks, unfurl_links=False
            )
        except SlackApiError as exc:
            _permanent_or_raise(exc, out, channel)
        else:
            await _remember(session, incident_id, str(answer["channel"]), str(answer["ts"]))
            out.posted.append(channel)
    room = next((r for r in refs.values() if r.kind == "incident_channel"), None)
    if room is None and service is not None and incident_channel.wanted(service, incident):
        try:
            room_id, ts = await incident_channel.create(
                client=client, incident=incident, text=fallback, blocks=blocks
            )
        except SlackApiError as exc:
            _permanent_or_raise(exc, out, "incident channel")
        else:
            await _remember(session, incident_id, room_id, ts, kind="incident_channel")
            room = await session.get(SlackMessage, (incident_id, room_id))
            out.posted.append(room_id)
    if room is not None:
        try:
            await incident_channel.follow(
                session=session, client=client, incident=incident, ref=room
            )
        except SlackApiError as exc:
            # An archived or broken war room must not stop the main message's updates.
            room.last_error = error_code(exc)
            log.warning("incident channel %s: %s", room.channel, room.last_error)
    for ref in refs.values():
        try:
            await client.chat_update(channel=ref.channel, ts=ref.ts, text=fallback, blocks=blocks)
        except SlackApiError as exc:
            code = error_code(exc)
            if code in GONE_ERRORS:
                ref.last_error = code
                out.skipped.append(ref.channel)
                continue
            _permanent_or_raise(exc, out, ref.channel)
            ref.last_error = code
            continue
        ref.updated_at = datetime.now(UTC)
        ref.last_error = None
        out.updated.append(ref.channel)
    await session.commit()
    if out.failed:
        # What could be done is done; the rest needs a person (invite the app, fix the id).
        raise SlackPermanentError(f"Slack refused: {'; '.join(out.failed)}")
    return out


def _permanent_or_raise(exc: SlackApiError, out: SyncResult, where: str) -> None:
    """Note a refusal that retrying cannot fix and go on; raise anything else (retried)."""
    code = error_code(exc)
    if code not in PERMANENT_ERRORS:
        raise exc
    log.warning("slack refused a post to %s: %s", where, code)
    out.failed.append(f"{where}: {code}")


async def post_incident(
    *,
    session: AsyncSession,
    client: AsyncWebClient,
    settings: Settings,
    incident_id: UUID,
    channel: str,
    kind: str = "dm",
) -> str | None:
    """Post an incident's card to a channel or, given a Slack user id, as a direct message.

    The notifications' Slack adapter pages people this way; the message is remembered, so
    every later change of the incident updates it in place. Returns the message's ts.
    """
    incident = await session.get(Incident, incident_id)
    if incident is None:
        return None
    card = await slack.card(session=session, settings=settings, incident=incident)
    try:
        answer = await client.chat_postMessage(
            channel=channel, text=fallback_text(card), blocks=incident_blocks(card)
        )
    except SlackApiError as exc:
        raise _classify(exc) from exc
    ts = str(answer["ts"])
    # A DM is posted to the user id but lives in the IM channel Slack answers with.
    await record_message(
        session=session, incident_id=incident_id, channel=str(answer["channel"]), ts=ts, kind=kind
    )
    await session.commit()
    return ts


async def _remember(
    session: AsyncSession, incident_id: UUID, channel: str, ts: str, kind: str = "channel"
) -> None:
    await record_message(
        session=session, incident_id=incident_id, channel=channel, ts=ts, kind=kind
    )
    # Commit now: the message exists in Slack, so its ref must survive a later failure.
    await session.commit()
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"slack:{incident_id}"}
    )


async def record_message(
    *, session: AsyncSession, incident_id: UUID, channel: str, ts: str, kind: str
) -> None:
    """Remember a message that shows an incident, so later changes update it in place.

    The notifications' Slack DM adapter calls this (kind "dm") for the pages it sends.
    """
    await session.execute(
        insert(SlackMessage)
        .values(incident_id=incident_id, channel=channel, ts=ts, kind=kind)
        .on_conflict_do_update(
            index_elements=["incident_id", "channel"], set_={"ts": ts, "kind": kind}
        )
    )


def _classify(exc: SlackApiError) -> Exception:
    code = error_code(exc)
    if code in PERMANENT_ERRORS:
        return SlackPermanentError(f"Slack refused: {code}")
    return exc
