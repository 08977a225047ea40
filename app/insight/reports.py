"""Incident reports: counts, time to acknowledge and resolve, out-of-hours pages, noisy services.

Pure arithmetic over plain facts; `app.insight.service.report` reads them from the projection.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Literal
from uuid import UUID
from zoneinfo import ZoneInfo

GroupBy = Literal["service", "team", "user"]

# A page is out of hours outside Monday to Friday, 09:00 to 18:00, in the paged person's time zone.
WORK_DAYS = range(0, 5)
WORK_START, WORK_END = time(9), time(18)
NOISIEST = 10


@dataclass(frozen=True)
class IncidentFacts:
    id: UUID
    service_id: UUID
    team_id: UUID | None
    created_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    alert_count: int


@dataclass(frozen=True)
class PageFacts:
    """One person paged for an incident (a `paged` timeline event)."""

    incident_id: UUID
    user_id: UUID
    at: datetime
    timezone: str


@dataclass
class Row:
    key: str
    id: UUID | None
    count: int = 0
    mtta_p50: float | None = None
    mtta_p90: float | None = None
    mttr_p50: float | None = None
    mttr_p90: float | None = None
    out_of_hours_pages: int = 0


@dataclass(frozen=True)
class Load:
    """A person's on-call load: pages, and how many of them came out of hours."""

    user_id: UUID
    key: str
    timezone: str
    pages: int
    out_of_hours_pages: int


@dataclass(frozen=True)
class Noisy:
    service_id: UUID
    key: str
    incidents: int
    alerts: int


@dataclass
class Report:
    since: datetime
    until: datetime
    group_by: GroupBy
    data: list[Row] = field(default_factory=list)
    load: list[Load] = field(default_factory=list)
    noisiest: list[Noisy] = field(default_factory=list)


def percentile(values: Iterable[float], q: float) -> float | None:
    """Return the q-th percentile (0 to 100) by linear interpolation, as percentile_cont does
    (rounded to the millisecond)."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (rank - low), 3)


def out_of_hours(at: datetime, timezone: str) -> bool:
    """Return whether a page at `at` reached its person outside their working hours."""
    try:
        local = at.astimezone(ZoneInfo(timezone))
    except (KeyError, ValueError):
        local = at
    return local.weekday() not in WORK_DAYS or not WORK_START <= local.time() < WORK_END


def _seconds(end: datetime | None, start: datetime) -> float | None:
    return None if end is None else max(0.0, (end - start).total_seconds())


def _row(key: str, id_: UUID | None, incidents: list[IncidentFacts], late_pages: int) -> Row:
    acks = [s for i in incidents if (s := _seconds(i.acknowledged_at, i.created_at)) is not None]
    fixes = [s for i in incidents if (s := _seconds(i.resolved_at, i.created_at)) is not None]
    return Row(
        key=key,
        id=id_,
        count=len(incidents),
        mtta_p50=percentile(acks, 50),
        mtta_p90=percentile(acks, 90),
        mttr_p50=percentile(fixes, 50),
        mttr_p90=percentile(fixes, 90),
        out_of_hours_pages=late_pages,
    )


def summarize(
    *,
    since: datetime,
    until: datetime,
    group_by: GroupBy,
    incidents: list[IncidentFacts],
    pages: list[PageFacts],
    names: dict[UUID, str],
) -> Report:
    """Return the report of `incidents` (opened in the range) and their pages."""
    by_id = {i.id: i for i in incidents}
    pages = [p for p in pages if p.incident_id in by_id]
    late = [p for p in pages if out_of_hours(p.at, p.timezone)]
    groups: dict[UUID | None, dict[UUID, IncidentFacts]] = defaultdict(dict)
    late_by: dict[UUID | None, int] = defaultdict(int)
    if group_by == "user":
        for p in pages:
            groups[p.user_id][p.incident_id] = by_id[p.incident_id]
        for p in late:
            late_by[p.user_id] += 1
    else:

        def key_of(i: IncidentFacts) -> UUID | None:
            return i.service_id if group_by == "service" else i.team_id

        for i in incidents:
            groups[key_of(i)][i.id] = i
        for p in late:
            late_by[key_of(by_id[p.incident_id])] += 1
    rows = [
        _row(names.get(k, "no team") if k else "no team", k, list(g.values()), late_by[k])
        for k, g in groups.items()
    ]
    rows.sort(key=lambda r: (-r.count, r.key))
    return Report(since, until, group_by, rows, _load(pages, names), _noisiest(incidents, names))


def _load(pages: list[PageFacts], names: dict[UUID, str]) -> list[Load]:
    per: dict[UUID, list[PageFacts]] = defaultdict(list)
    for p in pages:
        per[p.user_id].append(p)
    out = [
        Load(
            uid,
            names.get(uid, str(uid)),
            ps[0].timezone,
            len(ps),
            sum(out_of_hours(p.at, p.timezone) for p in ps),
        )
        for uid, ps in per.items()
    ]
    return sorted(out, key=lambda x: (-x.out_of_hours_pages, -x.pages, x.key))


def _noisiest(incidents: list[IncidentFacts], names: dict[UUID, str]) -> list[Noisy]:
    counts: dict[UUID, list[int]] = defaultdict(lambda: [0, 0])
    for i in incidents:
        counts[i.service_id][0] += 1
        counts[i.service_id][1] += i.alert_count
    out = [Noisy(sid, names.get(sid, str(sid)), n, a) for sid, (n, a) in counts.items()]
    return sorted(out, key=lambda x: (-x.incidents, -x.alerts, x.key))[:NOISIEST]


CSV_COLUMNS = [
    "key",
    "id",
    "count",
    "mtta_p50",
    "mtta_p90",
    "mttr_p50",
    "mttr_p90",
    "out_of_hours_pages",
]


def to_csv(report: Report) -> str:
    """Return the report's rows as CSV (seconds, empty where nothing was measured)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([report.group_by if c == "key" else c for c in CSV_COLUMNS])
    for r in report.data:
        values = [
            r.key,
            r.id,
            r.count,
            r.mtta_p50,
            r.mtta_p90,
            r.mttr_p50,
            r.mttr_p90,
            r.out_of_hours_pages,
        ]
        writer.writerow(["" if v is None else _plain(v) for v in values])
    return out.getvalue()


def _plain(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.1f}"
    text = str(value)
    # A cell starting with = + - @ is a formula to spreadsheets: quote it as text.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
