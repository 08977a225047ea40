"""The `pagefree` command as a newcomer uses it: dev --demo, admin create while it runs, Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import _free_port

pytestmark = pytest.mark.integration

PAGEFREE = [sys.executable, "-m", "app.cli"]
ROOT = Path(__file__).resolve().parents[2]


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEMPORAL_ADDRESS")}
    return {**env, "PAGEFREE_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT), **extra}


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PAGEFREE, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_migrate_and_admin_create_without_a_running_stack(tmp_path: Path) -> None:
    env = _env(tmp_path / "data")
    migrated = _run(["migrate"], env)
    assert migrated.returncode == 0, migrated.stderr
    made = _run(["admin", "create", "root@example.com", "--name", "Root"], env)
    assert made.returncode == 0, made.stderr
    assert re.fullmatch(r"pf_[A-Za-z0-9_-]{40,}", made.stdout.strip().splitlines()[-1])
    again = _run(["admin", "create", "ROOT@example.com"], env)
    assert again.returncode == 1 and "already exists" in again.stderr
    weak = _run(["admin", "create", "x@example.com", "--password", "short"], env)
    assert weak.returncode == 1 and "12" in weak.stderr


def test_api_and_worker_alone_refuse_without_a_stack(tmp_path: Path) -> None:
    for command in ("api", "worker"):
        out = _run([command], _env(tmp_path / "empty"))
        assert out.returncode == 1 and "no running `pagefree dev`" in out.stderr


def test_dev_demo_starts_everything_serves_and_stops_cleanly(tmp_path: Path) -> None:
    api_port, t_port, ui_port = _free_port(), _free_port(), _free_port()
    env = _env(
        tmp_path / "data",
        PAGEFREE_API_PORT=str(api_port),
        PAGEFREE_TEMPORAL_PORT=str(t_port),
        PAGEFREE_TEMPORAL_UI_PORT=str(ui_port),
    )
    log = tmp_path / "dev.log"
    started = time.monotonic()
    with open(log, "w") as out:
        dev = subprocess.Popen(
            [*PAGEFREE, "dev", "--demo"], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        while "is ready" not in log.read_text():
            assert dev.poll() is None, log.read_text()
            assert time.monotonic() - started < 90, log.read_text()
            time.sleep(0.2)
        text = log.read_text()
        token = re.search(r"admin API token for alice@example.com \(shown once\): (\S+)", text)
        assert token, text
        base = f"http://127.0.0.1:{api_port}"
        assert httpx.get(f"{base}/readyz").json()["status"] == "ready"
        assert httpx.get(f"{base}/docs").status_code == 200
        assert httpx.get(f"http://localhost:{ui_port}/").status_code == 200
        services = httpx.get(
            f"{base}/api/v1/services", headers={"Authorization": f"Bearer {token.group(1)}"}
        ).json()
        assert [s["routing_key"] for s in services["data"]] == ["checkout-api"]

        # The demo's Events API integration opens an incident on the demo service.
        pd = re.search(r"integration: Events API v2 (\S+) \(key (\w+)\)", text)
        assert pd, text
        event = {
            "routing_key": pd.group(2),
            "event_action": "trigger",
            "dedup_key": "demo",
            "payload": {"summary": "Checkout 5xx", "source": "demo", "severity": "error"},
        }
        assert httpx.post(pd.group(1).replace("http://127.0.0.1:8000", base), json=event
                          ).status_code == 202  # fmt: skip
        auth = {"Authorization": f"Bearer {token.group(1)}"}
        for _ in range(100):
            opened = httpx.get(f"{base}/api/v1/incidents", headers=auth).json()["data"]
            if opened:
                break
            time.sleep(0.2)
        assert [i["title"] for i in opened] == ["Checkout 5xx"]

        # `admin create` attaches to the running stack's database.
        made = _run(["admin", "create", "ops@example.com"], env)
        assert made.returncode == 0, made.stderr
        ops = {"Authorization": f"Bearer {made.stdout.strip().splitlines()[-1]}"}
        me = httpx.get(f"{base}/api/v1/users/me", headers=ops)
        assert me.json()["email"] == "ops@example.com" and me.json()["role"] == "admin"
    finally:
        dev.send_signal(signal.SIGINT)
        code = dev.wait(timeout=60)
    assert code == 0, log.read_text()
    assert "stopped" in log.read_text()
    assert not (tmp_path / "data" / "stack.json").exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{api_port}/healthz")
