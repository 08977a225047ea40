"""Deliver a page: resolve its target, send it through a channel, log every attempt, announce.

The delivery logic behind the `send_notifications` and `announce_page` activities, which only
add what Temporal knows (attempt numbers, retry limits, the error types it must not retry).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import text

from app.config import Settings
from app.db import SessionMaker, utcnow
from app.incidents import projection
from app.incidents.models import TimelineEvent
from app.notify import messages
from app.notify import service as notify
from app.notify.channels import Channels, DeliveryError, Sent
from app.notify.channels.base import ChatPoster
from app.notify.channels.chat import adaptive_card
from app.notify.links import Action, make_link_token
from app.notify.messages import PageFacts
from app.notify.models import ContactType
from app.slack import messages as slack_messages
from app.slack import service as slack
from workflows.incident_types import (
    Actor,
    AnnouncePage,
    SendNotification,
    TimelineEventIn,
)


@dataclass(frozen=True)
class Target:
    """Where one step of a page goes: a channel, its address (empty: unusable), the method."""

    channel: str
    address: str
    method_id: UUID | None

    def shown(self) -> str | None:
        """Return the address as the delivery log shows it."""
        # A push subscription holds the browser's keys: the delivery log shows only its host.
        if self.channel == ContactType.push and self.address:
            endpoint = str(json.loads(self.address).get("endpoint", ""))
            return endpoint.split("/")[2] if endpoint.count("/") >= 2 else "push"
        return self.address or None


@dataclass(frozen=True)
class Attempt:
    """One try of a step: its delivery-log key, its number, and when it was scheduled."""

    key: str
    number: int
    at: datetime


def page_text(inp: SendNotification, url: str) -> str:
    """Return the page as the delivery log keeps it: subject line, then text."""
    text = messages.page_message(
        number=inp.number,
        title=inp.title,
        service=inp.service_name,
        severity=inp.severity,
        url=url,
        level=inp.level,
    )
    return f"{text.subject}\n{text.text}"


def page_event_id(key: str, type_: str) -> str:
    """Return the id of a step's outcome event: `{key}:notified` or `{key}:failed`."""
    return f"{key}:{'notified' if type_ == 'notified' else 'failed'}"


def page_event(
    inp: SendNotification, type_: str, at: datetime, detail: dict[str, object]
) -> TimelineEventIn:
    """Return the timeline event of a step's outcome, with an id a retry cannot duplicate."""
    return TimelineEventIn(
        id=page_event_id(inp.idempotency_key, type_),
        at=at,
        position=inp.position,
        type=type_,
        actor=Actor(),
        detail=detail,
    )


