"""`pagefree dev` restarts a crashed child at once; only a crash loop backs off."""

from __future__ import annotations

import sys
import time

from app.cli import _Child, restart_pause


def test_a_first_crash_restarts_at_once_and_a_crash_loop_backs_off() -> None:
    assert [restart_pause(n) for n in range(1, 8)] == [0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 10.0]


def test_a_killed_child_is_running_again_within_a_second() -> None:
    child = _Child("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], env={})
    child.start()
    child.STABLE = 0.0  # it ran "long enough": not a crash loop
    first = child.proc
    assert first is not None
    first.kill()
    first.wait()
    deadline = time.monotonic() + 1.0
    while child.proc is first and time.monotonic() < deadline:
        child.check()
        time.sleep(0.02)
    try:
        assert child.proc is not first and child.proc is not None and child.proc.poll() is None
    finally:
        child.stop()
