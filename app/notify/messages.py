"""Message content for pages: short, actionable, the same facts on every channel.

Pure functions: no I/O. Nothing secret goes into a message; times are shown in the
recipient's zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True)
class PageMessage:
    subject: str
    text: str


def page_message(
    *, number: int, title: str, service: str, severity: str, url: str, level: int
) -> PageMessage:
    """Return the page for an incident: number, title, service, severity and a link."""
    subject = f"[PageFree] #{number} {severity.upper()}: {title}"[:200]
    text = (
        f"#{number} {severity.upper()} on {service}: {title}\nEscalation level {level}. Open: {url}"
    )
    return PageMessage(subject=subject, text=text)


@dataclass(frozen=True)
class PageFacts:
    """What every channel says about a page."""

    number: int
    title: str
    service: str
    severity: str
    url: str
    level: int
    opened_at: datetime | None = None
    timezone: str = "UTC"
    ack_url: str | None = None
    resolve_url: str | None = None


def local_time(at: datetime | None, zone: str) -> str:
    """Return `at` as the recipient reads it: "14:05 CET (2026-11-30)"; "" when unknown."""
    if at is None:
        return ""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    local = at.astimezone(tz)
    return f"{local:%H:%M} {local.tzname()} ({local:%Y-%m-%d})"


def _headline(f: PageFacts) -> str:
    return f"#{f.number} {f.severity.upper()} on {f.service}: {f.title}"


def email(f: PageFacts) -> tuple[str, str, str]:
    """Return (subject, plain text, HTML) of the page e-mail."""
    subject = f"[PageFree] #{f.number} {f.severity.upper()}: {f.title}"[:200]
    when = local_time(f.opened_at, f.timezone)
    lines = [_headline(f), f"Opened {when}." if when else "", f"Escalation level {f.level}."]
    lines.append(f"Open the incident: {f.url}")
    if f.ack_url:
        lines.append(f"Acknowledge: {f.ack_url}")
    if f.resolve_url:
        lines.append(f"Resolve: {f.resolve_url}")
    text = "\n".join(line for line in lines if line)
    buttons = "".join(
        f'<a href="{escape(u)}" style="margin-right:12px">{label}</a>'
        for label, u in (("Acknowledge", f.ack_url), ("Resolve", f.resolve_url))
        if u
    )
    html = (
        f"<p><strong>{escape(_headline(f))}</strong></p>"
        + (f"<p>Opened {escape(when)}. " if when else "<p>")
        + f"Escalation level {f.level}.</p>"
        + f'<p><a href="{escape(f.url)}">Open the incident</a></p>'
        + (f"<p>{buttons}</p>" if buttons else "")
    )
    return subject, text, html


def sms(f: PageFacts) -> str:
    """Return the SMS: fits about two segments, says how to reply."""
    title = f.title if len(f.title) <= 80 else f.title[:79] + "…"
    return (
        f"#{f.number} {f.severity.upper()} {f.service}: {title}. "
        f"Reply 'ack {f.number}' or 'resolve {f.number}'. {f.url}"
    )


def chat(f: PageFacts) -> str:
    """Return the one-line chat message (Slack, Teams)."""
    when = local_time(f.opened_at, f.timezone)
    return f"{_headline(f)} (level {f.level}{', opened ' + when if when else ''}) {f.url}"


def push(f: PageFacts) -> dict[str, object]:
    """Return the web-push payload that the service worker shows as a notification.

    `ack_url` (a signed single-use link, when links are enabled) lets the notification's
    "Acknowledge" action work without a session; resolving needs the incident page.
    """
    payload: dict[str, object] = {
        "title": f"#{f.number} {f.severity.upper()}: {f.title}"[:120],
        "body": f"{f.service}, escalation level {f.level}",
        "url": f.url,
        "incident_number": f.number,
        "tag": f"incident-{f.number}",
    }
    if f.ack_url:
        payload["ack_url"] = f.ack_url
    return payload


def voice_twiml(f: PageFacts, gather_url: str) -> str:
    """Return TwiML that reads the incident and gathers one key: 1 ack, 2 resolve, 3 escalate."""
    say = (
        f"PageFree alert. Incident {f.number}, severity {f.severity}, on {f.service}: "
        f"{f.title}. Press 1 to acknowledge, 2 to resolve, 3 to escalate."
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        f'<Gather numDigits="1" timeout="10" action={quoteattr(gather_url)} method="POST">'
        f"<Say>{xml_escape(say)}</Say></Gather>"
        "<Say>No key was pressed. Goodbye.</Say></Response>"
    )


def twiml_say(text: str) -> str:
    """Return TwiML that says `text` and hangs up."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Response><Say>{xml_escape(text)}</Say></Response>'
    )


def twiml_message(text: str) -> str:
    """Return TwiML that answers an inbound SMS with `text`."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        f"<Message>{xml_escape(text)}</Message></Response>"
    )
