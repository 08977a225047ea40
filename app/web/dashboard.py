"""The dashboard: open incidents with filters and counts, kept live by Server-Sent Events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.background import BackgroundTask

from app.catalog import service as catalog
from app.deps import SessionDep, SettingsDep, get_sessionmaker
from app.identity import service as identity
from app.incidents import events
from app.incidents import service as incidents
from app.web import auth
from app.web.auth import Viewer, WebViewer
from app.web.render import WebRoute, names_of, page, parse_uuid
from app.web.responder import responder_summary

router = APIRouter(route_class=WebRoute, include_in_schema=False)

_STATUSES = {
    "open": ["triggered", "acknowledged"],
    "triggered": ["triggered"],
    "acknowledged": ["acknowledged"],
    "resolved": ["resolved"],
}
_ORDER = {"triggered": 0, "acknowledged": 1, "resolved": 2}
LIST_LIMIT = 200


@dataclass
class Filters:
    """The dashboard's filters, as given in the query string."""

    service_id: UUID | None = None
    team_id: UUID | None = None
    status: str = "open"
    mine: bool = False
    q: str = ""

    def query(self) -> str:
        params: dict[str, str] = {}
        if self.q:
            params["q"] = self.q
        if self.service_id:
            params["service_id"] = str(self.service_id)
        if self.team_id:
            params["team_id"] = str(self.team_id)
        if self.status != "open":
            params["status"] = self.status
        if self.mine:
            params["mine"] = "1"
        return urlencode(params)


def _filters(
    service_id: Annotated[str, Query(max_length=40)] = "",
    team_id: Annotated[str, Query(max_length=40)] = "",
    status: Annotated[str, Query(pattern="^(open|triggered|acknowledged|resolved)$")] = "open",
    mine: Annotated[bool, Query()] = False,
    q: Annotated[str, Query(max_length=200)] = "",
) -> Filters:
    # The filter form sends empty values for "all services" and "all teams".
    return Filters(
        service_id=parse_uuid(service_id, "service") if service_id else None,
        team_id=parse_uuid(team_id, "team") if team_id else None,
        status=status,
        mine=mine,
        q=q.strip(),
    )


async def _listing(session: AsyncSession, viewer: Viewer, f: Filters) -> dict[str, Any]:
    service_ids: list[UUID] | None = None
    if f.team_id:
        team_services, _ = await catalog.list_services(session=session, team_id=f.team_id)
        service_ids = [s.id for s in team_services]
    if f.service_id:
        service_ids = [f.service_id] if service_ids is None or f.service_id in service_ids else []
    mine = viewer.user.id if f.mine else None
    rows, _ = await incidents.list_incidents(
        session=session,
        status=_STATUSES[f.status],
        service_ids=service_ids,
        assigned_to=mine,
        q=f.q or None,
        limit=LIST_LIMIT,
    )
    # Triggered first (they need someone), then acknowledged; newest first within each.
    rows.sort(key=lambda i: _ORDER.get(i.status, 3))
    counts = await incidents.count_by_status(
        session=session, service_ids=service_ids, assigned_to=mine
    )
    return {
        "incidents": rows,
        "counts": counts,
        "names": await names_of(session, (uid for row in rows for uid in row.assigned_to)),
        "services": await _service_names(session),
        "truncated": len(rows) >= LIST_LIMIT,
    }


async def _service_names(session: AsyncSession) -> dict[str, str]:
    services, _ = await catalog.list_services(session=session, limit=500)
    return {str(s.id): s.name for s in services}


FiltersDep = Annotated[Filters, Depends(_filters)]


@router.get("/", response_class=HTMLResponse)
async def dashboard(
    request: Request, session: SessionDep, viewer: WebViewer, f: FiltersDep
) -> Response:
    """Show open incidents, triggered first, with filters and counts."""
    teams, _ = await identity.list_teams(session=session, limit=500)
    return page(
        request,
        "dashboard.html",
        viewer,
        filters=f,
        teams=teams,
        **await responder_summary(session, viewer),
        **await _listing(session, viewer, f),
    )


@router.get("/web/incidents", response_class=HTMLResponse)
async def incident_list_fragment(
    request: Request, session: SessionDep, viewer: WebViewer, f: FiltersDep
) -> Response:
    """Return just the incident list and counts, for the live dashboard to swap in."""
    return page(
        request, "_incident_list.html", viewer, filters=f, **await _listing(session, viewer, f)
    )


@router.get("/web/events")
async def live_events(request: Request, viewer: WebViewer, settings: SettingsDep) -> Response:
    """Stream incident changes (Server-Sent Events) to a signed-in browser while it stays so."""
    raw = request.cookies.get(auth.SESSION_COOKIE)
    sessionmaker = get_sessionmaker(request)

    async def still_signed_in() -> bool:
        async with sessionmaker() as session:
            found = await auth.lookup(session=session, settings=settings, raw=raw)
            await session.commit()
        return found is not None

    sub = events.hub_of(request.app).subscribe(viewer.user.id)
    return StreamingResponse(
        events.stream(
            sub, still_allowed=still_signed_in, recheck=settings.stream_recheck.total_seconds()
        ),
        background=BackgroundTask(sub.close),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
