"""Web pages of insight: "test this policy" (the escalation preview) and incident reports."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from app.catalog import service as catalog
from app.deps import SessionDep
from app.errors import Problem
from app.escalation import service as escalation
from app.insight import preview as previews
from app.schedules.oncall import check_instant
from app.web.auth import Viewer, WebViewer
from app.web.render import WebRoute, page

router = APIRouter(route_class=WebRoute, include_in_schema=False)

Urgency = Literal["high", "low"]


def local_instant(value: str | None, viewer: Viewer, field: str) -> datetime:
    """Read a `datetime-local` form value in the viewer's zone (now when empty)."""
    if not value:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Problem(422, "Please check your input", f"{field}: not a date and time") from None
    if parsed.tzinfo is None:
        try:
            parsed = parsed.replace(tzinfo=ZoneInfo(viewer.user.timezone))
        except (KeyError, ValueError):
            parsed = parsed.replace(tzinfo=UTC)
    return check_instant(parsed, field)


@router.get("/preview/services/{service_id}", response_class=HTMLResponse)
async def service_preview_page(
    request: Request,
    session: SessionDep,
    viewer: WebViewer,
    service_id: UUID,
    at: str | None = None,
    urgency: Urgency | None = None,
) -> Response:
    """Test a service's escalation: who would be paged, when and how."""
    svc = await catalog.get_service(session=session, service_id=service_id)
    instant = local_instant(at, viewer, "at")
    found = await previews.preview(session=session, service_id=svc.id, at=instant, urgency=urgency)
    return page(
        request,
        "preview.html",
        viewer,
        subject=svc.name,
        back=f"/services/{svc.id}",
        action=f"/preview/services/{svc.id}",
        preview=found,
    )


@router.get("/preview/policies/{policy_id}", response_class=HTMLResponse)
async def policy_preview_page(
    request: Request,
    session: SessionDep,
    viewer: WebViewer,
    policy_id: UUID,
    at: str | None = None,
    urgency: Urgency = "high",
) -> Response:
    """Test an escalation policy on its own (no service's timeouts)."""
    policy = await escalation.get_policy(session=session, policy_id=policy_id)
    instant = local_instant(at, viewer, "at")
    found = await previews.preview_policy(
        session=session, policy=policy, at=instant, urgency=urgency
    )
    return page(
        request,
        "preview.html",
        viewer,
        subject=policy.name,
        back=f"/policies#p-{policy.id}",
        action=f"/preview/policies/{policy.id}",
        preview=found,
    )
