"""Start and cancel the workflow that moves a maintenance along its durable timers."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from app.config import Settings
from app.errors import Unavailable
from app.statuspages.models import PageIncident
from workflows.statuspage_types import MaintenanceInput

WORKFLOW = "MaintenanceWorkflow"


async def start_maintenance(*, client: Client, settings: Settings, m: PageIncident) -> None:
    """Start the maintenance's workflow; durable when it returns (else a 503, nothing stored)."""
    assert m.scheduled_for is not None and m.scheduled_until is not None and m.workflow_id
    remind = timedelta(seconds=m.remind_before_seconds) if m.remind_before_seconds else None
    try:
        await client.start_workflow(
            WORKFLOW,
            MaintenanceInput(
                maintenance_id=str(m.id),
                page_id=str(m.page_id),
                scheduled_for=m.scheduled_for,
                scheduled_until=m.scheduled_until,
                remind_before=remind,
            ),
            id=m.workflow_id,
            task_queue=settings.temporal_task_queue,
            static_summary=f"Maintenance: {m.name}"[:400],
            static_details=(
                f"Scheduled for {m.scheduled_for.isoformat()} until "
                f"{m.scheduled_until.isoformat()}."
            ),
        )
    except RPCError as exc:
        raise Unavailable(
            f"Temporal did not accept the maintenance's timers: {exc.message}", retry_after=5
        ) from exc


async def cancel_maintenance(*, client: Client, workflow_id: str) -> None:
    """Cancel the maintenance's workflow; one that has ended already is fine."""
    try:
        await client.get_workflow_handle(workflow_id).cancel()
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
