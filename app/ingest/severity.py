"""Map a tool's severity or priority to PageFree's severity and urgency. Pure.

Built in: the four PagerDuty severities and their common spellings, Datadog priorities P1-P5
and New Relic priorities CRITICAL, HIGH, MEDIUM, LOW. An integration's `severity_map`
overrides any value (case-insensitive), and its `*` entry replaces the fallback for values
nobody knows; an alert without any severity uses that fallback too.
"""

from __future__ import annotations

from typing import Any, Literal

Severity = Literal["critical", "error", "warning", "info"]
Urgency = Literal["high", "low"]
Rule = tuple[Severity, Urgency]

FALLBACK: Rule = ("critical", "high")  # an alert nobody qualified still pages
_CRITICAL: Rule = ("critical", "high")
_ERROR: Rule = ("error", "high")
_WARNING: Rule = ("warning", "low")
_INFO: Rule = ("info", "low")

BUILTIN: dict[str, Rule] = {
    # PagerDuty's four and their usual spellings (syslog levels, Alertmanager labels).
    **dict.fromkeys(
        ("critical", "crit", "fatal", "emergency", "emerg", "alert", "page"), _CRITICAL
    ),
    **dict.fromkeys(("error", "err", "major"), _ERROR),
    **dict.fromkeys(("warning", "warn", "minor"), _WARNING),
    **dict.fromkeys(("info", "informational", "information", "notice", "debug", "none"), _INFO),
    # Datadog monitor priorities.
    "p1": _CRITICAL,
    "p2": _ERROR,
    "p3": _WARNING,
    "p4": _INFO,
    "p5": _INFO,
    # New Relic issue priorities (CRITICAL is above).
    "high": _ERROR,
    "medium": _WARNING,
    "low": _INFO,
}


def _rule(value: Any) -> Rule | None:
    if isinstance(value, dict) and value.get("severity") in (
        "critical",
        "error",
        "warning",
        "info",
    ):
        urgency = value.get("urgency") or BUILTIN[value["severity"]][1]
        return value["severity"], urgency
    return None


def map_severity(raw: str | None, overrides: dict[str, Any] | None = None) -> Rule:
    """Return (severity, urgency) for a tool's severity value."""
    table = {str(k).lower(): v for k, v in (overrides or {}).items()}
    fallback = _rule(table.get("*")) or FALLBACK
    if raw is None or not raw.strip():
        return fallback
    key = raw.strip().lower()
    return _rule(table.get(key)) or BUILTIN.get(key) or fallback
