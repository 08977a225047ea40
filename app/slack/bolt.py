"""The Slack app (slack-bolt): verifies every request, answers at once, works after."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from app.slack import actions, commands, runbook_actions, runbook_views
from app.slack import service as slack
from app.slack.actions import SlackDeps
from app.slack.blocks import RUN_RUNBOOK

INCIDENT_ACTIONS = re.compile(r"^incident_(acknowledge|resolve|escalate|reassign)$")


def build_app(deps: SlackDeps) -> AsyncApp:
    """Return the Bolt app; Bolt checks each request's signature and timestamp.

    Slack wants an answer within 3 seconds: every listener calls ack() first, which sends
    the HTTP response, and does its work afterwards (Bolt runs the rest in the background).
    """
    settings = deps.settings
    assert settings.slack_bot_token and settings.slack_signing_secret
    bolt = AsyncApp(
        name="pagefree",
        signing_secret=settings.slack_signing_secret.get_secret_value(),
        client=slack.web_client(settings),  # carries the bot token and SLACK_API_URL
        logger=logging.getLogger("pagefree.slack.bolt"),
    )

    @bolt.action(INCIDENT_ACTIONS)
    async def incident_action(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await actions.on_block_action(deps=deps, body=body, client=client)

    @bolt.action(RUN_RUNBOOK)
    async def run_runbook(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await runbook_actions.on_button(deps=deps, body=body, client=client)

    @bolt.view(
        re.compile(f"^({runbook_views.PICK}|{runbook_views.PARAMETERS}|{runbook_views.CONFIRM})$")
    )
    async def runbook_step(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        # Answered inside: the next view (or field errors) is the acknowledgement itself.
        await runbook_actions.on_submit(deps=deps, ack=ack, body=body, client=client)

    @bolt.command("/oncall")
    async def oncall(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        await commands.on_command(deps=deps, command=command, respond=respond, client=client)

    return bolt
