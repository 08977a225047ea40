"""Delivering announcements: plan one delivery per matching subscriber, send due ones in
batches, back off on failure, and disable an endpoint that failed for a day."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy import cast, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.audit.models import Actor
from app.config import Settings
from app.db import SessionMaker
from app.netguard import check_url
from app.statuspages import subscribers as subs
from app.statuspages.models import Announcement, Delivery, StatusPage, Subscriber, SubscriberType

HEADERS_POLICY = policy.SMTP.clone(max_line_length=998)
BATCH = 200  # deliveries per activity
CONCURRENCY = 25  # sends in flight per activity
DISABLE_AFTER = timedelta(days=1)
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)
WEBHOOK_TIMEOUT = 10.0


def delivery_id(announcement_id: str, subscriber_id: UUID) -> UUID:
    return uuid.uuid5(
        uuid.NAMESPACE_URL, f"pagefree:status-delivery:{announcement_id}:{subscriber_id}"
    )


def backoff(attempts: int) -> timedelta:
    """Return the wait after the `attempts`-th failure: 30 s, 1 min, 2 min, … at most 1 h."""
    wait: timedelta = FIRST_RETRY * 2 ** max(0, attempts - 1)
    return min(wait, MAX_RETRY)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Return the `X-PageFree-Signature` of a webhook body, as generic webhooks sign."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


async def plan(session: AsyncSession, announcement_id: str, now: datetime) -> int:
    """Write one pending delivery per subscriber the announcement is for; return how many."""
    a = await session.get(Announcement, announcement_id)
    if a is None:
        return 0
    query = select(col(Subscriber.id)).where(col(Subscriber.page_id) == a.page_id)
    if a.subscriber_id is not None:
        query = query.where(col(Subscriber.id) == a.subscriber_id)
    else:
        # Those subscribed when it was announced: planning may run a little later.
        query = query.where(
            col(Subscriber.confirmed_at) <= a.created_at, col(Subscriber.disabled_at).is_(None)
        )
        if a.component_ids:  # subscribers of some components hear only of those
            wanted = cast(a.component_ids, ARRAY(PG_UUID(as_uuid=True)))
            query = query.where(
                (func.cardinality(col(Subscriber.component_ids)) == 0)
                | col(Subscriber.component_ids).op("&&")(wanted)
            )
    ids = list((await session.scalars(query)).all())
    for start in range(0, len(ids), 1000):
        rows = [
            {
                "id": delivery_id(a.id, sid),
                "announcement_id": a.id,
                "subscriber_id": sid,
                "page_id": a.page_id,
                "status": "pending",
                "attempts": 0,
                "updated_at": now,
            }
            for sid in ids[start : start + 1000]
        ]
        await session.execute(insert(Delivery).values(rows).on_conflict_do_nothing())
    a.dispatched_at = a.dispatched_at or now
    return len(ids)


@dataclass
class Outgoing:
    delivery: Delivery
    subscriber: Subscriber


@dataclass
class BatchResult:
    sent: int
    failed: int
    more_due: bool
    next_retry_at: datetime | None


Send = Callable[[Outgoing], Awaitable[None]]


class Sender:
    """Sends one announcement to one subscriber, by the subscriber's type."""

    def __init__(self, settings: Settings, ses: Any, slack: Any) -> None:
        self.settings = settings
        self.ses = ses  # a boto3 SES client, or None (e-mail disabled)
        self.slack = slack  # a ChatPoster, or None (Slack disabled)

    def email_message(
        self, page: StatusPage, a: Announcement, sub: Subscriber, confirm_token: str | None
    ) -> EmailMessage:
        """Return the e-mail, with RFC 8058 one-click unsubscribe headers."""
        base = f"{self.settings.base_url}/status/{page.slug}"
        unsubscribe = f"{base}/unsubscribe/{sub.unsubscribe_token}"
        body = a.body
        if confirm_token is not None:
            body = body.format(
                page=page.name, confirm_url=f"{base}/subscribe/confirm/{confirm_token}"
            )
        # Long lines allowed (RFC 5322: 998): folded or encoded, the List-Unsubscribe URL
        # would be mangled into RFC 2047 words that mail clients do not read as a link.
        msg = EmailMessage(policy=HEADERS_POLICY)
        msg["From"] = self.settings.ses_from_address or "status@localhost"
        msg["To"] = sub.address
        msg["Subject"] = a.subject
        msg["List-Unsubscribe"] = f"<{unsubscribe}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg["List-Id"] = f"{page.name} status <{page.slug}.status.pagefree>"
        msg.set_content(f"{body}\n\n{base}\n\nUnsubscribe: {unsubscribe}\n")
        return msg

    async def send(self, page: StatusPage, a: Announcement, sub: Subscriber) -> None:
        """Deliver `a` to `sub`; raise on failure (the caller logs and backs off)."""
        if sub.type == SubscriberType.email:
            if self.ses is None:
                raise RuntimeError("e-mail is disabled: set SES_FROM_ADDRESS")
            token = None
            if a.kind == "subscription_confirm":  # a new link; an older one stops working
                token = subs.new_token()
                sub.confirm_token_hash = subs.token_hash(token)
            msg = self.email_message(page, a, sub, token)
            await asyncio.to_thread(
                self.ses.send_raw_email,
                Source=msg["From"],
                Destinations=[sub.address],
                RawMessage={"Data": msg.as_bytes()},
            )
        elif sub.type == SubscriberType.webhook:
            await self._webhook(page, a, sub)
        else:
            if self.slack is None:
                raise RuntimeError("Slack is disabled: set SLACK_BOT_TOKEN")
            await asyncio.to_thread(
                self.slack.post, target=sub.address, text=f"*{a.subject}*\n{a.body}"
            )

    async def send_partner_link(
        self, address: str, name: str, page: StatusPage, token: str
    ) -> None:
        """E-mail a partner's magic link (15 minutes, single use)."""
        if self.ses is None:
            raise RuntimeError("e-mail is disabled: set SES_FROM_ADDRESS")
        url = f"{self.settings.base_url}/partner/login/{token}"
        msg = EmailMessage(policy=HEADERS_POLICY)
        msg["From"] = self.settings.ses_from_address or "status@localhost"
        msg["To"] = address
        msg["Subject"] = f"Sign in to the {page.name} status page"
        msg.set_content(
            f"Hello {name},\n\nOpen this link within 15 minutes to sign in to the {page.name} "
            f"status page (it works once):\n\n{url}\n\nIf you did not ask for it, ignore this "
            "e-mail.\n"
        )
        await asyncio.to_thread(
            self.ses.send_raw_email,
            Source=msg["From"],
            Destinations=[address],
            RawMessage={"Data": msg.as_bytes()},
        )

    async def _webhook(self, page: StatusPage, a: Announcement, sub: Subscriber) -> None:
        allow = self.settings.allow_private_targets
        schemes = ("https", "http") if allow else ("https",)
        await check_url(sub.address, field="address", schemes=schemes, allow_private=allow)
        body = json.dumps(
            {
                "page": {
                    "id": str(page.id),
                    "name": page.name,
                    "url": f"{self.settings.base_url}/status/{page.slug}",
                },
                "announcement": {
                    "id": a.id,
                    "kind": a.kind,
                    "subject": a.subject,
                    "body": a.body,
                    "component_ids": [str(c) for c in a.component_ids],
                    "created_at": a.created_at.isoformat() if a.created_at else None,
                },
            },
            separators=(",", ":"),
        ).encode()
        ts = int(datetime.now().timestamp())
        headers = {
            "content-type": "application/json",
            "x-pagefree-timestamp": str(ts),
            "x-pagefree-signature": sign(sub.secret or "", ts, body),
            "idempotency-key": str(delivery_id(a.id, sub.id)),
        }
        async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT, follow_redirects=False) as http:
            answer = await http.post(sub.address, content=body, headers=headers)
        if answer.status_code >= 300:
            raise RuntimeError(f"the webhook answered HTTP {answer.status_code}")


