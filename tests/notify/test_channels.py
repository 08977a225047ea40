"""Each channel adapter through its real SDK against a stand-in speaking the provider's wire."""

from __future__ import annotations

import json
import uuid
from urllib.parse import parse_qs

import pytest

from app.config import Settings
from app.notify import messages
from app.notify.channels import Channels, DeliveryError, build_channels
from app.notify.channels.chat import adaptive_card
from app.notify.channels.phone import FailoverSms
from tests.notify.conftest import FROM_EMAIL, Providers, ses_sent, sns_sms, with_chat_channels

FACTS = messages.PageFacts(
    number=42,
    title="Checkout is down",
    service="Checkout API",
    severity="critical",
    url="https://pagefree.example.com/incidents/x",
    level=1,
)


def _number() -> str:
    return f"+1555{uuid.uuid4().int % 10_000_000:07d}"


def test_ses_email_has_plain_text_and_html_bodies(channels: Channels) -> None:
    to = f"{uuid.uuid4().hex[:8]}@example.com"
    subject, text, html = messages.email(FACTS)
    assert channels.email is not None
    wire: list[dict[str, list[str]]] = []
    channels.email.client.meta.events.register(  # type: ignore[attr-defined]
        "before-send.ses.SendEmail", lambda request, **_: wire.append(parse_qs(request.body))
    )
    sent = channels.email.send_email(to=to, subject=subject, text=text, html=html)
    [form] = wire
    assert form["Message.Body.Text.Data"] == [text] and "Open the incident: " in text
    assert form["Message.Body.Html.Data"] == [html]
    [message] = ses_sent(to)
    assert sent.provider == "ses" and sent.provider_id == message.id
    assert message.source == FROM_EMAIL
    assert message.subject == "[PageFree] #42 CRITICAL: Checkout is down"
    assert "#42 CRITICAL on Checkout API" in message.body
    assert "<strong>" in message.body  # moto keeps the HTML body


def test_unverified_sender_is_a_permanent_ses_error(notify_settings: Settings) -> None:
    ch = build_channels(notify_settings.model_copy(update={"ses_from_address": "x@nowhere.test"}))
    assert ch.email is not None
    with pytest.raises(DeliveryError) as err:
        ch.email.send_email(to="a@example.com", subject="s", text="t", html="h")
    assert err.value.permanent and err.value.provider == "ses"


def test_twilio_sms_wire_format(channels: Channels, providers: Providers) -> None:
    to = _number()
    assert channels.sms is not None
    sent = channels.sms.send_sms(to=to, text=messages.sms(FACTS), status_callback="https://cb")
    [form] = providers.twilio.sent()
    assert form["To"] == to and form["From"] == "+15550001111"
    assert form["StatusCallback"] == "https://cb"
    assert "Reply 'ack 42' or 'resolve 42'" in form["Body"]
    assert sent.provider == "twilio" and sent.provider_id and sent.provider_id.startswith("SM")


def test_invalid_number_is_permanent_and_never_fails_over(
    channels: Channels, providers: Providers
) -> None:
    to = _number()
    providers.twilio.fail = (400, 21211)
    assert channels.sms is not None
    with pytest.raises(DeliveryError) as err:
        channels.sms.send_sms(to=to, text="x", status_callback=None)
    assert err.value.permanent and "21211" in str(err.value)
    assert sns_sms(to) == []


def test_twilio_outage_fails_over_to_sns_and_the_breaker_opens(
    notify_settings: Settings, providers: Providers
) -> None:
    ch = build_channels(notify_settings)
    sms = ch.sms
    assert isinstance(sms, FailoverSms) and sms.threshold == 3
    now = [1000.0]
    sms.clock = lambda: now[0]
    providers.twilio.fail = (503, 20500)
    numbers = [_number() for _ in range(5)]
    for n in numbers[:3]:
        sent = sms.send_sms(to=n, text="page", status_callback=None)
        assert sent.provider == "sns" and sent.notes["failed_over_from"] == "twilio"
    assert sms.is_open and len(providers.twilio.requests) == 3
    # While open, Twilio is not even tried.
    assert sms.send_sms(to=numbers[3], text="page", status_callback=None).provider == "sns"
    assert len(providers.twilio.requests) == 3
    assert all(sns_sms(n) == ["page"] for n in numbers[:4])
    # After the cool-down the next message probes Twilio again; it has recovered.
    now[0] += 121
    providers.twilio.fail = None
    assert sms.send_sms(to=numbers[4], text="page", status_callback=None).provider == "twilio"
    assert len(providers.twilio.requests) == 4 and sms.failures == 0


