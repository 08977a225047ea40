"""Deterministic workflow code; registered by worker.py."""

from workflows.action_item import ActionItemReminderWorkflow
from workflows.heartbeat import HeartbeatWorkflow
from workflows.incident import IncidentWorkflow

WORKFLOWS = [IncidentWorkflow, ActionItemReminderWorkflow, HeartbeatWorkflow]

__all__ = ["WORKFLOWS", "ActionItemReminderWorkflow", "HeartbeatWorkflow", "IncidentWorkflow"]
