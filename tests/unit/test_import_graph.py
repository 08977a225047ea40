"""The domains under app/ import each other in one direction only: no cycle, no lazy import.

Nodes are the domain packages (`app/identity`, `app/schedules`, `app/oncall` …). Their routes
and the web pages are the HTTP layer above every domain (api.py → routes → services), so
imports made by route modules do not count; every other import, at any depth of a function,
does — an import hidden in a function to dodge a cycle is still a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import networkx

import app

APP = Path(app.__file__).parent
HTTP_LAYER = ("app.web",)


def _is_http(module: str) -> bool:
    leaf = module.rsplit(".", 1)[-1]
    return module.startswith(HTTP_LAYER) or leaf == "routes" or leaf.endswith("_routes")


def _domain(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) < 3 or not (APP / parts[1]).is_dir():
        return None  # app itself and its top-level modules (config, db, errors …)
    return parts[1]


def domain_graph() -> networkx.DiGraph:
    """Return the graph of imports between domains, each edge with the modules that make it."""
    imports = grimp.build_graph("app", cache_dir=None)
    graph = networkx.DiGraph()
    for module in imports.modules:
        source = _domain(module)
        if source is None or _is_http(module):
            continue
        for imported in imports.find_modules_directly_imported_by(module):
            target = _domain(imported)
            if target is not None and target != source:
                graph.add_edge(source, target)
                graph.edges[source, target].setdefault("by", set()).add(f"{module} → {imported}")
    return graph


def test_domains_import_each_other_without_cycles() -> None:
    graph = domain_graph()
    cycles = [
        [
            f"{a} → {b}: {sorted(graph.edges[a, b]['by'])}"
            for a, b in zip(c, c[1:] + c[:1], strict=True)
        ]
        for c in networkx.simple_cycles(graph)
    ]
    assert not cycles, cycles


def test_escalation_and_schedules_meet_only_in_oncall() -> None:
    graph = domain_graph()
    assert not graph.has_edge("schedules", "escalation")
    assert graph.has_edge("oncall", "schedules") and graph.has_edge("oncall", "escalation")


def test_no_function_level_imports_of_app_modules() -> None:
    lazy = []
    for path in APP.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith("app"):
                    lazy.append(f"{path.relative_to(APP.parent)}:{inner.lineno}")
    assert not lazy, lazy
