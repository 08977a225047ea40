"""Slack: the Web API client, who a Slack user is in PageFree, and what an incident card shows."""

from __future__ import annotations

import logging
from uuid import UUID

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.audit.models import Actor
from app.catalog import dependencies
from app.catalog.models import Service
from app.config import Settings
from app.identity import service as identity
from app.identity.models import Role, Team, User
from app.incidents.models import Incident
from app.schedules.models import Schedule
from app.slack.blocks import IncidentCard, Person
from app.temporal import workflow_url

log = logging.getLogger("pagefree.slack")

# Slack answers within a second or two; a stuck call must not hold an activity slot for long.
SLACK_TIMEOUT_SECONDS = 10


def configured(settings: Settings) -> bool:
    """Return whether the Slack app has its bot token and signing secret."""
    return settings.slack_bot_token is not None and settings.slack_signing_secret is not None


def web_client(settings: Settings) -> AsyncWebClient:
    """Return a Slack Web API client on `SLACK_API_URL` with the bot token."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return AsyncWebClient(
        token=token, base_url=settings.slack_api_url, timeout=SLACK_TIMEOUT_SECONDS
    )


def may_act(user: User) -> bool:
    """Return whether the user may change incidents (observers only watch)."""
    return Role(user.role) in (Role.responder, Role.admin)


# --- who is this Slack user ---------------------------------------------------------------


async def find_user(
    *, session: AsyncSession, client: AsyncWebClient, slack_user_id: str
) -> User | None:
    """Return the PageFree user behind a Slack user, or None.

    A stored Slack id wins. Otherwise Slack's profile e-mail (confirmed by Slack) is matched
    to a PageFree account, and the Slack id is stored on it (audited) so the next lookup is
    local; an account already linked to another Slack id is never re-linked.
    """
    user = await session.scalar(select(User).where(col(User.slack_user_id) == slack_user_id))
    if user is not None:
        return user
    email = await _confirmed_email(client, slack_user_id)
    if email is None:
        return None
    user = await identity.get_user_by_email(session=session, email=email)
    if user is None or user.slack_user_id is not None:
        return None
    user.slack_user_id = slack_user_id
    await audit.record(
        session=session,
        actor=Actor.system(via="slack"),
        action="user.slack_link",
        entity_type="user",
        entity_id=user.id,
        after={"slack_user_id": slack_user_id, "matched_by": "email"},
    )
    try:
        await session.commit()
    except IntegrityError:
        # Two first clicks at once: the other request linked it.
        await session.rollback()
        return await session.scalar(select(User).where(col(User.slack_user_id) == slack_user_id))
    return user


async def _confirmed_email(client: AsyncWebClient, slack_user_id: str) -> str | None:
    try:
        answer = await client.users_info(user=slack_user_id)
    except SlackApiError as exc:
        if exc.response.get("error") in ("user_not_found", "user_not_visible"):
            return None
        raise
    member = answer.get("user") or {}
    if member.get("deleted") or member.get("is_bot") or member.get("is_email_confirmed") is False:
        return None
    email = (member.get("profile") or {}).get("email")
    return str(email) if email else None


async def user_by_slack_id(*, session: AsyncSession, slack_user_id: str) -> User | None:
    """Return the user linked to a Slack id, without asking Slack."""
    return await session.scalar(select(User).where(col(User.slack_user_id) == slack_user_id))


# --- what a command names ----------------------------------------------------------------


async def incident_by_number(*, session: AsyncSession, number: int) -> Incident | None:
    """Return the incident with this number."""
    return await session.scalar(select(Incident).where(col(Incident.number) == number))


async def service_named(*, session: AsyncSession, name: str) -> Service | None:
    """Return the service with this routing key or name (case-insensitive)."""
    return await session.scalar(
        select(Service).where(
            or_(
                col(Service.routing_key) == name.lower(),
                func.lower(col(Service.name)) == name.lower(),
            )
        )
    )


async def schedule_named(*, session: AsyncSession, name: str) -> Schedule | None:
    """Return the schedule with this name (case-insensitive)."""
    return await session.scalar(
        select(Schedule).where(func.lower(col(Schedule.name)) == name.lower())
    )


# --- what an incident message shows -------------------------------------------------------


async def channel_for(*, session: AsyncSession, service: Service) -> str | None:
    """Return the channel of a service's incidents: its own, else its team's."""
    if service.slack_channel_id:
        return service.slack_channel_id
    if service.team_id is None:
        return None
    team = await session.get(Team, service.team_id)
    return team.slack_channel_id if team else None


async def card(*, session: AsyncSession, settings: Settings, incident: Incident) -> IncidentCard:
    """Return the card of an incident as the projection has it now."""
    service = await session.get(Service, incident.service_id)
    ids = {*incident.assigned_to}
    for ref in (incident.acknowledged_by, incident.resolved_by):
        if ref and _is_uuid(ref):
            ids.add(UUID(ref))
    people: dict[str, Person] = {}
    if ids:
        rows = await session.scalars(select(User).where(col(User.id).in_(ids)))
        people = {str(u.id): Person(name=u.name, slack_user_id=u.slack_user_id) for u in rows}

    def person(ref: str | None) -> Person | None:
        if not ref:
            return None
        return people.get(ref) or Person(name="PageFree")

    return IncidentCard(
        incident_id=str(incident.id),
        number=incident.number or 0,
        title=incident.title,
        status=incident.status,
        severity=incident.severity,
        urgency=incident.urgency,
        service_name=service.name if service else "unknown service",
        escalation_level=incident.escalation_level,
        url=f"{settings.base_url}/incidents/{incident.id}",
        temporal_url=workflow_url(settings, incident.workflow_id, incident.run_id),
        assigned=[people[str(u)] for u in incident.assigned_to if str(u) in people],
        acknowledged_by=person(incident.acknowledged_by),
        resolved_by=person(incident.resolved_by),
        probable_causes=await _probable_causes(session, settings, incident),
    )


async def _probable_causes(
    session: AsyncSession, settings: Settings, incident: Incident
) -> list[tuple[str, int, str]]:
    """Upstream services with open incidents (the incident page's query), for the card."""
    if incident.status == "resolved":
        return []
    found = await dependencies.upstream_with_open_incidents(session, incident.service_id)
    return [(n.name, n.open_incidents, f"{settings.base_url}/?service_id={n.id}") for n in found]


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True
