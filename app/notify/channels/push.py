"""Web push with VAPID (pywebpush); subscriptions the push service forgot are expired."""

from __future__ import annotations

import json
from typing import Any

from pywebpush import WebPushException, webpush
from requests import RequestException

from app.notify.channels.base import DeliveryError, Sent


class WebPush:
    name = "webpush"

    def __init__(self, *, private_key: str, subject: str, ttl: int = 3600) -> None:
        self.private_key = private_key
        self.subject = subject
        self.ttl = ttl

    def push(self, *, subscription: dict[str, Any], payload: dict[str, Any]) -> Sent:
        """Encrypt `payload` for the subscription and hand it to its push service."""
        try:
            response = webpush(
                subscription_info=subscription,
                data=json.dumps(payload),
                vapid_private_key=self.private_key,
                vapid_claims={"sub": self.subject},
                ttl=self.ttl,
                timeout=10,
                headers={"Urgency": "high"},
            )
        except WebPushException as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status in (404, 410):
                raise DeliveryError(
                    f"push subscription expired ({status})",
                    provider=self.name,
                    permanent=True,
                    expired=True,
                ) from exc
            permanent = status is not None and 400 <= status < 500 and status != 429
            raise DeliveryError(
                f"push service answered {status}", provider=self.name, permanent=permanent
            ) from exc
        except RequestException as exc:
            raise DeliveryError(
                f"push service unreachable: {type(exc).__name__}",
                provider=self.name,
                permanent=False,
            ) from exc
        location = getattr(response, "headers", {}).get("Location")
        return Sent(provider=self.name, provider_id=location)
