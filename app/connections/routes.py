"""HTTP routes for connections (admins only); secrets are accepted, never returned."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response

from app.connections import service
from app.connections.models import (
    ConnectionCreate,
    ConnectionPublic,
    ConnectionTest,
    ConnectionUpdate,
)
from app.deps import AdminUser, SessionDep, SettingsDep, actor_of
from app.models_common import Page

router = APIRouter(prefix="/api/v1/connections", tags=["connections"])


@router.get("", response_model=Page[ConnectionPublic])
async def list_connections(session: SessionDep, _: AdminUser) -> Page[ConnectionPublic]:
    """List connections (without secrets)."""
    rows = await service.list_connections(session=session)
    return Page(data=[service.public(c) for c in rows], count=len(rows))


@router.post("", response_model=ConnectionPublic, status_code=201)
async def create_connection(
    session: SessionDep, settings: SettingsDep, admin: AdminUser, connection_in: ConnectionCreate
) -> ConnectionPublic:
    """Store a connection; its secrets are encrypted and never shown again."""
    created = await service.create(
        session=session, settings=settings, connection_in=connection_in, actor=actor_of(admin)
    )
    return service.public(created)


@router.get("/{connection_id}", response_model=ConnectionPublic)
async def get_connection(
    session: SessionDep, _: AdminUser, connection_id: UUID
) -> ConnectionPublic:
    """Return one connection (without secrets)."""
    return service.public(await service.get(session=session, connection_id=connection_id))


@router.patch("/{connection_id}", response_model=ConnectionPublic)
async def update_connection(
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminUser,
    connection_id: UUID,
    connection_in: ConnectionUpdate,
) -> ConnectionPublic:
    """Rename or reconfigure; secrets left out are kept."""
    updated = await service.update(
        session=session,
        settings=settings,
        connection_id=connection_id,
        connection_in=connection_in,
        actor=actor_of(admin),
    )
    return service.public(updated)


@router.delete("/{connection_id}", status_code=204)
async def delete_connection(session: SessionDep, admin: AdminUser, connection_id: UUID) -> Response:
    """Delete a connection."""
    await service.delete(session=session, connection_id=connection_id, actor=actor_of(admin))
    return Response(status_code=204)


@router.post("/{connection_id}/test", response_model=ConnectionTest)
async def test_connection(
    session: SessionDep, settings: SettingsDep, admin: AdminUser, connection_id: UUID
) -> ConnectionTest:
    """Try the connection's credentials against its provider."""
    return await service.test(
        session=session, settings=settings, connection_id=connection_id, actor=actor_of(admin)
    )
