"""The `pagefree` command: dev, api, worker, migrate, admin."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from app import devstack
from app.config import Settings, get_settings
from app.db import migrate
from app.demo import seed
from app.identity.bootstrap import create_admin
from app.importer.cli import import_cli

cli = typer.Typer(help="PageFree: on-call and incident response.", no_args_is_help=True)
admin_cli = typer.Typer(help="Administer users.", no_args_is_help=True)
cli.add_typer(admin_cli, name="admin")
cli.add_typer(import_cli, name="import")

ROOT = Path(__file__).resolve().parent.parent


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(1)


def _database_url(settings: Settings) -> str:
    try:
        return devstack.database_url(settings)
    except Exception as exc:
        raise _fail(f"cannot reach the database: {exc}") from exc


@cli.command("migrate")
def migrate_cmd() -> None:
    """Apply the database migrations."""
    url = _database_url(get_settings())
    migrate(url)
    typer.echo("database is at the latest migration")


@admin_cli.command("create")
def admin_create(
    email: str,
    name: Annotated[
        str | None, typer.Option(help="Display name (default: from the e-mail)")
    ] = None,
    password: Annotated[
        str | None, typer.Option(help="Password for the web UI (at least 12 characters)")
    ] = None,
) -> None:
    """Create an admin user and print a new API token as the last line."""
    url = _database_url(get_settings())
    try:
        token = asyncio.run(create_admin(url, email=email, name=name, password=password))
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"created admin {email}; API token (shown once):")
    typer.echo(token)


@cli.command("api")
def api_cmd(
    host: Annotated[str | None, typer.Option(help="Interface to bind")] = None,
    port: Annotated[int | None, typer.Option(help="Port (PAGEFREE_API_PORT)")] = None,
) -> None:
    """Run the HTTP API and web UI."""
    settings = get_settings()
    env = _child_env(settings, database_url=_attached_database_url(settings))
    os.execve(sys.executable, _api_argv(settings, host, port), env)


@cli.command("worker")
def worker_cmd() -> None:
    """Run the Temporal worker."""
    settings = get_settings()
    env = _child_env(settings, database_url=_attached_database_url(settings))
    os.execve(sys.executable, [sys.executable, "-m", "worker"], env)


def _attached_database_url(settings: Settings) -> str:
    """Return DATABASE_URL or the database of a running `pagefree dev`; never start one."""
    if settings.database_url:
        return devstack.normalize_database_url(settings.database_url)
    stack = devstack.running_stack(settings.resolved_data_dir)
    if stack is None:
        raise _fail(
            f"no running `pagefree dev` in {settings.resolved_data_dir}: start it, "
            "or set DATABASE_URL and TEMPORAL_ADDRESS"
        )
    return stack.database_url


def _child_env(
    settings: Settings, *, database_url: str | None = None, temporal_address: str | None = None
) -> dict[str, str]:
    """Return the environment of an API or worker process, with the stack's addresses resolved."""
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url or _database_url(settings)
    try:
        env["TEMPORAL_ADDRESS"] = temporal_address or devstack.temporal_address(settings)
    except devstack.StackError as exc:
        raise _fail(str(exc)) from exc
    env["PAGEFREE_DATA_DIR"] = str(settings.resolved_data_dir)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _api_argv(settings: Settings, host: str | None, port: int | None) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "api:app",
        "--host",
        host or settings.api_host,
        "--port",
        str(port or settings.api_port),
        "--no-access-log",
    ]


def restart_pause(crashes: int) -> float:
    """Seconds to wait before restarting a child that crashed `crashes` times in a row.

    A first crash restarts at once (a worker that is not running delays every escalation);
    only a crash loop backs off, doubling from half a second to ten.
    """
    return 0.0 if crashes <= 1 else min(10.0, 0.5 * 2 ** (crashes - 2))


