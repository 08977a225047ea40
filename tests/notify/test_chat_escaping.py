"""Titles come from alert senders: chat posts show them as text, never as markup."""

from __future__ import annotations

from app.config import Settings
from app.notify import messages
from app.notify.channels import Channels, build_channels
from app.notify.channels.chat import adaptive_card
from tests.notify.conftest import Providers, with_chat_channels

HOSTILE = (
    "DB down <!channel> <https://evil.example/ack|Acknowledge> [Ack](https://evil.example) *x*"
)


def _facts() -> messages.PageFacts:
    return messages.PageFacts(
        number=7,
        title=HOSTILE,
        service="Checkout",
        severity="critical",
        url="https://pagefree.example.com/incidents/abc",
        level=1,
    )


def test_a_slack_post_escapes_mentions_and_links_in_the_title(
    channels: Channels, providers: Providers
) -> None:
    assert channels.slack is not None
    channels.slack.post(target="C0PAGES", text=messages.chat(_facts()))
    [post] = providers.slack.posts()
    text = post["text"]
    assert "<!channel>" not in text and "<https://evil" not in text
    assert "&lt;!channel&gt;" in text and "&lt;https://evil.example/ack|Acknowledge&gt;" in text
    assert "https://pagefree.example.com/incidents/abc" in text  # the real link still works


def test_a_teams_card_shows_markdown_in_the_title_as_text(
    notify_settings: Settings, providers: Providers
) -> None:
    channels = build_channels(with_chat_channels(notify_settings, providers))
    assert channels.teams is not None
    facts = _facts()
    channels.teams.post(target="", text="", card=adaptive_card(messages.chat(facts), []))
    [req] = providers.teams.requests
    text = req.json()["attachments"][0]["content"]["body"][0]["text"]
    assert "[Ack](https://evil.example)" not in text
    assert r"\[Ack\]\(https://evil.example\)" in text and r"\*x\*" in text
    assert text.startswith("#7 CRITICAL")
