"""Subscribers: public e-mail double opt-in, admin-added webhooks and Slack channels."""

from __future__ import annotations

import hashlib
import secrets
from uuid import UUID

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.audit.models import Actor
from app.db import utcnow
from app.errors import Conflict, Invalid, NotFound
from app.models_common import SLACK_CHANNEL_PATTERN
from app.netguard import check_url
from app.statuspages import announce
from app.statuspages import service as pages
from app.statuspages.models import (
    Delivery,
    DeliveryPublic,
    StatusPage,
    Subscriber,
    SubscriberCreate,
    SubscriberPublic,
    SubscriberType,
)

ANONYMOUS = Actor(type="system", id=None, via="public")


def token_hash(raw: str) -> str:
    """Return the stored form of a link token."""
    return hashlib.sha256(raw.encode()).hexdigest()


def new_token() -> str:
    """Return a fresh link token (256 bits)."""
    return secrets.token_urlsafe(32)


def normalize_email(address: str, field: str = "email") -> str:
    """Return the normalized address, or raise Invalid naming `field`."""
    try:
        return validate_email(address, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise Invalid(str(exc), errors=[{"field": field, "message": str(exc)}]) from None


def subscriber_public(s: Subscriber, *, secret: str | None = None) -> SubscriberPublic:
    """Return the admin view of a subscriber (the webhook secret only when just created)."""
    return SubscriberPublic(
        id=s.id,
        type=SubscriberType(s.type),
        address=s.address,
        component_ids=list(s.component_ids),
        confirmed=s.confirmed_at is not None,
        failing_since=s.failing_since,
        disabled_at=s.disabled_at,
        disabled_reason=s.disabled_reason,
        created_at=s.created_at,
        secret=secret,
    )


async def _check_components(session: AsyncSession, page_id: UUID, ids: list[UUID]) -> None:
    known = {c.id for c in await pages.components_of(session, page_id)}
    missing = [str(i) for i in ids if i not in known]
    if missing:
        message = f"not components of this page: {', '.join(missing)}"
        raise Invalid(message, errors=[{"field": "component_ids", "message": message}])


async def _existing(
    session: AsyncSession, page_id: UUID, type_: str, address: str
) -> Subscriber | None:
    return await session.scalar(
        select(Subscriber).where(
            col(Subscriber.page_id) == page_id,
            col(Subscriber.type) == type_,
            col(Subscriber.address) == address,
        )
    )


async def subscribe_email(
    *, session: AsyncSession, page: StatusPage, email: str, component_ids: list[UUID]
) -> Subscriber:
    """Start (or restart) a double opt-in: the subscriber is told nothing until confirmed."""
    address = normalize_email(email)
    await _check_components(session, page.id, component_ids)
    sub = await _existing(session, page.id, SubscriberType.email, address)
    if sub is None:
        sub = Subscriber(
            page_id=page.id,
            type=SubscriberType.email.value,
            address=address,
            component_ids=list(dict.fromkeys(component_ids)),
            unsubscribe_token=new_token(),
        )
        session.add(sub)
        await session.flush()
    elif sub.confirmed_at is None:
        sub.component_ids = list(dict.fromkeys(component_ids))
    if sub.confirmed_at is None:
        # The confirmation goes out like any announcement, to this subscriber alone; its
        # link's token is made when sending, so no usable token is stored in plain text.
        await announce.record(
            session,
            key=f"confirm:{sub.id}:{new_token()[:12]}",
            page_id=page.id,
            kind="subscription_confirm",
            subject=f"[{page.name}] Confirm your subscription",
            body="Confirm your subscription to {page} by following this link: {confirm_url}",
            component_ids=[],
            subscriber_id=sub.id,
        )
    await audit.record(
        session=session,
        actor=ANONYMOUS,
        action="status_subscriber.subscribe",
        entity_type="status_subscriber",
        entity_id=sub.id,
    )
    return sub


async def confirm(*, session: AsyncSession, page: StatusPage, token: str) -> Subscriber:
    """Confirm an e-mail subscription by its link's token (single use)."""
    sub = await session.scalar(
        select(Subscriber).where(
            col(Subscriber.page_id) == page.id,
            col(Subscriber.confirm_token_hash) == token_hash(token),
        )
    )
    if sub is None:
        raise NotFound("this confirmation link is not valid (any more)")
    sub.confirmed_at = sub.confirmed_at or utcnow()
    sub.confirm_token_hash = None
    await session.flush()
    await audit.record(
        session=session,
        actor=ANONYMOUS,
        action="status_subscriber.confirm",
        entity_type="status_subscriber",
        entity_id=sub.id,
    )
    return sub


async def by_unsubscribe_token(
    *, session: AsyncSession, page: StatusPage, token: str
) -> Subscriber:
    """Return the subscriber of an unsubscribe link, or raise NotFound."""
    sub = await session.scalar(
        select(Subscriber).where(
            col(Subscriber.page_id) == page.id, col(Subscriber.unsubscribe_token) == token
        )
    )
    if sub is None:
        raise NotFound("this unsubscribe link is not valid (any more)")
    return sub


async def unsubscribe(*, session: AsyncSession, page: StatusPage, token: str) -> None:
    """Remove the subscriber behind an unsubscribe link (RFC 8058 one-click)."""
    sub = await by_unsubscribe_token(session=session, page=page, token=token)
    await session.delete(sub)
    await audit.record(
        session=session,
        actor=ANONYMOUS,
        action="status_subscriber.unsubscribe",
        entity_type="status_subscriber",
        entity_id=sub.id,
        before={"type": sub.type},
    )


async def add_subscriber(
    *,
    session: AsyncSession,
    page_id: UUID,
    subscriber_in: SubscriberCreate,
    actor: Actor,
    allow_private: bool,
) -> tuple[Subscriber, str | None]:
    """Add a confirmed subscriber (admins); a webhook gets an HMAC secret, returned once."""
    await pages.get_page(session=session, page_id=page_id)
    await _check_components(session, page_id, subscriber_in.component_ids)
    address = subscriber_in.address.strip()
    secret: str | None = None
    if subscriber_in.type is SubscriberType.email:
        address = normalize_email(address, "address")
    elif subscriber_in.type is SubscriberType.webhook:
        schemes = ("https", "http") if allow_private else ("https",)
        await check_url(address, field="address", schemes=schemes, allow_private=allow_private)
        secret = secrets.token_hex(32)
    else:
        import re

        if not re.match(SLACK_CHANNEL_PATTERN, address):
            message = "a Slack channel id such as C0123456789"
            raise Invalid(message, errors=[{"field": "address", "message": message}])
    if await _existing(session, page_id, subscriber_in.type.value, address):
        raise Conflict(f"{address} is subscribed already")
    sub = Subscriber(
        page_id=page_id,
        type=subscriber_in.type.value,
        address=address,
        component_ids=list(dict.fromkeys(subscriber_in.component_ids)),
        confirmed_at=utcnow(),
        unsubscribe_token=new_token(),
        secret=secret,
    )
    session.add(sub)
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="status_subscriber.create",
        entity_type="status_subscriber",
        entity_id=sub.id,
        after={"type": sub.type, "address": address},
    )
    return sub, secret


