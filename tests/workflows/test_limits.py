"""The action limits every caller imports: snooze bounds and the reassignment rule."""

from __future__ import annotations

from datetime import timedelta

import pytest

from workflows import limits


@pytest.mark.parametrize(
    ("duration", "allowed"),
    [
        (timedelta(0), False),
        (timedelta(milliseconds=999), False),
        (timedelta(seconds=1), True),
        (timedelta(seconds=60), True),
        (timedelta(days=7), True),
        (timedelta(days=7, seconds=1), False),
        (timedelta(seconds=-5), False),
    ],
)
def test_snooze_bounds_are_one_second_to_seven_days(duration: timedelta, allowed: bool) -> None:
    assert (limits.snooze_refusal(duration) is None) is allowed


def test_check_snooze_raises_the_message_callers_show() -> None:
    with pytest.raises(ValueError, match="between 1 second and 7 days"):
        limits.check_snooze(timedelta(days=8))
    assert limits.check_snooze(timedelta(minutes=15)) == timedelta(minutes=15)


def test_reassignment_names_users_or_a_policy_exactly_once() -> None:
    assert limits.reassign_refusal(None, None) == limits.REASSIGN_ONE_OF
    assert limits.reassign_refusal(["u"], "p") == limits.REASSIGN_ONE_OF
    assert limits.reassign_refusal([], "p") is None
    assert limits.reassign_refusal(["u"], None) is None
    assert limits.reassign_refusal(["u"] * 51, None) == "reassign to at most 50 users"


def test_limits_import_nothing_from_app() -> None:
    import ast
    from pathlib import Path

    tree = ast.parse(Path(limits.__file__).read_text())
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not {m for m in modules if m and m.split(".")[0] in ("app", "temporalio")}
