"""Deterministic workflow code; registered by worker.py."""

from workflows.action_item import ActionItemReminderWorkflow
from workflows.incident import IncidentWorkflow
from workflows.runbook_run import RunbookRunWorkflow

WORKFLOWS = [IncidentWorkflow, ActionItemReminderWorkflow, RunbookRunWorkflow]

__all__ = ["WORKFLOWS", "ActionItemReminderWorkflow", "IncidentWorkflow", "RunbookRunWorkflow"]
