"""Every workflow the worker registers (worker.py, the tests' workers, bench), and the sandbox
the worker runs them in."""

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

# The sandbox imports a workflow's module afresh for every run it creates. For the incident
# workflow, one run per incident, that was a fifth of the worker's CPU while incidents open
# (the module body, the SDK's decorators validating the class, the sandbox's import hooks;
# docs/design.md, "The sandbox stays on"). So that module is passed through: defined once and
# shared by every run. Each run still has its own sandbox context, but calls from that module
# to a clock, random or I/O are no longer refused at run time (as they never were for the pure
# modules workflows import passed through); tests/unit/test_workflow_purity.py checks all of
# them statically instead. The tests' own workers keep the full sandbox.
PASSED_THROUGH = ("workflows.incident",)


def workflow_runner() -> SandboxedWorkflowRunner:
    """The worker's workflow runner: the default sandbox, with PASSED_THROUGH shared."""
    restrictions = SandboxRestrictions.default.with_passthrough_modules(*PASSED_THROUGH)
    return SandboxedWorkflowRunner(restrictions=restrictions)


__all__ = [
    "PASSED_THROUGH",
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
    "workflow_runner",
]
