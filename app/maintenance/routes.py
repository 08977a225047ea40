"""HTTP routes of maintenance windows (responders and admins create; everyone reads)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from app.deps import CurrentUser, SessionDep, SettingsDep, TemporalDep, actor_of
from app.errors import Forbidden
from app.identity.models import Role, User
from app.maintenance import service
from app.maintenance.models import (
    MaintenanceWindowCreate,
    MaintenanceWindowPublic,
    MaintenanceWindowUpdate,
)
from app.models_common import Page

router = APIRouter(prefix="/api/v1/maintenance-windows", tags=["catalog"])


def _may_change(user: User) -> None:
    if user.role not in (Role.admin, Role.responder):
        raise Forbidden("only responders and admins manage maintenance windows")


@router.get("", response_model=Page[MaintenanceWindowPublic])
async def list_windows(
    session: SessionDep, _: CurrentUser, service_id: UUID | None = None, current: bool = False
) -> Page[MaintenanceWindowPublic]:
    """List windows, newest first; `current=true`: active or upcoming only."""
    rows = await service.list_windows(session=session, service_id=service_id, current=current)
    return Page(data=[service.public(w) for w in rows], count=len(rows))


@router.post("", response_model=MaintenanceWindowPublic, status_code=status.HTTP_201_CREATED)
async def create_window(
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    user: CurrentUser,
    body: MaintenanceWindowCreate,
) -> MaintenanceWindowPublic:
    """Schedule a window (start absent: now); 422 when it ends before it starts."""
    _may_change(user)
    window = await service.create_window(
        session=session, client=client, settings=settings, window_in=body, actor=actor_of(user)
    )
    return service.public(window)


@router.get("/{window_id}", response_model=MaintenanceWindowPublic)
async def get_window(
    session: SessionDep, _: CurrentUser, window_id: UUID
) -> MaintenanceWindowPublic:
    return service.public(await service.get_window(session=session, window_id=window_id))


@router.patch("/{window_id}", response_model=MaintenanceWindowPublic)
async def update_window(
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    user: CurrentUser,
    window_id: UUID,
    body: MaintenanceWindowUpdate,
) -> MaintenanceWindowPublic:
    """Move the start or end, or change the reason."""
    _may_change(user)
    window = await service.update_window(
        session=session,
        client=client,
        settings=settings,
        window_id=window_id,
        window_in=body,
        actor=actor_of(user),
    )
    return service.public(window)


@router.delete("/{window_id}", response_model=MaintenanceWindowPublic)
async def end_window(
    session: SessionDep,
    settings: SettingsDep,
    client: TemporalDep,
    user: CurrentUser,
    window_id: UUID,
) -> MaintenanceWindowPublic:
    """End the window now (or cancel it before it starts); the row stays for the record."""
    _may_change(user)
    window = await service.end_window(
        session=session, client=client, settings=settings, window_id=window_id, actor=actor_of(user)
    )
    return service.public(window)
