"""HTTP routes for services."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from app.catalog import dependencies, service
from app.catalog.models import (
    DependencyIn,
    Graph,
    GraphDirection,
    ServiceCreate,
    ServicePublic,
    ServiceStatus,
    ServiceUpdate,
)
from app.deps import AdminUser, CurrentUser, SessionDep, actor_of
from app.models_common import Page

router = APIRouter(prefix="/api/v1/services", tags=["catalog"])


@router.get("", response_model=Page[ServicePublic])
async def list_services(
    session: SessionDep,
    _: CurrentUser,
    team_id: UUID | None = None,
    status_: ServiceStatus | None = Query(default=None, alias="status"),
    q: str | None = Query(default=None, max_length=200),
    limit: int = Query(default=100, ge=1, le=500),
    offset: int = Query(default=0, ge=0),
) -> Page[ServicePublic]:
    """List services, filtered by team, status or a name fragment."""
    services, total = await service.list_services(
        session=session, team_id=team_id, status=status_, q=q, limit=limit, offset=offset
    )
    return Page(
        data=[await service.service_view(session=session, service=s) for s in services],
        count=total,
    )


@router.post("", response_model=ServicePublic, status_code=status.HTTP_201_CREATED)
async def create_service(
    session: SessionDep, admin: AdminUser, service_in: ServiceCreate
) -> ServicePublic:
    """Create a service (admins only)."""
    created = await service.create_service(
        session=session, service_in=service_in, actor=actor_of(admin)
    )
    return await service.service_view(session=session, service=created)


@router.get("/{service_id}", response_model=ServicePublic)
async def get_service(session: SessionDep, _: CurrentUser, service_id: UUID) -> ServicePublic:
    """Return one service."""
    found = await service.get_service(session=session, service_id=service_id)
    return await service.service_view(session=session, service=found)


@router.patch("/{service_id}", response_model=ServicePublic)
async def update_service(
    session: SessionDep, admin: AdminUser, service_id: UUID, service_in: ServiceUpdate
) -> ServicePublic:
    """Change a service (admins only); the routing key cannot change."""
    updated = await service.update_service(
        session=session, service_id=service_id, service_in=service_in, actor=actor_of(admin)
    )
    return await service.service_view(session=session, service=updated)


@router.delete("/{service_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_service(session: SessionDep, admin: AdminUser, service_id: UUID) -> Response:
    """Delete a service without incidents (admins only)."""
    await service.delete_service(session=session, service_id=service_id, actor=actor_of(admin))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{service_id}/dependencies", status_code=status.HTTP_201_CREATED)
async def add_dependency(
    session: SessionDep, admin: AdminUser, service_id: UUID, body: DependencyIn
) -> dict[str, UUID]:
    """Record that the service depends on another (admins); 409 naming a cycle it would close."""
    await dependencies.add_dependency(
        session=session, service_id=service_id, depends_on=body.depends_on, actor=actor_of(admin)
    )
    return {"service_id": service_id, "depends_on": body.depends_on}


@router.delete("/{service_id}/dependencies/{depends_on}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_dependency(
    session: SessionDep, admin: AdminUser, service_id: UUID, depends_on: UUID
) -> Response:
    """Remove a dependency (admins)."""
    await dependencies.remove_dependency(
        session=session, service_id=service_id, depends_on=depends_on, actor=actor_of(admin)
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{service_id}/graph", response_model=Graph)
async def graph(
    session: SessionDep,
    _: CurrentUser,
    service_id: UUID,
    direction: GraphDirection = GraphDirection.both,
    depth: int = Query(default=3, ge=1, le=dependencies.MAX_DEPTH),
) -> Graph:
    """The service and its neighbours up to `depth` edges away; an edge `from` depends on `to`."""
    return await dependencies.graph(
        session=session, service_id=service_id, direction=direction, depth=depth
    )
