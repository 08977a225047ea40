"""Send a contact method's verification code through the channel it verifies."""

from __future__ import annotations

import asyncio
import json

from app.errors import ChannelDisabled, DeliveryFailed
from app.notify import messages
from app.notify.channels import Channels, DeliveryError
from app.notify.models import ContactMethod, ContactType


def _disabled(kind: str) -> ChannelDisabled:
    return ChannelDisabled(f"the {kind} channel is not configured on this server; see /readyz")


def _send(channels: Channels, method: ContactMethod, code: str) -> None:
    text = f"Your PageFree verification code is {code}. It expires in 15 minutes."
    kind = ContactType(method.type)
    if kind is ContactType.email:
        if channels.email is None:
            raise _disabled("email")
        channels.email.send_email(
            to=method.address,
            subject="PageFree verification code",
            text=text,
            html=f"<p>{text}</p>",
        )
    elif kind is ContactType.sms:
        if channels.sms is None:
            raise _disabled("SMS")
        channels.sms.send_sms(to=method.address, text=text, status_callback=None)
    elif kind is ContactType.voice:
        if channels.voice is None:
            raise _disabled("voice")
        spoken = " ".join(code)
        channels.voice.call(
            to=method.address,
            twiml=messages.twiml_say(f"Your PageFree code is {spoken}. Again: {spoken}."),
            status_callback=None,
        )
    elif kind is ContactType.push:
        if channels.push is None:
            raise _disabled("push")
        channels.push.push(
            subscription=json.loads(method.address),
            payload={"title": "PageFree verification code", "body": text},
        )
    else:
        if channels.slack is None:
            raise _disabled("Slack")
        channels.slack.post(target=method.address, text=text)


async def send_code(channels: Channels, method: ContactMethod, code: str) -> None:
    """Send `code` to the method's address; a provider failure becomes a 502 problem."""
    try:
        await asyncio.to_thread(_send, channels, method, code)
    except DeliveryError as exc:
        raise DeliveryFailed(str(exc), permanent=exc.permanent) from exc
