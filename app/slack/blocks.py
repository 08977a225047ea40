"""Block Kit for incident messages: pure functions, no I/O, so they are tested without Slack."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Action ids of the message's controls; the Bolt app listens for these.
ACKNOWLEDGE = "incident_acknowledge"
RESOLVE = "incident_resolve"
ESCALATE = "incident_escalate"
REASSIGN = "incident_reassign"
RUN_RUNBOOK = "incident_run_runbook"  # opens the runbook modal (app/slack/runbook_actions.py)
ACTIONS_BLOCK = "incident_actions"

_STATUS = {
    "triggered": ":red_circle: Triggered",
    "acknowledged": ":large_yellow_circle: Acknowledged",
    "resolved": ":large_green_circle: Resolved",
}


@dataclass(frozen=True)
class Person:
    """Someone named on the card: a Slack mention when their Slack id is known."""

    name: str
    slack_user_id: str | None = None

    def mention(self) -> str:
        """Return the mrkdwn that names this person."""
        return f"<@{self.slack_user_id}>" if self.slack_user_id else escape(self.name)


@dataclass(frozen=True)
class IncidentCard:
    """What an incident message shows."""

    incident_id: str
    number: int
    title: str
    status: str
    severity: str
    urgency: str
    service_name: str
    escalation_level: int
    url: str
    temporal_url: str
    assigned: list[Person] = field(default_factory=list)
    acknowledged_by: Person | None = None
    resolved_by: Person | None = None
    # Upstream services with open incidents, nearest first: (name, open incidents, link).
    probable_causes: list[tuple[str, int, str]] = field(default_factory=list)


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fallback_text(card: IncidentCard) -> str:
    """Return the plain text of the message (notifications, screen readers)."""
    return (
        f"#{card.number} [{card.status.upper()}] {card.severity.upper()} on "
        f"{escape(card.service_name)}: {escape(card.title)}"
    )[:3000]


def incident_blocks(card: IncidentCard) -> list[dict[str, Any]]:
    """Return the blocks of an incident message; a resolved incident has no buttons."""
    status = _STATUS.get(card.status, card.status)
    if card.status == "triggered":
        status += f" (level {card.escalation_level})"
    assigned = ", ".join(p.mention() for p in card.assigned) or "nobody yet"
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": f"#{card.number} {card.title}"[:150]},
        },
        {
            "type": "section",
            "fields": [
                _field("Service", escape(card.service_name)),
                _field("Severity", f"{card.severity.upper()} ({card.urgency} urgency)"),
                _field("Status", status),
                _field("Assigned to", assigned),
            ],
        },
    ]
    if card.probable_causes and card.status != "resolved":
        blocks.append(_probable_causes(card))
    who = []
    if card.acknowledged_by and card.status != "triggered":
        who.append(f"Acknowledged by {card.acknowledged_by.mention()}")
    if card.resolved_by:
        who.append(f"Resolved by {card.resolved_by.mention()}")
    links = f"<{card.url}|Open in PageFree> · <{card.temporal_url}|Temporal workflow>"
    blocks.append({"type": "context", "elements": [_mrkdwn(" · ".join([*who, links]))]})
    if card.status != "resolved":
        blocks.append(_actions(card))
    return blocks


def _probable_causes(card: IncidentCard) -> dict[str, Any]:
    """The incident page's "Probably caused by …" line, as a context block."""
    causes = ", ".join(
        f"<{url}|{escape(name)}> ({count} open)" for name, count, url in card.probable_causes[:10]
    )
    return {"type": "context", "elements": [_mrkdwn(f":link: Probably caused by {causes}")]}


def _actions(card: IncidentCard) -> dict[str, Any]:
    elements: list[dict[str, Any]] = []
    if card.status == "triggered":
        elements.append(_button(ACKNOWLEDGE, "Acknowledge", card.incident_id, style="primary"))
    elements.append(_button(RESOLVE, "Resolve", card.incident_id))
    elements.append(_button(ESCALATE, "Escalate", card.incident_id))
    elements.append(_button(RUN_RUNBOOK, "Run runbook", card.incident_id))
    elements.append(
        {
            "type": "users_select",
            "action_id": REASSIGN,
            "placeholder": {"type": "plain_text", "text": "Reassign to…"},
        }
    )
    # The block id carries the incident: a users_select has no value of its own.
    return {
        "type": "actions",
        "block_id": f"{ACTIONS_BLOCK}:{card.incident_id}",
        "elements": elements,
    }


def _button(action_id: str, text: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": text},
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _field(label: str, value: str) -> dict[str, str]:
    return _mrkdwn(f"*{label}*\n{value}")


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}
