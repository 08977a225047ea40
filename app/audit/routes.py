"""HTTP route for reading the audit log (admins only)."""

from __future__ import annotations

from fastapi import APIRouter, Query
from pydantic import BaseModel

from app.audit import service
from app.audit.models import AuditEventPublic
from app.deps import AdminUser, SessionDep

router = APIRouter(prefix="/api/v1", tags=["audit"])


class AuditPage(BaseModel):
    data: list[AuditEventPublic]
    next_cursor: str | None


@router.get("/audit", response_model=AuditPage)
async def list_audit(
    session: SessionDep,
    _: AdminUser,
    entity_type: str | None = Query(default=None, max_length=32),
    entity_id: str | None = Query(default=None, max_length=64),
    actor_id: str | None = Query(default=None, max_length=64),
    cursor: int | None = Query(default=None, ge=1, description="next_cursor of the previous page"),
    limit: int = Query(default=100, ge=1, le=500),
) -> AuditPage:
    """List audit events, newest first."""
    events = await service.list_events(
        session=session,
        entity_type=entity_type,
        entity_id=entity_id,
        actor_id=actor_id,
        before_id=cursor,
        limit=limit,
    )
    data = [AuditEventPublic.model_validate(e, from_attributes=True) for e in events]
    next_cursor = str(events[-1].id) if len(events) == limit else None
    return AuditPage(data=data, next_cursor=next_cursor)
