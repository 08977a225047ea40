"""The stack under test: a `pagefree dev --demo` started here, or one configured by flags."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 300.0  # a loaded 2-core machine needed more than 180 s
STOP_TIMEOUT = 60.0

_TOKEN = re.compile(r"admin API token for \S+ \(shown once\): (pf_\S+)")
_POSTGRES = re.compile(r"^\s*PostgreSQL\s+(\S+)")
_TEMPORAL = re.compile(r"^\s*Temporal\s+([\w.\-]+:\d+)\s*$")


def log(message: str) -> None:
    """Print a progress line to stderr."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def psycopg_url(url: str) -> str:
    """Turn a SQLAlchemy URL (postgresql+psycopg://) into one psycopg accepts."""
    return re.sub(r"^postgres(ql)?\+\w+://", "postgresql://", url)


@dataclass
class Stack:
    """Where the stack listens, and its processes when this bench started it."""

    api: str
    token: str
    temporal: str
    database_url: str
    dev: subprocess.Popen[str] | None = None
    data_dir: Path | None = None
    worker_pid: int | None = None
    api_pid: int | None = None
    extra_pids: dict[str, int] = field(default_factory=dict)

    def processes(self) -> dict[str, psutil.Process]:
        """Return the stack's processes this bench can see, by role."""
        pids = {"worker": self.worker_pid, "api": self.api_pid, **self.extra_pids}
        found = {}
        for role, pid in pids.items():
            if pid:
                try:
                    found[role] = psutil.Process(pid)
                except psutil.NoSuchProcess:
                    pass
        return found


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pick_ports(api: int, temporal: int, ui: int) -> tuple[int, int, int]:
    """Return the wanted ports, or free ones where a wanted port is taken."""
    ports = [p if _port_free(p) else _free_port() for p in (api, temporal, ui)]
    return ports[0], ports[1], ports[2]


