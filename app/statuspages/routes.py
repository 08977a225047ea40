"""Admin API of status pages: pages, components, page incidents, maintenances."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import Actor
from app.db import utcnow
from app.deps import (
    AdminUser,
    CurrentUser,
    ResponderUser,
    SessionDep,
    SettingsDep,
    TemporalDep,
    actor_of,
)
from app.identity.models import User
from app.models_common import Page
from app.statuspages import announce, paging, service, subscribers, timers
from app.statuspages import incidents as page_incidents
from app.statuspages.models import (
    AnnouncementPublic,
    ComponentIn,
    ComponentPublic,
    ComponentUpdate,
    DeliveryPublic,
    MaintenanceCreate,
    MaintenancePublic,
    PageIncidentCreate,
    PageIncidentPatch,
    PageIncidentPublic,
    StatusComponent,
    StatusPage,
    StatusPageCreate,
    StatusPagePublic,
    StatusPageUpdate,
    SubscriberCreate,
    SubscriberPublic,
    UpdateCreate,
)
from app.statuspages.status import compute

router = APIRouter(prefix="/api/v1/status-pages", tags=["status pages"])
INCIDENT = page_incidents.INCIDENT
MAINTENANCE = page_incidents.MAINTENANCE


@dataclass(frozen=True)
class OnPage:
    """A status page loaded (404 if missing) for a caller whose role may do the action."""

    session: AsyncSession
    page: StatusPage
    page_id: UUID  # kept apart: the page's attributes expire when the session commits
    actor: Actor


async def _on_page(session: AsyncSession, user: User, page_id: UUID) -> OnPage:
    page = await service.get_page(session=session, page_id=page_id)
    return OnPage(session, page, page_id, actor_of(user))


async def _reader(session: SessionDep, user: CurrentUser, page_id: UUID) -> OnPage:
    return await _on_page(session, user, page_id)


async def _responder(session: SessionDep, user: ResponderUser, page_id: UUID) -> OnPage:
    return await _on_page(session, user, page_id)


async def _admin(session: SessionDep, user: AdminUser, page_id: UUID) -> OnPage:
    return await _on_page(session, user, page_id)


# The one load-and-authorize step of every handler below a page: the role first (401/403),
# then the page (404). The page stays in the session, so the services' own look-up is free.
ReaderPage = Annotated[OnPage, Depends(_reader)]
ResponderPage = Annotated[OnPage, Depends(_responder)]
AdminPage = Annotated[OnPage, Depends(_admin)]


@router.get("", response_model=Page[StatusPagePublic])
async def list_pages(
    session: SessionDep,
    settings: SettingsDep,
    _: CurrentUser,
    limit: int = Query(default=100, ge=1, le=500),
    offset: int = Query(default=0, ge=0),
) -> Page[StatusPagePublic]:
    """List status pages with their components' current statuses."""
    pages, total = await service.list_pages(session=session, limit=limit, offset=offset)
    return Page(
        data=[await service.page_public(session, p, settings.base_url) for p in pages],
        count=total,
    )


@router.post("", response_model=StatusPagePublic, status_code=status.HTTP_201_CREATED)
async def create_page(
    session: SessionDep, settings: SettingsDep, admin: AdminUser, page_in: StatusPageCreate
) -> StatusPagePublic:
    """Create a status page with its components (admins only); a taken slug is 409."""
    page = await service.create_page(session=session, page_in=page_in, actor=actor_of(admin))
    return await service.page_public(session, page, settings.base_url)


@router.get("/{page_id}", response_model=StatusPagePublic)
async def get_page(settings: SettingsDep, on: ReaderPage) -> StatusPagePublic:
    """Return a status page with its components' current statuses."""
    return await service.page_public(on.session, on.page, settings.base_url)


@router.patch("/{page_id}", response_model=StatusPagePublic)
async def update_page(
    settings: SettingsDep, on: AdminPage, page_in: StatusPageUpdate
) -> StatusPagePublic:
    """Change a page's name, slug, visibility or auto-publish settings (admins only)."""
    page = await service.update_page(
        session=on.session, page_id=on.page_id, page_in=page_in, actor=on.actor
    )
    return await service.page_public(on.session, page, settings.base_url)


