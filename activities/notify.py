"""The notification activities: thin Temporal wrappers around `app.notify.sending`.

They add only what Temporal knows: the attempt number (a retry is logged as its own row),
the retry limit (the last failure goes on the timeline), and the error types not to retry.
"""

from __future__ import annotations

import asyncio
from typing import TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.slack import SlackActivities
from app.config import Settings
from app.db import SessionMaker
from app.notify.channels import Channels, DeliveryError
from app.notify.messages import PageFacts
from app.notify.sending import Announcer, Attempt, PageSender, Target, page_text
from workflows.incident_types import (
    AnnouncePage,
    Deliveries,
    DeliveryResult,
    SendNotification,
    SendNotifications,
    SyncChat,
)

PERMANENT = "PermanentDeliveryError"
TRANSIENT = "TransientDeliveryError"
T = TypeVar("T")


def _last_attempt(info: activity.Info) -> bool:
    limit = info.retry_policy.maximum_attempts if info.retry_policy else 0
    return limit > 0 and info.attempt >= limit


class NotifyActivities:
    """Sends pages through the channel registry; the workflow calls them by name."""

    def __init__(
        self,
        sessionmaker: SessionMaker,
        settings: Settings,
        channels: Channels,
        chat: SlackActivities | None = None,
    ):
        self.sender = PageSender(sessionmaker, settings, channels)
        self.announcer = Announcer(sessionmaker, settings, channels)
        self.chat = chat or SlackActivities(sessionmaker, settings)

    @activity.defn(name="send_notifications")
    async def send_notifications(self, inp: SendNotifications) -> Deliveries:
        """Send the steps due at one moment side by side; log each attempt of each step.

        A retry sends only the steps no earlier attempt finished (sent, or failed for good),
        so a flaky SMS provider never sends the e-mail twice. What the first pages carry goes
        out beside them: the level's chat announcement (a retry skips channels already posted)
        and the incident's first chat sync (which never fails the pages; `chat_synced` says
        whether it worked). Raises when a page or a channel failed: a retryable error while
        some failure may pass, else a final one.
        """
        info = activity.info()
        todo = (
            inp.sends
            if info.attempt == 1
            else await self.sender.unfinished(inp.sends, info.attempt)
        )
        prepared = await self.sender.prepare(todo, info.current_attempt_scheduled_time)
        announced = (
            self.announcer.announce(
                inp.announce,
                info.current_attempt_scheduled_time,
                retry=info.attempt > 1,
                last_attempt=_last_attempt(info),
            )
            if inp.announce
            else _given(list[DeliveryError]())
        )
        syncing = self._sync_chat(inp.sync_chat) if inp.sync_chat else _given(False)
        *outcomes, announcing, synced = await asyncio.gather(
            *(self._send(send, *ready, info) for send, ready in zip(todo, prepared, strict=True)),
            announced, syncing, return_exceptions=True,
        )  # fmt: skip
        for outcome in [*outcomes, announcing]:  # a database error: the attempt is retried
            if isinstance(outcome, BaseException) and not isinstance(outcome, DeliveryError):
                raise outcome
        failed = [o for o in outcomes if isinstance(o, DeliveryError)]
        if isinstance(announcing, list):  # failures to retry; permanent ones are on the timeline
            failed += announcing
        if failed:
            permanent = all(f.permanent for f in failed)
            raise ApplicationError(
                "; ".join(str(f) for f in failed),
                type=PERMANENT if permanent else TRANSIENT,
                non_retryable=permanent,
            )
        return Deliveries(
            results=[o for o in outcomes if isinstance(o, DeliveryResult)],
            chat_synced=synced is True,
        )

    async def _sync_chat(self, inp: SyncChat) -> bool:
        """The incident's first chat sync, carried with its first pages; never raises. If it
        failed (Slack down or refusing, its client's timeout, a database error), the
        workflow's chat loop syncs instead, with its own retries."""
        try:
            await self.chat.sync(inp)
        except Exception as exc:
            activity.logger.warning("carried chat sync of %s failed: %r", inp.incident_id, exc)
            return False
        return True

    async def _send(
        self, inp: SendNotification, target: Target, facts: PageFacts, info: activity.Info
    ) -> DeliveryResult:
        """Send one prepared step; log the attempt; raise DeliveryError for a failure."""
        # The first attempt keeps the step's key, so rows written before retries were logged
        # one per attempt keep their ids.
        key = inp.idempotency_key if info.attempt == 1 else f"{inp.idempotency_key}#{info.attempt}"
        attempt = Attempt(key=key, number=info.attempt, at=info.current_attempt_scheduled_time)
        message = page_text(inp, facts.url)
        try:
            sent = await self.sender.send(target, facts, inp)
        except DeliveryError as exc:
            final = exc.permanent or _last_attempt(info)
            await self.sender.record_failure(inp, attempt, target, message, exc, final=final)
            activity.logger.warning(
                "page #%s to user %s via %s failed (attempt %s): %s",
                inp.number,
                inp.user_id,
                target.channel,
                info.attempt,
                exc,
            )
            raise
        row_id = await self.sender.record_sent(inp, attempt, target, message, sent)
        activity.logger.info(
            "page #%s to user %s via %s/%s", inp.number, inp.user_id, target.channel, sent.provider
        )
        return DeliveryResult(
            notification_id=row_id,
            status=sent.status,
            channel=target.channel,
            provider=sent.provider,
        )


async def _given(value: T) -> T:
    """Stand in for a part of the attempt that has nothing to do (gather takes awaitables)."""
    return value


class AnnounceActivities:
    """Posts pages to team chat channels: a Slack channel and a Microsoft Teams webhook."""

    def __init__(self, announcer: Announcer):
        self.announcer = announcer

    @activity.defn(name="announce_page")
    async def announce_page(self, inp: AnnouncePage) -> None:
        """Post once per channel (a retry skips channels already posted); log on the timeline."""
        info = activity.info()
        retry = await self.announcer.announce(
            inp,
            info.current_attempt_scheduled_time,
            retry=info.attempt > 1,
            last_attempt=_last_attempt(info),
        )
        if retry:
            raise ApplicationError(str(retry[0]), type=TRANSIENT)
