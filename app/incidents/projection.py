"""Idempotent writes of the incident projection; called only by the workflow's activities.

Every write is safe to repeat: rows have deterministic ids, and the incident row carries the
workflow's version so a retried or late write never moves it backwards.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app import metrics
from app.db import table, utcnow
from app.incidents.models import Alert, Incident, Notification, TimelineEvent
from workflows.incident_types import AlertIn, AlertRef, Projection, TimelineEventIn

NOTIFY_CHANNEL = "pagefree_incidents"
ALERTS = table(Alert)
INCIDENTS = table(Incident)
NOTIFICATIONS = table(Notification)
EVENTS = table(TimelineEvent)


async def notify(session: AsyncSession, incident_id: str, kind: str, **extra: Any) -> None:
    """Tell live UIs (LISTEN pagefree_incidents) that an incident changed; sent on commit."""
    payload = _notice(incident_id, kind, **extra)
    await session.execute(text("SELECT pg_notify(:c, :p)"), {"c": NOTIFY_CHANNEL, "p": payload})


def _notice(incident_id: str, kind: str, **extra: Any) -> str:
    """Return the payload live UIs hear on NOTIFY_CHANNEL (`notify`, `record_delivery`)."""
    return json.dumps({"incident_id": incident_id, "kind": kind, **extra}, default=str)


# Statements built once, not per call: building one and its cache key showed in the worker's
# profile (docs/benchmarks.md, "One round trip per page recorded").
_INSERT_EVENTS = insert(EVENTS).on_conflict_do_nothing().returning(EVENTS.c.type, EVENTS.c.at)


async def insert_events(
    session: AsyncSession, incident_id: str, events: list[TimelineEventIn]
) -> None:
    """Insert timeline events; ones already written are skipped."""
    if not events:
        return
    rows = [_event_row(incident_id, e) for e in events]
    # Rows as parameters, not `.values(rows)`: SQLAlchemy caches no multi-row VALUES statement
    # and compiled one anew for every call (docs/benchmarks.md, "Multi-row inserts are compiled
    # once"). So do insert_alerts and stage_alerts.
    written = await session.execute(_INSERT_EVENTS, rows)
    metrics.events_recorded((type_, at) for type_, at in written.all() if at is not None)


def _event_row(incident_id: str, e: TimelineEventIn) -> dict[str, Any]:
    """Return a timeline event as its row (`insert_events`, `record_delivery`)."""
    return {
        "id": e.id,
        "incident_id": UUID(incident_id),
        "at": e.at,
        "position": e.position,
        "type": e.type,
        "actor": e.actor.model_dump(mode="json"),
        "detail": _jsonable(e.detail),
    }


def alert_row_id(incident_id: str, alert: AlertIn) -> str:
    """Return the id of an alert's row: one per event, or one per `alert_key` and incident."""
    if alert.alert_key is None:
        return alert.id
    return _keyed_row_id(incident_id, alert.alert_key)


def _keyed_row_id(incident_id: str, alert_key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"pagefree:alert:{incident_id}:{alert_key}"))


async def insert_alerts(session: AsyncSession, incident_id: str, alerts: list[AlertIn]) -> None:
    """Insert alert rows; a repeated id (a retry, or a re-sent keyed alert) updates its row."""
    if not alerts:
        return
    rows: dict[str, dict[str, Any]] = {}
    for a in alerts:
        row_id = alert_row_id(incident_id, a)
        first = rows.get(row_id)
        # One statement cannot update a row twice: the latest event of a key wins.
        rows[row_id] = {
            "id": row_id,
            "incident_id": UUID(incident_id),
            "action": a.action,
            "summary": a.summary,
            "severity": a.severity,
            "source": a.source,
            "dedup_key": a.dedup_key,
            "integration_id": a.integration_id,
            "details": _jsonable(a.details),
            "received_at": first["received_at"] if first else a.received_at,
        }
    await session.execute(_UPSERT_ALERTS, list(rows.values()))


