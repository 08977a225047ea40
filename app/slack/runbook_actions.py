""" "Run runbook" from an incident's Slack card: a modal (pick, parameters, confirm), then a run.

Every step maps the Slack user to a PageFree user and checks the responder role again; the
run starts through `app.runbooks.runs.start`, as from the API and the web page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from slack_bolt.async_app import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import Actor
from app.errors import DomainError, Invalid
from app.identity.models import User
from app.incidents.models import Incident
from app.runbooks import definition as rules
from app.runbooks import runs
from app.runbooks import service as runbooks
from app.runbooks.models import Definition, Runbook, RunCreate
from app.slack import runbook_views as views
from app.slack import service as slack
from app.slack.actions import FAILED, NO_ACCOUNT, OBSERVER, SlackDeps, ephemeral, name_of

log = logging.getLogger("pagefree.slack")

NONE_APPROVED = "No runbook has an approved version yet, so there is nothing to run."


@dataclass
class Refusal(Exception):
    """Why this Slack user cannot go on; told to them in an ephemeral message."""

    text: str


async def _responder(session: AsyncSession, client: AsyncWebClient, slack_user: str) -> User:
    user = await slack.find_user(session=session, client=client, slack_user_id=slack_user)
    if user is None:
        raise Refusal(NO_ACCOUNT)
    if not slack.may_act(user):
        raise Refusal(OBSERVER)
    return user


async def _open_incident(session: AsyncSession, incident_id: str) -> Incident:
    try:
        incident = await session.get(Incident, UUID(incident_id))
    except ValueError:
        incident = None
    if incident is None:
        raise Refusal("That incident no longer exists in PageFree; nothing was run.")
    if incident.status == "resolved":
        raise Refusal(f"#{incident.number} is resolved; runbooks run on open incidents.")
    return incident


async def _approved(session: AsyncSession, draft: views.Draft) -> tuple[Runbook, Definition]:
    try:
        runbook = await runbooks.get(session=session, runbook_id=UUID(str(draft.runbook_id)))
        version, _, definition = await runs.approved_definition(session, runbook)
    except (DomainError, ValueError) as exc:
        raise Refusal(f"That runbook cannot run: {getattr(exc, 'detail', exc)}.") from exc
    if draft.version is not None and version != draft.version:
        raise Refusal(
            f"{runbook.name} v{version} was approved after you looked at v{draft.version}; "
            "nothing was run. Press Run runbook again to review the new version."
        )
    draft.version = version
    return runbook, definition


def _actor(user: User) -> Actor:
    return Actor(type="user", id=user.id, via="slack")


async def on_button(*, deps: SlackDeps, body: dict[str, Any], client: AsyncWebClient) -> None:
    """Open the modal for the incident on the card (the press is already acknowledged)."""
    slack_user = body["user"]["id"]
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    draft = views.Draft(incident_id=str(body["actions"][0].get("value")), channel=channel)
    try:
        async with deps.sessionmaker() as session:
            await _responder(session, client, slack_user)
            incident = await _open_incident(session, draft.incident_id)
            choices = [
                views.Choice(id=str(r.id), name=r.name, version=r.approved_version or 0)
                for r in await runbooks.runnable(session=session)
            ]
        if not choices:
            raise Refusal(NONE_APPROVED)
        view = views.pick_view(draft, incident.number or 0, incident.title, choices)
        await client.views_open(trigger_id=body["trigger_id"], view=view)
    except Refusal as refusal:
        await ephemeral(client, channel, slack_user, refusal.text)
    except SlackApiError as exc:
        log.warning("could not open the runbook modal: %s", exc.response.get("error"))
    except Exception:
        log.exception("slack runbook button failed")
        await ephemeral(client, channel, slack_user, FAILED)


async def on_submit(
    *, deps: SlackDeps, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
) -> None:
    """Take one step of the modal: answer Slack with the next view, errors, or close and run."""
    slack_user = body["user"]["id"]
    view = body["view"]
    draft = views.Draft.load(view.get("private_metadata") or "{}")
    state: dict[str, Any] = (view.get("state") or {}).get("values") or {}
    try:
        if view["callback_id"] == views.CONFIRM:
            await ack()  # a run may take a moment to start: the answer comes as a message
            text = await _run(deps, client, slack_user, draft)
            await ephemeral(client, draft.channel, slack_user, text)
            return
        if view["callback_id"] == views.PICK:
            draft.runbook_id = views.picked(state)
        async with deps.sessionmaker() as session:
            await _responder(session, client, slack_user)
            await _open_incident(session, draft.incident_id)
            runbook, definition = await _approved(session, draft)
            if view["callback_id"] == views.PICK and definition.parameters:
                await ack(
                    response_action="update",
                    view=views.parameters_view(draft, runbook.name, definition),
                )
                return
            if view["callback_id"] == views.PARAMETERS:
                draft.parameters = rules.from_text(definition, views.submitted(definition, state))
            try:
                preview = await runs.preview(
                    session=session,
                    incident_id=UUID(draft.incident_id),
                    run_in=RunCreate(runbook_id=runbook.id, parameters=draft.parameters),
                )
            except Invalid as exc:
                errors = views.field_errors(definition, exc.errors or [])
                await ack(response_action="errors", errors=errors)
                return
            approver = await name_of(session, str(preview["approver_id"] or ""))
        if len(draft.dump()) > views.METADATA_LIMIT:
            raise Refusal("These parameters are too long for Slack; run it from the web page.")
        await ack(response_action="update", view=views.confirm_view(draft, preview, approver))
    except Refusal as refusal:
        await ack()
        await ephemeral(client, draft.channel, slack_user, refusal.text)
    except Exception:
        log.exception("slack runbook modal failed")
        await ack()
        await ephemeral(client, draft.channel, slack_user, FAILED)


async def _run(deps: SlackDeps, client: AsyncWebClient, slack_user: str, draft: views.Draft) -> str:
    """Start the confirmed run as the Slack user's PageFree account; return the reply."""
    async with deps.sessionmaker() as session:
        try:
            user = await _responder(session, client, slack_user)
            incident = await _open_incident(session, draft.incident_id)
            runbook, _ = await _approved(session, draft)
        except Refusal as refusal:
            return refusal.text
        try:
            run = await runs.start(
                session=session,
                client=await deps.temporal(),
                incident_id=incident.id,
                run_in=RunCreate(runbook_id=runbook.id, parameters=draft.parameters),
                actor=_actor(user),
            )
        except DomainError as exc:
            return f"Nothing was run on #{incident.number}: {exc.detail}."
    url = f"{deps.settings.base_url}/runbook-runs/{run.id}"
    return (
        f"You started {runbook.name} v{run.version} on #{incident.number}: <{url}|follow the run>."
    )
