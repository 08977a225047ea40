"""Runbooks, their immutable versions and their runs: tables and API schemas."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Column, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from app.models_common import created_at_field, id_field, jsonb_field, timestamp_field

MAX_RETRIES = 10
MAX_TIMEOUT = 120.0
SECRET_MIN = 16


class RunbookStatus(StrEnum):
    draft = "draft"  # the newest version awaits approval
    approved = "approved"  # the newest version is the approved one
    deprecated = "deprecated"  # nothing runs


class VersionStatus(StrEnum):
    draft = "draft"
    approved = "approved"  # approved once; the runbook's approved_version may have moved on
    superseded = "superseded"  # a draft replaced by a newer edit before approval


class Runbook(SQLModel, table=True):
    __tablename__ = "runbooks"

    id: UUID = id_field()
    name: str = SQLField(max_length=200, unique=True)
    description: str = SQLField(default="", sa_column=Column(Text, nullable=False))
    status: str = SQLField(sa_column=Column(String(16), nullable=False))
    version: int = 1  # the newest version
    approved_version: int | None = None  # the version that runs
    secret: str = SQLField(sa_column=Column(Text, nullable=False))  # Fernet token of the HMAC key
    created_at: datetime | None = created_at_field()
    updated_at: datetime | None = timestamp_field()


class RunbookVersion(SQLModel, table=True):
    __tablename__ = "runbook_versions"
    __table_args__ = (UniqueConstraint("runbook_id", "version"),)

    id: UUID = id_field()
    runbook_id: UUID = SQLField(
        sa_column=Column(ForeignKey("runbooks.id", ondelete="CASCADE"), nullable=False)
    )
    version: int = SQLField(sa_column=Column(Integer, nullable=False))
    status: str = SQLField(sa_column=Column(String(16), nullable=False))
    definition: dict[str, Any] | None = jsonb_field(nullable=False)
    content_hash: str = SQLField(max_length=71)  # sha256:<hex>
    author_id: UUID | None = None
    approver_id: UUID | None = None
    approved_at: datetime | None = timestamp_field()
    created_at: datetime | None = created_at_field()


class RunbookRun(SQLModel, table=True):
    __tablename__ = "runbook_runs"

    id: UUID = id_field()
    runbook_id: UUID = SQLField(
        sa_column=Column(ForeignKey("runbooks.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    version: int
    incident_id: UUID = SQLField(
        sa_column=Column(ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    status: str = SQLField(sa_column=Column(String(16), nullable=False))
    parameters: dict[str, Any] | None = jsonb_field(nullable=False)
    attempts: int = 0
    response_status: int | None = None
    response_excerpt: str | None = SQLField(default=None, sa_column=Column(Text))
    error: str | None = SQLField(default=None, sa_column=Column(Text))
    started_by: UUID | None = None
    workflow_id: str = SQLField(sa_column=Column(Text, nullable=False))
    created_at: datetime | None = created_at_field()
    finished_at: datetime | None = timestamp_field()


# --- the definition ------------------------------------------------------------------------

ParameterType = Literal["string", "integer", "boolean", "choice"]
Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


class Parameter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z_][a-z0-9_]{0,63}$")
    type: ParameterType = "string"
    required: bool = False
    default: str | int | bool | None = None
    choices: list[str] | None = Field(default=None, max_length=100)


class Definition(BaseModel):
    """What a version does: one HTTP request, its body a Jinja template (sandboxed)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000)  # not templated: parameters never in URLs
    method: Method = "POST"
    headers: dict[str, str] = Field(default_factory=dict, max_length=50)
    body: str = Field(default="", max_length=20_000)
    timeout: float = Field(default=10.0, gt=0, le=MAX_TIMEOUT)
    retries: int = Field(default=3, ge=0, le=MAX_RETRIES)
    parameters: list[Parameter] = Field(default_factory=list, max_length=50)


class RunbookCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    definition: Definition
    secret: str = Field(min_length=SECRET_MIN, max_length=500)

    def __repr__(self) -> str:  # never show the secret in logs or tracebacks
        return f"RunbookCreate(name={self.name!r}, secret=…)"

    __str__ = __repr__


class RunbookUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    definition: Definition | None = None  # a new draft version
    secret: str | None = Field(default=None, min_length=SECRET_MIN, max_length=500)

    def __repr__(self) -> str:
        return f"RunbookUpdate(name={self.name!r}, secret=…)"

    __str__ = __repr__


class RunbookPublic(BaseModel):
    id: UUID
    name: str
    description: str
    status: RunbookStatus
    version: int
    approved_version: int | None
    definition: Definition  # of the newest version
    secret_set: bool
    created_at: datetime
    updated_at: datetime | None


class VersionPublic(BaseModel):
    version: int
    status: VersionStatus
    definition: Definition
    content_hash: str
    author_id: UUID | None
    approver_id: UUID | None
    approved_at: datetime | None
    created_at: datetime


class VersionBody(BaseModel):
    version: int = Field(ge=1)


class RunCreate(BaseModel):
    runbook_id: UUID
    parameters: dict[str, Any] = Field(default_factory=dict)


class RunStarted(BaseModel):
    id: UUID
    status: str


class RunPublic(BaseModel):
    id: UUID
    runbook_id: UUID
    version: int
    incident_id: UUID
    status: str
    parameters: dict[str, Any]
    attempts: int
    response_status: int | None
    response_excerpt: str | None
    error: str | None
    started_by: UUID | None
    workflow_id: str
    created_at: datetime
    finished_at: datetime | None
