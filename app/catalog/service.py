"""Services: the catalog domain's operations."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.audit.models import Actor
from app.catalog.models import (
    ROUTING_KEY_MAX,
    PolicySource,
    Service,
    ServiceCreate,
    ServicePublic,
    ServiceStatus,
    ServiceUpdate,
)
from app.db import flush_unique, name_taken, utcnow
from app.errors import Conflict, NotFound, invalid, not_found
from app.escalation import service as escalation
from app.escalation.models import EscalationPolicy
from app.identity.models import Team

# Room kept for a "-N" suffix when a derived routing key is taken.
_SUFFIX_ROOM = 8


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def _duration(seconds: float | None) -> timedelta | None:
    return None if seconds is None else timedelta(seconds=seconds)


@dataclass(frozen=True)
class EffectivePolicy:
    """The policy that pages for a service, and whether it is the service's or its team's."""

    policy: EscalationPolicy
    source: PolicySource


async def effective_policy(*, session: AsyncSession, service: Service) -> EffectivePolicy:
    """Return the service's own escalation policy, else its team's default.

    Raises NotFound when it has neither (the catalog refuses to save such a service, so this
    means a concurrent change removed one).
    """
    if service.escalation_policy_id is not None:
        policy = await escalation.get_policy(
            session=session, policy_id=service.escalation_policy_id
        )
        return EffectivePolicy(policy=policy, source=PolicySource.service)
    team = None if service.team_id is None else await session.get(Team, service.team_id)
    if team is None or team.default_escalation_policy_id is None:
        raise NotFound(f"service {service.name!r} has no escalation policy and no team default")
    policy = await escalation.get_policy(
        session=session, policy_id=team.default_escalation_policy_id
    )
    return EffectivePolicy(policy=policy, source=PolicySource.team)


async def service_view(*, session: AsyncSession, service: Service) -> ServicePublic:
    """Return the public view of a service with the policy that pages for it."""
    view = service_public(service)
    try:
        chosen = await effective_policy(session=session, service=service)
    except NotFound:
        return view
    view.escalation_policy_source = chosen.source
    view.effective_escalation_policy_id = chosen.policy.id
    return view


def service_public(service: Service) -> ServicePublic:
    """Return the public view of a service (without the team default: see `service_view`)."""
    return ServicePublic(
        id=service.id,
        name=service.name,
        description=service.description,
        team_id=service.team_id,
        escalation_policy_id=service.escalation_policy_id,
        escalation_policy_source=(
            PolicySource.service if service.escalation_policy_id is not None else None
        ),
        effective_escalation_policy_id=service.escalation_policy_id,
        routing_key=service.routing_key,
        status=service.status,
        urgency=service.urgency,
        acknowledgement_timeout=_duration(service.acknowledgement_timeout_seconds),
        auto_resolve_timeout=_duration(service.auto_resolve_timeout_seconds),
        slack_channel_id=service.slack_channel_id,
        slack_incident_channel_severity=service.slack_incident_channel_severity,
        created_at=service.created_at,
        updated_at=service.updated_at,
    )


def slugify(name: str) -> str:
    """Return a routing key derived from a service name (`Checkout API` → `checkout-api`)."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9._-]+", "-", plain)
    slug = slug.strip("-._")[:ROUTING_KEY_MAX].rstrip("-._")
    # The pattern needs two characters starting with a letter or digit; names of symbols
    # or of a single character still get a usable key.
    return slug if len(slug) >= 2 else f"service-{slug}".rstrip("-")


async def get_service(*, session: AsyncSession, service_id: UUID) -> Service:
    """Return the service or raise 404."""
    service = await session.get(Service, service_id)
    if service is None:
        raise not_found("service", service_id)
    return service


async def get_by_routing_key(*, session: AsyncSession, routing_key: str) -> Service | None:
    """Return the service with this routing key, or None."""
    return await session.scalar(select(Service).where(col(Service.routing_key) == routing_key))


async def list_services(
    *,
    session: AsyncSession,
    team_id: UUID | None = None,
    status: ServiceStatus | None = None,
    q: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Service], int]:
    """Return a page of services ordered by name, and the total count."""
    query = select(Service)
    if team_id is not None:
        query = query.where(col(Service.team_id) == team_id)
    if status is not None:
        query = query.where(col(Service.status) == status.value)
    if q:
        query = query.where(func.lower(col(Service.name)).contains(q.lower(), autoescape=True))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(col(Service.name), col(Service.id)).limit(limit).offset(offset)
    )
    return list(rows.all()), int(total or 0)


async def _check_refs(session: AsyncSession, refs: dict[str, Any]) -> None:
    """Refuse a team or escalation policy that does not exist (422 naming the field)."""
    errors = []
    if refs.get("team_id") is not None and await session.get(Team, refs["team_id"]) is None:
        errors.append({"field": "team_id", "message": f"team {refs['team_id']} does not exist"})
    policy_id = refs.get("escalation_policy_id")
    if policy_id is not None and await session.get(EscalationPolicy, policy_id) is None:
        errors.append(
            {
                "field": "escalation_policy_id",
                "message": f"escalation policy {policy_id} does not exist",
            }
        )
    if errors:
        raise invalid(errors)