async def list_subscribers(*, session: AsyncSession, page_id: UUID) -> list[Subscriber]:
    """Return a page's subscribers, oldest first."""
    await pages.get_page(session=session, page_id=page_id)
    rows = await session.scalars(
        select(Subscriber)
        .where(col(Subscriber.page_id) == page_id)
        .order_by(col(Subscriber.created_at), col(Subscriber.id))
    )
    return list(rows.all())


async def delete_subscriber(
    *, session: AsyncSession, page_id: UUID, subscriber_id: UUID, actor: Actor
) -> None:
    """Remove a subscriber (admins)."""
    sub = await session.get(Subscriber, subscriber_id)
    if sub is None or sub.page_id != page_id:
        raise NotFound(f"subscriber {subscriber_id} does not exist on status page {page_id}")
    await session.delete(sub)
    await audit.record(
        session=session,
        actor=actor,
        action="status_subscriber.delete",
        entity_type="status_subscriber",
        entity_id=subscriber_id,
        before={"type": sub.type, "address": sub.address},
    )


async def list_deliveries(
    *, session: AsyncSession, page_id: UUID, subscriber_id: UUID | None, limit: int
) -> list[DeliveryPublic]:
    """Return a page's delivery log, newest first."""
    await pages.get_page(session=session, page_id=page_id)
    query = select(Delivery).where(col(Delivery.page_id) == page_id)
    if subscriber_id is not None:
        query = query.where(col(Delivery.subscriber_id) == subscriber_id)
    rows = await session.scalars(
        query.order_by(col(Delivery.created_at).desc(), col(Delivery.id)).limit(limit)
    )
    return [DeliveryPublic.model_validate(d, from_attributes=True) for d in rows.all()]
