"""Postmortem body templates: Markdown with Jinja placeholders, rendered in a sandbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment

from app.errors import Invalid

DEFAULT_TEMPLATE_NAME = "Standard postmortem"

DEFAULT_TEMPLATE_BODY = """\
# {{ title }}

## Facts

- **Services:** {{ services | join(", ") }}
- **Start:** {{ start | when }}
- **End:** {{ end | when }}
- **Duration:** {{ duration }}
- **Alerts:** {{ alert_count }}
- **Paged:** {{ paged | join(", ") or "nobody" }}
- **Acted:** {{ acted | join(", ") or "nobody" }}

| Incident | Service | Severity | Alerts | Time to acknowledge | Time to resolve |
|---|---|---|---|---|---|
{% for i in incidents -%}
| #{{ i.number }} {{ i.title }} | {{ i.service }} | {{ i.severity }} | {{ i.alert_count }} \
| {{ i.time_to_acknowledge }} | {{ i.time_to_resolve }} |
{% endfor %}
## Summary

_What happened, in two or three sentences._

## Impact

_Who or what was affected, for how long, and how badly._

## Root cause

_Why it happened. Ask "why?" until the answer is a process or a design, not a person._

## Resolution

_What stopped the impact, and what was done afterwards._

## Lessons

_What went well, what went badly, where we got lucky._
"""


def _when(value: datetime | None) -> str:
    return "ongoing" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


_env = SandboxedEnvironment(autoescape=False, keep_trailing_newline=True)
_env.filters["when"] = _when


def check(body: str, field: str = "body") -> None:
    """Raise Invalid when `body` is not a valid template."""
    try:
        _env.from_string(body)
    except TemplateError as exc:
        message = f"the template does not parse: {exc}"
        raise Invalid(message, errors=[{"field": field, "message": message}]) from None


def render(body: str, context: dict[str, Any]) -> str:
    """Fill a template with facts; a template that fails at render time is an Invalid."""
    try:
        return _env.from_string(body).render(**context)
    except TemplateError as exc:
        message = f"the template could not be filled: {exc}"
        raise Invalid(message, errors=[{"field": "template_id", "message": message}]) from None
