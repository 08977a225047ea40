"""How `api.py` assembles the app for storms: receivers matched first, startup heap frozen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_api_process_freezes_its_startup_heap_out_of_the_gc() -> None:
    # A fresh interpreter, as uvicorn imports `api:app`: nothing else in it calls gc.freeze.
    out = subprocess.run(
        [sys.executable, "-c", "import gc, api; print(gc.get_freeze_count())"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert int(out.stdout.strip().splitlines()[-1]) > 50_000


def test_webhook_receivers_are_the_first_routers_matched() -> None:
    from api import app
    from app.ingest.receivers import router as receivers

    included = [getattr(r, "original_router", None) for r in app.routes]
    first = next(r for r in included if r is not None)
    assert first is receivers
