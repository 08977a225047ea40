"""A notification provider that answers 5xx or hangs for a while: fail-over, retries, escalation.

The worker is a separate `python -m worker` process whose real SDKs (twilio, boto3) talk to
stand-ins in this process: a Twilio REST stand-in whose failure is switched at run time, and
moto's server for SNS. Nothing is mocked inside the worker.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from temporalio.client import Client

from app.config import Settings
from app.db import SessionMaker
from app.incidents.models import Notification
from app.temporal import connect
from tests import incident_helpers as h
from tests.faults.conftest import RestartableTemporal
from tests.integration.conftest import WorkerProcess
from tests.notify.conftest import REGION, TWILIO_SID, TWILIO_TOKEN, moto_server, sns_sms
from tests.notify.helpers import reachable_user
from tests.notify.standins import Request, TwilioStandIn

__all__ = ["moto_server"]  # a fixture

pytestmark = pytest.mark.faults

COOLDOWN = 8.0  # PAGEFREE_SMS_BREAKER_COOLDOWN for the worker, seconds
SDK_TIMEOUT = 10.0  # the Twilio HTTP client's timeout (app/notify/channels/phone.py)
HANG = SDK_TIMEOUT + 5  # a hanging request is answered (503) only after the SDK gave up
ESCALATION = 10.0  # level 1's delay in the escalation test
BACKOFF = [2.0, 4.0, 8.0, 16.0]  # SEND_RETRY: 2 s doubling (workflows/incident.py)


@dataclass
class Seen:
    at: float  # time.monotonic() in this process (CLOCK_MONOTONIC: the worker's clock too)
    kind: str  # Messages | Calls
    to: str
    outcome: str  # accepted | 503 | hung


class SwitchableTwilio(TwilioStandIn):
    """The Twilio stand-in, with an outage per resource switched on and off while it runs.

    `down["Messages"] = "503"` answers Twilio's 503 error JSON; `"hang"` holds the request
    past the SDK's timeout. `down.pop(kind)` ends the outage; `seen` records every request.
    """

    def __init__(self) -> None:
        super().__init__(TWILIO_SID, TWILIO_TOKEN)
        self.down: dict[str, str] = {}
        self.seen: list[Seen] = []
        self.release = threading.Event()  # set to let hanging requests go

    def start(self) -> SwitchableTwilio:
        super().start()
        # A hung request's client is gone when it is answered: that broken pipe is expected.
        self.server.handle_error = lambda *args: None  # type: ignore[method-assign]
        return self

    def _handle(self, req: Request) -> tuple[int, dict[str, str], bytes]:
        kind = "Calls" if req.path.endswith("/Calls.json") else "Messages"
        to = req.form.get("To", "")
        mode = self.down.get(kind)
        if mode is None:
            answer = super()._handle(req)
            self.seen.append(Seen(time.monotonic(), kind, to, "accepted"))
            return answer
        if mode == "hang":
            self.seen.append(Seen(time.monotonic(), kind, to, "hung"))
            self.release.wait(HANG)
        else:
            self.seen.append(Seen(time.monotonic(), kind, to, "503"))
        body = (
            b'{"code": 20503, "message": "Service unavailable", "status": 503,'
            b' "more_info": "https://www.twilio.com/docs/errors/20503"}'
        )
        return 503, {"content-type": "application/json"}, body

    def count(self, kind: str, outcome: str | None = None, to: str | None = None) -> int:
        return sum(
            1
            for s in self.seen
            if s.kind == kind and outcome in (None, s.outcome) and to in (None, s.to)
        )


@pytest.fixture
def twilio() -> Iterator[SwitchableTwilio]:
    server = SwitchableTwilio().start()
    yield server
    server.release.set()
    server.stop()


@pytest.fixture
def worker_env(twilio: SwitchableTwilio, moto_server: str) -> dict[str, str]:
    """The worker's provider configuration: Twilio → the stand-in; SNS → moto; short breaker."""
    return {
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_FROM_NUMBER": "+15550001111",
        "TWILIO_API_URL": twilio.url,
        "SNS_SMS_ENABLED": "true",
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "PAGEFREE_SMS_BREAKER_FAILURES": "3",
        "PAGEFREE_SMS_BREAKER_COOLDOWN": f"PT{COOLDOWN:g}S",
        "PAGEFREE_PUBLIC_URL": "https://pagefree.example.com",
    }


async def _rows(
    sessionmaker: SessionMaker,
    incident_id: str,
    ok: Callable[[list[Notification]], object],
    timeout: float,
) -> list[Notification]:
    """Wait until the incident's delivery log satisfies `ok(rows)`; return the rows."""

    async def check() -> list[Notification] | None:
        rows = await h.deliveries(sessionmaker, incident_id)
        return rows if ok(rows) else None

    return await h.eventually(check, timeout=timeout)  # type: ignore[no-any-return]