_ALERT = insert(ALERTS)
_UPSERT_ALERTS = _ALERT.on_conflict_do_update(
    index_elements=["id"],
    set_={
        "incident_id": _ALERT.excluded.incident_id,
        "summary": _ALERT.excluded.summary,
        "severity": _ALERT.excluded.severity,
        "source": _ALERT.excluded.source,
        "details": _ALERT.excluded.details,
    },
    # An id is never moved to another incident. A staged row is taken: its staging may have
    # committed although the sender timed out and sent the alert whole.
    where=(ALERTS.c.incident_id == _ALERT.excluded.incident_id) | ALERTS.c.incident_id.is_(None),
)
_STAGE_ALERTS = insert(ALERTS).on_conflict_do_nothing(index_elements=["id"])


def _alert_row(a: AlertIn, incident_id: UUID | None) -> dict[str, Any]:
    return {
        "id": a.id,
        "incident_id": incident_id,
        "action": a.action,
        "summary": a.summary,
        "severity": a.severity,
        "source": a.source,
        "dedup_key": a.dedup_key,
        "integration_id": a.integration_id,
        "details": _jsonable(a.details),
        "received_at": a.received_at,
    }


async def stage_alerts(session: AsyncSession, alerts: list[AlertIn]) -> None:
    """Write trigger rows before their incident takes them (incident_id NULL: staged).

    The incident's workflow then attaches them by id (`attach_alerts`), so an alert's
    payload is written here once and never carried in Temporal history. A staged row whose
    signal never reached a workflow is pruned after STAGED_RETENTION.
    """
    if alerts:
        await session.execute(_STAGE_ALERTS, [_alert_row(a, None) for a in alerts])


async def attach_alerts(session: AsyncSession, incident_id: str, refs: list[AlertRef]) -> None:
    """Give staged alert rows to their incident; safe to repeat (the same transaction).

    An alert without `alert_key` keeps its row. A keyed alert's row id is the incident's
    row for that key (`alert_row_id`): the first event of a key creates it, the latest one's
    summary, severity, source and details win, and the staged rows are removed.
    """
    if not refs:
        return
    incident = UUID(incident_id)
    plain = [i for r in refs if r.alert_key is None for i in (r.id, *r.repeats)]
    if plain:
        await session.execute(
            text(
                "UPDATE alerts SET incident_id = :inc WHERE id = ANY(:ids) AND incident_id IS NULL"
            ),
            {"inc": incident, "ids": plain},
        )
    keyed: dict[str, list[str]] = {}
    for r in refs:
        if r.alert_key is not None:
            keyed.setdefault(_keyed_row_id(incident_id, r.alert_key), []).extend([r.id, *r.repeats])
    if not keyed:
        return
    targets = list(keyed)
    firsts = [ids[0] for ids in keyed.values()]
    lasts = [ids[-1] for ids in keyed.values()]
    params = {"inc": incident, "targets": targets, "firsts": firsts, "lasts": lasts}
    await session.execute(
        text(
            "INSERT INTO alerts (id, incident_id, action, summary, severity, source, dedup_key,"
            " integration_id, details, received_at)"
            " SELECT k.target, :inc, s.action, s.summary, s.severity, s.source, s.dedup_key,"
            " s.integration_id, s.details, s.received_at"
            " FROM unnest(CAST(:targets AS text[]), CAST(:firsts AS text[])) AS k(target, staged)"
            " JOIN alerts s ON s.id = k.staged AND s.incident_id IS NULL"
            " ON CONFLICT (id) DO NOTHING"
        ),
        params,
    )
    await session.execute(
        text(
            "UPDATE alerts t SET summary = s.summary, severity = s.severity, source = s.source,"
            " details = s.details"
            " FROM unnest(CAST(:targets AS text[]), CAST(:lasts AS text[])) AS k(target, staged)"
            " JOIN alerts s ON s.id = k.staged AND s.incident_id IS NULL"
            " WHERE t.id = k.target AND t.incident_id = :inc"
        ),
        params,
    )
    staged = [i for ids in keyed.values() for i in ids]
    await session.execute(
        text("DELETE FROM alerts WHERE id = ANY(:ids) AND incident_id IS NULL"), {"ids": staged}
    )


