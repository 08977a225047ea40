"""The webhook delivery log during a PostgreSQL outage: it backs off and says so once."""

from __future__ import annotations

import asyncio
import logging

import pytest

from app.db import make_engine, make_sessionmaker
from app.ingest.deliveries import DeliveryLog
from tests.integration.conftest import _free_port


async def test_unreachable_database_is_retried_with_backoff_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A port where nothing listens: every write fails at once, as in an outage.
    engine = make_engine(f"postgresql+psycopg://nobody@127.0.0.1:{_free_port()}/none")
    dlog = DeliveryLog(make_sessionmaker(engine), interval=0.05)
    attempts = 0
    real_flush = dlog.flush

    async def counted() -> None:
        nonlocal attempts
        attempts += 1
        await real_flush()

    dlog.flush = counted  # type: ignore[method-assign]
    with caplog.at_level(logging.INFO, logger="app.ingest.deliveries"):
        dlog.record(integration_id=None, format="pagerduty", outcome="accepted", status_code=202)
        await asyncio.sleep(1.6)
    # Without backoff: 1.6 s / 0.05 s = 32 tries. With it: 0.05, 0.1, 0.2, 0.4, 0.8 s apart.
    assert 3 <= attempts <= 6, attempts
    # Every attempt failed; the last may still be in flight when the sleep ends (seen in CI).
    assert attempts - 1 <= dlog.failures <= attempts, (dlog.failures, attempts)
    warnings = [r for r in caplog.records if "delivery log failed" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].exc_info is None  # once, without a traceback
    await dlog.close()
    await engine.dispose()
