"""HTTP routes for the escalation preview and incident reports."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Literal
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel

from app.db import utcnow
from app.deps import CurrentUser, SessionDep
from app.insight import preview as previews
from app.schedules.oncall import check_instant

router = APIRouter(prefix="/api/v1", tags=["insight"])


class PreviewStepPublic(BaseModel):
    at: datetime
    level: int
    cycle: int
    user_id: UUID
    user_name: str
    contact_method: UUID | None
    channel: str
    via: Literal["user", "schedule", "team"]
    target_id: UUID
    delay_seconds: float


@router.get("/services/{service_id}/escalation-preview", response_model=list[PreviewStepPublic])
async def escalation_preview(
    session: SessionDep,
    _: CurrentUser,
    service_id: UUID,
    at: datetime | None = None,
    urgency: Literal["high", "low"] | None = None,
) -> list[PreviewStepPublic]:
    """Return who would be notified, when and how, if an incident opened at `at` (default now)
    and nobody acknowledged; `urgency` defaults to the service's."""
    instant = check_instant(at or utcnow(), "at")
    found = await previews.preview(
        session=session, service_id=service_id, at=instant, urgency=urgency
    )
    return [PreviewStepPublic.model_validate(asdict(s)) for s in found.steps]
