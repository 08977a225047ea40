"""What every channel adapter shares: the capability protocols, results and errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol


class DeliveryError(Exception):
    """A send that failed. `permanent` ones (bad number, unsubscribed) are never retried."""

    def __init__(
        self, message: str, *, provider: str, permanent: bool, expired: bool = False
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.permanent = permanent
        # The address is gone for good (a push subscription answered 404/410): forget it.
        self.expired = expired


@dataclass(frozen=True)
class Sent:
    """A provider took the message."""

    provider: str
    provider_id: str | None = None
    status: Literal["queued", "sent", "delivered"] = "sent"
    notes: dict[str, Any] = field(default_factory=dict)


class EmailSender(Protocol):
    def send_email(self, *, to: str, subject: str, text: str, html: str) -> Sent: ...


class SmsSender(Protocol):
    def send_sms(self, *, to: str, text: str, status_callback: str | None) -> Sent: ...


class VoiceCaller(Protocol):
    def call(self, *, to: str, twiml: str, status_callback: str | None) -> Sent: ...


class PushSender(Protocol):
    def push(self, *, subscription: dict[str, Any], payload: dict[str, Any]) -> Sent: ...


class ChatPoster(Protocol):
    def post(self, *, target: str, text: str, card: dict[str, Any] | None = None) -> Sent: ...
