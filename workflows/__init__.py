"""Deterministic workflow code; registered by worker.py."""

from workflows.incident import IncidentWorkflow
from workflows.maintenance import MaintenanceWorkflow
from workflows.statuspage import StatusPageWorkflow

WORKFLOWS = [IncidentWorkflow, MaintenanceWorkflow, StatusPageWorkflow]

__all__ = ["WORKFLOWS", "IncidentWorkflow", "MaintenanceWorkflow", "StatusPageWorkflow"]
