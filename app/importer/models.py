"""The external-id mapping: which PageFree row an imported object became."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlmodel import Field, SQLModel

from app.models_common import created_at_field, timestamp_field


class ImportMapping(SQLModel, table=True):
    """One imported object: (source, kind, external id) → the PageFree row's id."""

    __tablename__ = "import_mappings"

    source: str = Field(primary_key=True, max_length=32)  # "pagerduty"
    kind: str = Field(primary_key=True, max_length=32)  # user, contact_method, team, …
    external_id: str = Field(primary_key=True, max_length=200)
    local_id: UUID
    created_at: datetime | None = created_at_field()
    updated_at: datetime | None = timestamp_field()
