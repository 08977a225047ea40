"""Pure helpers of the web UI: times in the viewer's zone, durations, safe redirects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.web.auth import safe_next
from app.web.render import ago, duration, localtime


def test_times_are_shown_in_the_viewers_zone_across_dst() -> None:
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    winter = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert localtime(summer, "Europe/Berlin") == "2026-07-01 14:00"
    assert localtime(winter, "Europe/Berlin") == "2026-01-01 13:00"
    assert localtime(winter, "Asia/Kolkata", "%H:%M") == "17:30"
    assert localtime(datetime(2026, 1, 1, 12, 0), "America/New_York") == "2026-01-01 07:00"
    assert localtime(winter, "Not/AZone") == "2026-01-01 12:00"  # falls back to UTC
    assert localtime(None, "UTC") == "—"


def test_durations_and_ages_read_like_people_say_them() -> None:
    assert duration(timedelta(minutes=5)) == "5 min"
    assert duration(timedelta(hours=1, minutes=30)) == "1 h 30 min"
    assert duration(45) == "45 s"
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert ago(now - timedelta(seconds=10), now) == "just now"
    assert ago(now - timedelta(minutes=7), now) == "7 min ago"
    assert ago(now - timedelta(hours=3), now) == "3 h ago"
    assert ago(now - timedelta(days=2), now) == "2 d ago"


def test_sign_in_goes_on_only_to_paths_of_this_site() -> None:
    assert safe_next("/incidents/1?x=2") == "/incidents/1?x=2"
    for bad in (None, "", "https://evil.example", "//evil.example", "/\\evil.example", "evil"):
        assert safe_next(bad) == "/"