async def _open(client: Client, settings: Settings, svc: object, key: str) -> h.IncidentView:
    handle = await h.send_alert(client, settings, svc, h.alert(f"page {key}", dedup_key=key))  # type: ignore[arg-type]

    async def check() -> h.IncidentView | None:
        v = await h.view(handle)
        return v if v.number else None

    # The first incident also waits for the worker process to start.
    return await h.eventually(check, timeout=60)  # type: ignore[no-any-return]


@dataclass
class Page:
    number: str
    incident_id: str
    row: Notification


async def test_twilio_outage_fails_sms_over_to_sns_and_the_breaker_probes_twilio_again(
    temporal: RestartableTemporal, start_worker: WorkerProcess, worker_env: dict[str, str],
    twilio: SwitchableTwilio, sessionmaker: SessionMaker, settings: Settings,
) -> None:  # fmt: skip
    start_worker(**worker_env)
    client = await connect(settings, temporal.address)

    async def page(i: int) -> Page:
        """Open an incident whose level 1 is one user with an SMS number of their own."""
        number = f"+1555666{i:04d}"
        user, _ = await reachable_user(sessionmaker, ("sms", number, 0))
        pol = await h.policy(sessionmaker, settings, [h.level(3600, user)])
        v = await _open(client, settings, await h.service(sessionmaker, pol), f"sms-{i}")
        [row] = await _rows(sessionmaker, v.incident_id, lambda r: len(r) >= 1, timeout=60)
        return Page(number, v.incident_id, row)

    def failed_over(p: Page) -> bool:
        return p.row.provider == "sns" and "Twilio" in (p.row.error or "")

    def straight_to_sns(p: Page) -> bool:
        return p.row.provider == "sns" and p.row.error is None

    outage_start = time.monotonic()
    # 1. Twilio hangs: the SDK gives up after its timeout and the same attempt goes to SNS.
    twilio.down["Messages"] = "hang"
    pages = [await page(1)]
    assert failed_over(pages[0]) and "Timeout" in (pages[0].row.error or ""), pages[0].row.error
    assert pages[0].row.sent_at and pages[0].row.created_at
    hung_for = (pages[0].row.sent_at - pages[0].row.created_at).total_seconds()
    assert SDK_TIMEOUT - 0.5 <= hung_for <= SDK_TIMEOUT + 15, hung_for
    # 2. Twilio answers 503: two more pages fail over; three failures in a row open the breaker.
    twilio.down["Messages"] = "503"
    twilio.release.set()
    pages += [await page(2), await page(3)]
    assert all(failed_over(p) and "Twilio 503" in (p.row.error or "") for p in pages[1:])
    assert twilio.count("Messages") == 3
    opened_at = twilio.seen[-1].at
    # 3. The breaker is open: the next page goes straight to SNS, Twilio is not asked.
    pages.append(await page(4))
    assert straight_to_sns(pages[3]) and twilio.count("Messages") == 3
    assert time.monotonic() < opened_at + COOLDOWN, "page 4 was too slow to test the breaker"
    # 4. After the cool-down the next page probes Twilio, still down: SNS, and open again.
    await asyncio.sleep(max(0.0, opened_at + COOLDOWN + 1 - time.monotonic()))
    pages.append(await page(5))
    assert failed_over(pages[4]) and twilio.count("Messages") == 4
    reopened_at = twilio.seen[-1].at
    # 5. Twilio recovers; the circuit stays open for its cool-down, then Twilio is used again.
    del twilio.down["Messages"]
    outage = time.monotonic() - outage_start
    pages.append(await page(6))
    assert straight_to_sns(pages[5]) and twilio.count("Messages") == 4
    assert time.monotonic() < reopened_at + COOLDOWN, "page 6 was too slow to test the breaker"
    await asyncio.sleep(max(0.0, reopened_at + COOLDOWN + 1 - time.monotonic()))
    pages += [await page(7), await page(8)]
    for p in pages[6:]:
        assert (p.row.provider, p.row.error, p.row.status) == ("twilio", None, "sent")
        assert p.row.provider_id and p.row.provider_id.startswith("SM")
    assert twilio.count("Messages", "accepted") == 2

    # Every page went out exactly once, through one provider; each timeline is complete.
    for p in pages:
        via_sns = len(sns_sms(p.number))
        via_twilio = twilio.count("Messages", "accepted", p.number)
        assert (via_sns, via_twilio) == ((1, 0) if p.row.provider == "sns" else (0, 1)), p
        assert len(await h.deliveries(sessionmaker, p.incident_id)) == 1
        events = await h.timeline(sessionmaker, p.incident_id)
        types = [e.type for e in events]
        assert types.count("paged") == 1 and types.count("notified") == 1, types
        assert "notification_failed" not in types
        [notified] = [e for e in events if e.type == "notified"]
        expected = "twilio" if failed_over(p) else None
        assert (notified.detail or {}).get("failed_over_from") == expected, notified.detail
    print(
        f"\nTwilio down {outage:.1f} s (hang then 503): {len(pages)} SMS pages, "
        f"providers {[p.row.provider for p in pages]}, Twilio asked "
        f"{twilio.count('Messages')} times; hung page sent after {hung_for:.1f} s; errors "
        f"{sorted({p.row.error for p in pages if p.row.error})}; "
        f"page latencies {[_latency(p.row) for p in pages]}"
    )


