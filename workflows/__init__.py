"""Deterministic workflow code; registered by worker.py."""

from workflows.announcement import AnnouncementWorkflow
from workflows.incident import IncidentWorkflow
from workflows.maintenance import MaintenanceWorkflow
from workflows.partners import PartnerAuditRetentionWorkflow, PartnerLinkWorkflow
from workflows.statuspage import StatusPageWorkflow

WORKFLOWS = [
    IncidentWorkflow,
    MaintenanceWorkflow,
    StatusPageWorkflow,
    AnnouncementWorkflow,
    PartnerLinkWorkflow,
    PartnerAuditRetentionWorkflow,
]

__all__ = [
    "WORKFLOWS",
    "AnnouncementWorkflow",
    "IncidentWorkflow",
    "MaintenanceWorkflow",
    "PartnerAuditRetentionWorkflow",
    "PartnerLinkWorkflow",
    "StatusPageWorkflow",
]