async def _fail(session: AsyncSession, out: Outgoing, error: str, now: datetime) -> None:
    d, sub = out.delivery, out.subscriber
    d.attempts += 1
    d.last_error = error[:1000]
    d.updated_at = now
    sub.failing_since = sub.failing_since or now
    if now - sub.failing_since >= DISABLE_AFTER:
        note = f"disabled after failing since {sub.failing_since.isoformat()}: {error}"[:2000]
        sub.disabled_at, sub.disabled_reason = now, note
        d.status, d.next_attempt_at = "abandoned", None
        await session.execute(
            update(Delivery)
            .where(col(Delivery.subscriber_id) == sub.id, col(Delivery.status) == "pending")
            .values(status="abandoned", next_attempt_at=None, last_error=note, updated_at=now)
        )
        await audit.record(
            session=session,
            actor=Actor.system(via="status-page"),
            action="status_subscriber.disable",
            entity_type="status_subscriber",
            entity_id=sub.id,
            after={"reason": note},
        )
    else:
        d.next_attempt_at = now + backoff(d.attempts)


async def send_due(
    sessionmaker: SessionMaker, sender: Sender, announcement_id: str, now: datetime
) -> BatchResult:
    """Send up to BATCH due deliveries of an announcement; log each outcome."""
    async with sessionmaker() as session:
        a = await session.get(Announcement, announcement_id)
        if a is None:
            return BatchResult(0, 0, False, None)
        page = await session.get(StatusPage, a.page_id)
        assert page is not None
        due = (
            await session.scalars(
                select(Delivery)
                .where(
                    col(Delivery.announcement_id) == announcement_id,
                    col(Delivery.status) == "pending",
                    (col(Delivery.next_attempt_at).is_(None))
                    | (col(Delivery.next_attempt_at) <= now),
                )
                .order_by(col(Delivery.id))
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
        ).all()
        by_id = {
            s.id: s
            for s in (
                await session.scalars(
                    select(Subscriber).where(col(Subscriber.id).in_([d.subscriber_id for d in due]))
                )
            ).all()
        }
        limit = asyncio.Semaphore(CONCURRENCY)
        outcomes: list[tuple[Outgoing, str | None]] = []

        async def one(out: Outgoing) -> None:
            async with limit:
                try:
                    await sender.send(page, a, out.subscriber)
                    outcomes.append((out, None))
                except Exception as exc:  # every failure is logged and retried with back-off
                    outcomes.append((out, f"{type(exc).__name__}: {exc}"))

        work = [Outgoing(d, by_id[d.subscriber_id]) for d in due if d.subscriber_id in by_id]
        await asyncio.gather(*(one(o) for o in work))
        sent = failed = 0
        for out, error in outcomes:
            if error is None:
                out.delivery.status, out.delivery.sent_at = "sent", now
                out.delivery.attempts += 1
                out.delivery.next_attempt_at, out.delivery.last_error = None, None
                out.delivery.updated_at = now
                out.subscriber.failing_since = None
                sent += 1
            elif out.subscriber.disabled_at is not None:
                out.delivery.status = "abandoned"
            else:
                await _fail(session, out, error, now)
                failed += 1
        await session.flush()
        remaining = (
            await session.scalars(
                select(col(Delivery.next_attempt_at)).where(
                    col(Delivery.announcement_id) == announcement_id,
                    col(Delivery.status) == "pending",
                )
            )
        ).all()
        await session.commit()
    more_due = any(t is None or t <= now for t in remaining)
    later = [t for t in remaining if t is not None and t > now]
    return BatchResult(sent, failed, more_due, min(later) if later else None)
