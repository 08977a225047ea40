"""The audit log for admins: who changed what, filtered by actor, entity, action and time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlmodel import col

from app.audit import service as audit
from app.audit.models import AuditEvent
from app.deps import SessionDep
from app.identity import service as identity
from app.web.auth import WebAdmin
from app.web.lookups import lookups
from app.web.render import WebRoute, page

router = APIRouter(route_class=WebRoute, include_in_schema=False)
PAGE_SIZE = 50


def _local(value: str | None, tz: str, field: str, errors: list[dict[str, str]]) -> datetime | None:
    """Parse a datetime-local filter given in the viewer's zone."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        errors.append({"field": field, "message": "not a date and time"})
        return None
    return parsed.replace(tzinfo=ZoneInfo(tz)) if parsed.tzinfo is None else parsed


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(
    request: Request,
    session: SessionDep,
    viewer: WebAdmin,
    actor_id: Annotated[str, Query(max_length=64)] = "",
    entity_type: Annotated[str, Query(max_length=32)] = "",
    entity_id: Annotated[str, Query(max_length=64)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    since: Annotated[str, Query(max_length=40)] = "",
    until: Annotated[str, Query(max_length=40)] = "",
    before: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """List audit events, newest first, PAGE_SIZE at a time."""
    errors: list[dict[str, str]] = []
    tz = viewer.user.timezone
    start = _local(since, tz, "since", errors)
    end = _local(until, tz, "until", errors)
    events = (
        []
        if errors
        else await audit.list_events(
            session=session,
            actor_id=actor_id.strip() or None,
            entity_type=entity_type or None,
            entity_id=entity_id.strip() or None,
            action=action.strip() or None,
            since=start,
            until=end,
            before_id=before,
            limit=PAGE_SIZE,
        )
    )
    filters = {
        "actor_id": actor_id,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "action": action,
        "since": since,
        "until": until,
    }
    more = None
    if len(events) == PAGE_SIZE:
        more = "?" + urlencode({**{k: v for k, v in filters.items() if v}, "before": events[-1].id})
    users, _ = await identity.list_users(session=session, limit=1000)
    types = (await session.scalars(select(col(AuditEvent.entity_type)).distinct())).all()
    actions = (await session.scalars(select(col(AuditEvent.action)).distinct())).all()
    names = await lookups(session)
    names["escalation_policy"] = names["policy"]
    return page(
        request,
        "audit.html",
        viewer,
        events=events,
        filters=filters,
        errors=errors,
        more=more,
        users=users,
        entity_types=sorted(types),
        actions=sorted(actions),
        names=names,
    )
