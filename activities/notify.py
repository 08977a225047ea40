"""The notification activity: send one step of a paged user's chain and log every attempt."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import aiohttp
from slack_sdk.errors import SlackApiError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from app.config import Settings
from app.db import SessionMaker, utcnow
from app.identity.models import User
from app.incidents import projection
from app.incidents.models import Incident, TimelineEvent
from app.notify import messages
from app.notify import service as notify
from app.notify.channels import Channels, DeliveryError, Sent
from app.notify.channels.base import ChatPoster
from app.notify.channels.chat import adaptive_card
from app.notify.links import make_link_token
from app.notify.messages import PageFacts
from app.notify.models import ContactMethod, ContactType
from app.slack import messages as slack_messages
from app.slack import service as slack
from workflows.incident_types import (
    Actor,
    AnnouncePage,
    DeliveryResult,
    SendNotification,
    TimelineEventIn,
)

PERMANENT = "PermanentDeliveryError"
TRANSIENT = "TransientDeliveryError"


@dataclass(frozen=True)
class _Target:
    channel: str
    address: str
    method_id: UUID | None


class NotifyActivities:
    """Sends pages through the channel registry; the workflow calls them by name."""

    def __init__(self, sessionmaker: SessionMaker, settings: Settings, channels: Channels):
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.channels = channels
        # With the Slack app configured, a Slack page is the incident card with its buttons,
        # kept current in place like the channel message; without it, plain text.
        self.slack_app = slack.web_client(settings) if slack.configured(settings) else None

    @activity.defn(name="send_notification")
    async def send_notification(self, inp: SendNotification) -> DeliveryResult:
        """Send one step; log the attempt; raise for a failure (non-retryable if permanent)."""
        info = activity.info()
        attempt = info.attempt
        # The first attempt keeps the step's key, so rows written before retries were logged
        # one per attempt keep their ids.
        key = inp.idempotency_key if attempt == 1 else f"{inp.idempotency_key}#{attempt}"
        now = info.current_attempt_scheduled_time
        target, facts = await self._prepare(inp, now)
        text = messages.page_message(
            number=inp.number,
            title=inp.title,
            service=inp.service_name,
            severity=inp.severity,
            url=facts.url,
            level=inp.level,
        )
        message = f"{text.subject}\n{text.text}"
        if target.channel == "log":
            sent = Sent(provider="log")
        else:
            try:
                if target.channel == ContactType.slack and self.slack_app and target.address:
                    sent = await self._slack_card(target.address, inp)
                else:
                    sent = await asyncio.to_thread(self._send, target, facts, inp)
            except DeliveryError as exc:
                await self._failed(inp, key, attempt, target, message, exc, info)
                raise ApplicationError(
                    str(exc),
                    type=PERMANENT if exc.permanent else TRANSIENT,
                    non_retryable=exc.permanent,
                ) from exc
        async with self.sessionmaker() as session:
            detail: dict[str, object] = {
                "user_id": inp.user_id,
                "channel": target.channel,
                "provider": sent.provider,
                "level": inp.level,
                **sent.notes,
            }
            row_id, _ = await projection.record_delivery(
                session=session,
                idempotency_key=key,
                incident_id=inp.incident_id,
                user_id=inp.user_id,
                level=inp.level,
                channel=target.channel,
                provider=sent.provider,
                address=_shown(target),
                status=sent.status,
                message=message,
                error=sent.notes.get("primary_error"),
                provider_id=sent.provider_id,
                at=now,
                event=self._event(inp, "notified", now, detail),
                attempt=attempt,
                sent_at=utcnow(),  # when the provider took it: the page's real timing
            )
            await session.commit()
        activity.logger.info(
            "page #%s to user %s via %s/%s", inp.number, inp.user_id, target.channel, sent.provider
        )
        return DeliveryResult(
            notification_id=row_id,
            status=sent.status,
            channel=target.channel,
            provider=sent.provider,
        )

    async def _slack_card(self, user: str, inp: SendNotification) -> Sent:
        """DM the incident's Slack card (buttons included) and remember it for updates."""
        assert self.slack_app is not None
        try:
            async with self.sessionmaker() as session:
                ts = await slack_messages.post_incident(
                    session=session,
                    client=self.slack_app,
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

    async def _prepare(self, inp: SendNotification, now: datetime) -> tuple[_Target, PageFacts]:
        async with self.sessionmaker() as session:
            user = await session.get(User, UUID(inp.user_id))
            incident = await session.get(Incident, UUID(inp.incident_id))
            method = None
            if inp.step.contact_method_id:
                method = await session.get(ContactMethod, UUID(inp.step.contact_method_id))
        base = self.settings.base_url
        facts = PageFacts(
            number=inp.number,
            title=inp.title,
            service=inp.service_name,
            severity=inp.severity,
            url=f"{base}/incidents/{inp.incident_id}",
            level=inp.level,
            opened_at=incident.created_at if incident else None,
            timezone=user.timezone if user else "UTC",
        )
        if inp.step.channel == "log" or method is None:
            return _Target(inp.step.channel, inp.step.address or "", None), facts
        # E-mail and push carry signed links: a push payload is encrypted end to end for the
        # subscribed browser (aes128gcm), so the push service cannot read or use the link.
        if inp.step.channel in (ContactType.email, ContactType.push) and self.settings.link_secret:
            secret = self.settings.link_secret.get_secret_value()

            def link(action: str) -> str:
                token = make_link_token(
                    secret=secret,
                    incident_id=inp.incident_id,
                    user_id=inp.user_id,
                    action=action,  # type: ignore[arg-type]
                    now=now,
                    ttl=self.settings.link_ttl,
                    via=str(inp.step.channel),
                )
                return f"{base}/ack/{token}"

            facts = PageFacts(
                **{**facts.__dict__, "ack_url": link("acknowledge"), "resolve_url": link("resolve")}
            )
        address = method.address if method.verified else ""
        return _Target(str(method.type), address, method.id), facts

    def _send(self, target: _Target, facts: PageFacts, inp: SendNotification) -> Sent:
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

    async def _failed(
        self,
        inp: SendNotification,
        key: str,
        attempt: int,
        target: _Target,
        message: str,
        exc: DeliveryError,
        info: activity.Info,
    ) -> None:
        """Log a failed attempt; the last one (or a permanent one) also goes on the timeline."""
        limit = info.retry_policy.maximum_attempts if info.retry_policy else 0
        final = exc.permanent or (limit > 0 and attempt >= limit)
        now = info.current_attempt_scheduled_time
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
                idempotency_key=key,
                incident_id=inp.incident_id,
                user_id=inp.user_id,
                level=inp.level,
                channel=target.channel,
                provider=exc.provider,
                address=_shown(target),
                status="failed",
                message=message,
                error=str(exc),
                provider_id=None,
                at=now,
                event=self._event(inp, "notification_failed", now, detail) if final else None,
                attempt=attempt,
            )
            await session.commit()
        activity.logger.warning(
            "page #%s to user %s via %s failed (attempt %s): %s",
            inp.number,
            inp.user_id,
            target.channel,
            attempt,
            exc,
        )

    @staticmethod
    def _event(
        inp: SendNotification, type_: str, at: datetime, detail: dict[str, object]
    ) -> TimelineEventIn:
        suffix = "notified" if type_ == "notified" else "failed"
        return TimelineEventIn(
            id=f"{inp.idempotency_key}:{suffix}",
            at=at,
            position=inp.position,
            type=type_,
            actor=Actor(),
            detail=detail,
        )


