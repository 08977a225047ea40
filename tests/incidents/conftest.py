"""The API wired to the time-skipping Temporal server and a worker with the real activities."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app.config import Settings
from app.temporal import LazyClient


@pytest.fixture
async def api(
    settings: Settings, database_url: str, ts_env: WorkflowEnvironment, worker: Worker
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the API whose Temporal client is the test server's."""
    from api import create_app

    app = create_app(settings, database_url=database_url)
    app.state.temporal = LazyClient(settings, None, client=ts_env.client)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c
