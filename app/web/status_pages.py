"""Status pages in the web UI: pages, components and pins, page incidents, maintenances,
subscribers and deliveries, partners, and a preview of the public page."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from app.catalog import service as catalog
from app.db import utcnow
from app.deps import SessionDep, SettingsDep
from app.problems import Problem
from app.statuspages import incidents as page_incidents
from app.statuspages import paging, partners, snapshot, subscribers, timers
from app.statuspages import service as pages
from app.statuspages.models import (
    ComponentIn,
    ComponentUpdate,
    MaintenanceCreate,
    PageIncidentCreate,
    PageIncidentPatch,
    StatusPageCreate,
    SubscriberCreate,
    UpdateCreate,
)
from app.statuspages.partner_models import PartnerCreate
from app.statuspages.public_routes import render_page
from app.web.auth import WebAdmin, WebResponder, WebViewer
from app.web.render import WebRoute, field_errors, page, see_other

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _invalid(exc: ValidationError) -> Problem:
    return Problem(422, "Please check your input", field_errors(exc))


async def _form(request: Request) -> dict[str, list[str]]:
    form = await request.form()
    return {k: [str(v) for v in form.getlist(k)] for k in form}


def _one(form: dict[str, list[str]], key: str) -> str | None:
    values = [v for v in form.get(key, []) if v.strip()]
    return values[0].strip() if values else None


def _instant(value: str | None) -> datetime | None:
    """A `datetime-local` field, read as UTC."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=utcnow().tzinfo)


@router.get("/status-pages", response_class=HTMLResponse)
async def list_page(request: Request, session: SessionDep, viewer: WebViewer) -> Response:
    """List status pages; admins add one here."""
    rows, _ = await pages.list_pages(session=session, limit=500)
    return page(request, "status_pages.html", viewer, pages=rows)


@router.post("/status-pages")
async def create(request: Request, session: SessionDep, viewer: WebAdmin) -> Response:
    form = await _form(request)
    try:
        page_in = StatusPageCreate(
            name=_one(form, "name") or "",
            slug=_one(form, "slug") or "",
            visibility=_one(form, "visibility") or "public",
            auto_publish_severity=_one(form, "auto_publish_severity"),
            auto_publish_mode=_one(form, "auto_publish_mode") or "draft",
        )
    except ValidationError as exc:
        raise _invalid(exc) from None
    created = await pages.create_page(session=session, page_in=page_in, actor=viewer.actor)
    return see_other(f"/status-pages/{created.id}")


@router.get("/status-pages/{page_id}", response_class=HTMLResponse)
async def detail(
    request: Request, session: SessionDep, settings: SettingsDep, viewer: WebViewer, page_id: UUID
) -> Response:
    """One page: components with their computed status, incidents, maintenances, subscribers."""
    sp = await pages.get_page(session=session, page_id=page_id)
    view = await pages.page_public(session, sp, settings.base_url)
    incidents = [
        await page_incidents.incident_public(session, i)
        for i in await page_incidents.list_items(session=session, page_id=page_id, kind="incident")
    ]
    maintenances = [
        await page_incidents.maintenance_public(session, m)
        for m in await page_incidents.list_items(
            session=session, page_id=page_id, kind="maintenance"
        )
    ]
    services, _ = await catalog.list_services(session=session, limit=500)
    subs = deliveries = []
    if viewer.is_admin:
        subs = await subscribers.list_subscribers(session=session, page_id=page_id)
        deliveries = await subscribers.list_deliveries(
            session=session, page_id=page_id, subscriber_id=None, limit=50
        )
    return page(
        request,
        "status_page.html",
        viewer,
        sp=view,
        incidents=incidents,
        maintenances=maintenances,
        services={str(s.id): s.name for s in services},
        subscribers=subs,
        deliveries=deliveries,
    )


