"""What every normalizer returns, and small readers that collect field errors.

Pure: no I/O. A normalizer turns one parsed payload into alert events or raises
`InvalidPayload` listing every field problem it found.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Action = Literal["trigger", "acknowledge", "resolve"]
ACTIONS: tuple[Action, ...] = ("trigger", "acknowledge", "resolve")


def as_action(value: str) -> Action:
    """Return `value` as an action; the caller has checked that it is one."""
    for action in ACTIONS:
        if value == action:
            return action
    raise ValueError(f"not an action: {value!r}")


# Longest dedup key accepted (PagerDuty's documented limit); longer foreign keys are hashed.
DEDUP_KEY_MAX = 255
SUMMARY_MAX = 1024


@dataclass
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """Return the problem+json `errors` entry."""
        return {"field": self.field, "message": self.message}

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class InvalidPayload(ValueError):
    """The payload does not follow the format; `errors` names each problem."""

    def __init__(self, errors: list[FieldError]):
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


@dataclass
class Event:
    """One alert event in PageFree's terms, before routing and severity mapping."""

    action: Action
    dedup_key: str | None  # None: the receiver generates one (a new incident)
    summary: str
    severity: str | None = None  # as the tool says it; mapped per integration later
    source: str | None = None
    links: list[dict[str, str]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    # Values that may name a service's routing key (organisation-wide integrations).
    service_hints: list[str] = field(default_factory=list)
    alert_key: str | None = None  # re-sent alerts with this key update one row
    raw: Any = None  # the part of the payload kept with the alert
    occurred_at: datetime | None = None


@dataclass
class Normalized:
    events: list[Event]
    info: dict[str, Any] = field(default_factory=dict)  # reported to the sender and the log


class Reader:
    """Read typed fields from a JSON object, collecting errors instead of stopping at one."""

    def __init__(self, errors: list[FieldError] | None = None):
        self.errors: list[FieldError] = [] if errors is None else errors

    def fail(self, path: str, message: str) -> None:
        self.errors.append(FieldError(path, message))

    def obj(self, value: Any, path: str, *, required: bool = False) -> dict[str, Any]:
        """Return `value` as an object ({} when absent or wrong, with an error)."""
        if value is None:
            if required:
                self.fail(path, "is required")
            return {}
        if not isinstance(value, dict):
            self.fail(path, "must be an object")
            return {}
        return value

    def text(
        self,
        data: dict[str, Any],
        name: str,
        path: str,
        *,
        required: bool = False,
        max_len: int | None = None,
        numbers: bool = False,
    ) -> str | None:
        """Return a string field; blank counts as missing. `numbers` accepts 42 as "42"."""
        value = data.get(name)
        if numbers and isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(path, "is missing or blank")
            return None
        if not isinstance(value, str):
            self.fail(path, "must be a string")
            return None
        if max_len is not None and len(value) > max_len:
            self.fail(path, f"is longer than {max_len} characters")
            return None
        return value

    def str_map(self, value: Any, path: str) -> dict[str, str]:
        """Return a map of strings (labels, annotations); other values become text."""
        data = self.obj(value, path)
        return {str(k): v if isinstance(v, str) else str(v) for k, v in data.items()}

    def check(self) -> None:
        if self.errors:
            raise InvalidPayload(self.errors)


def short_key(value: str, prefix: str) -> str:
    """Return `value` as a dedup key, hashed when it is too long to be one."""
    if len(value) <= DEDUP_KEY_MAX:
        return value
    return f"{prefix}-{hashlib.sha256(value.encode()).hexdigest()[:40]}"


def labels_fingerprint(labels: dict[str, str]) -> str:
    """Return a stable fingerprint of a label set (when the tool sent none)."""
    canonical = "\x00".join(f"{k}\x01{labels[k]}" for k in sorted(labels))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def parse_time(value: Any) -> datetime | None:
    """Parse an ISO 8601 instant or unix seconds/milliseconds; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 10_000_000_000 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def link(href: Any, text: str) -> dict[str, str] | None:
    """Return a link entry for a non-empty URL string."""
    if isinstance(href, str) and href.strip():
        return {"href": href, "text": text}
    return None


def links(*pairs: tuple[Any, str]) -> list[dict[str, str]]:
    """Return the link entries of (href, text) pairs that have a URL."""
    return [entry for href, text in pairs if (entry := link(href, text)) is not None]
