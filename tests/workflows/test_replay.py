"""Replay recorded incident histories: a change to workflow logic without `workflow.patched`
fails here with a NondeterminismError before it can break incidents that are open in production.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from workflows.registry import WORKFLOWS, workflow_runner

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_there_are_recorded_histories() -> None:
    assert len(HISTORIES) >= 10


# Both ways a run executes: the tests' sandbox, and worker.py's runner (the incident workflow
# outside the sandbox).
RUNNERS: dict[str, WorkflowRunner] = {
    "sandbox": SandboxedWorkflowRunner(),
    "worker": workflow_runner(),
}


@pytest.mark.parametrize("runner", list(RUNNERS))
@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays(path: Path, runner: str) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())  # noqa: ASYNC240 - small file
    replayer = Replayer(
        workflows=WORKFLOWS,
        data_converter=pydantic_data_converter,
        workflow_runner=RUNNERS[runner],
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
