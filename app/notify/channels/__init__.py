"""The channel registry: one adapter per configured provider, built from Settings.

A provider without configuration leaves its channel disabled with a warning (logged at
start-up and shown by `/readyz`); nothing crashes for a missing credential.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError

from app.config import Settings
from app.notify.channels.base import (
    ChatPoster,
    DeliveryError,
    EmailSender,
    PushSender,
    Sent,
    SmsSender,
    VoiceCaller,
)
from app.notify.channels.chat import SlackChat, TeamsWebhook
from app.notify.channels.email import SesEmail
from app.notify.channels.phone import FailoverSms, SnsSms, TwilioPhone, twilio_client
from app.notify.channels.push import WebPush

__all__ = ["Channels", "DeliveryError", "Sent", "build_channels"]


@dataclass
class Channels:
    """The adapters of one process; a None channel is disabled (see `warnings`)."""

    email: EmailSender | None = None
    sms: SmsSender | None = None
    voice: VoiceCaller | None = None
    push: PushSender | None = None
    slack: ChatPoster | None = None
    teams: ChatPoster | None = None
    slack_channel: str | None = None
    warnings: list[str] = field(default_factory=list)

    def status(self) -> dict[str, str]:
        """Return each channel's state for `/readyz`: "ok" or "disabled"."""
        names = ("email", "sms", "voice", "push", "slack", "teams")
        return {n: "ok" if getattr(self, n) is not None else "disabled" for n in names}


def _aws_client(name: str, warn: Callable[[str], None]) -> Any:
    try:
        return boto3.client(name)
    except (BotoCoreError, ValueError) as exc:
        warn(f"{name} disabled: AWS is not configured ({type(exc).__name__}: {exc})")
        return None


def build_channels(settings: Settings) -> Channels:
    """Build every channel the settings configure; warn about the others."""
    ch = Channels()
    warn = ch.warnings.append
    if settings.ses_from_address:
        ses = _aws_client("ses", warn)
        ch.email = SesEmail(ses, settings.ses_from_address) if ses else None
    else:
        warn("email disabled: set SES_FROM_ADDRESS (and AWS credentials) to send through SES")
    sns_client = _aws_client("sns", warn) if settings.sns_sms_enabled else None
    sns = SnsSms(sns_client) if sns_client else None
    token = settings.twilio_auth_token
    if settings.twilio_account_sid and token and settings.twilio_from_number:
        client = twilio_client(
            settings.twilio_account_sid, token.get_secret_value(), settings.twilio_api_url
        )
        twilio = TwilioPhone(client, settings.twilio_from_number)
        ch.voice = twilio
        ch.sms = FailoverSms(
            twilio,
            sns,
            threshold=settings.sms_breaker_failures,
            cooldown=settings.sms_breaker_cooldown.total_seconds(),
        )
        if sns is None:
            warn("SMS has no fail-over: set SNS_SMS_ENABLED=true to fail over to Amazon SNS")
    else:
        ch.sms = sns
        warn(
            "voice disabled"
            + ("" if sns else " and SMS disabled")
            + ": set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER"
        )
    if settings.vapid_private_key and settings.vapid_subject:
        ch.push = WebPush(
            private_key=settings.vapid_private_key.get_secret_value(),
            subject=settings.vapid_subject,
            allow_private=settings.allow_private_targets,
        )
    else:
        warn("web push disabled: set VAPID_PRIVATE_KEY, VAPID_PUBLIC_KEY and VAPID_SUBJECT")
    if settings.slack_bot_token:
        ch.slack = SlackChat(
            token=settings.slack_bot_token.get_secret_value(), api_url=settings.slack_api_url
        )
        ch.slack_channel = settings.slack_page_channel
    else:
        warn("Slack messages disabled: set SLACK_BOT_TOKEN")
    if settings.teams_webhook_url:
        ch.teams = TeamsWebhook(settings.teams_webhook_url.get_secret_value())
    if not settings.link_secret:
        warn("e-mails and push notifications carry no acknowledge links: set PAGEFREE_LINK_SECRET")
    return ch
