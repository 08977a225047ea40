"""Parse request bodies into JSON that PostgreSQL and Temporal can always store.

Pure. Senders can put anything in a JSON body; what would fail later, deep inside an
activity that then retries for ever, is refused or cleaned here: invalid UTF-8, NaN and
Infinity (not JSON), nesting deeper than MAX_DEPTH, and the characters PostgreSQL's text and
JSONB refuse (NUL, lone surrogates), which are replaced by U+FFFD.
"""

from __future__ import annotations

import json
import re
from typing import Any

from app.ingest.normalizers.base import FieldError, InvalidPayload

MAX_DEPTH = 64
# Raw payloads kept with an alert, per alert; larger ones are kept as truncated text.
RAW_MAX_BYTES = 16 * 1024
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def clean_text(value: str) -> str:
    """Replace the characters PostgreSQL cannot store in text."""
    return _BAD_CHARS.sub("\ufffd", value) if _BAD_CHARS.search(value) else value


def _clean(value: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise InvalidPayload([FieldError("", f"nested deeper than {MAX_DEPTH} levels")])
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k): _clean(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, depth + 1) for v in value]
    return value


def parse_json(body: bytes) -> Any:
    """Return the body's JSON, cleaned; InvalidPayload when it is not JSON."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidPayload([FieldError("", f"the body is not UTF-8: {exc.reason}")]) from exc
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise InvalidPayload([FieldError("", "the JSON is nested too deeply")]) from exc
    except ValueError as exc:
        raise InvalidPayload([FieldError("", f"the body is not valid JSON: {exc}")]) from exc
    return _clean(value, 0)


def capped(value: Any, limit: int = RAW_MAX_BYTES) -> Any:
    """Return `value` if its JSON fits in `limit` bytes, else its JSON text cut to fit."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    size = len(text.encode())
    if size <= limit:
        return value
    cut = text.encode()[:limit].decode("utf-8", errors="ignore")
    return {"truncated": True, "size": size, "text": cut}
