"""The `/oncall` slash command: who is on call, acknowledge, resolve, trigger, help."""

from __future__ import annotations

import logging
import shlex
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import DomainError
from app.incidents import service as incidents
from app.oncall import current as oncall
from app.oncall.policy import service_on_call
from app.slack import service as slack
from app.slack.actions import FAILED, NO_ACCOUNT, OBSERVER, SlackDeps, act, name_of, slack_actor
from workflows.incident import IncidentWorkflow  # for its Update method references only
from workflows.incident_types import ActionIn, AlertIn, ResolveIn

log = logging.getLogger("pagefree.slack")

HELP = """*`/oncall`: PageFree from Slack*
• `/oncall who [service or schedule]`: who is on call now
• `/oncall ack N`: acknowledge incident #N
• `/oncall resolve N [note]`: resolve incident #N, with an optional note
• `/oncall trigger <service> <title>`: open an incident (quote a name with spaces)
• `/oncall help`: this help
Answers are only for you; add `--share` to post one to the channel."""

Respond = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Parsed:
    """A parsed `/oncall` command line."""

    verb: str
    args: list[str] = field(default_factory=list)
    share: bool = False


def parse(text: str) -> Parsed:
    """Split the command text into a verb, its arguments and the --share flag."""
    try:
        words = shlex.split(text)
    except ValueError:  # an unbalanced quote: take the words as they are
        words = text.split()
    share = "--share" in words
    words = [w for w in words if w != "--share"]
    if not words:
        return Parsed("help", share=share)
    return Parsed(words[0].lower(), words[1:], share)


def incident_number(word: str) -> int | None:
    """Return the incident number in `42` or `#42`, else None."""
    digits = word.lstrip("#")
    return int(digits) if digits.isdigit() and len(digits) < 19 else None


async def on_command(
    *, deps: SlackDeps, command: dict[str, Any], respond: Respond, client: AsyncWebClient
) -> None:
    """Answer one `/oncall` command (already acknowledged to Slack)."""
    parsed = parse(str(command.get("text") or ""))
    try:
        answer = await _run(deps, client, str(command["user_id"]), parsed)
    except Exception:
        log.exception("slack command failed")
        answer = FAILED
    await respond(text=answer, response_type="in_channel" if parsed.share else "ephemeral")


async def _run(deps: SlackDeps, client: AsyncWebClient, slack_user: str, cmd: Parsed) -> str:
    if cmd.verb not in ("who", "ack", "resolve", "trigger"):
        return HELP if cmd.verb == "help" else f"I don't know `{cmd.verb}`.\n{HELP}"
    async with deps.sessionmaker() as session:
        user = await slack.find_user(session=session, client=client, slack_user_id=slack_user)
        if user is None:
            return NO_ACCOUNT
        if cmd.verb == "who":
            return await _who(session, " ".join(cmd.args))
        if not slack.may_act(user):
            return OBSERVER
        actor = slack_actor(user)
        if cmd.verb == "trigger":
            return await _trigger(deps, session, cmd.args, actor)
        number = incident_number(cmd.args[0]) if cmd.args else None
        if number is None:
            return f"Usage: `/oncall {cmd.verb} N`, with N an incident number."
        incident = await slack.incident_by_number(session=session, number=number)
        if incident is None:
            return f"There is no incident #{number}."
        if incident.status == "resolved":
            by = await name_of(session, incident.resolved_by)
            return f"#{number} is already resolved (by {by}); there is nothing left to do."
        if cmd.verb == "ack" and incident.status == "acknowledged":
            by = await name_of(session, incident.acknowledged_by)
            return f"#{number} is already acknowledged (by {by}); nothing to do."
    if cmd.verb == "ack":
        view, failure = await act(
            deps, incident, IncidentWorkflow.acknowledge, ActionIn(actor=actor)
        )
        if failure:
            return failure
        assert view is not None
        if view.get("acknowledged_by") != actor.id:
            return f"#{number} was already acknowledged; nothing to do."
        return f"You acknowledged #{number}: {incident.title}"
    note = " ".join(cmd.args[1:]) or None
    resolve = ResolveIn(actor=actor, note=note)
    view, failure = await act(deps, incident, IncidentWorkflow.resolve, resolve)
    return failure or f"You resolved #{number}: {incident.title}"


async def _trigger(deps: SlackDeps, session: AsyncSession, args: list[str], actor: Any) -> str:
    if len(args) < 2:
        return "Usage: `/oncall trigger <service> <title>`."
    name, title = args[0], " ".join(args[1:])[:1024]
    service = await slack.service_named(session=session, name=name)
    if service is None:
        return f"There is no service called `{name}`."
    if service.status == "archived":
        return f"{service.name} is archived; it takes no new incidents."
    alert_id = str(uuid.uuid4())
    alert = AlertIn(
        id=alert_id,
        summary=title,
        dedup_key=f"slack-{alert_id}",
        received_at=datetime.now(UTC),
        source="slack",
        actor=actor,
    )
    since = datetime.now(UTC) - timedelta(seconds=1)
    try:
        wid = await incidents.signal_alert(
            client=await deps.temporal(), settings=deps.settings, service=service, alert=alert
        )
    except DomainError as exc:
        return f"PageFree could not open the incident ({exc.detail}). Try again in a moment."
    opened = await incidents.wait_for_incident(
        sessionmaker=deps.sessionmaker, workflow_id=wid, since=since
    )
    if opened is None:
        return f"Accepted: an incident on {service.name} is opening."
    return f"Opened #{opened.number} on {service.name}: {title}"


async def _who(session: AsyncSession, name: str) -> str:
    now = datetime.now(UTC)
    if not name:
        listed = await oncall.all_on_call(session=session, at=now, limit=25)
        if not listed.data:
            return "There are no schedules yet."
        return "\n".join(
            f"*{s.schedule_name}*: {', '.join(u.name for u in s.users) or 'nobody'}"
            for s in listed.data
        )
    service = await slack.service_named(session=session, name=name)
    if service is not None:
        found = await service_on_call(session=session, service_id=service.id, at=now)
        lines = [f"*{service.name}* pages now:"]
        for level in found.levels:
            names = ", ".join(u.name for u in level.users) or "nobody"
            lines.append(f"• level {level.level}: {names}")
        return "\n".join(lines)
    schedule = await slack.schedule_named(session=session, name=name)
    if schedule is None:
        return f"There is no service or schedule called `{name}`."
    who = await oncall.who(session=session, schedule=schedule, at=now)
    if not who.users:
        return f"Nobody is on call in *{schedule.name}* right now."
    until = f" until {who.end:%Y-%m-%d %H:%M} UTC" if who.end else ""
    return f"*{schedule.name}*: {', '.join(u.name for u in who.users)}{until}"
