"""Hostile Markdown is neutralised: no script, no javascript: links, no handlers, no raw HTML."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from app.postmortems.markdown import sanitize, to_html

HOSTILE = [
    "<script>alert(1)</script>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "![x](javascript:alert(1))",
    '<img src=x onerror="alert(1)">',
    '<a href="javascript:alert(1)">x</a>',
    "<iframe src=//evil.example></iframe>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<svg onload=alert(1)>",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<!-- <script>alert(1)</script> -->",
    '<a href="https://ok.example" onclick="alert(1)">x</a>',
]


class Elements(HTMLParser):
    """Collect every element and attribute a browser would build from the HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [(k, v or "") for k, v in attrs]


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_markdown_renders_inert(source: str) -> None:
    html = to_html(f"Before\n\n{source}\n\nAfter")
    parsed = Elements()
    parsed.feed(html)
    assert not {"script", "iframe", "svg", "div", "style", "object"} & set(parsed.tags), html
    for name, value in parsed.attrs:
        assert not name.startswith("on") and name != "style", html
        if name in ("href", "src"):
            assert urlsplit(value).scheme in ("", "http", "https", "mailto"), html
    assert "Before" in html and "After" in html


def test_raw_html_is_shown_as_text_not_markup() -> None:
    html = to_html("<b>bold?</b>")
    assert "<b>" not in html and "&lt;b&gt;" in html


def test_ordinary_markdown_keeps_its_shape() -> None:
    html = to_html(
        "# Title\n\n- **one**\n- [two](https://example.com)\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    )
    assert "<h1>Title</h1>" in html
    assert "<strong>one</strong>" in html
    assert '<a href="https://example.com" rel="noopener noreferrer nofollow">two</a>' in html
    assert "<table>" in html and "<td>1</td>" in html


def test_the_sanitiser_cleans_html_even_if_the_renderer_let_it_through() -> None:
    html = sanitize(
        '<p onclick="x()">hi<script>alert(1)</script></p><img src=x onerror=alert(1)>'
        '<a href="javascript:alert(1)">a</a><a href="https://ok.example">b</a>'
    )
    parsed = Elements()
    parsed.feed(html)
    assert "script" not in parsed.tags
    assert ("href", "https://ok.example") in parsed.attrs
    assert all(not k.startswith("on") for k, _ in parsed.attrs)
    assert all(v != "javascript:alert(1)" for _, v in parsed.attrs)
