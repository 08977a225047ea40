"""The incident as automations see it: the template context and the facts conditions test."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.automations.templating import Labels
from app.catalog.models import Service
from app.config import Settings
from app.identity.models import Team
from app.incidents.models import Alert, Incident
from app.temporal import workflow_url
from workflows.automation_types import Facts


def labels_of(details: dict[str, Any] | None) -> dict[str, str]:
    """Return an alert's labels (Alertmanager/Grafana `labels`, else string custom details)."""
    details = details or {}
    raw = details.get("labels")
    if not isinstance(raw, dict):
        custom = details.get("custom_details")
        raw = custom if isinstance(custom, dict) else {}
    return {str(k): str(v) for k, v in raw.items() if isinstance(v, str | int | float | bool)}


async def first_alert(session: AsyncSession, incident_id: UUID) -> Alert | None:
    """Return the incident's first alert."""
    return await session.scalar(
        select(Alert)
        .where(col(Alert.incident_id) == incident_id)
        .order_by(col(Alert.received_at))
        .limit(1)
    )


async def load(
    session: AsyncSession, settings: Settings, incident: Incident
) -> tuple[dict[str, Any], Facts]:
    """Return the incident's template context (`incident`) and its facts."""
    service = await session.get(Service, incident.service_id)
    team = await session.get(Team, service.team_id) if service and service.team_id else None
    alert = await first_alert(session, incident.id)
    labels = labels_of(alert.details if alert else None)

    def iso(value: Any) -> str | None:
        return value.isoformat() if value else None

    ctx = {
        "id": str(incident.id),
        "number": incident.number,
        "title": incident.title,
        "status": incident.status,
        "severity": incident.severity,
        "urgency": incident.urgency,
        "url": f"{settings.base_url}/incidents/{incident.id}",
        "temporal_url": workflow_url(settings, incident.workflow_id, incident.run_id),
        "escalation_level": incident.escalation_level,
        "created_at": iso(incident.created_at),
        "acknowledged_at": iso(incident.acknowledged_at),
        "resolved_at": iso(incident.resolved_at),
        "service": {"id": str(incident.service_id), "name": service.name if service else ""},
        "team": {"id": str(team.id) if team else None, "name": team.name if team else None},
        "alert": {
            "summary": alert.summary if alert else incident.title,
            "source": alert.source if alert else None,
            "labels": Labels(labels),
        },
    }
    facts = Facts(
        severity=incident.severity,
        urgency=incident.urgency,
        service_id=str(incident.service_id),
        team_id=str(team.id) if team else None,
        title=incident.title,
        escalation_level=incident.escalation_level,
        status=incident.status,
        labels=labels,
    )
    return ctx, facts
