"""Button presses on incident messages: who pressed, may they, and the workflow Update."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any
from uuid import UUID

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from app.config import Settings
from app.db import SessionMaker
from app.errors import Conflict, DomainError
from app.identity.models import User
from app.incidents import service as incidents
from app.incidents.models import Incident
from app.slack import blocks
from app.slack import service as slack
from workflows.incident import IncidentWorkflow  # for its Update method references only
from workflows.incident_types import ActionIn, Actor, ReassignIn, ResolveIn

log = logging.getLogger("pagefree.slack")

NO_ACCOUNT = (
    "Your Slack account is not linked to a PageFree user, so nothing was changed. "
    "Ask a PageFree admin to add your Slack user id to your account, "
    "or to use the same e-mail address in Slack and in PageFree."
)
OBSERVER = (
    "Your PageFree role is *observer*: observers can follow incidents but not act on them, "
    "so nothing was changed. Ask a PageFree admin for the responder role."
)
FAILED = (
    "PageFree hit an unexpected error handling that; check the incident in PageFree "
    "before trying again."
)


@dataclass
class SlackDeps:
    """What Slack handlers need, read from the running API app when a request comes in."""

    settings: Settings
    state: Any  # the FastAPI app's state: sessionmaker and temporal are set by its lifespan

    @property
    def sessionmaker(self) -> SessionMaker:
        """Return the API's session factory."""
        sessionmaker: SessionMaker = self.state.sessionmaker
        return sessionmaker

    async def temporal(self) -> Client:
        """Return the API's Temporal client (a 503 problem when Temporal is unreachable)."""
        client: Client = await self.state.temporal.get()
        return client


def slack_actor(user: User) -> Actor:
    """Return the timeline actor of a PageFree user acting from Slack."""
    return Actor(type="user", id=str(user.id), via="slack")


async def act(
    deps: SlackDeps,
    incident: Incident,
    update: incidents.IncidentUpdate[incidents.Arg],
    arg: incidents.Arg,
) -> tuple[dict[str, Any] | None, str | None]:
    """Send the Update; return (the workflow's answer, None) or (None, why it failed)."""
    n = incident.number
    try:
        view = await incidents.act(
            client=await deps.temporal(), incident=incident, update=update, arg=arg
        )
    except Conflict as exc:
        return None, f"Nothing was changed: #{n} — {exc.detail}."
    except DomainError as exc:
        return None, (
            f"PageFree could not reach #{n}'s workflow ({exc.detail}); nothing was changed. "
            "Try again in a moment."
        )
    return view, None


async def name_of(session: AsyncSession, user_ref: str | None) -> str:
    """Return how a message names the user behind a stored actor id."""
    if not user_ref:
        return "PageFree"
    try:
        user = await session.get(User, UUID(user_ref))
    except ValueError:
        user = None
    if user is None:
        return "PageFree"
    return f"<@{user.slack_user_id}>" if user.slack_user_id else user.name


async def on_block_action(*, deps: SlackDeps, body: dict[str, Any], client: AsyncWebClient) -> None:
    """Handle one press of an incident message's controls (already acknowledged to Slack)."""
    slack_user = body["user"]["id"]
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    try:
        reply = await _perform(deps, client, body["actions"][0], slack_user)
    except Exception:
        log.exception("slack action failed")
        reply = FAILED
    await ephemeral(client, channel, slack_user, reply)


async def ephemeral(client: AsyncWebClient, channel: str | None, user: str, text: str) -> None:
    """Tell one user something only they see; in a DM with the app when there is no channel."""
    try:
        if channel:
            await client.chat_postEphemeral(channel=channel, user=user, text=text)
        else:
            await client.chat_postMessage(channel=user, text=text)
    except SlackApiError as exc:
        log.warning("could not answer slack user: %s", exc.response.get("error"))


def _incident_ref(action: dict[str, Any]) -> UUID | None:
    # Buttons carry the incident id as their value; the user picker in its block id.
    raw = action.get("value") or str(action.get("block_id", "")).rpartition(":")[2]
    try:
        return UUID(raw)
    except ValueError:
        return None


async def _perform(
    deps: SlackDeps, client: AsyncWebClient, action: dict[str, Any], slack_user: str
) -> str:
    action_id = action.get("action_id")
    incident_id = _incident_ref(action)
    if incident_id is None:
        return "This message does not name a PageFree incident; nothing was changed."
    async with deps.sessionmaker() as session:
        user = await slack.find_user(session=session, client=client, slack_user_id=slack_user)
        if user is None:
            return NO_ACCOUNT
        if not slack.may_act(user):
            return OBSERVER
        incident = await session.get(Incident, incident_id)
        if incident is None:
            return "That incident no longer exists in PageFree; nothing was changed."
        n = incident.number
        if incident.status == "resolved":
            by = await name_of(session, incident.resolved_by)
            return f"#{n} is already resolved (by {by}); there is nothing left to do."
        actor = slack_actor(user)
        send: Callable[[], Awaitable[tuple[dict[str, Any] | None, str | None]]]
        if action_id == blocks.REASSIGN:
            picked = action.get("selected_user")
            target = (
                await slack.find_user(session=session, client=client, slack_user_id=picked)
                if picked
                else None
            )
            if target is None:
                return f"<@{picked}> has no PageFree account, so #{n} was not reassigned."
            reassign = ReassignIn(actor=actor, user_ids=[str(target.id)])
            send = partial(act, deps, incident, IncidentWorkflow.reassign, reassign)
        elif action_id == blocks.ACKNOWLEDGE:
            if incident.status == "acknowledged":
                by = await name_of(session, incident.acknowledged_by)
                return f"#{n} is already acknowledged (by {by}); nothing to do."
            send = partial(act, deps, incident, IncidentWorkflow.acknowledge, ActionIn(actor=actor))
        elif action_id == blocks.RESOLVE:
            send = partial(act, deps, incident, IncidentWorkflow.resolve, ResolveIn(actor=actor))
        elif action_id == blocks.ESCALATE:
            send = partial(act, deps, incident, IncidentWorkflow.escalate, ActionIn(actor=actor))
        else:
            return "PageFree does not know this button; nothing was changed."
    view, failure = await send()
    if failure:
        return failure
    assert view is not None
    if action_id == blocks.ACKNOWLEDGE:
        if view.get("acknowledged_by") != str(user.id):
            return f"#{n} was already acknowledged; nothing to do."
        return f"You acknowledged #{n}: escalation stopped."
    if action_id == blocks.RESOLVE:
        return f"You resolved #{n}."
    if action_id == blocks.ESCALATE:
        return f"You escalated #{n} to level {view['escalation_level']}."
    return f"You reassigned #{n} to <@{picked}>; they are being paged."