async def _check_pages_someone(
    session: AsyncSession, team_id: UUID | None, policy_id: UUID | None
) -> None:
    """Refuse a service that would have neither its own policy nor a team default (422)."""
    if policy_id is not None:
        return
    team = None if team_id is None else await session.get(Team, team_id)
    if team is None or team.default_escalation_policy_id is None:
        raise invalid(
            [
                {
                    "field": "escalation_policy_id",
                    "message": "required: the service's team has no default escalation policy",
                }
            ]
        )


async def _free_routing_key(session: AsyncSession, name: str) -> str:
    """Return the name's slug, or the first free `slug-2`, `slug-3` … if it is taken."""
    base = slugify(name)
    stem = base[: ROUTING_KEY_MAX - _SUFFIX_ROOM]
    taken = set(
        (
            await session.scalars(
                select(col(Service.routing_key)).where(
                    col(Service.routing_key).startswith(stem, autoescape=True)
                )
            )
        ).all()
    )
    if base not in taken:
        return base
    n = 2
    while True:
        suffix = f"-{n}"
        candidate = base[: ROUTING_KEY_MAX - len(suffix)].rstrip("-._") + suffix
        if candidate not in taken:
            return candidate
        n += 1


async def create_service(
    *, session: AsyncSession, service_in: ServiceCreate, actor: Actor
) -> Service:
    """Create a service; its routing key is derived from the name when not given."""
    await _check_refs(session, service_in.model_dump())
    await _check_pages_someone(session, service_in.team_id, service_in.escalation_policy_id)
    if await name_taken(session, Service, service_in.name, None):
        raise Conflict(f"a service named {service_in.name!r} already exists")
    routing_key = service_in.routing_key
    if routing_key is None:
        routing_key = await _free_routing_key(session, service_in.name)
    elif await get_by_routing_key(session=session, routing_key=routing_key) is not None:
        raise Conflict(f"a service with routing key {routing_key!r} already exists")
    service = Service(
        name=service_in.name,
        description=service_in.description,
        team_id=service_in.team_id,
        escalation_policy_id=service_in.escalation_policy_id,
        routing_key=routing_key,
        status=service_in.status,
        urgency=service_in.urgency,
        acknowledgement_timeout_seconds=_seconds(service_in.acknowledgement_timeout),
        auto_resolve_timeout_seconds=_seconds(service_in.auto_resolve_timeout),
        slack_channel_id=service_in.slack_channel_id,
        slack_incident_channel_severity=service_in.slack_incident_channel_severity,
    )
    session.add(service)
    await flush_unique(session, "a service with this name or routing key already exists")
    await session.refresh(service)
    await audit.record(
        session=session,
        actor=actor,
        action="service.create",
        entity_type="service",
        entity_id=service.id,
        after=service_public(service),
    )
    return service


_NOT_NULL = ("name", "status", "urgency")


async def update_service(
    *, session: AsyncSession, service_id: UUID, service_in: ServiceUpdate, actor: Actor
) -> Service:
    """Change a service; only the fields given change, and the routing key never does."""
    service = await get_service(session=session, service_id=service_id)
    before = service_public(service)
    changes = service_in.model_dump(exclude_unset=True)
    if "routing_key" in changes and changes.pop("routing_key") != service.routing_key:
        raise invalid([{"field": "routing_key", "message": "routing_key is immutable"}])
    nulls = [f for f in _NOT_NULL if f in changes and changes[f] is None]
    if nulls:
        raise invalid([{"field": f, "message": "cannot be null"} for f in nulls])
    await _check_refs(session, changes)
    await _check_pages_someone(
        session,
        changes.get("team_id", service.team_id),
        changes.get("escalation_policy_id", service.escalation_policy_id),
    )
    if "name" in changes and await name_taken(session, Service, changes["name"], service.id):
        raise Conflict(f"a service named {changes['name']!r} already exists")
    for field in ("acknowledgement_timeout", "auto_resolve_timeout"):
        if field in changes:
            changes[f"{field}_seconds"] = _seconds(changes.pop(field))
    for field, value in changes.items():
        setattr(service, field, value)
    service.updated_at = utcnow()
    await flush_unique(session, "a service with this name or routing key already exists")
    after = service_public(service)
    await audit.record(
        session=session,
        actor=actor,
        action="service.update",
        entity_type="service",
        entity_id=service.id,
        before=before,
        after=after,
    )
    return service


async def delete_service(*, session: AsyncSession, service_id: UUID, actor: Actor) -> None:
    """Delete a service that nothing references; one with incidents is archived instead."""
    service = await get_service(session=session, service_id=service_id)
    before = service_public(service)
    try:
        # A savepoint: when the foreign keys refuse, the caller's transaction stays usable.
        async with session.begin_nested():
            await session.delete(service)
    except IntegrityError as exc:
        raise Conflict("the service has incidents; archive it instead") from exc
    await audit.record(
        session=session,
        actor=actor,
        action="service.delete",
        entity_type="service",
        entity_id=service_id,
        before=before,
    )
