"""Step texts are Jinja templates over the incident, rendered in a sandbox (`jinja2.sandbox`).

The context (documented in docs/automation.md):
`incident.{id, number, title, status, severity, urgency, url, temporal_url, escalation_level,
created_at, acknowledged_at, resolved_at, service.{id, name}, team.{id, name},
alert.{summary, source, labels.<name>}}` and `automation.{id, name, version}`, `run.{id,
event}`. Undefined names are errors (StrictUndefined), except alert labels: a label the alert
lacks renders as "".
"""

from __future__ import annotations

from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from app.automations.definition import TEMPLATE_FIELDS, Definition, walk
from app.errors import Invalid, invalid

ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
MAX_OUTPUT = 20_000


class Labels(dict[str, str]):
    """Alert labels: a missing one renders as "" rather than failing the step."""

    def __missing__(self, key: str) -> str:
        return ""


class SampleLabels(dict[str, str]):
    """Labels of the sample incident used to check templates when an automation is saved."""

    def __missing__(self, key: str) -> str:
        return f"<{key}>"


def sample_context() -> dict[str, Any]:
    """Return a context with every documented name, to validate templates at save."""
    return {
        "incident": {
            "id": "00000000-0000-0000-0000-000000000000",
            "number": 42,
            "title": "CPU on fire",
            "status": "triggered",
            "severity": "critical",
            "urgency": "high",
            "url": "https://pagefree.example/incidents/00000000",
            "temporal_url": "https://temporal.example/",
            "escalation_level": 1,
            "created_at": "2026-01-01T00:00:00+00:00",
            "acknowledged_at": None,
            "resolved_at": None,
            "service": {"id": "00000000-0000-0000-0000-000000000001", "name": "checkout"},
            "team": {"id": None, "name": None},
            "alert": {"summary": "CPU on fire", "source": "prometheus", "labels": SampleLabels()},
        },
        "automation": {
            "id": "00000000-0000-0000-0000-000000000002",
            "name": "sample",
            "version": 1,
        },
        "run": {"id": "00000000-0000-0000-0000-000000000003", "event": "incident.triggered"},
    }


def render(template: str, context: dict[str, Any], field: str = "template") -> str:
    """Render one template in the sandbox, or raise Invalid naming `field`."""
    try:
        out = ENV.from_string(template).render(context)
    except TemplateError as exc:
        raise invalid([{"field": field, "message": f"template error: {exc}"}]) from None
    return out[:MAX_OUTPUT]


def texts_of(path: str, step: Any) -> list[tuple[str, str]]:
    """Return a step's template texts as (field path, template)."""
    found = []
    for name in TEMPLATE_FIELDS.get(step.type, ()):
        value = getattr(step, name, None)
        if value:
            found.append((f"{path}.{name}", value))
    if step.type == "webhook":
        found += [(f"{path}.headers.{k}", v) for k, v in step.headers.items()]
    return found


def render_step(path: str, step: Any, context: dict[str, Any]) -> dict[str, str]:
    """Return a step's rendered texts keyed by field name (`body`, `headers.X-Team` …)."""
    return {
        field[len(path) + 1 :]: render(template, context, field)
        for field, template in texts_of(path, step)
    }


def validate(definition: Definition) -> None:
    """Raise Invalid naming every template that does not render against the sample context."""
    context = sample_context()
    errors: list[dict[str, Any]] = []
    for path, step in walk(definition.steps):
        for field, template in texts_of(path, step):
            try:
                render(template, context, field)
            except Invalid as exc:
                errors += exc.errors or []
    if errors:
        raise invalid(errors)


def render_all(definition: Definition, context: dict[str, Any]) -> list[dict[str, Any]]:
    """Return what each step's texts render to for one incident (the dry run)."""
    rendered = []
    for path, step in walk(definition.steps):
        entry: dict[str, Any] = {"path": path, "type": step.type}
        try:
            entry["rendered"] = render_step(path, step, context)
        except Invalid as exc:
            entry["error"] = exc.detail
        rendered.append(entry)
    return rendered
