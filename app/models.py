"""Import every domain's tables so that SQLModel.metadata knows them (Alembic, tests)."""

from app.audit.models import AuditEvent
from app.identity.models import ApiToken, Team, TeamMember, User

__all__ = ["ApiToken", "AuditEvent", "Team", "TeamMember", "User"]
