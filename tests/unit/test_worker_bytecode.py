"""The worker writes the workflow modules' bytecode, which the sandbox reads for every run."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import workflows
from worker import compile_workflow_modules


def test_workflow_modules_are_compiled_once_at_worker_start() -> None:
    package = Path(workflows.__file__).parent
    shutil.rmtree(package / "__pycache__", ignore_errors=True)  # a cache: safe to drop
    compile_workflow_modules()
    for module in package.glob("*.py"):
        cached = Path(importlib.util.cache_from_source(str(module)))
        assert cached.is_file(), module.name
        assert cached.stat().st_mtime >= module.stat().st_mtime
