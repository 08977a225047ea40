"""`pagefree import pagerduty` against a local stand-in of PagerDuty's REST API v2."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from sqlalchemy import delete, func, select

from app.catalog.models import Service
from app.db import SessionMaker
from app.escalation.models import EscalationPolicy
from app.identity.models import Team, TeamMember, User
from app.importer.models import ImportMapping
from app.ingest.models import Integration
from app.notify.models import ContactMethod, NotificationRule
from app.schedules.models import Schedule, ScheduleOverride
from tests.importer.account import OLD_KEY, account
from tests.importer.stand_in import StandIn

KEY = "u+pd-test-key-9f3b"
CLI = str(Path(sys.executable).parent / "pagefree")


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, str]:
    authority = trustme.CA()
    pem = tmp_path_factory.mktemp("ca") / "ca.pem"
    authority.cert_pem.write_to_path(str(pem))
    return authority, str(pem)


@pytest.fixture
def pd(ca: tuple[trustme.CA, str]) -> Iterator[StandIn]:
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca[0].issue_cert("127.0.0.1").configure_cert(tls)
    s = StandIn(account(), KEY, tls)
    CA_FILE[0] = ca[1]
    yield s
    s.stop()


CA_FILE = [""]  # the stand-in's certificate authority, trusted by the command through SSL_CERT_FILE


async def run(database_url: str, *args: str, command: str = "pagerduty") -> tuple[int, str]:
    """Run the real command in a process of its own; return (exit code, all output)."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SSL_CERT_FILE": CA_FILE[0],
        "PAGEFREE_ENV": "test",
        "PAGEFREE_MIN_ESCALATION_DELAY": "PT1S",
        "PAGEFREE_IMPORT_BACKOFF": "0.05",
        "COLUMNS": "200",
    }
    proc = await asyncio.create_subprocess_exec(
        CLI,
        "import",
        command,
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=120)
    return proc.returncode or 0, out.decode()


def _local(pd: StandIn) -> list[str]:
    return ["--api-key", KEY, "--api-url", pd.url, "--allow-private-url"]


