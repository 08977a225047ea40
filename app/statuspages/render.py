"""Templates of the public page and feed: their own environment, autoescaped (HTML and XML)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from app.statuspages.models import ComponentStatus

HERE = Path(__file__).parent
env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html", "xml", "atom"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

STATUS_WORDS = {
    ComponentStatus.operational.value: "Operational",
    ComponentStatus.under_maintenance.value: "Under maintenance",
    ComponentStatus.degraded_performance.value: "Degraded performance",
    ComponentStatus.partial_outage.value: "Partial outage",
    ComponentStatus.major_outage.value: "Major outage",
    "investigating": "Investigating",
    "identified": "Identified",
    "monitoring": "Monitoring",
    "resolved": "Resolved",
    "scheduled": "Scheduled",
    "in_progress": "In progress",
    "completed": "Completed",
}


def when(value: datetime | None) -> str:
    """Format an instant for readers: `2026-12-01 14:05 UTC`."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def iso(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


env.filters["when"] = when
env.filters["iso"] = iso
env.filters["words"] = lambda v: STATUS_WORDS.get(str(v), str(v).replace("_", " "))
