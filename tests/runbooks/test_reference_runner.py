"""The reference runner of docs/runbooks.md, run as written, against PageFree's signed calls."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from activities.runbooks import RunbookActivities
from app.config import Settings
from app.db import SessionMaker
from tests.factories import Login
from tests.live_server import free_port
from tests.runbooks import helpers
from tests.runbooks.standin import SECRET
from workflows.runbook_types import AttemptIn, RunbookRequest

DOC = Path(__file__).parents[2] / "docs" / "runbooks.md"


def runner_source() -> str:
    """Return the code block between the reference-runner markers of the doc."""
    match = re.search(
        r"<!-- reference-runner:begin -->\n```python\n(.*?)```\n<!-- reference-runner:end -->",
        DOC.read_text(),
        re.S,
    )
    assert match, "docs/runbooks.md lost its reference runner block"
    return match.group(1)


@pytest.fixture(scope="module")
def runner_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("runner") / "runner.py"
    path.write_text(runner_source())
    port = free_port()
    env = {
        **os.environ,
        "RUNNER_SECRET": SECRET,
        "RUNNER_PORT": str(port),
        "RUNNER_ALLOWED": json.dumps(
            {
                "hello": [sys.executable, "-c", "print('hello from the runner')"],
                "fail": [sys.executable, "-c", "raise SystemExit(3)"],
            }
        ),
    }
    process = subprocess.Popen([sys.executable, str(path)], env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while True:
        try:
            httpx.post(url, content=b"")
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the reference runner did not start"
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(5)


def signed(body: bytes, secret: str = SECRET, at: float | None = None) -> dict[str, str]:
    """Sign as docs/runbooks.md says: sha256 HMAC over "{timestamp}.{body}"."""
    ts = str(int(time.time() if at is None else at))
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-PageFree-Timestamp": ts, "X-PageFree-Signature": f"sha256={mac}"}


def attempt(url: str, runbook_id: str, command: str, run_id: str | None = None) -> AttemptIn:
    return AttemptIn(
        run_id=run_id or str(uuid.uuid4()),
        runbook_id=runbook_id,
        attempt=1,
        request=RunbookRequest(
            url=url, method="POST", body=json.dumps({"command": command}), timeout=10
        ),
    )


async def test_the_runner_runs_allow_listed_commands_sent_by_the_activity(
    runner_url: str,
    client: httpx.AsyncClient,
    author: Login,
    sessionmaker: SessionMaker,
    settings: Settings,
) -> None:
    runbook = await helpers.create(client, author, runner_url)
    activities = RunbookActivities(sessionmaker, settings)
    ok = await activities.send_runbook_request(attempt(runner_url, runbook["id"], "hello"))
    assert ok.ok and ok.status == 200
    failing = await activities.send_runbook_request(attempt(runner_url, runbook["id"], "fail"))
    assert failing.status == 422 and not failing.retryable
    refused = await activities.send_runbook_request(attempt(runner_url, runbook["id"], "rm -rf"))
    assert refused.status == 403 and not refused.retryable


async def test_the_runner_refuses_forged_and_stale_requests(runner_url: str) -> None:
    body = json.dumps({"command": "hello"}).encode()
    async with httpx.AsyncClient() as http:
        forged = await http.post(
            runner_url, content=body, headers=signed(body, "wrong-secret-000000")
        )
        stale = await http.post(
            runner_url, content=body, headers=signed(body, at=time.time() - 600)
        )
        tampered = await http.post(runner_url, content=body + b" ", headers=signed(body))
        key = {"Idempotency-Key": str(uuid.uuid4())}
        first = await http.post(runner_url, content=body, headers={**signed(body), **key})
        await asyncio.sleep(0)
        again = await http.post(runner_url, content=body, headers={**signed(body), **key})
    assert [forged.status_code, stale.status_code, tampered.status_code] == [401, 401, 401]
    assert first.status_code == 200 and "hello from the runner" in first.json()["output"]
    assert again.status_code == 200 and again.json()["replayed"] is True
