"""Integration keys and single-use tokens in paths never reach the request or error logs."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from app import logs
from app.config import Settings
from app.logs import REDACTED, loggable_path
from tests.live_server import free_port

KEY = "0123456789abcdef0123456789abcdef"
TOKEN = "tok_ThisIsASingleUseAckToken_123"


@pytest.fixture
async def app(settings: Settings, database_url: str) -> AsyncIterator[FastAPI]:
    from api import create_app

    built = create_app(settings, database_url=database_url)
    async with built.router.lifespan_context(built):
        yield built


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    # httpx's own client log (of the test's requests) aside.
    return "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records if r.name != "httpx")


async def test_request_log_lines_redact_keys_and_tokens_but_keep_the_route(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url="http://test",
    ) as client:
        await client.post(f"/integrations/{KEY}/generic", json={"title": "x"})
        await client.post(f"/integrations/{KEY}/no-such-format", json={})
        await client.get(f"/ack/{TOKEN}")
        await client.get(f"/ack/{TOKEN}/extra/segments")  # matches no route
        await client.get(f"/api/v1/schedules/{uuid.uuid4()}/calendar.ics?token={TOKEN}")
    text = _logged(caplog)
    assert KEY not in text and TOKEN not in text
    assert f"/integrations/{REDACTED}/generic" in text
    assert f"/ack/{REDACTED}" in text


async def test_an_unexpected_error_is_logged_without_the_key(
    app: FastAPI, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.ingest import receivers

    async def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("receiver exploded")

    monkeypatch.setattr(receivers, "receive", boom, raising=False)
    caplog.set_level(logging.DEBUG)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url="http://test",
    ) as client:
        await client.post(f"/integrations/{KEY}/generic", content=b"{")
    assert KEY not in _logged(caplog)


async def test_uvicorn_access_log_is_off_and_redacted_should_it_be_turned_on(
    app: FastAPI, settings: Settings
) -> None:
    # As `uvicorn api:app` does: uvicorn configures its logging, then imports the app.
    config = uvicorn.Config(
        app, host="127.0.0.1", port=free_port(), log_level="info", access_log=True, lifespan="off"
    )
    logs.configure(settings)
    access = logging.getLogger("uvicorn.access")
    assert access.disabled
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    collect = Collect()
    access.addHandler(collect)
    access.disabled = False  # someone turns it back on
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{config.port}") as client:
            await client.get(f"/ack/{TOKEN}")
            await client.get(f"/integrations/{KEY}/generic?token={TOKEN}")
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        access.removeHandler(collect)
        access.disabled = True
    assert len(lines) == 2, lines
    assert not any(KEY in line or TOKEN in line for line in lines), lines
    assert f"/ack/{REDACTED}" in lines[0]


def test_ids_that_are_not_secrets_stay_in_the_logged_path() -> None:
    scope = {"path_params": {"incident_id": "abc"}, "path": "/api/v1/incidents/abc"}
    assert loggable_path(scope) == "/api/v1/incidents/abc"
    secret = {"path_params": {"key": KEY, "fmt": "generic"}, "path": f"/integrations/{KEY}/generic"}
    assert loggable_path(secret) == f"/integrations/{REDACTED}/generic"
