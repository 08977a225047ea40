"""A clone runs its own tests anywhere: no test reads files from outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What a test must not name: the workspace's shared folder beside the clone. Spelled in parts
# so that this checker, which reads no file outside the repository, does not name it either.
OUTSIDE = ("/".join(["..", "shared"]), " / ".join(['"shared"', '"fixtures"']))
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


def test_the_example_payloads_the_tests_read_are_in_the_repository() -> None:
    fixtures = ROOT / "tests" / "fixtures"
    for name in (
        "pagerduty_v2_trigger.json",
        "alertmanager_v4_firing.json",
        "twilio_sms_inbound.txt",
    ):
        assert (fixtures / name).is_file(), name
