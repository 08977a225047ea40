"""Incident reports: the arithmetic on hand-made incidents, the API, CSV and bad ranges."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from app.catalog.models import Service
from app.config import Settings
from app.db import SessionMaker
from app.identity.models import Role, User
from app.incidents.models import Incident, TimelineEvent
from app.insight.reports import out_of_hours, percentile
from tests import incident_helpers as h
from tests.factories import assert_problem, login, make_user

T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)  # a Monday, 10:00 UTC


def test_percentiles_interpolate_like_percentile_cont() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 90) == 7.0
    assert percentile([60.0, 120.0, 300.0, 600.0], 50) == 210.0
    assert percentile([60.0, 120.0, 300.0, 600.0], 90) == 510.0  # 300 + 0.7 * 300


def test_out_of_hours_is_judged_in_the_persons_own_time_zone() -> None:
    assert not out_of_hours(T0, "UTC")
    assert out_of_hours(T0, "Asia/Tokyo")  # 19:00 in Tokyo
    assert out_of_hours(T0.replace(hour=8, minute=59), "UTC")
    assert not out_of_hours(T0.replace(hour=17, minute=59), "UTC")
    assert out_of_hours(T0.replace(hour=18), "UTC")
    assert out_of_hours(T0 + timedelta(days=5), "UTC")  # Saturday


async def _incident(
    sessionmaker: SessionMaker,
    svc: Service,
    opened: datetime,
    ack: float | None,
    resolve: float | None,
    paged: list[tuple[User, float]],
    alerts: int = 1,
) -> None:
    async with sessionmaker() as session:
        iid = uuid.uuid4()
        session.add(
            Incident(
                id=iid,
                title="t",
                status="resolved" if resolve else "triggered",
                severity="critical",
                urgency="high",
                service_id=svc.id,
                alert_count=alerts,
                dedup_key=str(iid),
                workflow_id=str(iid),
                run_id="r",
                created_at=opened,
                acknowledged_at=opened + timedelta(seconds=ack) if ack is not None else None,
                resolved_at=opened + timedelta(seconds=resolve) if resolve is not None else None,
            )
        )
        await session.flush()
        for n, (user, after) in enumerate(paged):
            session.add(
                TimelineEvent(
                    id=f"{iid}:{n}",
                    incident_id=iid,
                    at=opened + timedelta(seconds=after),
                    type="paged",
                    actor={"type": "system"},
                    detail={"user_id": str(user.id), "level": 1},
                )
            )
        await session.commit()


async def _world(sessionmaker: SessionMaker, settings: Settings) -> dict[str, object]:
    async with sessionmaker() as session:
        ann = await make_user(session, name="Ann", timezone="UTC")
        ken = await make_user(session, name="Ken", timezone="Asia/Tokyo")
    team = await h.team(sessionmaker, [ann])
    policy = await h.policy(sessionmaker, settings, [h.level(300, ann)])
    checkout = await h.service(sessionmaker, policy, team_id=uuid.UUID(team))
    search = await h.service(sessionmaker, policy)
    # checkout: acknowledged after 60, 120, 300 s; resolved after 600, 1200 s; one still open.
    await _incident(sessionmaker, checkout, T0, 60, 600, [(ann, 0)], alerts=3)
    await _incident(
        sessionmaker, checkout, T0 + timedelta(hours=1), 120, 1200, [(ann, 0), (ken, 300)]
    )
    await _incident(sessionmaker, checkout, T0 + timedelta(hours=10), 300, None, [(ann, 0)])
    # search: one incident paged to Ken at 10:00 UTC (19:00 in Tokyo: out of hours).
    await _incident(sessionmaker, search, T0, None, 30, [(ken, 0)], alerts=7)
    # Outside the range: not counted.
    await _incident(sessionmaker, search, T0 - timedelta(days=40), 1, 1, [(ann, 0)])
    return {"ann": ann, "ken": ken, "team": team, "checkout": checkout, "search": search}


RANGE = {"since": "2026-03-01T00:00:00Z", "until": "2026-03-08T00:00:00Z"}


async def test_report_by_service_counts_and_percentiles(
    client: httpx.AsyncClient, sessionmaker: SessionMaker, settings: Settings
) -> None:
    w = await _world(sessionmaker, settings)
    me = await login(sessionmaker, role=Role.observer)
    r = await client.get(
        "/api/v1/reports/incidents", params={**RANGE, "group_by": "service"}, headers=me.headers
    )
    assert r.status_code == 200, r.text
    body = r.json()
    checkout, search = body["data"]
    assert checkout["service_id"] == str(w["checkout"].id) and checkout["count"] == 3  # type: ignore[attr-defined]
    assert (checkout["mtta_p50"], checkout["mtta_p90"]) == (120.0, 264.0)  # 120 + 0.8 * 180
    assert (checkout["mttr_p50"], checkout["mttr_p90"]) == (900.0, 1140.0)
    # Ann's page at 20:00 UTC (T0 + 10 h) is out of hours; Ken's at 11:05 UTC is 20:05 in Tokyo.
    assert checkout["out_of_hours_pages"] == 2
    assert (search["count"], search["mtta_p50"], search["mttr_p50"]) == (1, None, 30.0)
    assert search["out_of_hours_pages"] == 1
    assert [(s["key"], s["incidents"], s["alerts"]) for s in body["noisiest_services"]] == [
        (w["checkout"].name, 3, 5),
        (w["search"].name, 1, 7),  # type: ignore[attr-defined]
    ]
    load = {x["key"]: (x["pages"], x["out_of_hours_pages"]) for x in body["on_call_load"]}
    assert load == {"Ann": (3, 1), "Ken": (2, 2)}


async def test_report_by_user_and_team(
    client: httpx.AsyncClient, sessionmaker: SessionMaker, settings: Settings
) -> None:
    w = await _world(sessionmaker, settings)
    me = await login(sessionmaker, role=Role.observer)
    url = "/api/v1/reports/incidents"
    by_user = (
        await client.get(url, params={**RANGE, "group_by": "user"}, headers=me.headers)
    ).json()
    rows = {x["key"]: x for x in by_user["data"]}
    assert rows["Ann"]["user_id"] == str(w["ann"].id)  # type: ignore[attr-defined]
    assert (rows["Ann"]["count"], rows["Ann"]["mtta_p50"], rows["Ann"]["out_of_hours_pages"]) == (
        3,
        120.0,
        1,
    )
    assert (rows["Ken"]["count"], rows["Ken"]["mtta_p50"], rows["Ken"]["mttr_p90"]) == (
        2,
        120.0,
        1083.0,
    )
    by_team = (
        await client.get(url, params={**RANGE, "group_by": "team"}, headers=me.headers)
    ).json()
    assert [(x["team_id"], x["count"]) for x in by_team["data"]] == [(w["team"], 3), (None, 1)]
    assert by_team["data"][1]["key"] == "no team"


async def test_report_csv_and_bad_ranges(
    client: httpx.AsyncClient, sessionmaker: SessionMaker, settings: Settings
) -> None:
    w = await _world(sessionmaker, settings)
    me = await login(sessionmaker, role=Role.observer)
    url = "/api/v1/reports/incidents"
    for extra, headers in (({"format": "csv"}, {}), ({}, {"Accept": "text/csv"})):
        r = await client.get(url, params={**RANGE, **extra}, headers={**me.headers, **headers})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert "attachment" in r.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert rows[0] == {
            "service": w["checkout"].name,
            "id": str(w["checkout"].id),
            "count": "3",  # type: ignore[attr-defined]
            "mtta_p50": "120.0",
            "mtta_p90": "264.0",
            "mttr_p50": "900.0",
            "mttr_p90": "1140.0",
            "out_of_hours_pages": "2",
        }
        assert rows[1]["mtta_p50"] == ""
    backwards = {"since": RANGE["until"], "until": RANGE["since"]}
    assert_problem(await client.get(url, params=backwards, headers=me.headers), 422)
    assert_problem(await client.get(url, params={"since": "last week"}, headers=me.headers), 422)
    assert_problem(await client.get(url, params={"group_by": "planet"}, headers=me.headers), 422)
    assert_problem(await client.get(url, params=RANGE), 401)