class PageSender:
    """Sends one step of a paged user's chain through the channel registry, and logs it."""

    def __init__(self, sessionmaker: SessionMaker, settings: Settings, channels: Channels):
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.channels = channels
        # With the Slack app configured, a Slack page is the incident card with its buttons,
        # kept current in place like the channel message; without it, plain text.
        self.slack_app: AsyncWebClient | None = (
            slack.web_client(settings) if slack.configured(settings) else None
        )

    async def prepare(
        self, sends: list[SendNotification], now: datetime
    ) -> list[tuple[Target, PageFacts]]:
        """Return each step's target and what its page says (with signed links where carried).

        One round trip for all the steps: each user's time zone, when the incident opened,
        the step's contact method.
        """
        if not sends:
            return []
        async with self.sessionmaker() as session:
            rows = (
                await session.execute(
                    text(
                        "SELECT u.timezone, i.created_at, m.id, m.type, m.address, m.verified"
                        " FROM unnest(CAST(:users AS uuid[]), CAST(:incidents AS uuid[]),"
                        "  CAST(:methods AS text[])) WITH ORDINALITY AS s(u, i, m, n)"
                        " LEFT JOIN users u ON u.id = s.u"
                        " LEFT JOIN incidents i ON i.id = s.i"
                        " LEFT JOIN contact_methods m ON m.id = CAST(NULLIF(s.m, '') AS uuid)"
                        " ORDER BY s.n"
                    ),
                    {
                        "users": [s.user_id for s in sends],
                        "incidents": [s.incident_id for s in sends],
                        "methods": [s.step.contact_method_id or "" for s in sends],
                    },
                )
            ).all()
        return [self._prepared(inp, now, *row) for inp, row in zip(sends, rows, strict=True)]

    def _prepared(
        self,
        inp: SendNotification,
        now: datetime,
        timezone: str | None,
        opened_at: datetime | None,
        method_id: UUID | None,
        method_type: str | None,
        method_address: str | None,
        verified: bool | None,
    ) -> tuple[Target, PageFacts]:
        """Return one step's target and facts from what `prepare` read for it."""
        base = self.settings.base_url
        facts = PageFacts(
            number=inp.number,
            title=inp.title,
            service=inp.service_name,
            severity=inp.severity,
            url=f"{base}/incidents/{inp.incident_id}",
            level=inp.level,
            opened_at=opened_at,
            timezone=timezone or "UTC",
        )
        if inp.step.channel == "log" or method_id is None:
            return Target(inp.step.channel, inp.step.address or "", None), facts
        # E-mail and push carry signed links: a push payload is encrypted end to end for the
        # subscribed browser (aes128gcm), so the push service cannot read or use the link.
        if inp.step.channel in (ContactType.email, ContactType.push) and self.settings.link_secret:
            secret = self.settings.link_secret.get_secret_value()

            def link(action: Action) -> str:
                token = make_link_token(
                    secret=secret,
                    incident_id=inp.incident_id,
                    user_id=inp.user_id,
                    action=action,
                    now=now,
                    ttl=self.settings.link_ttl,
                    via=str(inp.step.channel),
                )
                return f"{base}/ack/{token}"

            facts = replace(facts, ack_url=link("acknowledge"), resolve_url=link("resolve"))
        address = (method_address or "") if verified else ""
        return Target(str(method_type), address, method_id), facts

    async def unfinished(
        self, sends: list[SendNotification], attempt: int
    ) -> list[SendNotification]:
        """Return the steps no attempt before `attempt` finished: none sent, none failed for good.

        A step's attempts log rows `key`, `key#2`, `key#3` …; a final failure also wrote the
        timeline event `key:failed` (`page_event`).
        """
        keys = [s.idempotency_key for s in sends]
        tries = [k if n == 1 else f"{k}#{n}" for k in keys for n in range(1, attempt)]
        failed = {page_event_id(k, "notification_failed"): k for k in keys}
        async with self.sessionmaker() as session:
            found = await session.scalars(
                text(
                    "SELECT split_part(idempotency_key, '#', 1) FROM notifications"
                    " WHERE idempotency_key = ANY(:tries) AND status <> 'failed'"
                    " UNION SELECT id FROM timeline_events WHERE id = ANY(:failed)"
                ),
                {"tries": tries, "failed": list(failed)},
            )
            done = {failed.get(x, x) for x in found}
        return [s for s in sends if s.idempotency_key not in done]

    async def send(self, target: Target, facts: PageFacts, inp: SendNotification) -> Sent:
        """Send the page; raise DeliveryError when the channel refuses or cannot be reached."""
        if target.channel == "log":
            return Sent(provider="log")
        if target.channel == ContactType.slack and self.slack_app and target.address:
            return await self._slack_card(self.slack_app, target.address, inp)
        return await asyncio.to_thread(self._send_blocking, target, facts, inp)

    async def _slack_card(self, app: AsyncWebClient, user: str, inp: SendNotification) -> Sent:
        """DM the incident's Slack card (buttons included) and remember it for updates."""
        try:
            async with self.sessionmaker() as session:
                ts = await slack_messages.post_incident(
                    session=session,
                    client=app,
                    settings=self.settings,
                    incident_id=UUID(inp.incident_id),
                    channel=user,
                )
        except slack_messages.SlackPermanentError as exc:
            raise DeliveryError(str(exc), provider="slack", permanent=True) from exc
        except SlackApiError as exc:
            code = slack_messages.error_code(exc)
            raise DeliveryError(f"Slack {code}", provider="slack", permanent=False) from exc
        except (OSError, TimeoutError, aiohttp.ClientError) as exc:
            raise DeliveryError(
                f"Slack unreachable: {type(exc).__name__}", provider="slack", permanent=False
            ) from exc
        return Sent(provider="slack", provider_id=ts)

    def _send_blocking(self, target: Target, facts: PageFacts, inp: SendNotification) -> Sent:
        """Send through the target's channel (blocking SDK calls: run in a thread)."""
        ch = self.channels
        if not target.address:
            raise DeliveryError(
                "the contact method was removed or is not verified", provider="none", permanent=True
            )
        base = self.settings.base_url
        status_url = f"{base}/webhooks/twilio/status"
        if target.channel == ContactType.email and ch.email:
            subject, text, html = messages.email(facts)
            return ch.email.send_email(to=target.address, subject=subject, text=text, html=html)
        if target.channel == ContactType.sms and ch.sms:
            return ch.sms.send_sms(
                to=target.address, text=messages.sms(facts), status_callback=status_url
            )
        if target.channel == ContactType.voice and ch.voice:
            gather = f"{base}/webhooks/twilio/voice?incident={inp.incident_id}&user={inp.user_id}"
            return ch.voice.call(
                to=target.address,
                twiml=messages.voice_twiml(facts, gather),
                status_callback=status_url,
            )
        if target.channel == ContactType.push and ch.push:
            return ch.push.push(
                subscription=json.loads(target.address), payload=messages.push(facts)
            )
        if target.channel == ContactType.slack and ch.slack:
            return ch.slack.post(target=target.address, text=messages.chat(facts))
        raise DeliveryError(
            f"the {target.channel} channel is not configured", provider="none", permanent=True
        )

    async def record_sent(
        self, inp: SendNotification, attempt: Attempt, target: Target, message: str, sent: Sent
    ) -> str:
        """Log a sent page and put it on the timeline; return the delivery row's id."""
        detail: dict[str, object] = {
            "user_id": inp.user_id,
            "channel": target.channel,
            "provider": sent.provider,
            "level": inp.level,
            **sent.notes,
        }
        async with self.sessionmaker() as session:
            row_id, _ = await projection.record_delivery(
                session=session,
                idempotency_key=attempt.key,
                incident_id=inp.incident_id,
                user_id=inp.user_id,
                level=inp.level,
                channel=target.channel,
                provider=sent.provider,
                address=target.shown(),
                status=sent.status,
                message=message,
                error=sent.notes.get("primary_error"),
                provider_id=sent.provider_id,
                at=attempt.at,
                event=page_event(inp, "notified", attempt.at, detail),
                attempt=attempt.number,
                sent_at=utcnow(),  # when the provider took it: the page's real timing
            )
            await session.commit()
        return row_id

    async def record_failure(
        self,
        inp: SendNotification,
        attempt: Attempt,
        target: Target,
        message: str,
        exc: DeliveryError,
        *,
        final: bool,
    ) -> None:
        """Log a failed attempt; the `final` one also goes on the timeline."""
        async with self.sessionmaker() as session:
            if exc.expired and target.method_id:
                await notify.forget_expired_push(session=session, method_id=target.method_id)
            detail: dict[str, object] = {
                "user_id": inp.user_id,
                "channel": target.channel,
                "provider": exc.provider,
                "level": inp.level,
                "error": str(exc),
                "permanent": exc.permanent,
            }
            await projection.record_delivery(
                session=session,
                idempotency_key=attempt.key,
                incident_id=inp.incident_id,
                user_id=inp.user_id,
                level=inp.level,
                channel=target.channel,
                provider=exc.provider,
                address=target.shown(),
                status="failed",
                message=message,
                error=str(exc),
                provider_id=None,
                at=attempt.at,
                event=page_event(inp, "notification_failed", attempt.at, detail) if final else None,
                attempt=attempt.number,
            )
            await session.commit()


