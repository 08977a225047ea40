"""Deterministic workflow code; registered by worker.py."""

from workflows.incident import IncidentWorkflow

WORKFLOWS = [IncidentWorkflow]

__all__ = ["WORKFLOWS", "IncidentWorkflow"]
