"""The workflow code the sandbox does not guard at run time is guarded here, statically.

The sandbox stops a workflow from reading the clock, drawing random numbers or doing I/O, but
only in modules it imports itself. The worker runs the incident workflow without the sandbox
(`workflows.registry.UNSANDBOXED`) and passes some modules through to the other workflows
(imported once and shared by every run): the incident workflow's module
(`workflows.registry.PASSED_THROUGH`) and the pure rules and types that workflows import inside
`workflow.unsafe.imports_passed_through()`. For those, this test is the guard: they import only
deterministic code, and call no clock, random or id source except the workflow's own
(`workflow.now()`, `workflow.uuid4()`).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from temporalio import workflow

from workflows.registry import PASSED_THROUGH, UNSANDBOXED
from workflows.registry import WORKFLOWS as REGISTERED

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / "workflows"

# What passed-through workflow code may import: the standard library's pure parts, pydantic,
# the SDK (its `workflow` module is how a workflow reads time and makes ids), and itself.
ALLOWED_IMPORTS = {"__future__", "asyncio", "collections", "dataclasses", "datetime", "enum",
                   "re", "typing", "pydantic", "temporalio", "workflows"}  # fmt: skip
# Attribute calls that read the outside world unless made on `workflow`.
FORBIDDEN_CALLS = {"now", "utcnow", "today", "time", "time_ns", "monotonic", "perf_counter",
                   "uuid1", "uuid4", "random", "randint", "choice", "shuffle"}  # fmt: skip
FORBIDDEN_NAMES = {"open", "input", "breakpoint"}


def _module_path(name: str) -> Path:
    return ROOT.joinpath(*name.split(".")).with_suffix(".py")


def _passed_through_blocks(tree: ast.Module) -> list[ast.With]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.With)
        and any("imports_passed_through" in ast.unparse(item.context_expr) for item in node.items)
    ]


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module:
        return [node.module]
    return []


def passed_through_modules() -> list[str]:
    """PASSED_THROUGH plus every `workflows.*` module a workflow imports passed through."""
    names = set(PASSED_THROUGH)
    for path in WORKFLOWS.glob("*.py"):
        for block in _passed_through_blocks(ast.parse(path.read_text())):
            for node in ast.walk(block):
                names.update(n for n in _imported(node) if n.startswith("workflows."))
    return sorted(names)


def problems(source: str) -> list[str]:
    """What in `source` could make a workflow's replay differ from its first run."""
    found = []
    for node in ast.walk(ast.parse(source)):
        for name in _imported(node):
            if name.split(".")[0] not in ALLOWED_IMPORTS:
                found.append(f"line {node.lineno}: imports {name}")
        if isinstance(node, ast.Call):
            func = node.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr in FORBIDDEN_CALLS
                and not (isinstance(func.value, ast.Name) and func.value.id == "workflow")
            ):
                found.append(f"line {node.lineno}: calls {ast.unparse(func)}")
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_NAMES:
                found.append(f"line {node.lineno}: calls {func.id}")
    return found


def test_the_incident_workflow_and_its_rules_are_among_the_checked_modules() -> None:
    checked = passed_through_modules()
    assert {"workflows.incident", "workflows.incident_rules", "workflows.incident_types"} <= set(
        checked
    )
    assert all(_module_path(name).exists() for name in checked), checked


def test_every_workflow_run_without_the_sandbox_is_in_a_checked_module() -> None:
    names = {w: workflow._Definition.must_from_class(w).name for w in REGISTERED}
    unsandboxed = [w for w, name in names.items() if name in UNSANDBOXED]
    assert len(unsandboxed) == len(UNSANDBOXED)
    assert {w.__module__ for w in unsandboxed} <= set(passed_through_modules())


@pytest.mark.parametrize("module", passed_through_modules())
def test_passed_through_workflow_code_reads_no_clock_randomness_or_io(module: str) -> None:
    assert problems(_module_path(module).read_text()) == []


@pytest.mark.parametrize(
    "source",
    [
        "import time",
        "from os import environ",
        "import httpx",
        "from datetime import datetime\nx = datetime.now()",
        "import uuid\nx = uuid.uuid4()",
        "f = open('x')",
    ],
)
def test_the_check_finds_what_the_sandbox_would_have_stopped(source: str) -> None:
    assert problems(source) != []


def test_the_workflows_own_clock_and_ids_are_allowed() -> None:
    source = "from temporalio import workflow\nt = workflow.now()\nu = workflow.uuid4()"
    assert problems(source) == []
