"""Deterministic workflow code; registered by worker.py."""

from workflows.incident import IncidentWorkflow
from workflows.maintenance import MaintenanceWorkflow

WORKFLOWS = [IncidentWorkflow, MaintenanceWorkflow]

__all__ = ["WORKFLOWS", "IncidentWorkflow", "MaintenanceWorkflow"]
