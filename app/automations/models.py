"""Automations: tables (automation, immutable versions, runs, step records) and API schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Column, ForeignKey, String, Text
from sqlmodel import Field, SQLModel

from app.models_common import created_at_field, id_field, jsonb_field, timestamp_field


class Automation(SQLModel, table=True):
    __tablename__ = "automations"

    id: UUID = id_field()
    name: str = Field(max_length=200, unique=True)
    enabled: bool = True
    version: int = 1
    definition: dict[str, Any] | None = jsonb_field(nullable=False)  # the current version's
    created_at: datetime | None = created_at_field()
    updated_at: datetime | None = timestamp_field()


class AutomationVersion(SQLModel, table=True):
    """An automation as it was at one version: runs pin one, so edits never change a run."""

    __tablename__ = "automation_versions"

    automation_id: UUID = Field(
        primary_key=True, sa_column_args=[ForeignKey("automations.id", ondelete="CASCADE")]
    )
    version: int = Field(primary_key=True)
    name: str = Field(max_length=200)
    definition: dict[str, Any] | None = jsonb_field(nullable=False)
    created_by: str | None = Field(default=None, max_length=64)
    created_at: datetime | None = created_at_field()


class AutomationRun(SQLModel, table=True):
    __tablename__ = "automation_runs"

    id: UUID = Field(primary_key=True)
    automation_id: UUID = Field(index=True)
    version: int
    incident_id: UUID = Field(
        index=True, sa_column_args=[ForeignKey("incidents.id", ondelete="CASCADE")]
    )
    event: str = Field(max_length=40)
    workflow_id: str = Field(sa_column=Column(Text, nullable=False))
    key_base: str = Field(max_length=64)
    status: str = Field(sa_column=Column(String(16), nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text))
    rerun_of: UUID | None = None
    started_at: datetime | None = created_at_field()
    finished_at: datetime | None = timestamp_field()


class AutomationStep(SQLModel, table=True):
    __tablename__ = "automation_steps"

    run_id: UUID = Field(
        primary_key=True, sa_column_args=[ForeignKey("automation_runs.id", ondelete="CASCADE")]
    )
    path: str = Field(primary_key=True, max_length=200)
    position: int = 0  # order of first start within the run
    type: str = Field(max_length=32)
    status: str = Field(max_length=16)  # running | retrying | succeeded | failed | cancelled …
    attempts: int = 0
    started_at: datetime | None = timestamp_field()
    finished_at: datetime | None = timestamp_field()
    output: dict[str, Any] | None = jsonb_field()
    error: str | None = Field(default=None, sa_column=Column(Text))


# --- API schemas -----------------------------------------------------------------------------


class AutomationPublic(BaseModel):
    id: UUID
    name: str
    enabled: bool
    version: int
    trigger: dict[str, Any]
    conditions: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    run_once_per_incident: bool
    created_at: datetime
    updated_at: datetime | None


class StepPublic(BaseModel):
    path: str
    type: str
    status: str
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    output: dict[str, Any] | None = None
    error: str | None = None


class RunPublic(BaseModel):
    id: UUID
    automation_id: UUID
    automation_name: str | None = None
    version: int
    incident_id: UUID
    event: str
    status: str
    error: str | None
    workflow_id: str
    temporal_url: str | None = None
    rerun_of: UUID | None
    started_at: datetime
    finished_at: datetime | None
    steps: list[StepPublic]


class RerunIn(BaseModel):
    """A re-run keeps the failed run's idempotency keys unless asked for new ones."""

    model_config = ConfigDict(extra="forbid")

    new_idempotency_keys: bool = False


class TemplatePublic(BaseModel):
    key: str
    name: str
    description: str
    definition: dict[str, Any]
    # Fields to fill in before it can be saved (a connection id, a Slack channel …).
    needs: list[str]
