"""Partners: admin CRUD, magic-link sign-in, partner sessions, and their audit trail."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import delete, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.audit.models import Actor
from app.db import utcnow
from app.errors import Conflict, Invalid, NotFound
from app.statuspages.models import StatusPage
from app.statuspages.partner_models import (
    Partner,
    PartnerAuditEvent,
    PartnerCreate,
    PartnerLogin,
    PartnerPublic,
    PartnerSession,
    PartnerUpdate,
)
from app.statuspages.subscribers import new_token, normalize_email, token_hash

LINK_TTL = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=12)
AUDIT_RETENTION = timedelta(days=90)
NOTIFY_CHANNEL = "pagefree_partner_logins"
COOKIE = "pf_partner"
# The partner cookie is sent only to status pages: never to /api/v1 or the staff UI.
COOKIE_PATH = "/status/"


def partner_public(p: Partner) -> PartnerPublic:
    return PartnerPublic(
        id=p.id,
        name=p.name,
        email=p.email,
        status_page_ids=list(p.status_page_ids),
        created_at=p.created_at,
        updated_at=p.updated_at,
    )


async def _check_pages(session: AsyncSession, ids: list[UUID]) -> list[UUID]:
    ids = list(dict.fromkeys(ids))
    found = set(
        (await session.scalars(select(col(StatusPage.id)).where(col(StatusPage.id).in_(ids)))).all()
    )
    missing = [str(i) for i in ids if i not in found]
    if missing:
        message = f"unknown status page ids: {', '.join(missing)}"
        raise Invalid(message, errors=[{"field": "status_page_ids", "message": message}])
    return ids


async def _flush(session: AsyncSession, email: str) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        raise Conflict(f"a partner with the address {email} exists") from exc


async def get_partner(*, session: AsyncSession, partner_id: UUID) -> Partner:
    partner = await session.get(Partner, partner_id)
    if partner is None:
        raise NotFound(f"partner {partner_id} does not exist")
    return partner


async def list_partners(*, session: AsyncSession) -> list[Partner]:
    rows = await session.scalars(select(Partner).order_by(col(Partner.name), col(Partner.id)))
    return list(rows.all())


async def create_partner(
    *, session: AsyncSession, partner_in: PartnerCreate, actor: Actor
) -> Partner:
    """Create a partner granted some private pages (admins)."""
    email = normalize_email(partner_in.email)
    partner = Partner(
        name=partner_in.name,
        email=email,
        status_page_ids=await _check_pages(session, partner_in.status_page_ids),
        updated_at=utcnow(),
    )
    session.add(partner)
    await _flush(session, email)
    await audit.record(
        session=session,
        actor=actor,
        action="partner.create",
        entity_type="partner",
        entity_id=partner.id,
        after=partner_public(partner),
    )
    return partner


async def update_partner(
    *, session: AsyncSession, partner_id: UUID, partner_in: PartnerUpdate, actor: Actor
) -> Partner:
    partner = await get_partner(session=session, partner_id=partner_id)
    before = partner_public(partner).model_dump(mode="json")
    changes = partner_in.model_dump(exclude_unset=True)
    for key in ("name", "email", "status_page_ids"):
        if key in changes and changes[key] is None:
            raise Invalid(f"{key} cannot be null", errors=[{"field": key, "message": "required"}])
    if "name" in changes:
        partner.name = changes["name"]
    if "email" in changes:
        partner.email = normalize_email(changes["email"])
    if "status_page_ids" in changes:
        partner.status_page_ids = await _check_pages(session, changes["status_page_ids"])
    partner.updated_at = utcnow()
    await _flush(session, partner.email)
    await audit.record(
        session=session,
        actor=actor,
        action="partner.update",
        entity_type="partner",
        entity_id=partner.id,
        before=before,
        after=partner_public(partner),
    )
    return partner


async def delete_partner(*, session: AsyncSession, partner_id: UUID, actor: Actor) -> None:
    partner = await get_partner(session=session, partner_id=partner_id)
    await session.delete(partner)
    await audit.record(
        session=session,
        actor=actor,
        action="partner.delete",
        entity_type="partner",
        entity_id=partner_id,
        before={"name": partner.name},
    )


async def request_login(*, session: AsyncSession, page: StatusPage, email: str) -> None:
    """Queue a magic link if the address is a partner granted the page; else do nothing.

    The caller answers the same either way. The link's token is made by the activity that
    sends the e-mail, so it never passes through Temporal or the API.
    """
    address = normalize_email(email)
    partner = await session.scalar(select(Partner).where(col(Partner.email) == address))
    if partner is None or page.id not in partner.status_page_ids:
        return
    login = PartnerLogin(partner_id=partner.id, page_id=page.id)
    session.add(login)
    await session.flush()
    await session.execute(
        text("SELECT pg_notify(:c, :p)"), {"c": NOTIFY_CHANNEL, "p": str(login.id)}
    )


async def issue_link(
    session: AsyncSession, login_id: UUID, now: datetime
) -> tuple[Partner, StatusPage, str] | None:
    """Make the login's token (stored hashed, 15 minutes); None if gone or issued already."""
    login = await session.get(PartnerLogin, login_id, with_for_update=True)
    if login is None or login.token_hash is not None:
        return None
    partner = await session.get(Partner, login.partner_id)
    page = await session.get(StatusPage, login.page_id)
    if partner is None or page is None:
        return None
    token = secrets.token_urlsafe(32)  # 256 bits
    login.token_hash = token_hash(token)
    login.expires_at = now + LINK_TTL
    await session.flush()
    return partner, page, token