async def prune_staged(session: AsyncSession, older_than: datetime) -> None:
    """Delete staged rows no workflow took (their hand-off failed; the sender was told so)."""
    await session.execute(
        text("DELETE FROM alerts WHERE incident_id IS NULL AND received_at < :t"),
        {"t": older_than},
    )


def _jsonable(value: dict[str, Any]) -> dict[str, Any]:
    plain: dict[str, Any] = json.loads(json.dumps(value, default=str))
    return plain


_OPEN_INCIDENT = (
    insert(INCIDENTS).on_conflict_do_nothing(index_elements=["id"]).returning(INCIDENTS.c.number)
)


async def open_incident(
    *,
    session: AsyncSession,
    incident_id: str,
    workflow_id: str,
    run_id: str,
    service_id: str,
    dedup_key: str,
    title: str,
    severity: str,
    urgency: str,
    policy_id: str,
    opened_at: datetime,
    alerts: list[AlertIn],
    events: list[TimelineEventIn],
    assigned_to: list[str] | None = None,
    alert_refs: list[AlertRef] | None = None,
) -> int:
    """Insert the incident row (once) with its first alert and events; return its number."""
    row = {
        "id": UUID(incident_id),
        "title": title,
        "status": "triggered",
        "severity": severity,
        "urgency": urgency,
        "service_id": UUID(service_id),
        "escalation_policy_id": UUID(policy_id),
        "escalation_level": 1,
        "assigned_to": [UUID(u) for u in assigned_to or []],
        "alert_count": len(alerts) + sum(1 + len(r.repeats) for r in alert_refs or []),
        "dedup_key": dedup_key,
        "workflow_id": workflow_id,
        "run_id": run_id,
        "created_at": opened_at,
        "updated_at": utcnow(),
        "version": 0,
    }
    number = await session.scalar(_OPEN_INCIDENT, row)
    if number is not None:
        metrics.incident_opened(severity)
    if number is None:  # a retry: the row is there already
        number = await session.scalar(
            text("SELECT number FROM incidents WHERE id = :id"), {"id": UUID(incident_id)}
        )
    await insert_alerts(session, incident_id, alerts)
    await attach_alerts(session, incident_id, alert_refs or [])
    await insert_events(session, incident_id, events)
    await notify(session, incident_id, "opened", number=number, status="triggered")
    return int(number)


_FIELDS = {
    "status",
    "severity",
    "escalation_level",
    "escalation_policy_id",
    "assigned_to",
    "alert_count",
    "acknowledged_at",
    "acknowledged_by",
    "resolved_at",
    "resolved_by",
    "snoozed_until",
}
_TIMES = {"acknowledged_at", "resolved_at", "snoozed_until"}


async def record(*, session: AsyncSession, projection: Projection) -> None:
    """Apply a projection: newer fields, new alerts and new timeline events."""
    values: dict[str, Any] = {}
    for key, value in projection.fields.items():
        if key not in _FIELDS:
            raise ValueError(f"unknown incident field {key}")
        if key in _TIMES and isinstance(value, str):
            value = datetime.fromisoformat(value)
        elif key == "assigned_to":
            value = [UUID(v) for v in value]
        elif key == "escalation_policy_id" and value is not None:
            value = UUID(value)
        values[key] = value
    await insert_alerts(session, projection.incident_id, projection.alerts)
    await attach_alerts(session, projection.incident_id, projection.alert_refs)
    await insert_events(session, projection.incident_id, projection.events)
    if values:
        sets = ", ".join(f"{k} = :{k}" for k in values)
        await session.execute(
            text(
                f"UPDATE incidents SET {sets}, version = :version, updated_at = now() "  # noqa: S608 - keys are whitelisted
                "WHERE id = :id AND version < :version"
            ),
            {**values, "version": projection.version, "id": UUID(projection.incident_id)},
        )
    await notify(
        session,
        projection.incident_id,
        "updated",
        status=projection.fields.get("status"),
        events=[e.type for e in projection.events],
    )


