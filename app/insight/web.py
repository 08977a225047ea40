"""Web pages of insight: "test this policy" (the escalation preview) and incident reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlencode
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from app.catalog import service as catalog
from app.deps import SessionDep
from app.errors import invalid
from app.escalation import service as escalation
from app.insight import preview as previews
from app.insight import reports
from app.insight import service as insight
from app.insight.routes import report_range
from app.schedules.shifts import check_instant
from app.web.auth import Viewer, WebViewer
from app.web.render import WebRoute, duration, page

router = APIRouter(route_class=WebRoute, include_in_schema=False)

Urgency = Literal["high", "low"]


def local_instant(value: str | None, viewer: Viewer, field: str) -> datetime:
    """Read a `datetime-local` form value in the viewer's zone (now when empty)."""
    if not value:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise invalid([{"field": field, "message": "not a date and time"}]) from None
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


# --- reports ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    width: float  # of CHART_WIDTH
    shown: str


@dataclass(frozen=True)
class Chart:
    title: str
    bars: list[Bar]


CHART_WIDTH = 320.0  # of a 600-wide chart: labels 180, bars, then the value


def chart(title: str, items: list[tuple[str, float | None]], unit: str = "") -> Chart:
    """Return a horizontal bar chart of (label, value); a missing value draws no bar."""
    top = max((v for _, v in items if v is not None), default=0.0)
    return Chart(
        title,
        [
            Bar(
                label,
                (v / top * CHART_WIDTH) if top and v else 0.0,
                "—" if v is None else (duration(v) if unit == "duration" else f"{v:g}"),
            )
            for label, v in items
        ],
    )


def report_charts(report: reports.Report) -> list[Chart]:
    """Return the charts of the reports page."""
    rows = report.data[:15]
    return [
        chart("Incidents", [(r.key, r.count) for r in rows]),
        chart("Time to acknowledge (p50)", [(r.key, r.mtta_p50) for r in rows], "duration"),
        chart("Time to resolve (p50)", [(r.key, r.mttr_p50) for r in rows], "duration"),
        chart(
            "Out-of-hours pages per person",
            [(x.key, x.out_of_hours_pages) for x in report.load[:15]],
        ),
        chart("Noisiest services (alerts)", [(n.key, n.alerts) for n in report.noisiest]),
    ]


def _date(value: str | None, viewer: Viewer, field: str) -> datetime | None:
    return local_instant(value, viewer, field) if value else None


@router.get("/reports", response_class=HTMLResponse)
async def reports_page(
    request: Request,
    session: SessionDep,
    viewer: WebViewer,
    since: str | None = None,
    until: str | None = None,
    group_by: reports.GroupBy = "service",
) -> Response:
    """Show incident counts, MTTA/MTTR and on-call load over a range, with charts."""
    start, end = report_range(_date(since, viewer, "since"), _date(until, viewer, "until"))
    found = await insight.report(session=session, since=start, until=end, group_by=group_by)
    query = urlencode(
        {
            "since": start.isoformat(),
            "until": end.isoformat(),
            "group_by": group_by,
            "format": "csv",
        }
    )
    return page(
        request,
        "reports.html",
        viewer,
        report=found,
        charts=report_charts(found),
        csv_url=f"/api/v1/reports/incidents?{query}",
        chart_width=CHART_WIDTH,
    )
