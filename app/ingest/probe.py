""" "Send test alert": an alert through the same routing and hand-off as a real webhook."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from app.audit import service as audit
from app.audit.models import Actor
from app.errors import Conflict, Unavailable
from app.ingest.handoff import NotRoutable, dispatch
from app.ingest.models import Integration, TestAlertIn
from app.ingest.normalizers import Event, Normalized
from app.ingest.runtime import IngestRuntime


async def send_test_alert(
    *, session: Any, rt: IngestRuntime, integration: Integration, body: TestAlertIn, actor: Actor
) -> dict[str, Any]:
    """Hand a test alert to the integration's service; answer like a receiver does."""
    if not integration.enabled:
        raise Conflict("the integration is disabled; enable it to test it")
    rt.forget()
    snap = await rt.integration(integration.key)
    if snap is None:
        raise Conflict("the integration was just deleted")
    dedup_key = body.dedup_key or f"pagefree-test-{uuid.uuid4().hex[:12]}"
    event = Event(
        action=body.action,
        dedup_key=dedup_key,
        summary=body.summary,
        severity=body.severity,
        source="pagefree test",
        details={"test": True, "requested_by": str(actor.id)},
        service_hints=[body.service] if body.service else [],
        raw=body.model_dump(),
    )
    started = time.perf_counter()
    received_at = datetime.now(UTC)
    outcome, status, error, alerts = "accepted", 202, None, 0
    detail: dict[str, Any] = {"test": True, "dedup_keys": [dedup_key]}
    try:
        out = await dispatch(
            rt, snap, Normalized(events=[event]), fmt="test", received_at=received_at
        )
        alerts = out.alerts
        detail["workflow_ids"] = out.workflow_ids
    except NotRoutable as exc:
        outcome, status, error = "rejected", 409, str(exc)
        raise Conflict(str(exc)) from exc
    except Exception as exc:
        outcome, status, error = "unavailable", 503, str(exc)
        raise Unavailable(f"Temporal did not accept the test alert: {exc}") from exc
    finally:
        rt.deliveries.record(
            integration_id=integration.id,
            received_at=received_at,
            endpoint="test",
            outcome=outcome,
            status_code=status,
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
            alert_count=alerts,
            error=error,
            client_ip=None,
            request_id=None,
            detail=detail,
        )
    await audit.record(
        session=session,
        actor=actor,
        action="integration.test_alert",
        entity_type="integration",
        entity_id=integration.id,
        after={"dedup_key": dedup_key, "action": body.action, "workflow_ids": out.workflow_ids},
    )
    return {
        "status": "accepted",
        "alerts": out.alerts,
        "dedup_key": dedup_key,
        "workflow_ids": out.workflow_ids,
    }
