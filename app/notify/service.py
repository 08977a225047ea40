"""Contact methods, notification rules and how a paged user is reached."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import timedelta
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.audit.models import Actor
from app.db import utcnow
from app.errors import Forbidden, Invalid, InvalidCode, not_found
from app.identity import service as identity
from app.ingest.ratelimit import RateLimiter
from app.notify import sendlimits
from app.notify.channels.push import check_push_endpoint
from app.notify.models import (
    ContactMethod,
    ContactMethodCreate,
    ContactMethodPublic,
    ContactMethodUpdate,
    ContactType,
    NotificationRule,
    NotificationRuleCreate,
    NotificationRulePublic,
    NotificationRuleUpdate,
)

CODE_TTL = timedelta(minutes=15)
CODE_TRIES = 5


def method_public(m: ContactMethod) -> ContactMethodPublic:
    """Return the public view of a contact method."""
    return ContactMethodPublic.model_validate(m, from_attributes=True)


def rule_public(r: NotificationRule) -> NotificationRulePublic:
    """Return the public view of a notification rule."""
    return NotificationRulePublic(
        id=r.id,
        user_id=r.user_id,
        contact_method_id=r.contact_method_id,
        delay=timedelta(seconds=r.delay_seconds),
        urgency=r.urgency,
    )


def _audit_view(m: ContactMethod) -> dict[str, object]:
    # A push subscription's keys are secrets of the browser: never copied into the audit log.
    address = "[push subscription]" if m.type == ContactType.push else m.address
    return {"type": m.type, "address": address, "label": m.label, "verified": m.verified}


# --- contact methods ---------------------------------------------------------------------------


async def list_methods(*, session: AsyncSession, user_id: UUID) -> list[ContactMethod]:
    """Return a user's contact methods, oldest first."""
    await identity.get_user(session=session, user_id=user_id)
    rows = await session.scalars(
        select(ContactMethod)
        .where(col(ContactMethod.user_id) == user_id)
        .order_by(col(ContactMethod.created_at), col(ContactMethod.id))
    )
    return list(rows.all())


async def get_method(*, session: AsyncSession, user_id: UUID, method_id: UUID) -> ContactMethod:
    """Return one of the user's contact methods or raise 404."""
    method = await session.get(ContactMethod, method_id)
    if method is None or method.user_id != user_id:
        raise not_found("contact method", method_id)
    return method


async def create_method(
    *,
    session: AsyncSession,
    user_id: UUID,
    method_in: ContactMethodCreate,
    may_preverify: bool,
    actor: Actor,
    allow_private_targets: bool = False,
) -> ContactMethod:
    """Add a contact method; only an admin provisioning a user may mark it verified."""
    await identity.get_user(session=session, user_id=user_id)
    if method_in.type is ContactType.push:
        await check_push_endpoint(json.loads(method_in.address)["endpoint"], allow_private_targets)
    if method_in.verified and not may_preverify:
        raise Forbidden("only an admin may create a verified contact method; verify it with a code")
    method = ContactMethod(
        user_id=user_id,
        type=method_in.type,
        address=method_in.address,
        label=method_in.label,
        verified=method_in.verified,
    )
    session.add(method)
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="contact_method.create",
        entity_type="contact_method",
        entity_id=method.id,
        after=_audit_view(method),
    )
    return method


async def update_method(
    *,
    session: AsyncSession,
    user_id: UUID,
    method_id: UUID,
    method_in: ContactMethodUpdate,
    actor: Actor,
) -> ContactMethod:
    """Change a contact method's label (an address changes by adding a new method)."""
    method = await get_method(session=session, user_id=user_id, method_id=method_id)
    before = _audit_view(method)
    if "label" in method_in.model_fields_set:
        method.label = method_in.label
    method.updated_at = utcnow()
    await audit.record(
        session=session,
        actor=actor,
        action="contact_method.update",
        entity_type="contact_method",
        entity_id=method.id,
        before=before,
        after=_audit_view(method),
    )
    return method


async def delete_method(
    *, session: AsyncSession, user_id: UUID, method_id: UUID, actor: Actor
) -> None:
    """Delete a contact method and the rules that use it."""
    method = await get_method(session=session, user_id=user_id, method_id=method_id)
    await audit.record(
        session=session,
        actor=actor,
        action="contact_method.delete",
        entity_type="contact_method",
        entity_id=method.id,
        before=_audit_view(method),
    )
    await session.delete(method)


def _code_hash(method_id: UUID, code: str) -> str:
    return hashlib.sha256(f"{method_id}:{code}".encode()).hexdigest()


async def new_verification_code(
    *,
    session: AsyncSession,
    user_id: UUID,
    method_id: UUID,
    actor: Actor,
    limiter: RateLimiter | None = None,
) -> tuple[ContactMethod, str]:
    """Store a new 6-digit code for the method (its hash only) and return it to be sent.

    With `limiter`, codes to SMS and voice numbers are limited (RateLimited beyond).
    """
    method = await get_method(session=session, user_id=user_id, method_id=method_id)
    if limiter is not None:
        await sendlimits.check(limiter, method=method)
    code = f"{secrets.randbelow(1_000_000):06d}"
    method.code_hash = _code_hash(method.id, code)
    method.code_expires_at = utcnow() + CODE_TTL
    method.code_tries_left = CODE_TRIES
    await audit.record(
        session=session,
        actor=actor,
        action="contact_method.send_code",
        entity_type="contact_method",
        entity_id=method.id,
    )
    return method, code


