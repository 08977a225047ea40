"""Every first-party module imports: mypy's ignore_missing_imports would hide a moved module."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import activities
import app
import workflows

MODULES = [
    *sorted(
        m.name
        for pkg in (app, activities, workflows)
        for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".")
    ),
    "api",
    "worker",
]


@pytest.mark.parametrize("name", MODULES)
def test_module_imports(name: str) -> None:
    importlib.import_module(name)
