"""Activity implementations; worker.py registers what build_activities returns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities.action_items import ActionItemActivities
from activities.heartbeat import HeartbeatActivities
from activities.incident import IncidentActivities
from activities.maintenance import MaintenanceActivities
from activities.notify import AnnounceActivities, NotifyActivities
from activities.slack import SlackActivities
from app.config import Settings
from app.db import SessionMaker
from app.notify.channels import Channels, build_channels


def build_activities(
    sessionmaker: SessionMaker, settings: Settings, channels: Channels | None = None
) -> list[Callable[..., Any]]:
    """Return every activity the worker runs, bound to its clients."""
    incident = IncidentActivities(sessionmaker, settings)
    slack = SlackActivities(sessionmaker, settings)
    channels = channels or build_channels(settings)
    notify = NotifyActivities(sessionmaker, settings, channels)
    announce = AnnounceActivities(sessionmaker, settings, channels)
    action_items = ActionItemActivities(sessionmaker, settings, channels)
    heartbeats = HeartbeatActivities(sessionmaker, settings)
    maintenance = MaintenanceActivities(sessionmaker, settings)
    return [
        incident.open_incident,
        incident.record_incident,
        incident.load_policy,
        incident.page_level,
        slack.sync_chat,
        notify.send_notification,
        announce.announce_page,
        action_items.remind_action_item,
        heartbeats.heartbeat_missed,
        heartbeats.heartbeat_recovered,
        maintenance.maintenance_edge,
    ]
