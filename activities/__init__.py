"""Activity implementations; worker.py registers what build_activities returns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities.action_items import ActionItemActivities
from activities.automation import AutomationActivities
from activities.heartbeat import HeartbeatActivities
from activities.incident import IncidentActivities
from activities.maintenance_window import MaintenanceWindowActivities
from activities.notify import AnnounceActivities, NotifyActivities
from activities.runbooks import RunbookActivities
from activities.slack import SlackActivities
from activities.statuspages import StatusPageActivities
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
    notify = NotifyActivities(sessionmaker, settings, channels, chat=slack)
    announce = AnnounceActivities(notify.announcer)  # one Announcer for both activities
    action_items = ActionItemActivities(sessionmaker, settings, channels)
    status_pages = StatusPageActivities(sessionmaker, settings, channels)
    runbooks = RunbookActivities(sessionmaker, settings)
    heartbeats = HeartbeatActivities(sessionmaker, settings)
    maintenance_windows = MaintenanceWindowActivities(sessionmaker, settings)
    automation = AutomationActivities(sessionmaker, settings)
    return [
        incident.open_incident,
        incident.record_incident,
        incident.load_policy,
        incident.page_level,
        slack.sync_chat,
        notify.send_notifications,
        announce.announce_page,
        action_items.remind_action_item,
        status_pages.advance_maintenance,
        status_pages.announce_maintenance,
        status_pages.sync_page,
        status_pages.announce_components,
        status_pages.plan_deliveries,
        status_pages.send_deliveries,
        status_pages.send_partner_link,
        status_pages.purge_partner_audit,
        runbooks.prepare_runbook_run,
        runbooks.send_runbook_request,
        runbooks.finish_runbook_run,
        heartbeats.heartbeat_missed,
        heartbeats.heartbeat_recovered,
        maintenance_windows.maintenance_window_edge,
        automation.begin_automation_run,
        automation.automation_condition,
        automation.automation_step,
        automation.finish_automation_run,
    ]
