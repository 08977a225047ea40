"""Deterministic workflow code; registered by worker.py."""

from workflows.announcement import AnnouncementWorkflow
from workflows.incident import IncidentWorkflow
from workflows.maintenance import MaintenanceWorkflow
from workflows.statuspage import StatusPageWorkflow

WORKFLOWS = [IncidentWorkflow, MaintenanceWorkflow, StatusPageWorkflow, AnnouncementWorkflow]

__all__ = [
    "WORKFLOWS",
    "AnnouncementWorkflow",
    "IncidentWorkflow",
    "MaintenanceWorkflow",
    "StatusPageWorkflow",
]
