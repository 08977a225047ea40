"""HTTP routes for the escalation preview and incident reports."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from app.db import utcnow
from app.deps import CurrentUser, SessionDep
from app.insight import preview as previews
from app.insight import reports
from app.insight import service as insight
from app.schedules.shifts import check_instant, check_range

router = APIRouter(prefix="/api/v1", tags=["insight"])


class PreviewStepPublic(BaseModel):
    at: datetime
    level: int
    cycle: int
    user_id: UUID
    user_name: str
    contact_method: UUID | None
    channel: str
    via: Literal["user", "schedule", "team"]
    target_id: UUID
    delay_seconds: float


@router.get("/services/{service_id}/escalation-preview", response_model=list[PreviewStepPublic])
async def escalation_preview(
    session: SessionDep,
    _: CurrentUser,
    service_id: UUID,
    at: datetime | None = None,
    urgency: Literal["high", "low"] | None = None,
) -> list[PreviewStepPublic]:
    """Return who would be notified, when and how, if an incident opened at `at` (default now)
    and nobody acknowledged; `urgency` defaults to the service's."""
    instant = check_instant(at or utcnow(), "at")
    found = await previews.preview(
        session=session, service_id=service_id, at=instant, urgency=urgency
    )
    return [PreviewStepPublic.model_validate(asdict(s)) for s in found.steps]


class ReportRowPublic(BaseModel):
    key: str
    service_id: UUID | None = None
    team_id: UUID | None = None
    user_id: UUID | None = None
    count: int
    mtta_p50: float | None
    mtta_p90: float | None
    mttr_p50: float | None
    mttr_p90: float | None
    out_of_hours_pages: int


class LoadPublic(BaseModel):
    user_id: UUID
    key: str
    timezone: str
    pages: int
    out_of_hours_pages: int


class NoisyPublic(BaseModel):
    service_id: UUID
    key: str
    incidents: int
    alerts: int


class IncidentReportPublic(BaseModel):
    since: datetime
    until: datetime
    group_by: reports.GroupBy
    data: list[ReportRowPublic]
    on_call_load: list[LoadPublic]
    noisiest_services: list[NoisyPublic]


REPORT_DEFAULT = timedelta(days=30)


def report_range(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    """Return the report's range in UTC (default: the 30 days up to now); since > until is 422."""
    end = until or utcnow()
    return check_range(since or end - REPORT_DEFAULT, end)


def report_public(report: reports.Report) -> IncidentReportPublic:
    """Return the API shape of a report: each row names its id by what it groups."""
    return IncidentReportPublic(
        since=report.since,
        until=report.until,
        group_by=report.group_by,
        data=[
            ReportRowPublic.model_validate({**asdict(r), f"{report.group_by}_id": r.id})
            for r in report.data
        ],
        on_call_load=[LoadPublic.model_validate(asdict(x)) for x in report.load],
        noisiest_services=[NoisyPublic.model_validate(asdict(x)) for x in report.noisiest],
    )


@router.get(
    "/reports/incidents",
    response_model=IncidentReportPublic,
    responses={200: {"content": {"text/csv": {}}}},
)
async def incident_report(
    request: Request,
    session: SessionDep,
    _: CurrentUser,
    since: datetime | None = None,
    until: datetime | None = None,
    group_by: reports.GroupBy = "service",
    format: Literal["json", "csv"] | None = None,
) -> IncidentReportPublic | Response:
    """Return counts, MTTA and MTTR (p50, p90, seconds) and out-of-hours pages of the
    incidents opened in [since, until), by service, team or user; CSV with `format=csv` or
    `Accept: text/csv`."""
    start, end = report_range(since, until)
    found = await insight.report(session=session, since=start, until=end, group_by=group_by)
    wants_csv = format == "csv" or (
        format is None and "text/csv" in request.headers.get("accept", "")
    )
    if wants_csv:
        name = f"incidents-by-{group_by}-{start:%Y%m%d}-{end:%Y%m%d}.csv"
        return Response(
            reports.to_csv(found),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return report_public(found)