def test_a_failed_probe_opens_the_breaker_again(
    notify_settings: Settings, providers: Providers
) -> None:
    sms = build_channels(notify_settings).sms
    assert isinstance(sms, FailoverSms)
    now = [0.0]
    sms.clock = lambda: now[0]
    providers.twilio.fail = (500, 20500)
    for _ in range(3):
        sms.send_sms(to=_number(), text="x", status_callback=None)
    now[0] += 121
    assert not sms.is_open
    sms.send_sms(to=_number(), text="x", status_callback=None)  # probe fails, SNS answers
    assert sms.is_open and len(providers.twilio.requests) == 4


def test_twilio_call_reads_the_incident_and_gathers_a_key(
    channels: Channels, providers: Providers
) -> None:
    assert channels.voice is not None
    twiml = messages.voice_twiml(
        FACTS, "https://pagefree.example.com/webhooks/twilio/voice?a=1&b=2"
    )
    sent = channels.voice.call(to=_number(), twiml=twiml, status_callback=None)
    [form] = providers.twilio.sent("Calls")
    assert sent.provider_id and sent.provider_id.startswith("CA")
    assert '<Gather numDigits="1"' in form["Twiml"]
    assert (
        'action="https://pagefree.example.com/webhooks/twilio/voice?a=1&amp;b=2"' in form["Twiml"]
    )
    assert "Press 1 to acknowledge, 2 to resolve, 3 to escalate" in form["Twiml"]


def test_web_push_payload_decrypts_with_the_subscription_keys(
    channels: Channels, providers: Providers
) -> None:
    sub = providers.push.subscription("abc")
    assert channels.push is not None
    sent = channels.push.push(subscription=sub.info(), payload=messages.push(FACTS))
    [req] = providers.push.requests
    assert req.headers["content-encoding"] == "aes128gcm"
    assert req.headers["authorization"].startswith("vapid t=")
    assert f"k={providers.vapid_public}" in req.headers["authorization"]
    payload = json.loads(sub.decrypt(req.body))
    assert payload["title"] == "#42 CRITICAL: Checkout is down" and payload["incident_number"] == 42
    assert sent.provider_id == f"{providers.push.url}/messages/abc"


def test_expired_push_subscription_is_permanent_and_marked_expired(
    channels: Channels, providers: Providers
) -> None:
    providers.push.gone.add("old")
    assert channels.push is not None
    with pytest.raises(DeliveryError) as err:
        channels.push.push(subscription=providers.push.subscription("old").info(), payload={})
    assert err.value.permanent and err.value.expired


def test_slack_direct_message(channels: Channels, providers: Providers) -> None:
    assert channels.slack is not None
    sent = channels.slack.post(target="U012AB3CD", text=messages.chat(FACTS))
    [post] = providers.slack.posts()
    assert post["channel"] == "U012AB3CD" and post["text"].startswith("#42 CRITICAL")
    assert sent.provider == "slack" and sent.provider_id


def test_slack_unknown_user_is_permanent_and_rate_limit_is_not(
    channels: Channels, providers: Providers
) -> None:
    assert channels.slack is not None
    for error, permanent in (("user_not_found", True), ("internal_error", False)):
        providers.slack.error = error
        with pytest.raises(DeliveryError) as err:
            channels.slack.post(target="U012AB3CD", text="x")
        assert err.value.permanent is permanent


def test_teams_channel_message_is_an_adaptive_card(
    notify_settings: Settings, providers: Providers
) -> None:
    channels = build_channels(with_chat_channels(notify_settings, providers))
    assert channels.teams is not None
    card = adaptive_card(messages.chat(FACTS), [("Open", FACTS.url)])
    channels.teams.post(target="", text="", card=card)
    [req] = providers.teams.requests
    body = req.json()
    [attachment] = body["attachments"]
    assert body["type"] == "message"
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["content"]["type"] == "AdaptiveCard"
    assert attachment["content"]["actions"][0]["url"] == FACTS.url


def test_missing_provider_configuration_disables_the_channel_with_a_warning(
    settings: Settings,
) -> None:
    ch = build_channels(settings)
    assert ch.status() == {
        "email": "disabled",
        "sms": "disabled",
        "voice": "disabled",
        "push": "disabled",
        "slack": "disabled",
        "teams": "disabled",
    }
    assert any("SES_FROM_ADDRESS" in w for w in ch.warnings)
    assert any("TWILIO_ACCOUNT_SID" in w for w in ch.warnings)