def _latency(row: Notification) -> float:
    assert row.sent_at and row.created_at
    return round((row.sent_at - row.created_at).total_seconds(), 2)


async def test_a_voice_outage_is_retried_with_backoff_and_the_escalation_pages_on_time(
    temporal: RestartableTemporal, start_worker: WorkerProcess, worker_env: dict[str, str],
    twilio: SwitchableTwilio, sessionmaker: SessionMaker, settings: Settings,
) -> None:  # fmt: skip
    start_worker(**worker_env)
    client = await connect(settings, temporal.address)
    first, second = "+15557770001", "+15557770002"
    a, _ = await reachable_user(sessionmaker, ("voice", first, 0))
    b, _ = await reachable_user(sessionmaker, ("sms", second, 0))
    pol = await h.policy(sessionmaker, settings, [h.level(ESCALATION, a), h.level(3600, b)])
    twilio.down["Calls"] = "503"  # voice has no fail-over
    outage_start = time.monotonic()
    v = await _open(client, settings, await h.service(sessionmaker, pol), "voice")

    def of(rows: list[Notification], user: object) -> list[Notification]:
        return sorted((r for r in rows if r.user_id == user), key=lambda r: r.attempt)

    # Level 2 pages while level 1's call keeps failing; the outage lasts until the 4th attempt.
    rows = await _rows(
        sessionmaker,
        v.incident_id,
        lambda r: of(r, b.id) and len(of(r, a.id)) >= 4,
        timeout=ESCALATION + 60,
    )
    del twilio.down["Calls"]
    outage = time.monotonic() - outage_start
    [b_row] = of(rows, b.id)
    assert (b_row.channel, b_row.provider, b_row.status) == ("sms", "twilio", "sent")
    assert b_row.level == 2
    # ... and level 1's call is delivered by the 5th attempt, after the outage.
    rows = await _rows(
        sessionmaker, v.incident_id, lambda r: any(x.status == "sent" for x in of(r, a.id)), 60
    )
    a_rows = of(rows, a.id)
    assert [(r.attempt, r.status, r.provider) for r in a_rows] == [
        (1, "failed", "twilio"), (2, "failed", "twilio"), (3, "failed", "twilio"),
        (4, "failed", "twilio"), (5, "sent", "twilio"),
    ]  # fmt: skip
    assert all("Twilio 503 error 20503" in (r.error or "") for r in a_rows[:4])
    assert a_rows[4].provider_id and a_rows[4].provider_id.startswith("CA")

    # Retries back off: attempt n+1 is scheduled at least 2·2^(n-1) s after attempt n.
    times = [r.created_at for r in a_rows if r.created_at]
    assert len(times) == 5
    gaps = [(y - x).total_seconds() for x, y in itertools.pairwise(times)]
    for gap, backoff in zip(gaps, BACKOFF, strict=True):
        assert backoff - 0.1 <= gap <= backoff + 8, gaps

    # The escalation was not held up by the failing channel: level 2 paged at its deadline.
    incident = await h.incident_row(sessionmaker, v.incident_id)
    assert incident and incident.created_at and b_row.sent_at
    events = await h.timeline(sessionmaker, v.incident_id)
    [escalated] = [e for e in events if e.type == "escalated"]
    assert escalated.at
    fired = (escalated.at - incident.created_at).total_seconds()
    paged_after = (b_row.sent_at - incident.created_at).total_seconds()
    assert ESCALATION - 0.5 <= fired <= ESCALATION + 5, fired
    assert ESCALATION - 0.5 <= paged_after <= ESCALATION + 5, paged_after
    # It happened during the outage: level 1's call failed again after level 2 was paged.
    assert a_rows[3].created_at and a_rows[3].created_at > b_row.sent_at

    # No page lost, none sent twice; the timeline is complete.
    assert twilio.count("Calls", "accepted", first) == 1
    assert twilio.count("Messages", "accepted", second) == 1
    assert sns_sms(second) == []
    assert len(rows) == 6
    types = [e.type for e in events]
    assert types.count("paged") == 2 and types.count("escalated") == 1, types
    assert types.count("notified") == 2 and "notification_failed" not in types, types
    print(
        f"\nTwilio Calls down {outage:.1f} s: call attempts at "
        f"{[round((t - times[0]).total_seconds(), 1) for t in times]} s "
        f"(gaps {[round(g, 2) for g in gaps]}); escalated after {fired:.2f} s, level 2 "
        f"paged after {paged_after:.2f} s (delay {ESCALATION:g} s)"
    )