@router.get("/status-pages/{page_id}/preview", response_class=HTMLResponse)
async def preview(
    session: SessionDep, settings: SettingsDep, viewer: WebViewer, page_id: UUID
) -> Response:
    """The public page as readers see it now (private pages too), marked as a preview."""
    sp = await pages.get_page(session=session, page_id=page_id)
    s = await snapshot.load(session, sp, base_url=settings.base_url, now=utcnow())
    return HTMLResponse(render_page(s, preview=True), headers={"Cache-Control": "no-store"})


@router.post("/status-pages/{page_id}/components")
async def add_component(
    request: Request, session: SessionDep, viewer: WebAdmin, page_id: UUID
) -> Response:
    form = await _form(request)
    try:
        component_in = ComponentIn(
            name=_one(form, "name") or "",
            description=_one(form, "description"),
            group=_one(form, "group"),
            service_ids=[UUID(v) for v in form.get("service_ids", []) if v],
        )
    except ValidationError as exc:
        raise _invalid(exc) from None
    await pages.add_component(
        session=session, page_id=page_id, component_in=component_in, actor=viewer.actor
    )
    return see_other(f"/status-pages/{page_id}#components")


@router.post("/status-pages/{page_id}/components/{component_id}/pin")
async def pin(
    request: Request, session: SessionDep, viewer: WebAdmin, page_id: UUID, component_id: UUID
) -> Response:
    """Pin a status (optionally until an instant), or unpin with an empty choice."""
    form = await _form(request)
    status = _one(form, "status_override")
    try:
        update = ComponentUpdate(
            status_override=status,
            until=_instant(_one(form, "until")) if status else None,
        )
    except (ValidationError, ValueError) as exc:
        raise Problem(422, "Please check your input", str(exc)[:300]) from None
    await pages.update_component(
        session=session,
        page_id=page_id,
        component_id=component_id,
        component_in=update,
        actor=viewer.actor,
    )
    return see_other(f"/status-pages/{page_id}#components")


@router.post("/status-pages/{page_id}/incidents")
async def create_incident(
    request: Request, session: SessionDep, viewer: WebResponder, page_id: UUID
) -> Response:
    form = await _form(request)
    try:
        incident_in = PageIncidentCreate(
            name=_one(form, "name") or "",
            body=_one(form, "body") or "",
            status=_one(form, "status") or "investigating",
            impact=_one(form, "impact"),
            component_ids=[UUID(v) for v in form.get("component_ids", []) if v],
            published=_one(form, "published") == "on",
        )
    except ValidationError as exc:
        raise _invalid(exc) from None
    await page_incidents.create_incident(
        session=session, page_id=page_id, incident_in=incident_in, actor=viewer.actor
    )
    return see_other(f"/status-pages/{page_id}#incidents")


@router.post("/status-pages/{page_id}/incidents/{incident_id}/updates")
async def add_update(
    request: Request, session: SessionDep, viewer: WebResponder, page_id: UUID, incident_id: UUID
) -> Response:
    form = await _form(request)
    try:
        update_in = UpdateCreate(status=_one(form, "status"), body=_one(form, "body") or "")
    except ValidationError as exc:
        raise _invalid(exc) from None
    await page_incidents.add_update(
        session=session,
        page_id=page_id,
        incident_id=incident_id,
        update_in=update_in,
        actor=viewer.actor,
    )
    return see_other(f"/status-pages/{page_id}#incidents")


@router.post("/status-pages/{page_id}/incidents/{incident_id}/publish")
async def publish(
    session: SessionDep, viewer: WebResponder, page_id: UUID, incident_id: UUID
) -> Response:
    await page_incidents.patch_incident(
        session=session,
        page_id=page_id,
        incident_id=incident_id,
        patch=PageIncidentPatch(published=True),
        actor=viewer.actor,
    )
    return see_other(f"/status-pages/{page_id}#incidents")