async def sign_in(*, session: AsyncSession, token: str, client: str) -> tuple[str, StatusPage]:
    """Consume a magic link (once, before it expires); return a session cookie and the page."""
    now = utcnow()
    login = await session.scalar(
        select(PartnerLogin)
        .where(col(PartnerLogin.token_hash) == token_hash(token))
        .with_for_update()
    )
    if (
        login is None
        or login.used_at is not None
        or login.expires_at is None
        or login.expires_at <= now
    ):
        raise NotFound("this sign-in link is not valid (any more); ask for a new one")
    partner = await session.get(Partner, login.partner_id)
    page = await session.get(StatusPage, login.page_id)
    if partner is None or page is None or page.id not in partner.status_page_ids:
        raise NotFound("this sign-in link is not valid (any more); ask for a new one")
    login.used_at = now
    raw = new_token()
    session.add(
        PartnerSession(id_hash=token_hash(raw), partner_id=partner.id, expires_at=now + SESSION_TTL)
    )
    session.add(
        PartnerAuditEvent(partner_id=partner.id, action="sign_in", page_id=page.id, client=client)
    )
    await session.flush()
    return raw, page


async def partner_of(*, session: AsyncSession, raw: str | None) -> Partner | None:
    """Return the partner behind a partner-session cookie, or None."""
    if not raw:
        return None
    row = await session.get(PartnerSession, token_hash(raw))
    if row is None or row.expires_at is None or row.expires_at <= utcnow():
        return None
    return await session.get(Partner, row.partner_id)


async def record_view(
    *, session: AsyncSession, partner: Partner, page: StatusPage, path: str, client: str
) -> None:
    """Audit a partner's read of a private page."""
    session.add(
        PartnerAuditEvent(
            partner_id=partner.id,
            action="page_view",
            page_id=page.id,
            client=client,
            path=path[:200],
        )
    )


async def purge_audit(session: AsyncSession, now: datetime) -> int:
    """Delete partner audit rows older than 90 days; return how many."""
    result = await session.execute(
        delete(PartnerAuditEvent).where(col(PartnerAuditEvent.at) < now - AUDIT_RETENTION)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
