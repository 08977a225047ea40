"""Every workflow the worker registers (worker.py, the tests' workers, bench), and the runner
the worker runs them with."""

from collections.abc import Sequence

import temporalio.workflow
from temporalio.worker import (
    UnsandboxedWorkflowRunner,
    WorkflowInstance,
    WorkflowInstanceDetails,
    WorkflowRunner,
)
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from workflows.action_item import ActionItemReminderWorkflow
from workflows.announcement import AnnouncementWorkflow
from workflows.automation import AutomationRunWorkflow
from workflows.heartbeat import HeartbeatWorkflow
from workflows.incident import IncidentWorkflow
from workflows.maintenance import MaintenanceWorkflow
from workflows.maintenance_window import MaintenanceWindowWorkflow
from workflows.partners import PartnerAuditRetentionWorkflow, PartnerLinkWorkflow
from workflows.runbook_run import RunbookRunWorkflow
from workflows.statuspage import StatusPageWorkflow

WORKFLOWS = [
    IncidentWorkflow,
    ActionItemReminderWorkflow,
    MaintenanceWorkflow,
    StatusPageWorkflow,
    AnnouncementWorkflow,
    PartnerLinkWorkflow,
    PartnerAuditRetentionWorkflow,
    RunbookRunWorkflow,
    HeartbeatWorkflow,
    MaintenanceWindowWorkflow,
    AutomationRunWorkflow,
]

# The incident workflow runs without the sandbox in worker.py; every other workflow runs in it.
# The sandbox gives each run its own copy of the workflow's module and enters that copy for
# every activation and for every payload it converts (the SDK asks the run for its
# serialization context): 13-15 % of the worker's GIL samples while incidents opened, after the
# module itself was already shared. One run per incident makes that the worker's largest
# overhead. Outside the sandbox those samples fell to 0.1 % and figure a rose by about a tenth
# (docs/benchmarks.md, "The incident workflow outside the sandbox"). What the sandbox checked
# at run time for this module (no clock, random, I/O or non-deterministic import)
# tests/unit/test_workflow_purity.py checks statically, and the tests' own workers keep the
# full sandbox, so every workflow test, and the replay of the recorded histories, still runs
# the module under its run-time guard.
UNSANDBOXED = ("IncidentWorkflow",)

# The modules the sandboxed workflows share with the worker instead of importing their own
# copy: the incident workflow's module, which the other workflows import for its types.
PASSED_THROUGH = ("workflows.incident",)


class WorkerRunner(WorkflowRunner):
    """The worker's workflow runner: UNSANDBOXED workflows plain, every other in the sandbox."""

    def __init__(self) -> None:
        restrictions = SandboxRestrictions.default.with_passthrough_modules(*PASSED_THROUGH)
        self._sandboxed = SandboxedWorkflowRunner(restrictions=restrictions)
        self._plain = UnsandboxedWorkflowRunner()

    def _runner(self, name: str | None) -> WorkflowRunner:
        return self._plain if name in UNSANDBOXED else self._sandboxed

    def prepare_workflow(self, defn: temporalio.workflow._Definition) -> None:
        """Let the workflow's runner prepare it (the sandbox validates it once, at start)."""
        self._runner(defn.name).prepare_workflow(defn)

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        """Create a run with the runner its workflow type uses."""
        return self._runner(det.defn.name).create_instance(det)

    def set_worker_level_failure_exception_types(
        self, types: Sequence[type[BaseException]]
    ) -> None:
        """Pass the worker's failure types to both runners."""
        self._sandboxed.set_worker_level_failure_exception_types(types)
        self._plain.set_worker_level_failure_exception_types(types)


def workflow_runner() -> WorkflowRunner:
    """The runner worker.py uses (WorkerRunner)."""
    return WorkerRunner()


__all__ = [
    "PASSED_THROUGH",
    "UNSANDBOXED",
    "WORKFLOWS",
    "ActionItemReminderWorkflow",
    "AnnouncementWorkflow",
    "AutomationRunWorkflow",
    "HeartbeatWorkflow",
    "IncidentWorkflow",
    "MaintenanceWindowWorkflow",
    "MaintenanceWorkflow",
    "PartnerAuditRetentionWorkflow",
    "PartnerLinkWorkflow",
    "RunbookRunWorkflow",
    "StatusPageWorkflow",
    "WorkerRunner",
    "workflow_runner",
]
