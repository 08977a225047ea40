"""Replies by phone: parse an SMS command or a keypress into an incident action. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ReplyAction = Literal["acknowledge", "resolve", "escalate"]

_WORDS: dict[str, ReplyAction] = {
    "ack": "acknowledge",
    "acknowledge": "acknowledge",
    "a": "acknowledge",
    "resolve": "resolve",
    "res": "resolve",
    "r": "resolve",
    "escalate": "escalate",
    "esc": "escalate",
}
_REPLY = re.compile(r"^\s*([a-z]+)\s*#?\s*(\d{1,12})\s*[.!]?\s*$", re.IGNORECASE)
DIGITS: dict[str, ReplyAction] = {"1": "acknowledge", "2": "resolve", "3": "escalate"}


@dataclass(frozen=True)
class Reply:
    action: ReplyAction
    number: int


def parse_sms(body: str) -> Reply | None:
    """Return the command in an SMS such as "ack 42" or "Resolve #42", or None."""
    match = _REPLY.match(body or "")
    if not match:
        return None
    action = _WORDS.get(match.group(1).lower())
    return Reply(action, int(match.group(2))) if action else None


SMS_HELP = "Reply 'ack N' to acknowledge or 'resolve N' to resolve incident #N."