async def _count(sessionmaker: SessionMaker, model: Any) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_import_creates_the_account_and_a_rerun_updates_it_without_duplicates(
    pd: StandIn, database_url: str, sessionmaker: SessionMaker
) -> None:
    code, out = await run(database_url, *_local(pd))
    assert code == 0, out
    assert KEY not in out and "Traceback" not in out
    async with sessionmaker() as session:
        users = {u.email: u for u in await session.scalars(select(User))}
        alice = users["alice@example.com"]
        assert (alice.name, alice.timezone, alice.role) == ("Alice Admin", "Europe/Berlin", "admin")
        assert (users["bob@example.com"].role, users["carol@example.com"].role) == (
            "responder",
            "observer",
        )
        methods = {
            m.address: m
            for m in await session.scalars(
                select(ContactMethod).where(ContactMethod.user_id == alice.id)
            )
        }
        assert set(methods) == {"alice@example.com", "+491701234567", "+15550100199"}
        assert all(m.verified for m in methods.values())
        rules = sorted(
            (r.delay_seconds, r.urgency, methods_by_id(methods)[r.contact_method_id])
            for r in await session.scalars(select(NotificationRule))
        )
        assert rules == [
            (0, "high", "alice@example.com"),
            (300, "high", "+15550100199"),
            (600, "low", "+491701234567"),
        ]
        payments = await session.scalar(select(Team).where(Team.name == "Payments"))
        assert payments is not None
        roles = {
            m.user_id: m.role
            for m in await session.scalars(
                select(TeamMember).where(TeamMember.team_id == payments.id)
            )
        }
        assert roles == {alice.id: "manager", users["bob@example.com"].id: "member"}
        [sched] = await session.scalars(select(Schedule))
        assert sched.timezone == "Europe/Berlin"
        policy = await session.scalar(
            select(EscalationPolicy).where(EscalationPolicy.name == "Payments escalation")
        )
        assert policy is not None and policy.repeat == 2
        assert [
            (lv["delay_seconds"], [t["type"] for t in lv["targets"]]) for lv in policy.levels
        ] == [(900.0, ["schedule"]), (1800.0, ["user"])]
        checkout = await session.scalar(select(Service).where(Service.name == "Checkout"))
        assert checkout is not None and checkout.escalation_policy_id == policy.id
        assert (
            checkout.acknowledgement_timeout_seconds,
            checkout.auto_resolve_timeout_seconds,
            checkout.team_id,
        ) == (1800, 14400, payments.id)
        search = await session.scalar(select(Service).where(Service.name == "Search API"))
        assert search is not None and search.status == "deprecated"
        [integration] = await session.scalars(select(Integration))
        assert integration.type == "pagerduty" and integration.service_id == checkout.id
    assert OLD_KEY in out and integration.key in out  # the old → new key table
    for reason in (
        "push devices re-register",
        "not a valid E.164 number",
        "the layer ended",
        "only Events API integrations move",
        "PU9",
    ):
        assert reason in out, reason
    # The stand-in caps pages at 2: the client followed `more`, asked for includes, and sent
    # PagerDuty's token header.
    users_pages = [q.get("offset", ["0"])[0] for _, p, q, _ in pd.requests if p == "/users"]
    assert users_pages == ["0", "2"]
    first = next(r for r in pd.requests if r[1] == "/users")
    assert set(first[2]["include[]"]) == {"contact_methods", "notification_rules"}
    assert first[3]["Authorization"] == f"Token token={KEY}"

    pd.account.users[0]["name"] = "Alice Renamed"
    async with sessionmaker() as session:  # an imported override deleted in PageFree since
        await session.execute(delete(ScheduleOverride))
        await session.commit()
    pd.account.policies[0]["escalation_rules"][0]["escalation_delay_in_minutes"] = 20
    code, again = await run(database_url, *_local(pd))
    assert code == 0, again
    async with sessionmaker() as session:
        renamed = await session.get(User, alice.id)
        assert renamed is not None and renamed.name == "Alice Renamed"
        policy2 = await session.get(EscalationPolicy, policy.id)
        assert policy2 is not None and policy2.levels[0]["delay_seconds"] == 1200.0
        [same] = await session.scalars(select(Integration))
        assert same.key == integration.key  # senders keep working
    for model, n in (
        (User, 3),
        (ContactMethod, 3),
        (NotificationRule, 3),
        (Team, 2),
        (Schedule, 1),
        (ScheduleOverride, 1),
        (EscalationPolicy, 2),
        (Service, 2),
        (Integration, 1),
    ):
        assert await _count(sessionmaker, model) == n, model
    assert "unchanged" in again and await _count(sessionmaker, ImportMapping) > 10


def methods_by_id(methods: dict[str, ContactMethod]) -> dict[Any, str]:
    return {m.id: address for address, m in methods.items()}


async def test_schedule_layers_keep_pagerdutys_priority_and_restrictions(
    pd: StandIn, database_url: str, client: Any, sessionmaker: SessionMaker
) -> None:
    from tests.factories import login

    assert (await run(database_url, *_local(pd)))[0] == 0
    async with sessionmaker() as session:
        [sched] = await session.scalars(select(Schedule))
    me = await login(sessionmaker)
    body = (await client.get(f"/api/v1/schedules/{sched.id}", headers=me.headers)).json()
    layers = [
        (x["name"], x["rotation_length"], [r["type"] for r in x["restrictions"]])
        for x in body["layers"]
    ]
    assert layers == [("Weekdays", "P1D", ["daily"]), ("Weekend", "P7D", ["weekly"])]
    weekly = body["layers"][1]["restrictions"][0]
    assert (weekly["start_day"], weekly["start_time"]) == ("sat", "00:00")
    assert len(body["overrides"]) == 1


