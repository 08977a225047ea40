"""Import every domain's tables so that SQLModel.metadata knows them (Alembic, tests)."""

from app.audit.models import AuditEvent
from app.catalog.models import Service
from app.escalation.models import EscalationPolicy
from app.identity.models import ApiToken, Team, TeamMember, User
from app.importer.models import ImportMapping
from app.incidents.models import Alert, Incident, Notification, TimelineEvent
from app.ingest.models import IngestDelivery, IngestSignature, Integration
from app.notify.models import ActionLinkUse, ContactMethod, NotificationRule
from app.schedules.models import CalendarFeed, Schedule, ScheduleOverride, ScheduleSwap
from app.slack.models import SlackMessage
from app.web.models import WebSession

__all__ = [
    "ActionLinkUse",
    "Alert",
    "ApiToken",
    "AuditEvent",
    "CalendarFeed",
    "ContactMethod",
    "EscalationPolicy",
    "ImportMapping",
    "Incident",
    "IngestDelivery",
    "IngestSignature",
    "Integration",
    "Notification",
    "NotificationRule",
    "Schedule",
    "ScheduleOverride",
    "ScheduleSwap",
    "Service",
    "SlackMessage",
    "Team",
    "TeamMember",
    "TimelineEvent",
    "User",
    "WebSession",
]
