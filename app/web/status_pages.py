"""Status pages in the web UI: pages, components and pins, page incidents, maintenances,
subscribers and deliveries, partners, and a preview of the public page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import service as catalog
from app.config import Settings
from app.db import utcnow
from app.deps import SessionDep, SettingsDep
from app.errors import DomainError
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
    StatusPage,
    StatusPageCreate,
    SubscriberCreate,
    UpdateCreate,
)
from app.statuspages.partner_models import PartnerCreate
from app.statuspages.public_routes import render_page
from app.web.auth import Viewer, WebAdmin, WebResponder, WebViewer
from app.web.forms import errors_of, problem_of, roll_back
from app.web.render import WebRoute, errors_list, field_errors, page, see_other

router = APIRouter(route_class=WebRoute, include_in_schema=False)
M = TypeVar("M", bound=BaseModel)


def _invalid(exc: ValidationError) -> Problem:
    """A 422 naming the fields, so the page's script shows each error at its field."""
    return Problem(
        422,
        "Please check your input",
        field_errors(exc),
        type_="/problems/validation",
        errors=errors_list(exc),
    )


def _parse(model: type[M], **fields: Any) -> M:
    """Validate a form's fields as `model`, or answer 422 with the field errors."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise _invalid(exc) from None


async def _form(request: Request) -> dict[str, list[str]]:
    form = await request.form()
    return {k: [str(v) for v in form.getlist(k)] for k in form}


def _one(form: dict[str, list[str]], key: str) -> str | None:
    values = [v for v in form.get(key, []) if v.strip()]
    return values[0].strip() if values else None


def _instant(value: str | None, field: str = "") -> datetime | None:
    """A `datetime-local` field, read as UTC; one that is no instant is a 422 naming it."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        message = "not a date and time"
        raise Problem(
            422,
            "Please check your input",
            f"{field}: {message}",
            type_="/problems/validation",
            errors=[{"field": field, "message": message}],
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=utcnow().tzinfo)


@dataclass(frozen=True)
class PageForm:
    """A status page loaded (404 if missing) for a viewer whose role may change it, with the
    form they submitted: the one load-and-authorize step of every form below a page."""

    session: AsyncSession
    page: StatusPage
    page_id: UUID  # kept apart: the page's attributes expire when a refusal rolls back
    viewer: Viewer
    form: dict[str, list[str]]

    def one(self, key: str) -> str | None:
        return _one(self.form, key)

    def many(self, key: str) -> list[str]:
        """The chosen values of a multiple choice (ids, validated by the model)."""
        return [v for v in self.form.get(key, []) if v]

    def back_url(self, anchor: str) -> str:
        return f"/status-pages/{self.page_id}#{anchor}"

    def back(self, anchor: str) -> Response:
        """Back to the page's section, as after every change on it."""
        return see_other(self.back_url(anchor))


async def _page_form(
    request: Request, session: AsyncSession, viewer: Viewer, page_id: UUID
) -> PageForm:
    sp = await pages.get_page(session=session, page_id=page_id)
    return PageForm(session, sp, page_id, viewer, await _form(request))


async def _admin_form(
    request: Request, session: SessionDep, viewer: WebAdmin, page_id: UUID
) -> PageForm:
    return await _page_form(request, session, viewer, page_id)


async def _responder_form(
    request: Request, session: SessionDep, viewer: WebResponder, page_id: UUID
) -> PageForm:
    return await _page_form(request, session, viewer, page_id)


AdminForm = Annotated[PageForm, Depends(_admin_form)]
ResponderForm = Annotated[PageForm, Depends(_responder_form)]


@router.get("/status-pages", response_class=HTMLResponse)
async def list_page(request: Request, session: SessionDep, viewer: WebViewer) -> Response:
    """List status pages; admins add one here."""
    rows, _ = await pages.list_pages(session=session, limit=500)
    return page(request, "status_pages.html", viewer, pages=rows)


@router.post("/status-pages")
async def create(request: Request, session: SessionDep, viewer: WebAdmin) -> Response:
    form = await _form(request)
    page_in = _parse(
        StatusPageCreate,
        name=_one(form, "name") or "",
        slug=_one(form, "slug") or "",
        visibility=_one(form, "visibility") or "public",
        auto_publish_severity=_one(form, "auto_publish_severity"),
        auto_publish_mode=_one(form, "auto_publish_mode") or "draft",
    )
    created = await pages.create_page(session=session, page_in=page_in, actor=viewer.actor)
    return see_other(f"/status-pages/{created.id}")


@router.get("/status-pages/{page_id}", response_class=HTMLResponse)
async def detail(
    request: Request, session: SessionDep, settings: SettingsDep, viewer: WebViewer, page_id: UUID
) -> Response:
    """One page: components with their computed status, incidents, maintenances, subscribers."""
    return await _detail(request, session, settings, viewer, page_id)