def _shown(target: _Target) -> str | None:
    # A push subscription holds the browser's keys: the delivery log shows only its host.
    if target.channel == ContactType.push and target.address:
        endpoint = str(json.loads(target.address).get("endpoint", ""))
        return endpoint.split("/")[2] if endpoint.count("/") >= 2 else "push"
    return target.address or None


class AnnounceActivities:
    """Posts pages to team chat channels: a Slack channel and a Microsoft Teams webhook."""

    def __init__(self, sessionmaker: SessionMaker, settings: Settings, channels: Channels):
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.channels = channels

    @activity.defn(name="announce_page")
    async def announce_page(self, inp: AnnouncePage) -> None:
        """Post once per channel (a retry skips channels already posted); log on the timeline."""
        info = activity.info()
        now = info.current_attempt_scheduled_time
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
        limit = info.retry_policy.maximum_attempts if info.retry_policy else 0
        failures: list[DeliveryError] = []
        for name, poster, target in targets:
            event_id = f"{inp.key}:{name}"
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
                if not (exc.permanent or (limit > 0 and info.attempt >= limit)):
                    continue
                event = TimelineEventIn(
                    id=f"{event_id}:failed", at=now, position=inp.position,
                    type="notification_failed", actor=Actor(),
                    detail={"channel": name, "target": "channel", "error": str(exc)},
                )  # fmt: skip
            async with self.sessionmaker() as session:
                await projection.insert_events(session, inp.incident_id, [event])
                await session.commit()
        retry = [f for f in failures if not f.permanent]
        if retry:
            raise ApplicationError(str(retry[0]), type=TRANSIENT)
