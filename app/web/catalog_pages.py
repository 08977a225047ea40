"""Catalog pages: the dependency graph drawn as a server-rendered SVG."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse

from app.catalog import dependencies
from app.catalog import service as catalog
from app.catalog.layout import NODE_H, NODE_W, layout
from app.catalog.models import GraphDirection
from app.db import utcnow
from app.deps import SessionDep, SettingsDep, TemporalDep
from app.errors import invalid
from app.maintenance import service as maintenance
from app.maintenance.models import PRESETS, MaintenanceWindowCreate
from app.web.auth import WebAdmin, WebResponder, WebViewer
from app.web.render import WebRoute, page, parse_uuid, see_other

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/services/{service_id}/graph", response_class=HTMLResponse)
async def service_graph_page(
    request: Request,
    session: SessionDep,
    viewer: WebViewer,
    service_id: UUID,
    direction: GraphDirection = GraphDirection.both,
    depth: int = Query(default=3, ge=1, le=dependencies.MAX_DEPTH),
) -> Response:
    """Draw a service's neighbourhood in the dependency graph; each node links to its service."""
    svc = await catalog.get_service(session=session, service_id=service_id)
    graph = await dependencies.graph(
        session=session, service_id=service_id, direction=direction, depth=depth
    )
    upstream = await dependencies.graph(
        session=session, service_id=service_id, direction=GraphDirection.upstream, depth=1
    )
    services, _ = await catalog.list_services(session=session, limit=500)
    return page(
        request,
        "graph.html",
        viewer,
        service=svc,
        drawing=layout(graph),
        node_w=NODE_W,
        node_h=NODE_H,
        direction=direction.value,
        depth=depth,
        max_depth=dependencies.MAX_DEPTH,
        directions=[d.value for d in GraphDirection],
        depends_on=[n for n in upstream.nodes if n.id != service_id],
        services=[s for s in services if s.id != service_id],
    )


@router.get("/catalog/graph", response_class=HTMLResponse)
async def catalog_graph_page(request: Request, session: SessionDep, viewer: WebViewer) -> Response:
    """Draw every service and dependency."""
    return page(
        request,
        "graph.html",
        viewer,
        service=None,
        drawing=layout(await dependencies.whole_graph(session)),
        node_w=NODE_W,
        node_h=NODE_H,
    )


@router.post("/services/{service_id}/dependencies")
async def add_dependency(
    session: SessionDep,
    viewer: WebAdmin,
    service_id: UUID,
    depends_on: Annotated[str, Form(max_length=40)],
) -> Response:
    """Add a dependency from the graph page."""
    await dependencies.add_dependency(
        session=session,
        service_id=service_id,
        depends_on=parse_uuid(depends_on, "service"),
        actor=viewer.actor,
    )
    return see_other(f"/services/{service_id}/graph")


@router.post("/services/{service_id}/dependencies/{depends_on}/delete")
async def remove_dependency(
    session: SessionDep, viewer: WebAdmin, service_id: UUID, depends_on: UUID
) -> Response:
    """Remove a dependency from the graph page."""
    await dependencies.remove_dependency(
        session=session, service_id=service_id, depends_on=depends_on, actor=viewer.actor
    )
    return see_other(f"/services/{service_id}/graph")


PRESET_MINUTES = {int(p.total_seconds() // 60) for p in PRESETS}


@router.post("/services/{service_id}/maintenance")
async def start_maintenance(
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    viewer: WebResponder,
    service_id: UUID,
    minutes: Annotated[int, Form()],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Put a service in maintenance from now for one of the presets (15 min to 4 h)."""
    if minutes not in PRESET_MINUTES:
        raise invalid([{"field": "minutes", "message": "choose one of the presets"}])
    await catalog.get_service(session=session, service_id=service_id)
    now = utcnow()
    await maintenance.create_window(
        session=session,
        client=client,
        settings=settings,
        window_in=MaintenanceWindowCreate(
            service_ids=[service_id],
            starts_at=now,
            ends_at=now + timedelta(minutes=minutes),
            reason=reason,
        ),
        actor=viewer.actor,
    )
    return see_other(f"/services/{service_id}?done=maintenance")


@router.post("/maintenance-windows/{window_id}/end")
async def end_maintenance(
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    viewer: WebResponder,
    window_id: UUID,
    service_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """End a maintenance window now."""
    await maintenance.end_window(
        session=session, client=client, settings=settings, window_id=window_id, actor=viewer.actor
    )
    back = f"/services/{parse_uuid(service_id, 'service')}" if service_id else "/services"
    return see_other(back)