@router.delete("/{page_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_page(on: AdminPage) -> Response:
    """Delete a status page and everything on it (admins only)."""
    await service.delete_page(session=on.session, page_id=on.page_id, actor=on.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _component_out(session: AsyncSession, component: StatusComponent) -> ComponentPublic:
    statuses = await compute(session, [component], utcnow())
    return service.component_public(component, statuses[component.id])


@router.post(
    "/{page_id}/components", response_model=ComponentPublic, status_code=status.HTTP_201_CREATED
)
async def add_component(on: AdminPage, component_in: ComponentIn) -> ComponentPublic:
    """Add a component mapped to services (admins only)."""
    component = await service.add_component(
        session=on.session, page_id=on.page_id, component_in=component_in, actor=on.actor
    )
    return await _component_out(on.session, component)


@router.patch("/{page_id}/components/{component_id}", response_model=ComponentPublic)
async def update_component(
    on: AdminPage, component_id: UUID, component_in: ComponentUpdate
) -> ComponentPublic:
    """Change a component, or pin its status (`status_override`, optional `until`)."""
    component = await service.update_component(
        session=on.session,
        page_id=on.page_id,
        component_id=component_id,
        component_in=component_in,
        actor=on.actor,
    )
    return await _component_out(on.session, component)


@router.delete("/{page_id}/components/{component_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_component(on: AdminPage, component_id: UUID) -> Response:
    """Remove a component (admins only)."""
    await service.delete_component(
        session=on.session, page_id=on.page_id, component_id=component_id, actor=on.actor
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- page incidents -------------------------------------------------------------------------


@router.get("/{page_id}/incidents", response_model=Page[PageIncidentPublic])
async def list_incidents(
    on: ReaderPage,
    limit: int = Query(default=50, ge=1, le=200),
    offset: int = Query(default=0, ge=0),
) -> Page[PageIncidentPublic]:
    """List a page's incidents (drafts included), newest first."""
    items = await page_incidents.list_items(
        session=on.session, page_id=on.page_id, kind=INCIDENT, limit=limit, offset=offset
    )
    data = [await page_incidents.incident_public(on.session, i) for i in items]
    return Page(data=data, count=len(data))


@router.post(
    "/{page_id}/incidents", response_model=PageIncidentPublic, status_code=status.HTTP_201_CREATED
)
async def create_incident(on: ResponderPage, incident_in: PageIncidentCreate) -> PageIncidentPublic:
    """Open a page incident with its first update (responders and admins)."""
    pi = await page_incidents.create_incident(
        session=on.session, page_id=on.page_id, incident_in=incident_in, actor=on.actor
    )
    return await page_incidents.incident_public(on.session, pi)


@router.get("/{page_id}/incidents/{incident_id}", response_model=PageIncidentPublic)
async def get_incident(on: ReaderPage, incident_id: UUID) -> PageIncidentPublic:
    """Return a page incident with its updates."""
    pi = await page_incidents.get_item(
        session=on.session, page_id=on.page_id, item_id=incident_id, kind=INCIDENT
    )
    return await page_incidents.incident_public(on.session, pi)


@router.patch("/{page_id}/incidents/{incident_id}", response_model=PageIncidentPublic)
async def patch_incident(
    on: ResponderPage, incident_id: UUID, patch: PageIncidentPatch
) -> PageIncidentPublic:
    """Rename, re-scope, change the impact of, or publish a page incident."""
    pi = await page_incidents.patch_incident(
        session=on.session, page_id=on.page_id, incident_id=incident_id, patch=patch, actor=on.actor
    )
    return await page_incidents.incident_public(on.session, pi)


@router.delete("/{page_id}/incidents/{incident_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_incident(on: AdminPage, incident_id: UUID) -> Response:
    """Delete a page incident (admins only)."""
    await page_incidents.delete_incident(
        session=on.session, page_id=on.page_id, incident_id=incident_id, actor=on.actor
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{page_id}/incidents/{incident_id}/updates",
    response_model=PageIncidentPublic,
    status_code=status.HTTP_201_CREATED,
)
async def add_update(
    on: ResponderPage, incident_id: UUID, update_in: UpdateCreate
) -> PageIncidentPublic:
    """Post an update (investigating → identified → monitoring → resolved)."""
    pi = await page_incidents.add_update(
        session=on.session,
        page_id=on.page_id,
        incident_id=incident_id,
        update_in=update_in,
        actor=on.actor,
    )
    return await page_incidents.incident_public(on.session, pi)


# --- maintenances ---------------------------------------------------------------------------


@router.get("/{page_id}/maintenances", response_model=Page[MaintenancePublic])
async def list_maintenances(
    on: ReaderPage,
    limit: int = Query(default=50, ge=1, le=200),
    offset: int = Query(default=0, ge=0),
) -> Page[MaintenancePublic]:
    """List a page's maintenances, latest start first."""
    items = await page_incidents.list_items(
        session=on.session, page_id=on.page_id, kind=MAINTENANCE, limit=limit, offset=offset
    )
    data = [await page_incidents.maintenance_public(on.session, m) for m in items]
    return Page(data=data, count=len(data))


@router.post(
    "/{page_id}/maintenances",
    response_model=MaintenancePublic,
    status_code=status.HTTP_201_CREATED,
)
async def create_maintenance(
    settings: SettingsDep, client: TemporalDep, on: AdminPage, maintenance_in: MaintenanceCreate
) -> MaintenancePublic:
    """Schedule a maintenance; its start and end run on durable timers (admins only)."""
    m = await page_incidents.create_maintenance(
        session=on.session, page_id=on.page_id, maintenance_in=maintenance_in, actor=on.actor
    )
    await paging.hold_paging(
        session=on.session, client=client, settings=settings, m=m, actor=on.actor
    )
    await timers.start_maintenance(client=client, settings=settings, m=m)
    return await page_incidents.maintenance_public(on.session, m)


@router.get("/{page_id}/maintenances/{maintenance_id}", response_model=MaintenancePublic)
async def get_maintenance(on: ReaderPage, maintenance_id: UUID) -> MaintenancePublic:
    """Return a maintenance with its updates."""
    m = await page_incidents.get_item(
        session=on.session, page_id=on.page_id, item_id=maintenance_id, kind=MAINTENANCE
    )
    return await page_incidents.maintenance_public(on.session, m)


@router.delete("/{page_id}/maintenances/{maintenance_id}", response_model=MaintenancePublic)
async def cancel_maintenance(
    settings: SettingsDep, client: TemporalDep, on: AdminPage, maintenance_id: UUID
) -> MaintenancePublic:
    """Cancel a maintenance: a scheduled one never starts, one in progress completes now."""
    m = await page_incidents.cancel_maintenance(
        session=on.session, page_id=on.page_id, maintenance_id=maintenance_id, actor=on.actor
    )
    await paging.release_paging(
        session=on.session, client=client, settings=settings, m=m, actor=on.actor
    )
    await on.session.commit()  # the status first: a timer that fires meanwhile finds it moved
    if m.workflow_id:
        await timers.cancel_maintenance(client=client, workflow_id=m.workflow_id)
    return await page_incidents.maintenance_public(on.session, m)


@router.get("/{page_id}/announcements", response_model=Page[AnnouncementPublic])
async def list_announcements(on: ReaderPage) -> Page[AnnouncementPublic]:
    """List what subscribers of the page are told, newest first."""
    rows = await announce.list_for_page(on.session, on.page_id)
    data = [AnnouncementPublic.model_validate(r, from_attributes=True) for r in rows]
    return Page(data=data, count=len(data))


# --- subscribers and their delivery log ----------------------------------------------------


@router.get("/{page_id}/subscribers", response_model=Page[SubscriberPublic])
async def list_subscribers(on: AdminPage) -> Page[SubscriberPublic]:
    """List a page's subscribers, with those disabled for failing and why (admins only)."""
    rows = await subscribers.list_subscribers(session=on.session, page_id=on.page_id)
    return Page(data=[subscribers.subscriber_public(s) for s in rows], count=len(rows))


@router.post(
    "/{page_id}/subscribers", response_model=SubscriberPublic, status_code=status.HTTP_201_CREATED
)
async def add_subscriber(
    settings: SettingsDep, on: AdminPage, subscriber_in: SubscriberCreate
) -> SubscriberPublic:
    """Add an e-mail, webhook or Slack channel subscriber; a webhook's secret is shown once."""
    sub, secret = await subscribers.add_subscriber(
        session=on.session,
        page_id=on.page_id,
        subscriber_in=subscriber_in,
        actor=on.actor,
        allow_private=settings.allow_private_targets,
    )
    return subscribers.subscriber_public(sub, secret=secret)


@router.delete("/{page_id}/subscribers/{subscriber_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_subscriber(on: AdminPage, subscriber_id: UUID) -> Response:
    """Remove a subscriber (admins only)."""
    await subscribers.delete_subscriber(
        session=on.session, page_id=on.page_id, subscriber_id=subscriber_id, actor=on.actor
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{page_id}/deliveries", response_model=Page[DeliveryPublic])
async def list_deliveries(
    on: AdminPage,
    subscriber_id: UUID | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> Page[DeliveryPublic]:
    """The delivery log: one row per announcement and subscriber, with attempts and errors."""
    rows = await subscribers.list_deliveries(
        session=on.session, page_id=on.page_id, subscriber_id=subscriber_id, limit=limit
    )
    return Page(data=rows, count=len(rows))
