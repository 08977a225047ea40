"""The template library: ready plays an admin creates with `POST automations {template, …}`."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from app.automations.models import TemplatePublic
from app.errors import invalid

CONNECTION = "<connection id>"
_LINK = "{{ incident.url }}"

TEMPLATES: list[TemplatePublic] = [
    TemplatePublic(
        key="jira_ticket_for_critical",
        name="Jira ticket for critical incidents",
        description="Open a Jira issue when a critical incident triggers; its link lands on "
        "the incident's timeline.",
        definition={
            "trigger": {"event": "incident.triggered"},
            "conditions": [{"field": "severity", "op": "eq", "value": "critical"}],
            "run_once_per_incident": True,
            "steps": [
                {
                    "type": "jira_issue",
                    "connection_id": CONNECTION,
                    "project_key": "OPS",
                    "issue_type": "Task",
                    "summary": "[#{{ incident.number }}] {{ incident.title }}",
                    "description": "Service {{ incident.service.name }}, severity "
                    "{{ incident.severity }}.\n" + _LINK,
                }
            ],
        },
        needs=["steps[0].connection_id", "steps[0].project_key"],
    ),
    TemplatePublic(
        key="post_to_slack_channel",
        name="Post to a Slack channel",
        description="Tell a Slack channel about every new high-urgency incident.",
        definition={
            "trigger": {"event": "incident.triggered"},
            "conditions": [{"field": "urgency", "op": "eq", "value": "high"}],
            "run_once_per_incident": True,
            "steps": [
                {
                    "type": "slack_message",
                    "channel": "C0000000000",
                    "text": ":rotating_light: #{{ incident.number }} {{ incident.title }} "
                    "({{ incident.severity }}, {{ incident.service.name }}) " + _LINK,
                }
            ],
        },
        needs=["steps[0].channel"],
    ),
    TemplatePublic(
        key="webhook_on_resolve",
        name="Notify a webhook on resolve",
        description="POST the incident as JSON to a URL when it resolves.",
        definition={
            "trigger": {"event": "incident.resolved"},
            "conditions": [],
            "run_once_per_incident": True,
            "steps": [
                {
                    "type": "webhook",
                    "url": "https://hooks.example.com/pagefree",
                    "method": "POST",
                    "headers": {"Content-Type": "application/json"},
                    "body": '{"incident": {{ incident.number }}, "title": '
                    "{{ incident.title | tojson }}, "
                    '"status": "{{ incident.status }}", "url": "{{ incident.url }}"}',
                    "run_to_completion": True,
                }
            ],
        },
        needs=["steps[0].url"],
    ),
    TemplatePublic(
        key="escalate_long_unacknowledged",
        name="Escalate a long-unacknowledged incident",
        description="If a high-urgency incident is still unacknowledged after 15 minutes, "
        "escalate it to the next level and say so on the timeline.",
        definition={
            "trigger": {"event": "incident.unacknowledged", "after": "PT15M"},
            "conditions": [{"field": "urgency", "op": "eq", "value": "high"}],
            "run_once_per_incident": False,
            "steps": [
                {"type": "escalate"},
                {
                    "type": "add_note",
                    "body": "Escalated by automation: unacknowledged for 15 minutes.",
                },
            ],
        },
        needs=[],
    ),
    TemplatePublic(
        key="auto_resolve_stale_low_urgency",
        name="Auto-resolve stale low-urgency incidents",
        description="Resolve a low-urgency incident nobody acknowledged within a day.",
        definition={
            "trigger": {"event": "incident.unacknowledged", "after": "P1D"},
            "conditions": [{"field": "urgency", "op": "eq", "value": "low"}],
            "run_once_per_incident": True,
            "steps": [
                {
                    "type": "resolve",
                    "note": "Resolved by automation: low urgency, unacknowledged for a day.",
                }
            ],
        },
        needs=[],
    ),
    TemplatePublic(
        key="linear_issue_for_errors",
        name="Linear issue for error incidents",
        description="Open a Linear issue for incidents of severity error or worse.",
        definition={
            "trigger": {"event": "incident.triggered"},
            "conditions": [{"field": "severity", "op": "gte", "value": "error"}],
            "run_once_per_incident": True,
            "steps": [
                {
                    "type": "linear_issue",
                    "connection_id": CONNECTION,
                    "team_id": "<linear team id>",
                    "title": "#{{ incident.number }} {{ incident.title }}",
                    "description": _LINK,
                }
            ],
        },
        needs=["steps[0].connection_id", "steps[0].team_id"],
    ),
]
BY_KEY = {t.key: t for t in TEMPLATES}


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge overrides; lists of steps merge item by item (a partial step patches one)."""
    out = deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        elif key == "steps" and isinstance(value, list) and isinstance(out.get(key), list):
            steps = out[key]
            for i, patch in enumerate(value):
                if i < len(steps) and isinstance(patch, dict) and "type" not in patch:
                    steps[i] = _merge(steps[i], patch)
                elif i < len(steps):
                    steps[i] = patch
                else:
                    steps.append(patch)
        else:
            out[key] = value
    return out


def from_template(key: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """Return the create body a template gives with the caller's overrides applied."""
    template = BY_KEY.get(key)
    if template is None:
        known = ", ".join(BY_KEY)
        raise invalid([{"field": "template", "message": f"unknown template; one of {known}"}])
    body = _merge(template.definition, overrides)
    body.setdefault("name", template.name)
    return body
