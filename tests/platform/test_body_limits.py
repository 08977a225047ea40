"""Receivers that verify a signature over the whole body refuse oversized bodies first."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.bodylimit import KB


async def _chunks(size: int) -> AsyncIterator[bytes]:
    for _ in range(size // KB):
        yield b"x" * KB


@pytest.mark.parametrize(
    ("path", "limit"), [("/webhooks/twilio/sms", 64 * KB), ("/slack/events", 512 * KB)]
)
async def test_an_oversized_body_is_413_before_the_route_reads_it(
    client: httpx.AsyncClient, path: str, limit: int
) -> None:
    small = await client.post(path, content=b"From=%2B15550001111&Body=ack")
    assert small.status_code != 413  # reaches the route (not configured here: 503/404)
    declared = await client.post(path, content=b"x" * (limit + 1))
    assert declared.status_code == 413
    assert declared.headers["content-type"] == "application/problem+json"
    streamed = await client.post(path, content=_chunks(limit + 4 * KB))  # no Content-Length
    assert streamed.status_code == 413


async def test_a_body_within_the_limit_reaches_the_signature_check_whole(
    client: httpx.AsyncClient,
) -> None:
    body = b"Body=" + b"y" * (60 * KB)
    answer = await client.post("/webhooks/twilio/status", content=_chunks(60 * KB))
    assert answer.status_code != 413
    assert (await client.post("/webhooks/twilio/status", content=body)).status_code != 413
