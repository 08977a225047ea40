"""Act on an incident for a person who answered a page (SMS, call, e-mail link).

Like the API, this never writes incident state: it sends the workflow an Update.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from twilio.request_validator import RequestValidator

from app.errors import Conflict, Forbidden
from app.identity import service as identity
from app.identity.models import Role, User
from app.incidents import service as incidents
from app.incidents.models import Incident
from app.notify import delivery
from workflows.incident import IncidentWorkflow  # for its Update method references only
from workflows.incident_types import ActionIn, Actor, ResolveIn

# Replies by SMS, voice and e-mail links: the Updates taking a plain action input.
UPDATES = {"acknowledge": IncidentWorkflow.acknowledge, "escalate": IncidentWorkflow.escalate}


def twilio_signature_ok(
    *, auth_token: str, url: str, params: dict[str, str], signature: str
) -> bool:
    """Return whether `X-Twilio-Signature` signs this URL and these form parameters."""
    return bool(signature) and bool(RequestValidator(auth_token).validate(url, params, signature))


async def user_by_phone(*, session: AsyncSession, number: str) -> User | None:
    """Return the one user whose verified SMS/voice number this is (None if none or shared)."""
    found = await delivery.users_by_phone(session=session, number=number)
    if len(found) != 1:
        return None
    return await session.get(User, found[0])


async def act_as(
    *,
    session: AsyncSession,
    client: Client,
    incident: Incident,
    user_id: UUID,
    action: str,
    via: str,
) -> dict[str, Any]:
    """Send the workflow `action` on behalf of a responder; return its live view."""
    user = await identity.get_user(session=session, user_id=user_id)
    if user.role == Role.observer:
        raise Forbidden("observers cannot act on incidents")
    if incident.status == "resolved":
        raise Conflict("the incident is resolved", incident_status="resolved")
    actor = Actor(type="user", id=str(user.id), via=via)
    if action == "resolve":
        resolve = ResolveIn(actor=actor)
        return await incidents.act(
            client=client, incident=incident, update=IncidentWorkflow.resolve, arg=resolve
        )
    arg = ActionIn(actor=actor)
    return await incidents.act(client=client, incident=incident, update=UPDATES[action], arg=arg)
