"""Message content for pages: short, actionable, the same facts on every channel."""

from __future__ import annotations

from dataclasses import dataclass


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