async def verify_method(
    *, session: AsyncSession, user_id: UUID, method_id: UUID, code: str, actor: Actor
) -> ContactMethod:
    """Mark the method verified if `code` is the last one sent and still valid."""
    method = await get_method(session=session, user_id=user_id, method_id=method_id)
    if method.verified:
        return method
    now = utcnow()
    if (
        not method.code_hash
        or method.code_tries_left <= 0
        or method.code_expires_at is None
        or method.code_expires_at <= now
    ):
        raise InvalidCode("no valid code: request a new one")
    if not secrets.compare_digest(method.code_hash, _code_hash(method.id, code.strip())):
        method.code_tries_left -= 1
        # Commit the spent try even though the request fails (see routes).
        raise InvalidCode(f"wrong code; {method.code_tries_left} tries left")
    method.verified = True
    method.code_hash = None
    method.code_expires_at = None
    method.updated_at = now
    await audit.record(
        session=session,
        actor=actor,
        action="contact_method.verify",
        entity_type="contact_method",
        entity_id=method.id,
        after=_audit_view(method),
    )
    return method


async def forget_expired_push(*, session: AsyncSession, method_id: UUID) -> None:
    """Delete a push subscription the push service no longer knows (404/410)."""
    method = await session.get(ContactMethod, method_id)
    if method is None:
        return
    await audit.record(
        session=session,
        actor=Actor.system(via="push"),
        action="contact_method.expire",
        entity_type="contact_method",
        entity_id=method.id,
        before=_audit_view(method),
    )
    await session.delete(method)


# --- notification rules ------------------------------------------------------------------------


async def list_rules(*, session: AsyncSession, user_id: UUID) -> list[NotificationRule]:
    """Return a user's notification rules by urgency, then delay."""
    await identity.get_user(session=session, user_id=user_id)
    rows = await session.scalars(
        select(NotificationRule)
        .where(col(NotificationRule.user_id) == user_id)
        .order_by(
            col(NotificationRule.urgency),
            col(NotificationRule.delay_seconds),
            col(NotificationRule.id),
        )
    )
    return list(rows.all())


async def get_rule(*, session: AsyncSession, user_id: UUID, rule_id: UUID) -> NotificationRule:
    """Return one of the user's rules or raise 404."""
    rule = await session.get(NotificationRule, rule_id)
    if rule is None or rule.user_id != user_id:
        raise not_found("notification rule", rule_id)
    return rule


async def _own_method(session: AsyncSession, user_id: UUID, method_id: UUID) -> None:
    method = await session.get(ContactMethod, method_id)
    if method is None or method.user_id != user_id:
        raise Invalid(
            f"contact_method_id: contact method {method_id} is not one of this user's",
            errors=[{"field": "contact_method_id", "message": "not one of this user's"}],
        )


async def create_rule(
    *, session: AsyncSession, user_id: UUID, rule_in: NotificationRuleCreate, actor: Actor
) -> NotificationRule:
    """Add a notification rule on one of the user's contact methods."""
    await identity.get_user(session=session, user_id=user_id)
    await _own_method(session, user_id, rule_in.contact_method_id)
    rule = NotificationRule(
        user_id=user_id,
        contact_method_id=rule_in.contact_method_id,
        delay_seconds=rule_in.delay.total_seconds(),
        urgency=rule_in.urgency,
    )
    session.add(rule)
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="notification_rule.create",
        entity_type="notification_rule",
        entity_id=rule.id,
        after=rule_public(rule),
    )
    return rule


async def update_rule(
    *,
    session: AsyncSession,
    user_id: UUID,
    rule_id: UUID,
    rule_in: NotificationRuleUpdate,
    actor: Actor,
) -> NotificationRule:
    """Change a rule's contact method, delay or urgency."""
    rule = await get_rule(session=session, user_id=user_id, rule_id=rule_id)
    before = rule_public(rule)
    if rule_in.contact_method_id is not None:
        await _own_method(session, user_id, rule_in.contact_method_id)
        rule.contact_method_id = rule_in.contact_method_id
    if rule_in.delay is not None:
        rule.delay_seconds = rule_in.delay.total_seconds()
    if rule_in.urgency is not None:
        rule.urgency = rule_in.urgency
    await audit.record(
        session=session,
        actor=actor,
        action="notification_rule.update",
        entity_type="notification_rule",
        entity_id=rule.id,
        before=before,
        after=rule_public(rule),
    )
    return rule


async def delete_rule(*, session: AsyncSession, user_id: UUID, rule_id: UUID, actor: Actor) -> None:
    """Delete a notification rule."""
    rule = await get_rule(session=session, user_id=user_id, rule_id=rule_id)
    await audit.record(
        session=session,
        actor=actor,
        action="notification_rule.delete",
        entity_type="notification_rule",
        entity_id=rule.id,
        before=rule_public(rule),
    )
    await session.delete(rule)
