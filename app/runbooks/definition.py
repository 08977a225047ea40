"""Pure rules of a runbook definition: checks, content hash, parameters, the rendered body."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from app.errors import Invalid, invalid
from app.ingest.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER
from app.runbooks.models import Definition, Parameter

IDEMPOTENCY_HEADER = "Idempotency-Key"
# Headers PageFree sets itself on every call; a definition may not override them.
RESERVED_HEADERS = frozenset(
    h.lower() for h in (SIGNATURE_HEADER, TIMESTAMP_HEADER, IDEMPOTENCY_HEADER, "content-length")
)

_env = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined)


def content_hash(definition: Definition) -> str:
    """Return the hash of a definition's canonical JSON: equal content, equal hash."""
    canonical = json.dumps(
        definition.model_dump(mode="json"), sort_keys=True, separators=(",", ":")
    )
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _fits(param: Parameter, value: object) -> bool:
    if param.type == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if param.type == "boolean":
        return isinstance(value, bool)
    if param.type == "choice":
        return isinstance(value, str) and value in (param.choices or [])
    return isinstance(value, str)


def check(definition: Definition) -> None:
    """Raise Invalid naming the field when a definition cannot run."""
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, param in enumerate(definition.parameters):
        field = f"definition.parameters.{i}"
        if param.name in seen:
            errors.append({"field": f"{field}.name", "message": f"{param.name!r} appears twice"})
        seen.add(param.name)
        if param.type == "choice" and not param.choices:
            errors.append({"field": f"{field}.choices", "message": "a choice needs choices"})
        if param.type != "choice" and param.choices is not None:
            errors.append({"field": f"{field}.choices", "message": "only a choice has choices"})
        if param.default is not None and not _fits(param, param.default):
            errors.append({"field": f"{field}.default", "message": f"not a valid {param.type}"})
    for name in definition.headers:
        if name.lower() in RESERVED_HEADERS:
            errors.append(
                {"field": f"definition.headers.{name}", "message": "PageFree sets this header"}
            )
    try:
        _env.parse(definition.body)
    except TemplateError as exc:
        errors.append({"field": "definition.body", "message": f"template error: {exc}"})
    if errors:
        raise invalid(errors)


def parameters(definition: Definition, given: dict[str, Any]) -> dict[str, Any]:
    """Return the run's parameters (defaults filled in), or raise Invalid naming the bad one."""
    errors: list[dict[str, Any]] = []
    known = {p.name: p for p in definition.parameters}
    for name in given:
        if name not in known:
            errors.append({"field": f"parameters.{name}", "message": "no such parameter"})
    values: dict[str, Any] = {}
    for param in definition.parameters:
        field = f"parameters.{param.name}"
        if param.name not in given or given[param.name] is None:
            if param.default is not None:
                values[param.name] = param.default
            elif param.required:
                errors.append({"field": field, "message": "required"})
            continue
        value = given[param.name]
        if not _fits(param, value):
            expected = f"one of {param.choices}" if param.type == "choice" else f"a {param.type}"
            errors.append({"field": field, "message": f"must be {expected}"})
            continue
        values[param.name] = value
    if errors:
        raise invalid(errors)
    return values


def from_text(definition: Definition, raw: Mapping[str, str | None]) -> dict[str, Any]:
    """Turn a form's text (web page, Slack modal) into typed values; `parameters` checks them.

    A boolean is true when its text is "on" or "true" (a checked box); empty text is absent.
    """
    values: dict[str, Any] = {}
    for param in definition.parameters:
        text = raw.get(param.name)
        if param.type == "boolean":
            values[param.name] = text in ("on", "true")
        elif text is None or text == "":
            continue
        elif param.type == "integer":
            values[param.name] = int(text) if text.lstrip("-").isdigit() else text
        else:
            values[param.name] = text
    return values


def render_body(template: str, *, incident: dict[str, Any], params: dict[str, Any]) -> str:
    """Render a body template in the sandbox; it sees `incident` and `params` only."""
    try:
        return _env.from_string(template).render(incident=incident, params=params)
    except TemplateError as exc:
        raise Invalid(
            f"the body template fails: {exc}",
            errors=[{"field": "definition.body", "message": str(exc)}],
        ) from None
