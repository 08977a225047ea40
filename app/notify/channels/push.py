"""Web push with VAPID (pywebpush); subscriptions the push service forgot are expired.

A push endpoint is a URL the subscriber chose, so it is an SSRF vector: only https endpoints
on public addresses are accepted when saved and called (checked again right before each send,
against DNS rebinding), redirects are not followed, and an error says only "push service
refused" or "push service unreachable" (never what answered).
"""

from __future__ import annotations

import json
from typing import Any

import requests
from pywebpush import WebPushException, webpush
from requests import RequestException

from app.netguard import BlockedTarget, check_url, check_url_blocking
from app.notify.channels.base import DeliveryError, Sent

REFUSED = "push service refused"
UNREACHABLE = "push service unreachable"


def _schemes(allow_private: bool) -> tuple[str, ...]:
    # Closed networks and tests' local stand-ins speak http; public push services never do.
    return ("https", "http") if allow_private else ("https",)


async def check_push_endpoint(endpoint: str, allow_private: bool) -> None:
    """Refuse an endpoint that is not https on a public address (raises BlockedTarget)."""
    await check_url(
        endpoint, field="address", schemes=_schemes(allow_private), allow_private=allow_private
    )


class _NoRedirects(requests.Session):
    """A session that hands a redirect back as the answer instead of following it."""

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["allow_redirects"] = False
        return super().request(*args, **kwargs)


class WebPush:
    name = "webpush"

    def __init__(
        self, *, private_key: str, subject: str, ttl: int = 3600, allow_private: bool = False
    ) -> None:
        self.private_key = private_key
        self.subject = subject
        self.ttl = ttl
        self.allow_private = allow_private

    def push(self, *, subscription: dict[str, Any], payload: dict[str, Any]) -> Sent:
        """Encrypt `payload` for the subscription and hand it to its push service."""
        endpoint = str(subscription.get("endpoint", ""))
        try:
            check_url_blocking(
                endpoint,
                field="endpoint",
                schemes=_schemes(self.allow_private),
                allow_private=self.allow_private,
            )
        except BlockedTarget as exc:
            raise DeliveryError(REFUSED, provider=self.name, permanent=True) from exc
        try:
            with _NoRedirects() as session:
                response = webpush(
                    subscription_info=subscription,
                    data=json.dumps(payload),
                    vapid_private_key=self.private_key,
                    vapid_claims={"sub": self.subject},
                    ttl=self.ttl,
                    timeout=10,
                    headers={"Urgency": "high"},
                    requests_session=session,
                )
        except WebPushException as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status in (404, 410):
                raise DeliveryError(
                    f"{REFUSED}: subscription expired",
                    provider=self.name,
                    permanent=True,
                    expired=True,
                ) from exc
            permanent = status is not None and 300 <= status < 500 and status != 429
            raise DeliveryError(REFUSED, provider=self.name, permanent=permanent) from exc
        except RequestException as exc:
            raise DeliveryError(UNREACHABLE, provider=self.name, permanent=False) from exc
        location = getattr(response, "headers", {}).get("Location")
        return Sent(provider=self.name, provider_id=location)
