"""The delivery log's one-statement write: the row, its timeline event, the live-UI notice and
the alert → first page latency, each once however often a step's record is repeated."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import text

from app import metrics
from app.config import Settings
from app.db import SessionMaker
from app.incidents import projection
from tests.postmortems.helpers import service
from workflows.incident_types import Actor, AlertIn, TimelineEventIn

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
async def incident_id(sessionmaker: SessionMaker, settings: Settings) -> str:
    """An open incident whose first alert arrived at T0."""
    service_id = await service(sessionmaker, settings, f"svc-{uuid.uuid4().hex[:6]}")
    incident_id = str(uuid.uuid4())
    alert = AlertIn(id="a-1", summary="Disk full", dedup_key="disk", received_at=T0)
    async with sessionmaker() as session:
        policy = await session.scalar(
            text("SELECT escalation_policy_id FROM services WHERE id = :id"), {"id": service_id}
        )
        await projection.open_incident(
            session=session, incident_id=incident_id, workflow_id=f"incident-{incident_id}",
            run_id="run", service_id=str(service_id), dedup_key="disk", title="Disk full",
            severity="critical", urgency="high", policy_id=str(policy), opened_at=T0,
            alerts=[alert], events=[],
        )  # fmt: skip
        await session.commit()
    return incident_id


@pytest.fixture
async def notices(database_url: str) -> AsyncIterator[list[dict[str, object]]]:
    """What live UIs hear on the projection's channel, as it arrives."""
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    heard: list[dict[str, object]] = []
    conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
    await conn.execute(f"LISTEN {projection.NOTIFY_CHANNEL}")

    async def listen() -> None:
        async for n in conn.notifies():
            heard.append(json.loads(n.payload))

    task = asyncio.create_task(listen())
    yield heard
    task.cancel()
    await conn.close()


async def _record(
    sessionmaker: SessionMaker, incident_id: str, key: str, status: str, *, event: bool
) -> tuple[str, bool]:
    at = T0 + timedelta(seconds=1)
    async with sessionmaker() as session:
        written = await projection.record_delivery(
            session=session, idempotency_key=key, incident_id=incident_id,
            user_id=str(uuid.uuid4()), level=1, channel="sms", provider="twilio",
            address="+15550100", status=status, message="Disk full", error=None,
            provider_id=f"SM{key}", at=at, sent_at=at + timedelta(seconds=2),
            event=TimelineEventIn(
                id=f"{key}:notified", at=at, position=3, type="notified", actor=Actor(),
                detail={"channel": "sms", "when": at},
            ) if event else None,
        )  # fmt: skip
        await session.commit()
    return written


def _latency_count() -> float:
    [family] = metrics.PAGE_LATENCY.collect()
    return next(s.value for s in family.samples if s.name.endswith("_count"))


async def test_a_page_is_recorded_once_with_its_event_notice_and_latency(
    sessionmaker: SessionMaker, incident_id: str, notices: list[dict[str, object]]
) -> None:
    before = _latency_count()
    row_id, written = await _record(sessionmaker, incident_id, "k-1", "sent", event=True)
    assert written
    again_id, again = await _record(sessionmaker, incident_id, "k-1", "sent", event=True)
    assert (again_id, again) == (row_id, False)
    async with sessionmaker() as session:
        rows = (
            await session.execute(
                text("SELECT status, sent_at, attempt FROM notifications WHERE incident_id = :i"),
                {"i": uuid.UUID(incident_id)},
            )
        ).all()
        events = (
            await session.execute(
                text("SELECT id, position, detail FROM timeline_events WHERE incident_id = :i"),
                {"i": uuid.UUID(incident_id)},
            )
        ).all()
    assert rows == [("sent", T0 + timedelta(seconds=3), 1)]
    [(event_id, position, detail)] = [e for e in events if e[0].startswith("k-1")]
    assert (event_id, position) == ("k-1:notified", 3)
    assert detail == {"channel": "sms", "when": str(T0 + timedelta(seconds=1))}
    # The first page sent is the incident's latency, measured once.
    assert _latency_count() == before + 1
    await _record(sessionmaker, incident_id, "k-2", "sent", event=True)
    assert _latency_count() == before + 1
    for _ in range(50):
        if len(notices) >= 2:
            break
        await asyncio.sleep(0.05)
    notice = {"incident_id": incident_id, "kind": "notified", "channel": "sms", "status": "sent"}
    assert notices == [notice, notice]


async def test_a_failed_attempt_is_logged_without_an_event_or_latency(
    sessionmaker: SessionMaker, incident_id: str
) -> None:
    before = _latency_count()
    _, written = await _record(sessionmaker, incident_id, "k-3", "failed", event=False)
    assert written
    async with sessionmaker() as session:
        status = await session.scalar(
            text("SELECT status FROM notifications WHERE idempotency_key = 'k-3'")
        )
        events = await session.scalar(
            text("SELECT count(*) FROM timeline_events WHERE id LIKE 'k-3%'")
        )
    assert (status, events) == ("failed", 0)
    assert _latency_count() == before
