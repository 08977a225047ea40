"""The Markdown export of a postmortem: its body, the visible timeline, the action items."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.postmortems.models import Postmortem


def _at(value: Any) -> str:
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


def to_markdown(pm: Postmortem, action_items: list[tuple[str, str, str]]) -> str:
    """Return the document as Markdown: body, visible timeline, action items."""
    lines = [pm.body.rstrip(), "", "## Timeline", ""]
    visible = [e for e in pm.timeline or [] if not e.get("hidden")]
    lines += [f"- **{_at(e['at'])}** {e['text']}" for e in visible] or ["_No entries._"]
    lines += ["", "## Action items", ""]
    lines += [f"- [{'x' if s == 'completed' else ' '}] {t} ({who})" for t, s, who in action_items]
    if not action_items:
        lines.append("_None yet._")
    status = f"{pm.status}, version {pm.version}"
    if pm.published_at:
        status += f", published {_at(pm.published_at)}"
    lines += ["", f"<!-- PageFree postmortem {pm.id}: {status} -->", ""]
    return "\n".join(lines)
