"""Integrations: create, read, change, rotate secrets, delete, each change audited."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.audit.models import Actor
from app.catalog import service as catalog
from app.config import Settings
from app.db import utcnow
from app.errors import Conflict, Invalid, not_found
from app.ingest.models import (
    KEY_LENGTH,
    Integration,
    IntegrationCreate,
    IntegrationCreated,
    IntegrationPublic,
    IntegrationType,
    IntegrationUpdate,
    OrgIntegrationCreate,
    RateLimitIn,
    SecretRotated,
)

SECRET_PREFIX = "pfwh_"  # noqa: S105 - a prefix, not a secret


def new_key() -> str:
    """Return a random 32-character integration key (128 bits, hex like PagerDuty's)."""
    key = secrets.token_hex(KEY_LENGTH // 2)
    assert len(key) == KEY_LENGTH
    return key


def new_secret() -> str:
    """Return a random signing secret for generic webhooks (256 bits)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def url_of(integration: Integration, settings: Settings) -> str:
    """Return the URL to paste into the sending tool."""
    if integration.type == IntegrationType.pagerduty:
        return f"{settings.base_url}/v2/enqueue"
    return f"{settings.base_url}/integrations/{integration.key}/{integration.type}"


def public(integration: Integration, settings: Settings) -> IntegrationPublic:
    """Return the API view of an integration (never its secret)."""
    rate = None
    if integration.rate_limit_per_second and integration.rate_limit_burst:
        rate = RateLimitIn(
            per_second=integration.rate_limit_per_second, burst=integration.rate_limit_burst
        )
    return IntegrationPublic(
        id=integration.id,
        type=IntegrationType(integration.type),
        name=integration.name,
        scope="service" if integration.service_id else "organisation",
        key=integration.key,
        url=url_of(integration, settings),
        service_id=integration.service_id,
        default_service_id=integration.default_service_id,
        enabled=integration.enabled,
        severity_map=integration.severity_map,
        rate_limit=rate,
        signed=integration.secret is not None,
        previous_secret_expires_at=integration.previous_secret_expires_at,
        created_at=integration.created_at,
        updated_at=integration.updated_at,
    )


def _audit_view(integration: Integration, settings: Settings) -> dict[str, Any]:
    # The audit snapshot redacts `key` and `secret`; the key's prefix identifies it.
    view = public(integration, settings).model_dump(mode="json")
    view["url"] = view["url"].replace(integration.key, "[redacted]")
    view["key_prefix"] = integration.key[:6]
    return view


async def get(
    *, session: AsyncSession, integration_id: UUID, service_id: UUID | None = None
) -> Integration:
    """Return an integration (of `service_id` when given) or raise 404."""
    found = await session.get(Integration, integration_id)
    if found is None or (service_id is not None and found.service_id != service_id):
        raise not_found("integration", integration_id)
    return found


async def list_integrations(
    *,
    session: AsyncSession,
    service_id: UUID | None = None,
    scope: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Integration], int]:
    """Return a page of integrations ordered by name, and the total count."""
    query = select(Integration)
    if service_id is not None:
        query = query.where(col(Integration.service_id) == service_id)
    if scope == "organisation":
        query = query.where(col(Integration.service_id).is_(None))
    elif scope == "service":
        query = query.where(col(Integration.service_id).is_not(None))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(col(Integration.name), col(Integration.id)).limit(limit).offset(offset)
    )
    return list(rows.all()), int(total or 0)


async def create(
    *,
    session: AsyncSession,
    settings: Settings,
    integration_in: IntegrationCreate,
    actor: Actor,
    service_id: UUID | None = None,
) -> IntegrationCreated:
    """Create an integration for a service, or organisation-wide with a default service."""
    default_id = None
    if isinstance(integration_in, OrgIntegrationCreate):
        default_id = integration_in.default_service_id
        await catalog.get_service(session=session, service_id=default_id)
    elif service_id is not None:
        await catalog.get_service(session=session, service_id=service_id)
    secret = new_secret() if integration_in.type == IntegrationType.generic else None
    rate = integration_in.rate_limit
    integration = Integration(
        type=integration_in.type.value,
        name=integration_in.name,
        key=new_key(),
        service_id=service_id,
        default_service_id=default_id,
        enabled=integration_in.enabled,
        severity_map={k: v.model_dump() for k, v in integration_in.severity_map.items()},
        rate_limit_per_second=rate.per_second if rate else None,
        rate_limit_burst=rate.burst if rate else None,
        secret=secret,
    )
    session.add(integration)
    await session.flush()
    await session.refresh(integration)
    await audit.record(
        session=session,
        actor=actor,
        action="integration.create",
        entity_type="integration",
        entity_id=integration.id,
        after=_audit_view(integration, settings),
    )
    return IntegrationCreated(**public(integration, settings).model_dump(), secret=secret)


async def update(
    *,
    session: AsyncSession,
    settings: Settings,
    integration: Integration,
    integration_in: IntegrationUpdate,
    actor: Actor,
) -> Integration:
    """Change an integration; only the fields given change."""
    before = _audit_view(integration, settings)
    changes = integration_in.model_dump(exclude_unset=True)
    for name in ("name", "enabled", "severity_map"):
        if name in changes and changes[name] is None:
            raise _invalid(name, "cannot be null")
    if "default_service_id" in changes:
        if integration.service_id is not None:
            raise _invalid("default_service_id", "only organisation-wide integrations have one")
        if changes["default_service_id"] is None:
            raise _invalid("default_service_id", "cannot be null")
        await catalog.get_service(session=session, service_id=changes["default_service_id"])
        integration.default_service_id = changes["default_service_id"]
    if "rate_limit" in changes:
        rate = integration_in.rate_limit
        integration.rate_limit_per_second = rate.per_second if rate else None
        integration.rate_limit_burst = rate.burst if rate else None
    if "name" in changes:
        integration.name = changes["name"]
    if "enabled" in changes:
        integration.enabled = changes["enabled"]
    if integration_in.severity_map is not None:
        integration.severity_map = {
            k: v.model_dump() for k, v in integration_in.severity_map.items()
        }
    integration.updated_at = utcnow()
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="integration.update",
        entity_type="integration",
        entity_id=integration.id,
        before=before,
        after=_audit_view(integration, settings),
    )
    return integration


async def rotate_secret(
    *,
    session: AsyncSession,
    settings: Settings,
    integration: Integration,
    overlap: timedelta,
    actor: Actor,
) -> SecretRotated:
    """Give a generic integration a new secret; the old one keeps working for `overlap`."""
    if integration.type != IntegrationType.generic:
        raise Conflict("only generic webhook integrations have a signing secret")
    before = _audit_view(integration, settings)
    secret = new_secret()
    if overlap > timedelta(0):
        integration.previous_secret = integration.secret
        integration.previous_secret_expires_at = utcnow() + overlap
    else:
        integration.previous_secret = integration.previous_secret_expires_at = None
    integration.secret = secret
    integration.updated_at = utcnow()
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="integration.rotate_secret",
        entity_type="integration",
        entity_id=integration.id,
        before=before,
        after={**_audit_view(integration, settings), "overlap_seconds": overlap.total_seconds()},
    )
    return SecretRotated(
        secret=secret, previous_secret_expires_at=integration.previous_secret_expires_at
    )


async def delete(
    *, session: AsyncSession, settings: Settings, integration: Integration, actor: Actor
) -> None:
    """Delete an integration and its delivery log; its key stops working at once."""
    before = _audit_view(integration, settings)
    try:
        async with session.begin_nested():
            await session.delete(integration)
    except IntegrityError as exc:  # pragma: no cover - nothing references integrations
        raise Conflict("the integration is still referenced") from exc
    await audit.record(
        session=session,
        actor=actor,
        action="integration.delete",
        entity_type="integration",
        entity_id=before["id"],
        before=before,
    )


def _invalid(field: str, message: str) -> Invalid:
    return Invalid(
        f"{field}: {message}",
        errors=[{"field": field, "message": message}],
    )
