"""A clone runs its own tests anywhere: no test reads files from outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What a test must not name, one per line: the ways of reaching the workspace's folder beside
# the clone. Kept in a fixture so that this checker names no path outside the repository.
OUTSIDE = tuple(
    line
    for line in (ROOT / "tests" / "fixtures" / "outside_paths.txt").read_text().splitlines()
    if line
)
_PARENTS = re.compile(r"Path\(__file__\)(?:\.resolve\(\))?\.parents\[(\d+)\]")


def test_no_test_climbs_out_of_the_repository() -> None:
    outside: list[str] = []
    for path in (ROOT / "tests").rglob("*.py"):
        text = path.read_text()
        for match in _PARENTS.finditer(text):
            target = path.resolve().parents[int(match.group(1))]
            if not target.is_relative_to(ROOT):
                outside.append(f"{path.relative_to(ROOT)}: parents[{match.group(1)}]")
        if any(needle in text for needle in OUTSIDE):
            outside.append(f"{path.relative_to(ROOT)}: {OUTSIDE[0]}")
    assert outside == []


def test_the_checker_has_needles() -> None:
    assert len(OUTSIDE) == 2 and all(OUTSIDE), OUTSIDE


def test_the_example_payloads_the_tests_read_are_in_the_repository() -> None:
    fixtures = ROOT / "tests" / "fixtures"
    for name in (
        "pagerduty_v2_trigger.json",
        "alertmanager_v4_firing.json",
        "twilio_sms_inbound.txt",
    ):
        assert (fixtures / name).is_file(), name