async def _detail(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    viewer: Viewer,
    page_id: UUID,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
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
        status_code=status_code,
        sp=view,
        incidents=incidents,
        maintenances=maintenances,
        services={str(s.id): s.name for s in services},
        subscribers=subs,
        deliveries=deliveries,
        **extra,
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
async def add_component(on: AdminForm) -> Response:
    component_in = _parse(
        ComponentIn,
        name=on.one("name") or "",
        description=on.one("description"),
        group=on.one("group"),
        service_ids=on.many("service_ids"),
    )
    await pages.add_component(
        session=on.session, page_id=on.page_id, component_in=component_in, actor=on.viewer.actor
    )
    return on.back("components")


@router.post("/status-pages/{page_id}/components/{component_id}/pin")
async def pin(on: AdminForm, component_id: UUID) -> Response:
    """Pin a status (optionally until an instant), or unpin with an empty choice."""
    status = on.one("status_override")
    update = _parse(
        ComponentUpdate,
        status_override=status,
        until=_instant(on.one("until"), "until") if status else None,
    )
    await pages.update_component(
        session=on.session,
        page_id=on.page_id,
        component_id=component_id,
        component_in=update,
        actor=on.viewer.actor,
    )
    return on.back("components")


@router.post("/status-pages/{page_id}/incidents")
async def create_incident(on: ResponderForm) -> Response:
    incident_in = _parse(
        PageIncidentCreate,
        name=on.one("name") or "",
        body=on.one("body") or "",
        status=on.one("status") or "investigating",
        impact=on.one("impact"),
        component_ids=on.many("component_ids"),
        published=on.one("published") == "on",
    )
    await page_incidents.create_incident(
        session=on.session, page_id=on.page_id, incident_in=incident_in, actor=on.viewer.actor
    )
    return on.back("incidents")


@router.post("/status-pages/{page_id}/incidents/{incident_id}/updates")
async def add_update(on: ResponderForm, incident_id: UUID) -> Response:
    update_in = _parse(UpdateCreate, status=on.one("status"), body=on.one("body") or "")
    await page_incidents.add_update(
        session=on.session,
        page_id=on.page_id,
        incident_id=incident_id,
        update_in=update_in,
        actor=on.viewer.actor,
    )
    return on.back("incidents")


@router.post("/status-pages/{page_id}/incidents/{incident_id}/publish")
async def publish(on: ResponderForm, incident_id: UUID) -> Response:
    await page_incidents.patch_incident(
        session=on.session,
        page_id=on.page_id,
        incident_id=incident_id,
        patch=PageIncidentPatch(published=True),
        actor=on.viewer.actor,
    )
    return on.back("incidents")


@router.post("/status-pages/{page_id}/maintenances")
async def schedule(request: Request, settings: SettingsDep, on: AdminForm) -> Response:
    maintenance_in = _parse(
        MaintenanceCreate,
        name=on.one("name") or "",
        body=on.one("body") or "",
        component_ids=on.many("component_ids"),
        scheduled_for=_instant(on.one("scheduled_for"), "scheduled_for"),
        scheduled_until=_instant(on.one("scheduled_until"), "scheduled_until"),
    )
    m = await page_incidents.create_maintenance(
        session=on.session, page_id=on.page_id, maintenance_in=maintenance_in, actor=on.viewer.actor
    )
    client = await request.app.state.temporal.get()
    await timers.start_maintenance(client=client, settings=settings, m=m)
    return on.back("maintenances")


@router.post("/status-pages/{page_id}/maintenances/{maintenance_id}/cancel")
async def cancel(request: Request, on: AdminForm, maintenance_id: UUID) -> Response:
    m = await page_incidents.cancel_maintenance(
        session=on.session, page_id=on.page_id, maintenance_id=maintenance_id, actor=on.viewer.actor
    )
    if m.suppress_paging:  # its window over the services ends too
        await paging.release_paging(
            session=on.session,
            client=await request.app.state.temporal.get(),
            settings=request.app.state.settings,
            m=m,
            actor=on.viewer.actor,
        )
    await on.session.commit()
    if m.workflow_id:
        client = await request.app.state.temporal.get()
        await timers.cancel_maintenance(client=client, workflow_id=m.workflow_id)
    return on.back("maintenances")


@router.post("/status-pages/{page_id}/subscribers")
async def add_subscriber(request: Request, settings: SettingsDep, on: AdminForm) -> Response:
    """Add a subscriber; a refusal shows the page again with the errors at the form's fields
    and what was typed (not a script's form: a webhook's secret is a page of its own)."""
    typed = {"type": on.one("type") or "", "address": on.one("address") or ""}
    try:
        _, secret = await subscribers.add_subscriber(
            session=on.session,
            page_id=on.page_id,
            subscriber_in=_parse(SubscriberCreate, **typed),
            actor=on.viewer.actor,
            allow_private=settings.allow_private_targets,
        )
    except (Problem, DomainError) as exc:
        await roll_back(on.session, on.viewer)
        return await _detail(
            request,
            on.session,
            settings,
            on.viewer,
            on.page_id,
            problem_of(exc).status,
            sub_errors=errors_of(exc),
            sub_typed=typed,
        )
    if secret:  # shown this once
        return page(
            request, "status_secret.html", on.viewer, secret=secret, back=on.back_url("subscribers")
        )
    return on.back("subscribers")


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
    partner_in = _parse(
        PartnerCreate,
        name=_one(form, "name") or "",
        email=_one(form, "email") or "",
        status_page_ids=[v for v in form.get("status_page_ids", []) if v],
    )
    await partners.create_partner(session=session, partner_in=partner_in, actor=viewer.actor)
    return see_other("/partners")


@router.post("/partners/{partner_id}/delete")
async def delete_partner(session: SessionDep, viewer: WebAdmin, partner_id: UUID) -> Response:
    await partners.delete_partner(session=session, partner_id=partner_id, actor=viewer.actor)
    return see_other("/partners")
