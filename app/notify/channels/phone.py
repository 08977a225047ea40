"""SMS and voice: Twilio (twilio SDK) first, Amazon SNS for SMS when Twilio is failing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from app.notify.channels.base import DeliveryError, Sent, SmsSender

TWILIO_API = "https://api.twilio.com"
# Twilio error codes that are about the recipient (bad number, STOP, landline for SMS …):
# the same message to the same number will fail again, on any provider.
TWILIO_PERMANENT = {21211, 21214, 21217, 21401, 21407, 21408, 21421, 21610, 21612, 21614, 13224}


class _RedirectedHttp(TwilioHttpClient):  # type: ignore[misc]  # twilio ships no type hints
    """Twilio's HTTP client, pointed at another base URL (tests, air-gapped installs)."""

    def __init__(self, base_url: str) -> None:
        super().__init__(timeout=10)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


def twilio_client(account_sid: str, auth_token: str, api_url: str | None) -> Client:
    """Return a Twilio REST client, redirected to `api_url` when given."""
    http = _RedirectedHttp(api_url) if api_url else TwilioHttpClient(timeout=10)
    return Client(account_sid, auth_token, http_client=http)


def _twilio_error(exc: Exception) -> DeliveryError:
    if isinstance(exc, TwilioRestException):
        permanent = exc.code in TWILIO_PERMANENT
        return DeliveryError(
            f"Twilio {exc.status} error {exc.code}: {exc.msg}",
            provider="twilio",
            permanent=permanent,
        )
    return DeliveryError(f"Twilio: {type(exc).__name__}", provider="twilio", permanent=False)


class TwilioPhone:
    """SMS (`Messages`) and calls (`Calls` with inline TwiML) through Twilio."""

    name = "twilio"

    def __init__(self, client: Client, from_number: str) -> None:
        self.client = client
        self.from_number = from_number

    def send_sms(self, *, to: str, text: str, status_callback: str | None) -> Sent:
        """Send an SMS; Twilio reports delivery later to `status_callback`."""
        try:
            message = self.client.messages.create(
                to=to,
                from_=self.from_number,
                body=text,
                **({"status_callback": status_callback} if status_callback else {}),
            )
        except (TwilioException, OSError) as exc:
            raise _twilio_error(exc) from exc
        # "sent" in the delivery log means the provider took it; Twilio's status callbacks
        # later move the row to delivered or failed.
        return Sent(provider=self.name, provider_id=message.sid)

    def call(self, *, to: str, twiml: str, status_callback: str | None) -> Sent:
        """Place a call that runs `twiml` when answered."""
        try:
            call = self.client.calls.create(
                to=to,
                from_=self.from_number,
                twiml=twiml,
                **({"status_callback": status_callback} if status_callback else {}),
            )
        except (TwilioException, OSError) as exc:
            raise _twilio_error(exc) from exc
        return Sent(provider=self.name, provider_id=call.sid)


class SnsSms:
    """SMS through Amazon SNS `Publish` to a phone number (transactional)."""

    name = "sns"

    def __init__(self, client: Any) -> None:
        self.client = client

    def send_sms(self, *, to: str, text: str, status_callback: str | None) -> Sent:
        """Send an SMS; SNS has no per-message callbacks, so `status_callback` is unused."""
        try:
            answer = self.client.publish(
                PhoneNumber=to,
                Message=text,
                MessageAttributes={
                    "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}
                },
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise DeliveryError(
                f"SNS {code}",
                provider=self.name,
                permanent=code in ("InvalidParameter", "OptedOut"),
            ) from exc
        except BotoCoreError as exc:
            raise DeliveryError(f"SNS: {exc}", provider=self.name, permanent=False) from exc
        return Sent(provider=self.name, provider_id=answer.get("MessageId"))


class FailoverSms:
    """Send through the primary; after `threshold` failures in a row use the secondary.

    A circuit breaker per worker process: while open (for `cooldown` seconds) messages go
    straight to the secondary; then the next message probes the primary again, and one more
    failure opens the circuit again. Errors about the recipient never count and never fail
    over: another provider would refuse the same number.
    """

    def __init__(
        self,
        primary: SmsSender,
        secondary: SmsSender | None,
        *,
        threshold: int = 3,
        cooldown: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary, self.secondary = primary, secondary
        self.threshold, self.cooldown, self.clock = threshold, cooldown, clock
        self.failures = 0
        self.open_until = 0.0
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        """Return whether messages currently bypass the primary."""
        return self.clock() < self.open_until

    def send_sms(self, *, to: str, text: str, status_callback: str | None) -> Sent:
        """Send through whichever provider the breaker allows; fail over on a provider error."""
        if self.secondary is not None and self.is_open:
            return self.secondary.send_sms(to=to, text=text, status_callback=status_callback)
        try:
            sent = self.primary.send_sms(to=to, text=text, status_callback=status_callback)
        except DeliveryError as exc:
            if exc.permanent:
                raise
            self._failed()
            if self.secondary is None:
                raise
            sent = self.secondary.send_sms(to=to, text=text, status_callback=status_callback)
            return Sent(
                provider=sent.provider,
                provider_id=sent.provider_id,
                status=sent.status,
                notes={"failed_over_from": exc.provider, "primary_error": str(exc)},
            )
        with self._lock:
            self.failures = 0
        return sent

    def _failed(self) -> None:
        with self._lock:
            self.failures += 1
            if self.failures >= self.threshold:
                self.open_until = self.clock() + self.cooldown
