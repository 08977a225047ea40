"""Activity implementations; worker.py registers what build_activities returns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities.incident import IncidentActivities
from activities.slack import SlackActivities
from app.config import Settings
from app.db import SessionMaker


def build_activities(sessionmaker: SessionMaker, settings: Settings) -> list[Callable[..., Any]]:
    """Return every activity the worker runs, bound to its clients."""
    incident = IncidentActivities(sessionmaker, settings)
    slack = SlackActivities(sessionmaker, settings)
    return [
        incident.open_incident,
        incident.record_incident,
        incident.load_policy,
        incident.page_level,
        incident.send_notification,
        slack.sync_chat,
    ]
