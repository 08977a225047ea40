"""Import every domain's tables so that SQLModel.metadata knows them (Alembic, tests)."""

from app.audit.models import AuditEvent
from app.automations.models import Automation, AutomationRun, AutomationStep, AutomationVersion
from app.catalog.models import Service, ServiceDependency
from app.connections.models import Connection
from app.escalation.models import EscalationPolicy
from app.heartbeats.models import Heartbeat
from app.identity.models import ApiToken, Team, TeamMember, User
from app.importer.models import ImportMapping
from app.incidents.models import Alert, Incident, Notification, TimelineEvent
from app.ingest.models import IngestDelivery, IngestSignature, Integration
from app.maintenance.models import MaintenanceWindow
from app.notify.models import ActionLinkUse, ContactMethod, NotificationRule
from app.postmortems.models import ActionItem, Postmortem, PostmortemTemplate, PostmortemVersion
from app.schedules.models import CalendarFeed, Schedule, ScheduleOverride, ScheduleSwap
from app.slack.models import SlackMessage
from app.statuspages.models import (
    Announcement,
    Delivery,
    PageIncident,
    PageIncidentUpdate,
    StatusComponent,
    StatusPage,
    Subscriber,
)
from app.statuspages.partner_models import (
    Partner,
    PartnerAuditEvent,
    PartnerLogin,
    PartnerSession,
)
from app.web.models import WebSession

__all__ = [
    "ActionItem",
    "ActionLinkUse",
    "Alert",
    "Announcement",
    "ApiToken",
    "AuditEvent",
    "Automation",
    "AutomationRun",
    "AutomationStep",
    "AutomationVersion",
    "CalendarFeed",
    "Connection",
    "ContactMethod",
    "Delivery",
    "EscalationPolicy",
    "Heartbeat",
    "ImportMapping",
    "Incident",
    "IngestDelivery",
    "IngestSignature",
    "Integration",
    "MaintenanceWindow",
    "Notification",
    "NotificationRule",
    "PageIncident",
    "PageIncidentUpdate",
    "Partner",
    "PartnerAuditEvent",
    "PartnerLogin",
    "PartnerSession",
    "Postmortem",
    "PostmortemTemplate",
    "PostmortemVersion",
    "Schedule",
    "ScheduleOverride",
    "ScheduleSwap",
    "Service",
    "ServiceDependency",
    "SlackMessage",
    "StatusComponent",
    "StatusPage",
    "Subscriber",
    "Team",
    "TeamMember",
    "TimelineEvent",
    "User",
    "WebSession",
]
