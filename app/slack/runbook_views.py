"""Block Kit for the "Run runbook" modal: pick, parameters, confirm. Pure, tested without Slack."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from app.runbooks.models import Definition, Parameter
from app.slack.blocks import escape

# callback ids of the modal's three steps; the Bolt app listens for their submissions
PICK = "runbook_pick"
PARAMETERS = "runbook_parameters"
CONFIRM = "runbook_confirm"
PICKED = "runbook"  # the block (and action) id of the runbook select
VALUE = "value"  # the action id inside each parameter's input block
METADATA_LIMIT = 3000  # Slack's cap on private_metadata
BODY_LIMIT = 2800  # a section's text holds 3,000 characters


@dataclass
class Draft:
    """What the modal carries from step to step (its private_metadata)."""

    incident_id: str
    channel: str | None
    runbook_id: str | None = None
    version: int | None = None
    parameters: dict[str, Any] = field(default_factory=dict)

    def dump(self) -> str:
        """Return the JSON for private_metadata."""
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def load(cls, text: str) -> Draft:
        """Read private_metadata back."""
        return cls(**json.loads(text))


@dataclass(frozen=True)
class Choice:
    """A runbook offered in the picker."""

    id: str
    name: str
    version: int


def block_id(param: Parameter) -> str:
    """Return the input block id of a parameter (field errors name it)."""
    return f"p.{param.name}"


def _text(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text[:75]}


def _option(label: str, value: str) -> dict[str, Any]:
    return {"text": _text(label), "value": value}


def _modal(
    callback_id: str, draft: Draft, blocks: list[dict[str, Any]], submit: str
) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": draft.dump(),
        "title": _text("Run runbook"),
        "submit": _text(submit[:24]),
        "close": _text("Cancel"),
        "blocks": blocks,
    }


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def pick_view(draft: Draft, number: int, title: str, choices: list[Choice]) -> dict[str, Any]:
    """Return the first step: which approved runbook to run on incident `number`."""
    options = [_option(f"{c.name} v{c.version}", c.id) for c in choices[:100]]
    return _modal(
        PICK,
        draft,
        [
            _mrkdwn(f"On *#{number} {escape(title)}*. Only approved versions run."),
            {
                "type": "input",
                "block_id": PICKED,
                "label": _text("Runbook"),
                "element": {"type": "static_select", "action_id": PICKED, "options": options},
            },
        ],
        "Next",
    )


def _element(param: Parameter) -> dict[str, Any]:
    default = param.default
    if param.type in ("choice", "boolean"):
        values = param.choices or [] if param.type == "choice" else ["true", "false"]
        element: dict[str, Any] = {
            "type": "static_select",
            "action_id": VALUE,
            "options": [_option(v, v) for v in values],
        }
        if param.type == "boolean":
            default = "true" if default else "false"
        if default is not None:
            element["initial_option"] = _option(str(default), str(default))
        return element
    element = {"type": "plain_text_input", "action_id": VALUE}
    if param.type == "integer":
        element = {"type": "number_input", "action_id": VALUE, "is_decimal_allowed": False}
    if default is not None:
        element["initial_value"] = str(default)
    return element


def parameters_view(draft: Draft, name: str, definition: Definition) -> dict[str, Any]:
    """Return the second step: one input per parameter, defaults filled in."""
    blocks: list[dict[str, Any]] = [_mrkdwn(f"*{escape(name)}* v{draft.version}")]
    for param in definition.parameters:
        required = param.required and param.default is None and param.type != "boolean"
        blocks.append(
            {
                "type": "input",
                "block_id": block_id(param),
                "optional": not required,
                "label": _text(f"{param.name} ({param.type})"),
                "element": _element(param),
            }
        )
    return _modal(PARAMETERS, draft, blocks, "Show the request")


def submitted(definition: Definition, state: dict[str, Any]) -> dict[str, str | None]:
    """Return the text of each parameter input from a view submission's state values."""
    out: dict[str, str | None] = {}
    for param in definition.parameters:
        entry = (state.get(block_id(param)) or {}).get(VALUE) or {}
        selected = entry.get("selected_option")
        out[param.name] = selected["value"] if selected else entry.get("value")
    return out


def picked(state: dict[str, Any]) -> str | None:
    """Return the runbook id chosen in the first step."""
    selected = ((state.get(PICKED) or {}).get(PICKED) or {}).get("selected_option")
    return selected["value"] if selected else None


def field_errors(definition: Definition, errors: list[dict[str, Any]]) -> dict[str, str]:
    """Map the service's field errors (`parameters.<name>`) to the modal's input blocks."""
    blocks = {f"parameters.{p.name}": block_id(p) for p in definition.parameters}
    first = next(iter(blocks.values()), PICKED)
    out: dict[str, str] = {}
    for error in errors:
        target = blocks.get(str(error.get("field")), first)
        out.setdefault(target, str(error.get("message", "not valid"))[:150])
    return out


def confirm_view(draft: Draft, preview: dict[str, Any], approver: str) -> dict[str, Any]:
    """Return the last step: the version, who approved it and the request it sends."""
    request = preview["request"]
    body = request["body"] or "(empty body)"
    if len(body) > BODY_LIMIT:
        body = body[:BODY_LIMIT] + "…"
    version = preview["version"]
    blocks = [
        _mrkdwn(
            f"*{escape(preview['runbook'])}* version {version}, approved by {approver}\n"
            f"`{preview['content_hash'][:19]}…`"
        ),
        _mrkdwn(f"*{escape(request['method'])}* `{escape(request['url'])}`"),
        _mrkdwn(f"```{escape(body)}```"),
    ]
    return _modal(CONFIRM, draft, blocks, f"Run v{version} now")
