"""Temporal client factory, data converter, search-attribute keys and UI links."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from temporalio.client import Client, TLSConfig
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime

from app.config import Settings
from app.errors import Unavailable
from workflows.search_attributes import ALL as SEARCH_ATTRIBUTE_KEYS

__all__ = ["SEARCH_ATTRIBUTE_KEYS", "LazyClient", "connect", "workflow_url"]


async def connect(settings: Settings, address: str, runtime: Runtime | None = None) -> Client:
    """Connect to Temporal at `address` with PageFree's data converter and TLS settings."""
    tls: bool | TLSConfig = settings.temporal_tls
    if settings.temporal_tls_cert and settings.temporal_tls_key:
        tls = TLSConfig(
            client_cert=settings.temporal_tls_cert.read_bytes(),
            client_private_key=settings.temporal_tls_key.read_bytes(),
        )
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    return await Client.connect(
        address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        tls=tls,
        api_key=api_key,
        runtime=runtime,
    )


class LazyClient:
    """A Temporal client connected on first use, so the API starts even while Temporal is down."""

    def __init__(self, settings: Settings, address: str | None, client: Client | None = None):
        self._settings = settings
        self._address = address
        self._client = client
        self._lock = asyncio.Lock()

    async def get(self) -> Client:
        """Return the client, connecting if needed; a 503 problem if Temporal is unreachable."""
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                if not self._address:
                    raise Unavailable("no Temporal address is configured")
                try:
                    self._client = await asyncio.wait_for(
                        connect(self._settings, self._address), timeout=5
                    )
                except (RuntimeError, TimeoutError, OSError) as exc:
                    raise Unavailable(f"Temporal is unreachable: {exc}") from exc
        return self._client


def workflow_url(settings: Settings, workflow_id: str, run_id: str | None = None) -> str:
    """Return the Temporal Web UI link to a workflow (run)."""
    base = settings.temporal_ui_url.rstrip("/")
    ns = quote(settings.temporal_namespace, safe="")
    url = f"{base}/namespaces/{ns}/workflows/{quote(workflow_id, safe='')}"
    return f"{url}/{run_id}/history" if run_id else url
