"""Workflow tests use ts_env and worker from tests/conftest.py.

With PAGEFREE_RECORD_HISTORIES=1 each test also saves the histories of the incidents it ran
under tests/workflows/histories/, for the replay test. Re-record after a deliberate change.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests import incident_helpers

HISTORIES = Path(__file__).parent / "histories"


@pytest.fixture(autouse=True)
async def record_histories(
    request: pytest.FixtureRequest, ts_env: WorkflowEnvironment
) -> AsyncIterator[None]:
    incident_helpers.STARTED.clear()
    yield
    if not os.environ.get("PAGEFREE_RECORD_HISTORIES"):
        return
    HISTORIES.mkdir(exist_ok=True)
    name = re.sub(r"[^a-z0-9_]+", "_", request.node.name.lower()).strip("_")
    for i, workflow_id in enumerate(dict.fromkeys(incident_helpers.STARTED)):
        history = await ts_env.client.get_workflow_handle(workflow_id).fetch_history()
        (HISTORIES / f"{name}_{i}.json").write_text(history.to_json())
