"""Deterministic workflow code; registered by worker.py."""

from workflows.action_item import ActionItemReminderWorkflow
from workflows.incident import IncidentWorkflow

WORKFLOWS = [IncidentWorkflow, ActionItemReminderWorkflow]

__all__ = ["WORKFLOWS", "ActionItemReminderWorkflow", "IncidentWorkflow"]
