"""Recorded histories of the status-page workflows, replayed by test_replay.py.

With PAGEFREE_RECORD_HISTORIES=1, the tests that call `record` save a history here.
Re-record after a deliberate, `workflow.patched`-guarded change.
"""

from __future__ import annotations

import os
from pathlib import Path

from temporalio.client import WorkflowHandle

DIR = Path(__file__).parent / "histories"


async def record(handle: WorkflowHandle, name: str) -> None:  # type: ignore[type-arg]
    """Save the workflow's history as `name.json` when recording is asked for."""
    if not os.environ.get("PAGEFREE_RECORD_HISTORIES"):
        return
    history = await handle.fetch_history()
    (DIR / f"{name}.json").write_text(history.to_json())
