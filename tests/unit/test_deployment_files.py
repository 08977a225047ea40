"""The deployment files stay consistent with the code.

Docker cannot run on the development machines, so docker-compose.yml and the Dockerfile are
checked for structure here, never started.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.devstack import SEARCH_ATTRIBUTES

ROOT = Path(__file__).resolve().parents[2]
SEARCH_ATTRIBUTES_SERVICE = "temporal-search-attributes"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def _command_text(service: dict[str, Any]) -> str:
    parts = [service.get("entrypoint"), service.get("command")]
    return " ".join(p if isinstance(p, str) else " ".join(p) for p in parts if p)


def test_core_services_exist(services: dict[str, Any]) -> None:
    expected = {"postgres", "temporal", "temporal-ui", "api", "worker", "migrate"}
    assert expected <= services.keys()


@pytest.mark.parametrize("name", ["api", "worker"])
def test_api_and_worker_are_configured(services: dict[str, Any], name: str) -> None:
    env = services[name]["environment"]
    assert isinstance(env, dict)
    assert env["DATABASE_URL"].startswith("postgresql://")
    assert "@postgres:5432/" in env["DATABASE_URL"]
    assert env["TEMPORAL_ADDRESS"] == "temporal:7233"


def test_worker_and_migrate_commands(services: dict[str, Any]) -> None:
    assert services["worker"]["command"] == ["python", "-m", "worker"]
    assert services["migrate"]["command"] == ["pagefree", "migrate"]


def test_depends_on_names_existing_services(services: dict[str, Any]) -> None:
    allowed = {"service_started", "service_healthy", "service_completed_successfully"}
    for name, service in services.items():
        depends_on = service.get("depends_on") or {}
        targets = depends_on if isinstance(depends_on, list) else list(depends_on)
        for target in targets:
            assert target in services, f"{name} depends on unknown service {target}"
            assert target != name
        if isinstance(depends_on, dict):
            for target, spec in depends_on.items():
                assert spec["condition"] in allowed, f"{name} -> {target}: {spec}"


def test_start_order(services: dict[str, Any]) -> None:
    def condition(name: str, target: str) -> str:
        return services[name]["depends_on"][target]["condition"]

    assert condition("migrate", "postgres") == "service_healthy"
    assert condition("temporal", "postgres") == "service_healthy"
    assert condition("api", "migrate") == "service_completed_successfully"
    assert condition("worker", "migrate") == "service_completed_successfully"
    assert condition("worker", SEARCH_ATTRIBUTES_SERVICE) == "service_completed_successfully"


def test_every_search_attribute_is_registered(services: dict[str, Any]) -> None:
    script = _command_text(services[SEARCH_ATTRIBUTES_SERVICE])
    assert "temporal operator search-attribute create" in script
    registered = dict(re.findall(r"^\s*register\s+(\w+)\s+(\w+)\s*$", script, re.MULTILINE))
    assert registered == SEARCH_ATTRIBUTES


def test_dockerfile_runs_the_api() -> None:
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    starts = [
        json.loads(line.split(None, 1)[1])
        for line in lines
        if line.startswith(("CMD ", "ENTRYPOINT "))
    ]
    assert starts, "the Dockerfile has no CMD or ENTRYPOINT"
    assert any("api:app" in argv for argv in starts)
    assert any(line.startswith("USER ") and "root" not in line for line in lines)
    assert any(line.startswith("HEALTHCHECK ") for line in lines)


def _published(service: dict[str, Any]) -> list[str]:
    return [str(p) for p in service.get("ports") or []]


def test_temporal_ui_is_published_on_loopback_only_and_read_only(
    services: dict[str, Any],
) -> None:
    ui = services["temporal-ui"]
    ports = _published(ui)
    assert ports, "temporal-ui publishes no port"
    assert all(p.startswith("127.0.0.1:") for p in ports), ports
    assert str(ui["environment"]["TEMPORAL_DISABLE_WRITE_ACTIONS"]).lower() == "true"


def test_only_the_api_is_published_beyond_loopback(services: dict[str, Any]) -> None:
    for name, service in services.items():
        if name == "api":
            continue
        for port in _published(service):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"
