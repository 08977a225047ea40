"""Chat: Slack direct messages and channel posts (slack_sdk), Teams cards (incoming webhook)."""

from __future__ import annotations

import re
from typing import Any

import httpx
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from app.notify.channels.base import DeliveryError, Sent
from app.slack.blocks import escape as slack_escape
from app.slack.messages import PERMANENT_ERRORS


class SlackChat:
    """Post with `chat.postMessage`; a user id as the channel sends a direct message."""

    name = "slack"

    def __init__(self, *, token: str, api_url: str) -> None:
        self.client = WebClient(token=token, base_url=api_url, timeout=10)

    def post(self, *, target: str, text: str, card: dict[str, Any] | None = None) -> Sent:
        """Post `text` (and Block Kit blocks from `card`) to a user or channel.

        `text` is plain: it carries titles from alert senders, so Slack's markup characters
        are escaped (no `<!channel>` pings, no `<https://evil|Acknowledge>` links).
        """
        try:
            answer = self.client.chat_postMessage(
                channel=target, text=slack_escape(text), blocks=(card or {}).get("blocks")
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error", "unknown"))
            raise DeliveryError(
                f"Slack {error}", provider=self.name, permanent=error in PERMANENT_ERRORS
            ) from exc
        except (OSError, TimeoutError) as exc:
            raise DeliveryError(
                f"Slack unreachable: {type(exc).__name__}", provider=self.name, permanent=False
            ) from exc
        return Sent(provider=self.name, provider_id=str(answer.get("ts")))


class TeamsWebhook:
    """Post an Adaptive Card to a Microsoft Teams channel through its incoming webhook."""

    name = "teams"

    def __init__(self, url: str) -> None:
        self.url = url

    def post(self, *, target: str, text: str, card: dict[str, Any] | None = None) -> Sent:
        """Post the card (or a plain text card) to the webhook; `target` is ignored."""
        body = {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": None,
                    "content": card or adaptive_card(text, []),
                }
            ],
        }
        try:
            response = httpx.post(self.url, json=body, timeout=10)
        except httpx.HTTPError as exc:
            raise DeliveryError(
                f"Teams unreachable: {type(exc).__name__}", provider=self.name, permanent=False
            ) from exc
        if response.status_code >= 400:
            permanent = response.status_code in (400, 403, 404, 410)
            raise DeliveryError(
                f"Teams answered {response.status_code}", provider=self.name, permanent=permanent
            )
        return Sent(provider=self.name)


# Adaptive Card TextBlocks render a Markdown subset: `[x](url)` links, emphasis, lists.
_TEAMS_MARKDOWN = re.compile(r"([\\`*_\[\]()~])")


def teams_escape(text: str) -> str:
    """Backslash-escape Markdown in plain `text` for an Adaptive Card TextBlock."""
    return _TEAMS_MARKDOWN.sub(r"\\\1", text)


def adaptive_card(text: str, actions: list[tuple[str, str]]) -> dict[str, Any]:
    """Return an Adaptive Card (1.4) with plain `text` and one Action.OpenUrl per (title, url)."""
    text = teams_escape(text)
    return {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [{"type": "TextBlock", "text": text, "wrap": True}],
        "actions": [{"type": "Action.OpenUrl", "title": t, "url": u} for t, u in actions],
    }
