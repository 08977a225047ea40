"""Push an action item to Jira or Linear through a connection, keeping the issue's link."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import Actor
from app.config import Settings
from app.connections import providers
from app.connections import service as connections
from app.connections.models import ConnectionType, JiraConfig, LinearConfig
from app.errors import Conflict, Invalid, NotFound
from app.identity.models import User
from app.postmortems import action_items
from app.postmortems.models import ActionItem, Postmortem


class PushBody(BaseModel):
    connection_id: UUID
    project_key: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9_]{0,49}$")  # Jira
    issue_type: str = Field(default="Task", min_length=1, max_length=100)  # Jira
    team_id: str | None = Field(default=None, min_length=1, max_length=100)  # Linear


def _missing(field: str, kind: str) -> Invalid:
    message = f"{field} is needed to push to {kind}"
    return Invalid(message, errors=[{"field": field, "message": message}])


async def push(
    *,
    session: AsyncSession,
    settings: Settings,
    item_id: UUID,
    body: PushBody,
    user: User,
    actor: Actor,
) -> ActionItem:
    """Create the issue for an action item once; a second push is a 409."""
    item = await action_items.get_for_change(session=session, item_id=item_id, user=user)
    if item.external_url:
        raise Conflict(f"the action item is already pushed: {item.external_url}")
    try:
        connection = await connections.get(session=session, connection_id=body.connection_id)
    except NotFound:
        message = f"unknown connection id: {body.connection_id}"
        raise Invalid(message, errors=[{"field": "connection_id", "message": message}]) from None
    pm = await session.get(Postmortem, item.postmortem_id)
    assert pm is not None
    link = f"{settings.base_url}/postmortems/{pm.id}"
    description = (
        f"Action item from the postmortem “{pm.title}”.\n"
        f"Priority: {item.priority}. Due: {item.due_date or 'no due date'}.\n{link}"
    )
    cfg = connections.config_of(settings, connection)
    kind = ConnectionType(connection.type)
    if kind == ConnectionType.jira:
        assert isinstance(cfg, JiraConfig)
        if not body.project_key:
            raise _missing("project_key", "Jira")
        key, url = await providers.jira_create_issue(
            settings,
            cfg,
            project_key=body.project_key,
            issue_type=body.issue_type,
            summary=item.title,
            description=description,
        )
    elif kind == ConnectionType.linear:
        assert isinstance(cfg, LinearConfig)
        if not body.team_id:
            raise _missing("team_id", "Linear")
        key, url = await providers.linear_create_issue(
            settings, cfg, team_id=body.team_id, title=item.title, description=description
        )
    else:
        message = f"a {kind.value} connection cannot create issues; use a jira or linear one"
        raise Invalid(message, errors=[{"field": "connection_id", "message": message}])
    return await action_items.set_external(
        session=session, item=item, url=url, key=key, actor=actor
    )
