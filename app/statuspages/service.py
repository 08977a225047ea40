"""Status pages and their components: the admin operations."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.audit.models import Actor
from app.catalog.models import Service
from app.db import utcnow
from app.errors import Conflict, Invalid, NotFound
from app.statuspages import status as computed
from app.statuspages.models import (
    ComponentIn,
    ComponentPublic,
    ComponentStatus,
    ComponentUpdate,
    StatusComponent,
    StatusPage,
    StatusPageCreate,
    StatusPagePublic,
    StatusPageUpdate,
)


def public_url(base_url: str, page: StatusPage) -> str:
    """Return the address of a page's public HTML."""
    return f"{base_url}/status/{page.slug}"


async def components_of(session: AsyncSession, page_id: UUID) -> list[StatusComponent]:
    """Return a page's components in display order (group, position, name)."""
    rows = await session.scalars(
        select(StatusComponent)
        .where(col(StatusComponent.page_id) == page_id)
        .order_by(col(StatusComponent.position), col(StatusComponent.name), col(StatusComponent.id))
    )
    return list(rows.all())


def component_public(c: StatusComponent, status: ComponentStatus) -> ComponentPublic:
    """Return the admin view of a component with its computed status."""
    return ComponentPublic(
        id=c.id,
        name=c.name,
        description=c.description,
        group=c.group,
        service_ids=list(c.service_ids),
        position=c.position,
        status=status,
        status_override=ComponentStatus(c.status_override) if c.status_override else None,
        override_until=c.override_until,
    )


async def page_public(session: AsyncSession, page: StatusPage, base_url: str) -> StatusPagePublic:
    """Return the admin view of a page, its components' statuses computed now."""
    components = await components_of(session, page.id)
    statuses = await computed.compute(session, components, utcnow())
    return StatusPagePublic(
        id=page.id,
        name=page.name,
        slug=page.slug,
        visibility=page.visibility,
        auto_publish_severity=page.auto_publish_severity,
        auto_publish_mode=page.auto_publish_mode,
        time_zone=page.time_zone,
        url=public_url(base_url, page),
        components=[component_public(c, statuses[c.id]) for c in components],
        created_at=page.created_at,
        updated_at=page.updated_at,
        dependency_impact=page.dependency_impact,
    )


async def get_page(*, session: AsyncSession, page_id: UUID) -> StatusPage:
    """Return the page or raise NotFound."""
    page = await session.get(StatusPage, page_id)
    if page is None:
        raise NotFound(f"status page {page_id} does not exist")
    return page


async def get_by_slug(*, session: AsyncSession, slug: str) -> StatusPage:
    """Return the page with this slug or raise NotFound."""
    page = await session.scalar(select(StatusPage).where(col(StatusPage.slug) == slug))
    if page is None:
        raise NotFound(f"there is no status page {slug!r}")
    return page


async def list_pages(
    *, session: AsyncSession, limit: int = 100, offset: int = 0
) -> tuple[list[StatusPage], int]:
    """Return a page of status pages ordered by name, and the total count."""
    total = await session.scalar(select(func.count()).select_from(StatusPage))
    rows = await session.scalars(
        select(StatusPage)
        .order_by(col(StatusPage.name), col(StatusPage.id))
        .limit(limit)
        .offset(offset)
    )
    return list(rows.all()), int(total or 0)


async def _check_services(session: AsyncSession, ids: list[UUID], field: str) -> None:
    if not ids:
        return
    found = set(
        (await session.scalars(select(col(Service.id)).where(col(Service.id).in_(ids)))).all()
    )
    missing = [str(i) for i in ids if i not in found]
    if missing:
        message = f"unknown service ids: {', '.join(missing)}"
        raise Invalid(message, errors=[{"field": field, "message": message}])


async def _flush_slug(session: AsyncSession, slug: str) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        raise Conflict(f"the slug {slug!r} is taken by another status page") from exc


async def _slug_taken(session: AsyncSession, slug: str, except_id: UUID | None = None) -> bool:
    query = select(col(StatusPage.id)).where(col(StatusPage.slug) == slug)
    if except_id is not None:
        query = query.where(col(StatusPage.id) != except_id)
    return await session.scalar(query) is not None


def _new_component(page_id: UUID, c: ComponentIn, position: int) -> StatusComponent:
    return StatusComponent(
        page_id=page_id,
        name=c.name,
        description=c.description,
        group=c.group,
        position=c.position if c.position is not None else position,
        service_ids=list(dict.fromkeys(c.service_ids)),
        updated_at=utcnow(),
    )


async def create_page(
    *, session: AsyncSession, page_in: StatusPageCreate, actor: Actor
) -> StatusPage:
    """Create a page with its components; a taken slug is a Conflict."""
    if await _slug_taken(session, page_in.slug):
        raise Conflict(f"the slug {page_in.slug!r} is taken by another status page")
    for i, c in enumerate(page_in.components):
        await _check_services(session, c.service_ids, f"components.{i}.service_ids")
    page = StatusPage(
        name=page_in.name,
        slug=page_in.slug,
        visibility=page_in.visibility.value,
        auto_publish_severity=page_in.auto_publish_severity,
        auto_publish_mode=page_in.auto_publish_mode.value,
        time_zone=page_in.time_zone,
        dependency_impact=page_in.dependency_impact,
        updated_at=utcnow(),
    )
    session.add(page)
    await _flush_slug(session, page_in.slug)
    for i, c in enumerate(page_in.components):
        session.add(_new_component(page.id, c, i))
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="status_page.create",
        entity_type="status_page",
        entity_id=page.id,
        after=page_in,
    )
    return page


