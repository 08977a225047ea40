"""The sandbox re-imports a workflow's package for every run: the package must import nothing."""

import subprocess
import sys


def test_importing_the_workflows_package_loads_no_workflow_module() -> None:
    code = (
        "import sys, workflows; print(sorted(m for m in sys.modules if m.startswith('workflows.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_the_registry_still_lists_the_incident_workflow() -> None:
    from workflows.incident import IncidentWorkflow
    from workflows.registry import WORKFLOWS

    assert IncidentWorkflow in WORKFLOWS
