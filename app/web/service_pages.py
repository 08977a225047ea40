"""Service pages: services, their settings, and integrations with URLs and keys to copy."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import service as catalog
from app.catalog.models import Service, ServiceCreate, ServiceStatus, ServiceUpdate
from app.config import Settings
from app.deps import SessionDep, SettingsDep
from app.errors import DomainError
from app.escalation import service as escalation
from app.identity import service as identity
from app.ingest import service as ingest
from app.ingest.models import IntegrationCreate, IntegrationPublic, IntegrationType
from app.maintenance import service as maintenance
from app.problems import Problem
from app.web.auth import Viewer, WebAdmin, WebViewer
from app.web.forms import errors_of, problem_of, roll_back
from app.web.lookups import lookups
from app.web.render import WebRoute, page, parse_uuid, see_other

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/services", response_class=HTMLResponse)
async def services_page(request: Request, session: SessionDep, viewer: WebViewer) -> Response:
    """List services, with a form to add one (admins)."""
    rows, _ = await catalog.list_services(session=session, limit=500)
    policies, _ = await escalation.list_policies(session=session, limit=500)
    teams, _ = await identity.list_teams(session=session, limit=500)
    return page(
        request,
        "services.html",
        viewer,
        services=rows,
        policies=policies,
        teams=teams,
        names=await lookups(session),
    )


@router.post("/services")
async def create_service(
    session: SessionDep,
    viewer: WebAdmin,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    escalation_policy_id: Annotated[str, Form(max_length=40)] = "",
    team_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Create a service; no policy chosen means the team's default."""
    service_in = ServiceCreate(
        name=name.strip(),
        escalation_policy_id=(
            parse_uuid(escalation_policy_id, "escalation policy") if escalation_policy_id else None
        ),
        team_id=parse_uuid(team_id, "team") if team_id else None,
    )
    created = await catalog.create_service(
        session=session, service_in=service_in, actor=viewer.actor
    )
    return see_other(f"/services/{created.id}")


@router.get("/services/{service_id}", response_class=HTMLResponse)
async def service_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: WebViewer,
    service_id: UUID,
    done: str | None = None,
) -> Response:
    """Show a service with its integrations: URLs and keys to paste into monitoring tools."""
    svc = await catalog.get_service(session=session, service_id=service_id)
    return await _service_page(request, session, settings, viewer, svc, done=done)


async def _service_page(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    viewer: Viewer,
    svc: Service,
    **extra: Any,
) -> HTMLResponse:
    rows, _ = await ingest.list_integrations(session=session, service_id=svc.id)
    return page(
        request,
        "service.html",
        viewer,
        service=svc,
        view=await catalog.service_view(session=session, service=svc),
        maintenance=[
            maintenance.public(w)
            for w in await maintenance.list_windows(
                session=session, service_id=svc.id, current=True
            )
        ],
        presets=[15, 30, 60, 120, 240],
        held_alerts=await maintenance.alerts_in_active_windows(session=session, service_id=svc.id),
        integrations=[_shown_to(viewer, ingest.public(i, settings)) for i in rows],
        types=[t.value for t in IntegrationType],
        names=await lookups(session),
        statuses=[st.value for st in ServiceStatus],
        **extra,
    )


KEY_MASK = "•" * 8


def _shown_to(viewer: Viewer, integration: IntegrationPublic) -> IntegrationPublic:
    """Mask an integration's key and the URL carrying it for anyone but an admin.

    A key lets its holder open and resolve incidents of the service (a PagerDuty
    `event_action: resolve` silences a live page), so only admins, who may rotate it, see it.
    """
    if viewer.is_admin:
        return integration
    return integration.model_copy(
        update={"key": KEY_MASK, "url": integration.url.replace(integration.key, KEY_MASK)}
    )


@router.post("/services/{service_id}", response_class=HTMLResponse)
async def update_service(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: WebAdmin,
    service_id: UUID,
    name: Annotated[str, Form(max_length=200)] = "",
    status: Annotated[str, Form(max_length=32)] = "",
    escalation_policy_id: Annotated[str, Form(max_length=40)] = "",
    team_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Change a service's name, escalation policy, team or status.

    A refusal shows the service again with the errors at the edit form's fields, and the
    form keeps what was typed.
    """
    typed = {
        "name": name,
        "status": status,
        "escalation_policy_id": escalation_policy_id,
        "team_id": team_id,
    }
    try:
        service_in = ServiceUpdate.model_validate(
            {
                "name": name.strip(),
                "escalation_policy_id": escalation_policy_id or None,
                "team_id": team_id or None,
                "status": status,
            }
        )
        await catalog.update_service(
            session=session, service_id=service_id, service_in=service_in, actor=viewer.actor
        )
    except (Problem, DomainError, ValidationError) as exc:
        code = 422 if isinstance(exc, ValidationError) else problem_of(exc).status
        if code == 404 and not isinstance(exc, ValidationError):
            raise  # no such service: the error page
        await roll_back(session, viewer)
        errors = errors_of(exc)
        if code == 409:  # the one unique field of the form: its name
            errors = [{"field": "name", "message": e["message"]} for e in errors]
        svc = await catalog.get_service(session=session, service_id=service_id)
        response = await _service_page(
            request, session, settings, viewer, svc, edit_errors=errors, typed=typed
        )
        response.status_code = code
        return response
    return see_other(f"/services/{service_id}?done=saved")


@router.post("/services/{service_id}/integrations", response_class=HTMLResponse)
async def create_integration(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: WebAdmin,
    service_id: UUID,
    type: Annotated[str, Form(max_length=32)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Add an integration; a generic webhook's signing secret is shown this once.

    A refusal shows the service again with the errors at the form's fields, keeping what was
    typed.
    """
    svc = await catalog.get_service(session=session, service_id=service_id)
    try:
        integration_in = IntegrationCreate.model_validate({"type": type, "name": name.strip()})
    except ValidationError as exc:
        response = await _service_page(
            request,
            session,
            settings,
            viewer,
            svc,
            int_errors=errors_of(exc),
            int_typed={"type": type, "name": name},
        )
        response.status_code = 422
        return response
    created = await ingest.create(
        session=session,
        settings=settings,
        integration_in=integration_in,
        actor=viewer.actor,
        service_id=service_id,
    )
    return await _service_page(request, session, settings, viewer, svc, created=created)
