"""Every workflow the worker registers (worker.py, the tests' workers, bench)."""

from workflows.action_item import ActionItemReminderWorkflow
from workflows.announcement import AnnouncementWorkflow
from workflows.automation import AutomationRunWorkflow
from workflows.heartbeat import HeartbeatWorkflow
from workflows.incident import IncidentWorkflow
from workflows.maintenance import MaintenanceWorkflow
from workflows.maintenance_window import MaintenanceWindowWorkflow
from workflows.partners import PartnerAuditRetentionWorkflow, PartnerLinkWorkflow
from workflows.runbook_run import RunbookRunWorkflow
from workflows.statuspage import StatusPageWorkflow

WORKFLOWS = [
    IncidentWorkflow,
    ActionItemReminderWorkflow,
    MaintenanceWorkflow,
    StatusPageWorkflow,
    AnnouncementWorkflow,
    PartnerLinkWorkflow,
    PartnerAuditRetentionWorkflow,
    RunbookRunWorkflow,
    HeartbeatWorkflow,
    MaintenanceWindowWorkflow,
    AutomationRunWorkflow,
]

__all__ = [
    "WORKFLOWS",
    "ActionItemReminderWorkflow",
    "AnnouncementWorkflow",
    "AutomationRunWorkflow",
    "HeartbeatWorkflow",
    "IncidentWorkflow",
    "MaintenanceWindowWorkflow",
    "MaintenanceWorkflow",
    "PartnerAuditRetentionWorkflow",
    "PartnerLinkWorkflow",
    "RunbookRunWorkflow",
    "StatusPageWorkflow",
]
