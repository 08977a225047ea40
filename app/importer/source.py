"""Read a PagerDuty account over the REST API v2 with the official `pagerduty` client.

The client sends `Authorization: Token token=…`, follows offset pagination (`more`) and backs
off on 429; this module fetches everything the importer needs, once, and turns the client's
failures into one error with a readable message (never the key).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pagerduty

PD = dict[str, Any]
DEFAULT_URL = "https://api.pagerduty.com"
OVERRIDE_WINDOW = timedelta(days=90)

# The client logs its retries with URLs; quiet it so a progress bar stays readable.
logging.getLogger("pagerduty").setLevel(logging.ERROR)


class SourceError(Exception):
    """PagerDuty could not be read (credentials, network, an unexpected answer)."""


@dataclass
class Account:
    """Everything read from PagerDuty, in the order the importer applies it."""

    users: list[PD] = field(default_factory=list)
    teams: list[PD] = field(default_factory=list)
    members: dict[str, list[PD]] = field(default_factory=dict)  # team id → members
    schedules: list[PD] = field(default_factory=list)  # full objects, with layers
    overrides: dict[str, list[PD]] = field(default_factory=dict)  # schedule id → overrides
    policies: list[PD] = field(default_factory=list)
    services: list[PD] = field(default_factory=list)  # with their integrations

    def count(self) -> int:
        return sum(map(len, (self.users, self.teams, self.schedules, self.policies, self.services)))


def client(api_key: str, api_url: str = DEFAULT_URL, backoff: float | None = None) -> Any:
    """Return the PagerDuty REST client; `backoff` shortens its first 429 wait (tests)."""
    c = pagerduty.RestApiV2Client(api_key, base_url=api_url.rstrip("/"))
    c.max_http_attempts = 8
    c.retry[429] = 8  # back off at most 8 times on rate limits, then give up (not forever)
    if backoff is not None:
        c.sleep_timer = backoff
    return c


def _failure(exc: Exception) -> SourceError:
    response = getattr(exc, "response", None)
    if response is not None:
        status = response.status_code
        if status == 401:
            return SourceError("PagerDuty refused the API key (401 Unauthorized)")
        if status == 403:
            return SourceError("the API key may not read this (403 Forbidden)")
        if status == 429:
            return SourceError("PagerDuty kept rate-limiting the import (429); try again later")
        return SourceError(f"PagerDuty answered {status} for {response.request.url.path}")
    cause = exc.__cause__
    return SourceError(f"cannot reach PagerDuty: {cause or exc}")


def _all(c: Any, path: str, params: dict[str, Any] | None = None) -> Iterator[PD]:
    try:
        yield from c.iter_all(path, params=params or {})
    except (pagerduty.Error, OSError) as exc:
        raise _failure(exc) from None


def _get(c: Any, path: str, **params: Any) -> Any:
    try:
        return c.rget(path, params=params)
    except (pagerduty.Error, OSError) as exc:
        raise _failure(exc) from None


def find_team(c: Any, wanted: str) -> PD:
    """Return the team whose id or name (any case) is `wanted`."""
    for t in _all(c, "/teams"):
        if wanted in (t["id"], t.get("name")) or wanted.lower() == str(t.get("name")).lower():
            return t
    raise SourceError(f"PagerDuty has no team {wanted!r}")


def read(
    c: Any,
    *,
    team: str | None = None,
    now: datetime | None = None,
    step: Callable[[str], None] = lambda _: None,
) -> Account:
    """Read the account (or one team's part of it); `step` is told what is being read."""
    now = now or datetime.now(UTC)
    scope: dict[str, Any] = {}
    out = Account()
    if team is not None:
        found = find_team(c, team)
        scope = {"team_ids[]": [found["id"]]}
        out.teams = [found]
    else:
        step("teams")
        out.teams = list(_all(c, "/teams"))
    step("users")
    out.users = list(
        _all(c, "/users", {**scope, "include[]": ["contact_methods", "notification_rules"]})
    )
    for t in out.teams:
        step(f"members of {t.get('name')}")
        out.members[t["id"]] = list(_all(c, f"/teams/{t['id']}/members"))
    window = {"since": now.isoformat(), "until": (now + OVERRIDE_WINDOW).isoformat()}
    for s in _all(c, "/schedules", scope):
        step(f"schedule {s.get('name')}")
        full = _get(c, f"/schedules/{s['id']}")
        out.schedules.append(full)
        out.overrides[s["id"]] = list(_get(c, f"/schedules/{s['id']}/overrides", **window))
    step("escalation policies")
    out.policies = list(_all(c, "/escalation_policies", scope))
    step("services")
    out.services = list(_all(c, "/services", {**scope, "include[]": ["integrations"]}))
    return out


def oncalls(c: Any, policy_ids: list[str], at: datetime) -> list[PD]:
    """Return PagerDuty's on-call entries of these policies at the instant `at`."""
    if not policy_ids:
        return []
    window = {"since": at.isoformat(), "until": (at + timedelta(seconds=1)).isoformat()}
    return list(_all(c, "/oncalls", {**window, "escalation_policy_ids[]": policy_ids}))