# A delivery-log row, its timeline event and the live-UI notice in one statement, so a page
# costs one round trip to record (docs/benchmarks.md, "One round trip per page recorded"):
# the event and the notice only when the row is new. `first_alert` is set when this is the
# incident's first page sent (its alert → page latency); other rows of the incident are
# visible to the statement, its own row is not.
_DELIVERY = text(
    """
    WITH written AS (
        INSERT INTO notifications (id, idempotency_key, incident_id, user_id, level, channel,
            provider, address, status, attempt, provider_id, message, error, created_at,
            sent_at)
        VALUES (:id, :key, :incident, :user, :level, :channel, :provider, :address, :status,
            :attempt, :provider_id, :message, :error, :at, :sent_at)
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING id
    ), event AS (
        INSERT INTO timeline_events (id, incident_id, at, position, type, actor, detail)
        SELECT CAST(:event_id AS text), :incident, CAST(:event_at AS timestamptz),
            CAST(:event_position AS bigint), CAST(:event_type AS text),
            CAST(:event_actor AS jsonb), CAST(:event_detail AS jsonb)
        FROM written WHERE CAST(:event_id AS text) IS NOT NULL
        ON CONFLICT DO NOTHING
        RETURNING id
    )
    SELECT
        EXISTS (SELECT FROM written) AS written,
        EXISTS (SELECT FROM event) AS event_written,
        (SELECT min(received_at) FROM alerts
            WHERE :sent AND incident_id = :incident AND EXISTS (SELECT FROM written)
            AND NOT EXISTS (SELECT FROM notifications n WHERE n.incident_id = :incident
                AND n.status IN ('sent', 'delivered'))) AS first_alert,
        (SELECT pg_notify(:notify_channel, :notice) FROM written) AS notified
    """
)


async def record_delivery(
    *,
    session: AsyncSession,
    idempotency_key: str,
    incident_id: str,
    user_id: str,
    level: int,
    channel: str,
    provider: str,
    address: str | None,
    status: str,
    message: str,
    error: str | None,
    provider_id: str | None,
    at: datetime,
    event: TimelineEventIn | None,
    attempt: int = 1,
    sent_at: datetime | None = None,
) -> tuple[str, bool]:
    """Write a delivery-log row and its timeline event once; return (id, newly written)."""
    row_id = uuid.uuid5(uuid.NAMESPACE_URL, f"pagefree:notification:{idempotency_key}")
    sent = status in ("sent", "delivered")
    row = _event_row(incident_id, event) if event else None
    params: dict[str, Any] = {
        "id": row_id,
        "key": idempotency_key,
        "incident": UUID(incident_id),
        "user": UUID(user_id),
        "level": level,
        "channel": channel,
        "provider": provider,
        "address": address,
        "status": status,
        "attempt": attempt,
        "provider_id": provider_id,
        "message": message,
        "error": error,
        "at": at,
        "sent_at": (sent_at or at) if sent else None,
        "sent": sent,
        "event_id": row["id"] if row else None,
        "event_at": row["at"] if row else None,
        "event_position": row["position"] if row else 0,
        "event_type": row["type"] if row else None,
        "event_actor": json.dumps(row["actor"]) if row else None,
        "event_detail": json.dumps(row["detail"]) if row else None,
        "notify_channel": NOTIFY_CHANNEL,
        "notice": _notice(incident_id, "notified", channel=channel, status=status),
    }
    written, event_written, first_alert, _ = (await session.execute(_DELIVERY, params)).one()
    if written:
        metrics.notification_recorded(channel, status)
        if first_alert is not None:
            metrics.first_page(first_alert, sent_at or at)
        if event is not None and event_written:
            metrics.events_recorded([(event.type, event.at)])
    return str(row_id), written