class Announcer:
    """Posts pages to team chat channels: a Slack channel and a Microsoft Teams webhook."""

    def __init__(self, sessionmaker: SessionMaker, settings: Settings, channels: Channels):
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.channels = channels

    async def announce(
        self, inp: AnnouncePage, now: datetime, *, retry: bool, last_attempt: bool
    ) -> list[DeliveryError]:
        """Post once per channel (on a `retry`, skipping those an earlier attempt posted);
        return the failures worth retrying.

        A permanent failure, or any on the `last_attempt`, goes on the timeline instead.
        """
        url = f"{self.settings.base_url}/incidents/{inp.incident_id}"
        facts = PageFacts(
            number=inp.number,
            title=inp.title,
            service=inp.service_name,
            severity=inp.severity,
            url=url,
            level=inp.level,
        )
        text = f"{messages.chat(facts)} Paged: {', '.join(inp.user_names)}."
        targets: list[tuple[str, ChatPoster, str]] = []
        if self.channels.teams:
            targets.append(("teams", self.channels.teams, ""))
        if self.channels.slack and self.channels.slack_channel:
            targets.append(("slack", self.channels.slack, self.channels.slack_channel))
        failures: list[DeliveryError] = []
        for name, poster, target in targets:
            event_id = f"{inp.key}:{name}"
            if retry:
                async with self.sessionmaker() as session:
                    if await session.get(TimelineEvent, event_id) is not None:
                        continue  # posted by an earlier attempt
            card = adaptive_card(text, [("Open incident", url)]) if name == "teams" else None
            try:
                await asyncio.to_thread(poster.post, target=target, text=text, card=card)
                event = TimelineEventIn(
                    id=event_id, at=now, position=inp.position, type="notified", actor=Actor(),
                    detail={"channel": name, "target": "channel", "level": inp.level},
                )  # fmt: skip
            except DeliveryError as exc:
                failures.append(exc)
                if not (exc.permanent or last_attempt):
                    continue
                event = TimelineEventIn(
                    id=f"{event_id}:failed", at=now, position=inp.position,
                    type="notification_failed", actor=Actor(),
                    detail={"channel": name, "target": "channel", "error": str(exc)},
                )  # fmt: skip
            async with self.sessionmaker() as session:
                await projection.insert_events(session, inp.incident_id, [event])
                await session.commit()
        return [f for f in failures if not f.permanent]
