"""Slack activities: keep an incident's Slack messages showing its current state."""

from __future__ import annotations

from uuid import UUID

from slack_sdk.web.async_client import AsyncWebClient
from temporalio import activity
from temporalio.exceptions import ApplicationError

from app.config import Settings
from app.db import SessionMaker
from app.slack import messages
from app.slack import service as slack
from workflows.incident_types import SyncChat


class SlackActivities:
    """Activities bound to the database and a Slack Web API client."""

    def __init__(
        self, sessionmaker: SessionMaker, settings: Settings, client: AsyncWebClient | None = None
    ):
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.client = client or slack.web_client(settings)

    @activity.defn(name="sync_chat")
    async def sync_chat(self, inp: SyncChat) -> list[str]:
        """Post the incident to its channel once, then update every message that shows it."""
        return await self.sync(inp)

    async def sync(self, inp: SyncChat) -> list[str]:
        """What `sync_chat` does; `send_notifications` calls it too, for the first post."""
        if self.settings.slack_bot_token is None:
            raise ApplicationError(
                "Slack is not configured", type="SlackPermanentError", non_retryable=True
            )
        async with self.sessionmaker() as session:
            try:
                done = await messages.sync_incident(
                    session=session,
                    client=self.client,
                    settings=self.settings,
                    incident_id=UUID(inp.incident_id),
                )
            except messages.SlackPermanentError as exc:
                raise ApplicationError(
                    str(exc), type="SlackPermanentError", non_retryable=True
                ) from exc
        activity.logger.info(
            "slack sync of incident %s (v%s): posted %s, updated %s, gone %s",
            inp.incident_id,
            inp.version,
            done.posted,
            done.updated,
            done.skipped,
        )
        return done.posted + done.updated