class _Child:
    """A supervised child process that is restarted if it dies."""

    STABLE = 30.0  # a child that ran this long before it died was not crash-looping

    def __init__(self, name: str, argv: list[str], env: dict[str, str]):
        self.name, self.argv, self.env = name, argv, env
        self.proc: subprocess.Popen[bytes] | None = None
        self.crashes = 0
        self.started_at = 0.0
        self.restart_at: float | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, env=self.env, cwd=ROOT)
        self.started_at, self.restart_at = time.monotonic(), None

    def check(self) -> None:
        now = time.monotonic()
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.start()
            return
        if self.proc is not None and self.proc.poll() is not None:
            ran = now - self.started_at
            self.crashes = 1 if ran >= self.STABLE else self.crashes + 1
            pause = restart_pause(self.crashes)
            typer.secho(
                f"{self.name} exited with {self.proc.returncode}; restarting"
                + (f" in {pause:.1f}s" if pause else ""),
                fg=typer.colors.YELLOW,
                err=True,
            )
            self.restart_at = now + pause  # never sleeps: the other children stay watched

    def stop(self) -> None:
        if self.proc is not None:
            devstack.stop_process(self.proc)


def _wait_ready(url: str, timeout: float) -> bool:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


@cli.command("dev")
def dev(
    demo: Annotated[bool, typer.Option("--demo", help="Seed a demo organisation")] = False,
) -> None:
    """Start embedded PostgreSQL, the Temporal dev server, the API and the worker."""
    started = time.monotonic()
    settings = get_settings()
    data_dir = settings.resolved_data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    typer.echo(f"data dir: {data_dir}")

    pg = None
    if settings.database_url:
        url = devstack.normalize_database_url(settings.database_url)
    else:
        pg = devstack.start_postgres(data_dir)
        url = pg.url()
    migrate(url)

    temporal_proc = None
    if settings.temporal_address:
        address, ui_url = settings.temporal_address, settings.temporal_ui_url
    else:
        if devstack.running_stack(data_dir):
            raise _fail(f"a `pagefree dev` already runs with data dir {data_dir}")
        try:
            temporal_proc, info = devstack.start_temporal(
                data_dir, port=settings.temporal_port, ui_port=settings.temporal_ui_port
            )
        except devstack.StackError as exc:
            raise _fail(str(exc)) from exc
        address, ui_url = info.address, info.ui_url

    if demo:
        for line in asyncio.run(seed(url)):
            typer.echo(line)

    devstack.write_stack(
        data_dir,
        devstack.StackInfo(
            pid=os.getpid(), database_url=url, temporal_address=address, temporal_ui_url=ui_url
        ),
    )
    env = _child_env(settings, database_url=url, temporal_address=address)
    env["TEMPORAL_UI_URL"] = ui_url
    children = [
        _Child("api", _api_argv(settings, None, None), env),
        _Child("worker", [sys.executable, "-m", "worker"], env),
    ]
    for child in children:
        child.start()

    stopping = False

    def _stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)

    base = settings.base_url
    ready = _wait_ready(f"http://127.0.0.1:{settings.api_port}/readyz", timeout=60)
    typer.secho(
        f"\nPageFree is {'ready' if ready else 'starting (not ready yet)'} "
        f"in {time.monotonic() - started:.1f}s\n"
        f"  Web UI        {base}/\n"
        f"  API           {base}/api/v1\n"
        f"  API docs      {base}/docs\n"
        f"  Temporal UI   {ui_url}\n"
        f"  PostgreSQL    {url}\n"
        f"  Temporal      {address}\n"
        "Press Ctrl-C to stop.",
        fg=typer.colors.GREEN,
    )
    try:
        while not stopping:
            for child in children:
                child.check()
            time.sleep(0.1)
    finally:
        typer.echo("stopping…")
        devstack.clear_stack(data_dir)
        for child in children:
            child.stop()
        if temporal_proc is not None:
            devstack.stop_process(temporal_proc)
        if pg is not None:
            pg.stop()
        typer.echo("stopped")


def main() -> None:
    """Entry point of the `pagefree` console script."""
    cli()


if __name__ == "__main__":
    main()