async def update_page(
    *, session: AsyncSession, page_id: UUID, page_in: StatusPageUpdate, actor: Actor
) -> StatusPage:
    """Change a page's settings; a taken slug is a Conflict."""
    page = await get_page(session=session, page_id=page_id)
    changes: dict[str, Any] = page_in.model_dump(exclude_unset=True, mode="json")
    for key in ("name", "slug", "visibility", "auto_publish_mode", "time_zone"):
        if key in changes and changes[key] is None:
            raise Invalid(f"{key} cannot be null", errors=[{"field": key, "message": "required"}])
    if "slug" in changes and await _slug_taken(session, changes["slug"], page.id):
        raise Conflict(f"the slug {changes['slug']!r} is taken by another status page")
    before = {k: getattr(page, k) for k in changes}
    for key, value in changes.items():
        setattr(page, key, value)
    page.updated_at = utcnow()
    await _flush_slug(session, page.slug)
    await audit.record(
        session=session,
        actor=actor,
        action="status_page.update",
        entity_type="status_page",
        entity_id=page.id,
        before=before,
        after=changes,
    )
    return page


async def delete_page(*, session: AsyncSession, page_id: UUID, actor: Actor) -> None:
    """Delete a page with its components, incidents and maintenances."""
    page = await get_page(session=session, page_id=page_id)
    await session.delete(page)
    await audit.record(
        session=session,
        actor=actor,
        action="status_page.delete",
        entity_type="status_page",
        entity_id=page_id,
        before={"name": page.name, "slug": page.slug},
    )


async def get_component(
    *, session: AsyncSession, page_id: UUID, component_id: UUID
) -> StatusComponent:
    """Return a page's component or raise NotFound."""
    component = await session.get(StatusComponent, component_id)
    if component is None or component.page_id != page_id:
        raise NotFound(f"component {component_id} does not exist on status page {page_id}")
    return component


async def add_component(
    *, session: AsyncSession, page_id: UUID, component_in: ComponentIn, actor: Actor
) -> StatusComponent:
    """Add a component to a page (last, unless a position is given)."""
    await get_page(session=session, page_id=page_id)
    await _check_services(session, component_in.service_ids, "service_ids")
    last = await session.scalar(
        select(func.max(col(StatusComponent.position))).where(
            col(StatusComponent.page_id) == page_id
        )
    )
    component = _new_component(page_id, component_in, 0 if last is None else last + 1)
    session.add(component)
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="status_component.create",
        entity_type="status_component",
        entity_id=component.id,
        after=component_in,
    )
    return component


async def update_component(
    *,
    session: AsyncSession,
    page_id: UUID,
    component_id: UUID,
    component_in: ComponentUpdate,
    actor: Actor,
) -> StatusComponent:
    """Change a component; `status_override` pins a status (null unpins), `until` ends the pin."""
    component = await get_component(session=session, page_id=page_id, component_id=component_id)
    changes = component_in.model_dump(exclude_unset=True)
    if changes.get("name", "") is None:
        raise Invalid("name cannot be null", errors=[{"field": "name", "message": "required"}])
    if "service_ids" in changes:
        ids = list(dict.fromkeys(changes["service_ids"] or []))
        await _check_services(session, ids, "service_ids")
        changes["service_ids"] = ids
    if "until" in changes and "status_override" not in changes and not component.status_override:
        message = "until needs a status_override to end"
        raise Invalid(message, errors=[{"field": "until", "message": message}])
    if changes.get("until") is not None and changes["until"] <= utcnow():
        message = "until must be in the future"
        raise Invalid(message, errors=[{"field": "until", "message": message}])
    before = component_public(component, ComponentStatus.operational).model_dump(mode="json")
    for key in ("name", "description", "group", "service_ids", "position"):
        if key in changes:
            setattr(component, key, changes[key])
    if "status_override" in changes:
        override = changes["status_override"]
        component.status_override = override.value if override else None
        component.override_until = changes.get("until") if override else None
    elif "until" in changes:
        component.override_until = changes["until"]
    component.updated_at = utcnow()
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="status_component.update",
        entity_type="status_component",
        entity_id=component.id,
        before={k: before.get(k) for k in changes},
        after=component_in.model_dump(mode="json", exclude_unset=True),
    )
    return component


async def delete_component(
    *, session: AsyncSession, page_id: UUID, component_id: UUID, actor: Actor
) -> None:
    """Remove a component from its page."""
    component = await get_component(session=session, page_id=page_id, component_id=component_id)
    await session.delete(component)
    await audit.record(
        session=session,
        actor=actor,
        action="status_component.delete",
        entity_type="status_component",
        entity_id=component_id,
        before={"name": component.name, "page_id": str(page_id)},
    )


async def pages_mapping_service(*, session: AsyncSession, service_id: UUID) -> list[UUID]:
    """Return the ids of the pages with a component mapped to this service."""
    rows = await session.scalars(
        select(col(StatusComponent.page_id))
        .where(col(StatusComponent.service_ids).contains([service_id]))
        .distinct()
    )
    return list(rows.all())
