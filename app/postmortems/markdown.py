"""Markdown to safe HTML for previews: markdown-it-py renders, nh3 (ammonia) sanitises.

Raw HTML in the source is not rendered at all (markdown-it's `html` option off), and the
output is cleaned anyway with an allow-list: no script, no event handlers, no style, links
only to http(s)/mailto and marked `noopener noreferrer nofollow`. Pages keep the strict CSP.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)

TAGS = frozenset(
    {
        "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6",
        "hr", "img", "li", "ol", "p", "pre", "strong", "table", "tbody", "td", "th",
        "thead", "tr", "ul",
    }
)  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "td": {"align"},
    "th": {"align"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})


def to_html(markdown: str) -> str:
    """Return sanitised HTML for `markdown`."""
    return sanitize(_md.render(markdown))


def sanitize(html: str) -> str:
    """Return `html` with only the allowed tags, attributes and URL schemes left."""
    return nh3.clean(
        html,
        tags=set(TAGS),
        attributes={k: set(v) for k, v in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
