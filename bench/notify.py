"""Page latency: from an alert accepted (HTTP 202) to its first delivery-log `sent` row.

    python -m bench.notify [--rate 20] [--seconds 15] [--provider-delay 0.05]

Starts its own `pagefree dev --demo` (free ports, fresh data dir) with Twilio pointed at a
local stand-in of Twilio's REST API that answers after --provider-delay seconds, and SMS
fail-over to SNS pointed at moto's server (in this process). One responder with a verified
SMS contact method is on call for a fresh service; PagerDuty v2 events with distinct dedup
keys arrive at --rate per second for --seconds. Two phases:

  normal    Twilio answers 201 after the delay;
  failover  Twilio answers 503 after the delay: the first messages try Twilio then SNS, the
            circuit breaker opens after 3 failures and the rest go straight to SNS.

Prints p50/p99/max latency per phase and how many pages were sent by which provider.
Figures, never pass/fail. Runs in about 1-2 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
import uuid
from typing import Any

import httpx
import psycopg
from moto.server import ThreadedMotoServer

from bench.fixtures import Fixtures
from bench.stack import log, pick_ports, start_dev, stop
from tests.notify.standins import TwilioStandIn

SID, TOKEN, NUMBER = "AC" + "b" * 32, "bench-twilio-token", "+15557654321"


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)


async def _phase(
    api: httpx.AsyncClient, db: str, key: str, name: str, rate: float, seconds: float
) -> dict[str, Any]:
    accepted: dict[str, float] = {}
    prefix = f"{name}-{uuid.uuid4().hex[:6]}"

    async def one(i: int) -> None:
        dedup = f"{prefix}-{i}"
        body = {
            "routing_key": key,
            "event_action": "trigger",
            "dedup_key": dedup,
            "payload": {"summary": f"bench page {i}", "source": "bench", "severity": "critical"},
        }
        r = await api.post("/v2/enqueue", json=body)
        if r.status_code == 202:
            accepted[dedup] = time.time()

    started = time.perf_counter()
    tasks = []
    for i in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    sent: dict[str, tuple[float, str]] = {}
    deadline = time.monotonic() + 120
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        while len(sent) < len(accepted) and time.monotonic() < deadline:
            await asyncio.sleep(1)
            rows = await (
                await conn.execute(
                    "SELECT i.dedup_key, min(n.sent_at), min(n.provider), min(i.created_at) "
                    "FROM notifications n "
                    "JOIN incidents i ON i.id = n.incident_id WHERE i.dedup_key LIKE %s "
                    "AND n.status IN ('sent', 'delivered') GROUP BY i.dedup_key",
                    (prefix + "-%",),
                )
            ).fetchall()
            sent = {r[0]: (r[1].timestamp(), r[2], r[3].timestamp()) for r in rows}
    latencies = [sent[k][0] - t for k, t in accepted.items() if k in sent]
    # Where the time goes: until the workflow opened the incident, and from then to the page.
    opening = [sent[k][2] - t for k, t in accepted.items() if k in sent]
    paging = [sent[k][0] - sent[k][2] for k in accepted if k in sent]
    providers: dict[str, int] = {}
    for _, provider, _ in sent.values():
        providers[provider] = providers.get(provider, 0) + 1
    return {
        "phase": name,
        "alerts_accepted": len(accepted),
        "pages_sent": len(sent),
        "providers": providers,
        "p50_ms": _pct(latencies, 0.50),
        "p99_ms": _pct(latencies, 0.99),
        "max_ms": _pct(latencies, 1.0),
        "open_p50_ms": _pct(opening, 0.50),
        "open_to_sent_p50_ms": _pct(paging, 0.50),
        "open_to_sent_p99_ms": _pct(paging, 0.99),
    }


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    twilio = TwilioStandIn(SID, TOKEN)
    twilio.delay = args.provider_delay
    twilio.start()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    os.environ.update(
        {
            "TWILIO_ACCOUNT_SID": SID,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "TWILIO_FROM_NUMBER": NUMBER,
            "TWILIO_API_URL": twilio.url,
            "SNS_SMS_ENABLED": "true",
            "AWS_ENDPOINT_URL": f"http://{host}:{port}",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    stack = start_dev(pick_ports(18100, 17333, 18333))
    results = []
    try:
        headers = {"Authorization": f"Bearer {stack.token}"}
        async with httpx.AsyncClient(base_url=stack.api, headers=headers, timeout=30) as api:
            fx = Fixtures(api)
            user = await fx.user("pager")
            r = await api.post(
                f"/api/v1/users/{user}/contact-methods",
                json={"type": "sms", "address": "+15550101010", "verified": True},
            )
            r.raise_for_status()
            svc = await fx.service("notify", [("PT1H", user)])
            r = await api.post(
                f"/api/v1/services/{svc.id}/integrations", json={"type": "pagerduty", "name": "b"}
            )
            r.raise_for_status()
            key = r.json()["key"]
            for name, fail in (("normal", None), ("failover", (503, 20500))):
                twilio.fail = fail
                log(f"phase {name}: {args.rate:g} alerts/s for {args.seconds:g} s")
                results.append(
                    await _phase(api, stack.database_url, key, name, args.rate, args.seconds)
                )
                log(json.dumps(results[-1]))
    finally:
        stop(stack)
        twilio.stop()
        moto.stop()
    return results


def main(argv: list[str] | None = None) -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request log
    p = argparse.ArgumentParser(prog="python -m bench.notify", description=__doc__.split("\n")[0])
    p.add_argument("--rate", type=float, default=20.0, help="alerts per second")
    p.add_argument("--seconds", type=float, default=15.0, help="length of each phase")
    p.add_argument("--provider-delay", type=float, default=0.05, help="stand-in answer delay, s")
    results = asyncio.run(run(p.parse_args(argv)))
    head = ("phase", "accepted", "sent", "p50 ms", "p99 ms", "max ms", "open p50", "page p50/p99")
    print("{:<10} {:>8} {:>6} {:>8} {:>8} {:>8} {:>9} {:>15}  by".format(*head))
    for r in results:
        print(
            f"{r['phase']:<10} {r['alerts_accepted']:>8} {r['pages_sent']:>6} "
            f"{r['p50_ms']!s:>8} {r['p99_ms']!s:>8} {r['max_ms']!s:>8} {r['open_p50_ms']!s:>9} "
            f"{r['open_to_sent_p50_ms']!s:>7}/{r['open_to_sent_p99_ms']!s:<7}  {r['providers']}"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
