"""Deterministic workflow code; registered by worker.py."""

from workflows.action_item import ActionItemReminderWorkflow
from workflows.heartbeat import HeartbeatWorkflow
from workflows.incident import IncidentWorkflow
from workflows.maintenance import MaintenanceWindowWorkflow

WORKFLOWS = [
    IncidentWorkflow,
    ActionItemReminderWorkflow,
    HeartbeatWorkflow,
    MaintenanceWindowWorkflow,
]

__all__ = ["WORKFLOWS", "ActionItemReminderWorkflow", "HeartbeatWorkflow", "IncidentWorkflow",
    "MaintenanceWindowWorkflow",
]