@router.post("/status-pages/{page_id}/maintenances")
async def schedule(
    request: Request, session: SessionDep, settings: SettingsDep, viewer: WebAdmin, page_id: UUID
) -> Response:
    form = await _form(request)
    try:
        maintenance_in = MaintenanceCreate(
            name=_one(form, "name") or "",
            body=_one(form, "body") or "",
            component_ids=[UUID(v) for v in form.get("component_ids", []) if v],
            scheduled_for=_instant(_one(form, "scheduled_for")),
            scheduled_until=_instant(_one(form, "scheduled_until")),
        )
    except (ValidationError, ValueError) as exc:
        raise Problem(422, "Please check your input", str(exc)[:300]) from None
    m = await page_incidents.create_maintenance(
        session=session, page_id=page_id, maintenance_in=maintenance_in, actor=viewer.actor
    )
    client = await request.app.state.temporal.get()
    await timers.start_maintenance(client=client, settings=settings, m=m)
    return see_other(f"/status-pages/{page_id}#maintenances")


@router.post("/status-pages/{page_id}/maintenances/{maintenance_id}/cancel")
async def cancel(
    request: Request, session: SessionDep, viewer: WebAdmin, page_id: UUID, maintenance_id: UUID
) -> Response:
    m = await page_incidents.cancel_maintenance(
        session=session, page_id=page_id, maintenance_id=maintenance_id, actor=viewer.actor
    )
    if m.suppress_paging:  # its window over the services ends too
        await paging.release_paging(
            session=session,
            client=await request.app.state.temporal.get(),
            settings=request.app.state.settings,
            m=m,
            actor=viewer.actor,
        )
    await session.commit()
    if m.workflow_id:
        client = await request.app.state.temporal.get()
        await timers.cancel_maintenance(client=client, workflow_id=m.workflow_id)
    return see_other(f"/status-pages/{page_id}#maintenances")


@router.post("/status-pages/{page_id}/subscribers")
async def add_subscriber(
    request: Request, session: SessionDep, settings: SettingsDep, viewer: WebAdmin, page_id: UUID
) -> Response:
    form = await _form(request)
    try:
        subscriber_in = SubscriberCreate(
            type=_one(form, "type") or "",
            address=_one(form, "address") or "",
        )
    except ValidationError as exc:
        raise _invalid(exc) from None
    _, secret = await subscribers.add_subscriber(
        session=session,
        page_id=page_id,
        subscriber_in=subscriber_in,
        actor=viewer.actor,
        allow_private=settings.allow_private_targets,
    )
    if secret:  # shown this once
        return page(
            request,
            "status_secret.html",
            viewer,
            secret=secret,
            back=f"/status-pages/{page_id}#subscribers",
        )
    return see_other(f"/status-pages/{page_id}#subscribers")


@router.get("/partners", response_class=HTMLResponse)
async def partners_page(request: Request, session: SessionDep, viewer: WebAdmin) -> Response:
    """Partners and the private pages they may read."""
    rows = await partners.list_partners(session=session)
    all_pages, _ = await pages.list_pages(session=session, limit=500)
    return page(
        request,
        "partners.html",
        viewer,
        partners=rows,
        pages={str(p.id): p.name for p in all_pages},
    )


@router.post("/partners")
async def create_partner(request: Request, session: SessionDep, viewer: WebAdmin) -> Response:
    form = await _form(request)
    try:
        partner_in = PartnerCreate(
            name=_one(form, "name") or "",
            email=_one(form, "email") or "",
            status_page_ids=[UUID(v) for v in form.get("status_page_ids", []) if v],
        )
    except ValidationError as exc:
        raise _invalid(exc) from None
    await partners.create_partner(session=session, partner_in=partner_in, actor=viewer.actor)
    return see_other("/partners")


@router.post("/partners/{partner_id}/delete")
async def delete_partner(session: SessionDep, viewer: WebAdmin, partner_id: UUID) -> Response:
    await partners.delete_partner(session=session, partner_id=partner_id, actor=viewer.actor)
    return see_other("/partners")
