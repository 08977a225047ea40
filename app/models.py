"""Import every domain's tables so that SQLModel.metadata knows them (Alembic, tests)."""

from app.audit.models import AuditEvent
from app.catalog.models import Service
from app.escalation.models import EscalationPolicy
from app.identity.models import ApiToken, Team, TeamMember, User
from app.incidents.models import Alert, Incident, Notification, TimelineEvent

__all__ = [
    "Alert",
    "ApiToken",
    "AuditEvent",
    "EscalationPolicy",
    "Incident",
    "Notification",
    "Service",
    "Team",
    "TeamMember",
    "TimelineEvent",
    "User",
]