async def test_dry_run_prints_the_plan_and_changes_nothing(
    pd: StandIn, database_url: str, sessionmaker: SessionMaker
) -> None:
    code, out = await run(database_url, *_local(pd), "--dry-run")
    assert code == 0, out
    assert "dry run" in out and "created" in out
    for model in (User, Team, Schedule, EscalationPolicy, Service, Integration, ImportMapping):
        assert await _count(sessionmaker, model) == 0


async def test_team_filter_imports_only_that_team(
    pd: StandIn, database_url: str, sessionmaker: SessionMaker
) -> None:
    code, out = await run(database_url, *_local(pd), "--team", "search")
    assert code == 0, out
    async with sessionmaker() as session:
        assert [u.email for u in await session.scalars(select(User))] == ["carol@example.com"]
        assert [s.name for s in await session.scalars(select(Service))] == ["Search API"]
    assert any(q.get("team_ids[]") == ["PT2"] for _, p, q, _ in pd.requests if p == "/services")


async def test_rate_limits_are_backed_off_and_retried(
    pd: StandIn, database_url: str, sessionmaker: SessionMaker
) -> None:
    pd.rate_limit_once = {"/users", "/services"}
    code, out = await run(database_url, *_local(pd))
    assert code == 0, out
    assert await _count(sessionmaker, Service) == 2
    assert [p for _, p, q, _ in pd.requests if p == "/users" and q.get("offset") == ["0"]] == [
        "/users",
        "/users",
    ]


async def test_bad_credentials_and_network_errors_exit_nonzero_without_traceback(
    pd: StandIn, database_url: str
) -> None:
    code, out = await run(
        database_url, "--api-key", "wrong-key-123", "--api-url", pd.url, "--allow-private-url"
    )
    assert code != 0 and "401" in out and "Traceback" not in out and "wrong-key-123" not in out
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    code, out = await run(
        database_url,
        "--api-key",
        KEY,
        "--api-url",
        f"https://127.0.0.1:{closed}",
        "--allow-private-url",
    )
    assert code != 0 and "cannot reach PagerDuty" in out and "Traceback" not in out
    assert KEY not in out
    code, out = await run(database_url, "--api-key", KEY, "--api-url", pd.url)
    assert code != 0 and "loopback" in out and "Traceback" not in out


async def test_an_unreachable_database_is_an_error_line_not_a_traceback(pd: StandIn) -> None:
    code, out = await run("postgresql://nobody@127.0.0.1:1/none", *_local(pd))
    assert code != 0 and "cannot use the database" in out and "Traceback" not in out


def _oncall(user: str, policy: str, level: int) -> dict[str, Any]:
    from tests.importer.stand_in import ref

    return {
        "user": ref("user", user),
        "escalation_policy": ref("escalation_policy", policy),
        "escalation_level": level,
        "schedule": None,
        "start": "2026-01-05T08:00:00Z",
        "end": "2026-01-06T08:00:00Z",
    }


async def test_compare_puts_pagerdutys_on_call_beside_pagefrees(
    pd: StandIn, database_url: str
) -> None:
    assert (await run(database_url, *_local(pd)))[0] == 0
    # Monday 10:00 in Berlin: the weekday layer's first turn (Alice); level 2 is Alice; Search
    # pages Carol.
    pd.account.oncalls = [
        _oncall("PU1", "PP1", 1),
        _oncall("PU1", "PP1", 2),
        _oncall("PU3", "PP2", 1),
    ]
    at = ["--at", "2026-01-05T10:00:00+01:00"]
    code, out = await run(database_url, *_local(pd), *at, command="pagerduty-compare")
    assert code == 0, out
    assert out.count("same") == 3 and "DIFFERENT" not in out and "Alice Admin" in out
    since = [q["since"][0] for _, p, q, _ in pd.requests if p == "/oncalls"]
    assert set(since) == {"2026-01-05T09:00:00+00:00"}  # two pages of three entries
    pd.account.oncalls[0] = _oncall("PU2", "PP1", 1)  # PagerDuty says Bob
    code, out = await run(database_url, *_local(pd), *at, command="pagerduty-compare")
    assert code == 3 and "DIFFERENT" in out and "Bob Limited" in out, out