def start_dev(ports: tuple[int, int, int]) -> Stack:
    """Start `pagefree dev --demo` in a fresh data dir; return once it is ready."""
    api_port, temporal_port, ui_port = ports
    data_dir = Path(tempfile.mkdtemp(prefix="pagefree-bench-"))
    env = {
        **os.environ,
        "PAGEFREE_DATA_DIR": str(data_dir),
        "PAGEFREE_API_PORT": str(api_port),
        "PAGEFREE_TEMPORAL_PORT": str(temporal_port),
        "PAGEFREE_TEMPORAL_UI_PORT": str(ui_port),
        "PAGEFREE_MIN_ESCALATION_DELAY": "PT1S",
    }
    for name in ("DATABASE_URL", "TEMPORAL_ADDRESS", "PAGEFREE_PUBLIC_URL"):
        env.pop(name, None)
    pagefree = Path(sys.executable).parent / "pagefree"
    argv = [str(pagefree), "dev", "--demo"] if pagefree.exists() else ["pagefree", "dev", "--demo"]
    log(
        f"starting `pagefree dev --demo` in {data_dir} (API :{api_port}, Temporal :{temporal_port})"
    )
    proc = subprocess.Popen(
        argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    found: dict[str, str] = {}
    ready = threading.Event()
    threading.Thread(
        target=_pump, args=(proc, data_dir / "dev.log", found, ready), daemon=True
    ).start()
    stack = Stack(api="", token="", temporal="", database_url="", dev=proc, data_dir=data_dir)
    deadline = time.monotonic() + READY_TIMEOUT
    if ready.wait(READY_TIMEOUT) and "ready" not in found and proc.poll() is None:
        # `pagefree dev` waits 60 s for /readyz, then goes on "not ready yet": on a loaded
        # machine the API may need longer, so keep asking it until READY_TIMEOUT.
        if _wait_ready(f"http://127.0.0.1:{api_port}/readyz", deadline):
            found["ready"] = "1"
    if "ready" not in found:
        stop(stack)
        raise RuntimeError(f"`pagefree dev` did not become ready; see {data_dir / 'dev.log'}")
    missing = {"token", "postgres", "temporal"} - found.keys()
    if missing:
        stop(stack)
        raise RuntimeError(f"`pagefree dev` did not print {', '.join(sorted(missing))}")
    stack.api = f"http://127.0.0.1:{api_port}"
    stack.token, stack.temporal = found["token"], found["temporal"]
    stack.database_url = psycopg_url(found["postgres"])
    _find_children(stack)
    return stack


def _wait_ready(url: str, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(1)
    return False


def _pump(proc: subprocess.Popen[str], path: Path, found: dict[str, str], ready: threading.Event):  # type: ignore[no-untyped-def]
    """Copy the dev server's output to a log file, picking out what the bench needs."""
    assert proc.stdout is not None
    with path.open("w") as out:
        for line in proc.stdout:
            out.write(line)
            out.flush()
            for key, pattern in (
                ("token", _TOKEN),
                ("postgres", _POSTGRES),
                ("temporal", _TEMPORAL),
            ):
                if key not in found and (m := pattern.search(line)):
                    found[key] = m.group(1)
            if "PageFree is ready" in line:
                found["ready"] = "1"
            if "Press Ctrl-C to stop" in line or "not ready yet" in line:
                ready.set()
    ready.set()


def _find_children(stack: Stack) -> None:
    assert stack.dev is not None and stack.data_dir is not None
    for child in psutil.Process(stack.dev.pid).children(recursive=True):
        cmd = child.cmdline()
        if cmd[-2:] == ["-m", "worker"]:
            stack.worker_pid = child.pid
        elif "uvicorn" in cmd:
            stack.api_pid = child.pid
        elif cmd and cmd[0].endswith("temporal"):
            stack.extra_pids["temporal"] = child.pid
    if pid := _postmaster_pid(stack.data_dir):
        stack.extra_pids["postgres"] = pid


def _postmaster_pid(data_dir: Path) -> int | None:
    pidfile = data_dir / "postgres" / "postmaster.pid"
    try:
        return int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def scan_log(stack: Stack) -> dict[str, int]:
    """Count warnings worth knowing in the output of `pagefree dev` (slow tasks, errors)."""
    if stack.data_dir is None or not (stack.data_dir / "dev.log").exists():
        return {}
    text = (stack.data_dir / "dev.log").read_text(errors="replace")
    return {
        "slow_workflow_tasks (TMPRL1104, > 5 s)": text.count("TMPRL1104"),
        "tracebacks": text.count("Traceback (most recent call last)"),
        "error_lines": len(re.findall(r"\berror\b|\bERROR\b", text)),
        "restarts": text.count("; restarting"),
    }


def stop(stack: Stack, *, keep: bool = False, save_log: Path | None = None) -> None:
    """Stop a stack this bench started (SIGINT, then SIGKILL) and remove its data dir."""
    if stack.dev is None:
        return
    if stack.dev.poll() is not None:
        log(f"`pagefree dev` had already exited with {stack.dev.returncode}")
    children = []
    try:
        children = psutil.Process(stack.dev.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        pass
    if stack.dev.poll() is None:
        log("stopping `pagefree dev` (SIGINT)")
        stack.dev.send_signal(signal.SIGINT)
        try:
            stack.dev.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            log("`pagefree dev` did not stop in time: killing it and its children")
            stack.dev.kill()
            stack.dev.wait()
    for child in children:
        _kill_leftover(child)
    if stack.data_dir is not None:
        if pid := _postmaster_pid(stack.data_dir):
            # Only if `pagefree dev` died before stopping its own PostgreSQL.
            _kill_leftover_postgres(pid, stack.data_dir)
        if save_log is not None and (stack.data_dir / "dev.log").exists():
            save_log.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(stack.data_dir / "dev.log", save_log)
            log(f"kept the output of `pagefree dev` in {save_log}")
        if not keep:
            shutil.rmtree(stack.data_dir, ignore_errors=True)
    log("stack stopped")


def _kill_leftover(proc: psutil.Process) -> None:
    try:
        if proc.is_running():
            proc.kill()
            proc.wait(10)
    except (psutil.NoSuchProcess, psutil.TimeoutExpired):
        pass


def _kill_leftover_postgres(pid: int, data_dir: Path) -> None:
    try:
        proc = psutil.Process(pid)
        if str(data_dir) in " ".join(proc.cmdline()):  # never another stack's server
            proc.send_signal(signal.SIGINT)  # fast shutdown
            proc.wait(20)
    except (psutil.NoSuchProcess, psutil.TimeoutExpired):
        pass
