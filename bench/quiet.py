"""The issue-20 figures on a stack configured as a real deployment, in one command.

    python -m bench quiet --out /tmp/quiet.json            # small: ~5-8 min on 2 cores
    python -m bench quiet --full --out /tmp/quiet.json     # the issue's sizes, <= 15 min quiet

Starts `pagefree dev --demo` with Slack (bot token + a page channel), SES and SNS (moto),
Twilio and web push pointed at local stand-ins speaking their wire formats; every responder
has SMS, e-mail and push contact methods, so each page sends on all three and syncs Slack.
Figures, each printed next to the raw Temporal baseline of the same run where it applies:

  a  distinct incidents opened and paged per second (signal-with-start as ingestion does)
     vs f, the raw baseline (trivial workflow + one activity) completed per second;
  b  a storm of identical alerts by `wrk` (50 keep-alive connections, a Lua script posting a
     PagerDuty Events v2 body) while N incidents are open: accepted/s, p99, and the incident's
     alert count checked against what wrk was answered 202 (nothing lost);
  c  alert -> first page at 10 new incidents/s driven by `hey -q`: from the alert row's
     received_at to the Twilio stand-in receiving the SMS, p50/p99;
  d  crash recovery: `kill -9` of the worker while level 1 (6 s) waits; level 2's lateness
     after it was due, and after the restarted worker was back;
  e  worker RSS with the open incidents of b plus more, up to --open (10,000 with --full).

Nothing paged twice is checked in every phase (one level-1 notification per incident and
channel). `wrk` and `hey` are Debian packages (`apt-get install wrk hey`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psutil
from moto.server import ThreadedMotoServer
from temporalio.client import Client

from bench import figures
from bench.db import Probe, like_prefix
from bench.figures import percentile
from bench.fixtures import BenchService, Fixtures
from bench.procs import PeakRss, rss_mb
from bench.report import Results, table
from bench.runner import Bench
from bench.scale import round_trips
from bench.stack import Stack, log, pick_ports, start_dev, stop
from tests.notify.conftest import PushService, vapid_keys
from tests.notify.standins import Request, SlackStandIn, TwilioStandIn

SID, TOKEN, NUMBER = "AC" + "c" * 32, "bench-twilio-token", "+15557654321"
SLACK_TOKEN = "xoxb-bench"  # noqa: S105 - a stand-in's token
SMALL = {"alerts": 100, "storm_open": 300, "storm_seconds": 10, "page_seconds": 15, "open": 800}
FULL = {"alerts": 600, "storm_open": 2000, "storm_seconds": 30, "page_seconds": 30, "open": 10_000}
CRASH_DELAY = 6.0  # level 1's delay in d, as in the issue


class Receipts(TwilioStandIn):
    """The Twilio stand-in, remembering when each message (by its SID) arrived."""

    def __init__(self) -> None:
        super().__init__(SID, TOKEN)
        self.received: dict[str, float] = {}

    def _handle(self, req: Request) -> tuple[int, dict[str, str], bytes]:
        at = time.time()
        status, headers, body = super()._handle(req)
        if status == 201:
            self.received[json.loads(body)["sid"]] = at
        return status, headers, body


class Standins:
    """Twilio, Slack, web push and moto (SES, SNS), and the environment pointing at them."""

    def __init__(self) -> None:
        self.twilio = Receipts()
        self.twilio.delay = 0.05  # a provider's answer takes a moment
        self.slack = SlackStandIn(SLACK_TOKEN)
        self.push = PushService()
        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)

    def start(self) -> dict[str, str]:
        for s in (self.twilio, self.slack, self.push):
            s.start()
        self.moto.start()
        host, port = self.moto.get_host_and_port()
        private, public = vapid_keys()
        self.vapid_public = public
        return {
            "TWILIO_ACCOUNT_SID": SID,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "TWILIO_FROM_NUMBER": NUMBER,
            "TWILIO_API_URL": self.twilio.url,
            "SNS_SMS_ENABLED": "true",
            "SES_FROM_ADDRESS": "pagefree@example.com",
            "AWS_ENDPOINT_URL": f"http://{host}:{port}",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "SLACK_BOT_TOKEN": SLACK_TOKEN,
            "SLACK_SIGNING_SECRET": "bench-signing-secret",
            "SLACK_API_URL": self.slack.url + "/api/",
            "SLACK_PAGE_CHANNEL": "C0BENCH",
            "VAPID_PRIVATE_KEY": private,
            "VAPID_PUBLIC_KEY": public,
            "VAPID_SUBJECT": "mailto:ops@example.com",
            "PAGEFREE_ALLOW_PRIVATE_TARGETS": "1",  # the stand-ins listen on loopback
        }

    def stop(self) -> None:
        for s in (self.twilio, self.slack, self.push):
            s.stop()
        self.moto.stop()


async def _verify_ses(env: dict[str, str]) -> None:
    """moto's SES refuses to send from an unverified address: verify ours once."""
    import boto3

    ses = boto3.client("ses", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1")
    await asyncio.to_thread(ses.verify_email_identity, EmailAddress=env["SES_FROM_ADDRESS"])


async def reachable_user(fx: Fixtures, standins: Standins, label: str) -> str:
    """A responder with verified SMS, e-mail and push contact methods."""
    user = await fx.user(label)
    sub = standins.push.subscription(f"{label}-{fx.suffix}")
    methods = [
        {"type": "sms", "address": "+15550101010"},
        {"type": "email", "address": f"bench-{label}-{fx.suffix}@example.com"},
        {"type": "push", "address": json.dumps(sub.info())},
    ]
    for body in methods:
        r = await fx.client.post(
            f"/api/v1/users/{user}/contact-methods", json={**body, "verified": True}
        )
        if r.status_code != 201:
            raise RuntimeError(f"contact method {body['type']}: {r.status_code} {r.text}")
    return user


async def integration(bench: Bench, svc: BenchService) -> str:
    """A PagerDuty integration on `svc` whose rate limit allows the storm; return its key."""
    r = await bench.http.post(
        f"/api/v1/services/{svc.id}/integrations",
        json={
            "type": "pagerduty",
            "name": f"bench {svc.routing_key}",
            "rate_limit": {"per_second": 100_000, "burst": 100_000},
        },
    )
    r.raise_for_status()
    return str(r.json()["key"])


async def paged_twice(bench: Bench, wid_prefix: str) -> int:
    """Count (incident, level, channel, user) sent more than once: must be 0."""
    return int(
        await bench.probe.scalar(
            "SELECT count(*) FROM (SELECT 1 FROM notifications n JOIN incidents i "
            "ON i.id = n.incident_id WHERE i.workflow_id LIKE %s AND n.status IN "
            "('sent', 'delivered') GROUP BY n.incident_id, n.level, n.channel, n.user_id "
            "HAVING count(*) > 1) d",
            (like_prefix(wid_prefix),),
        )
    )


# --- b: the wrk storm ---------------------------------------------------------------------

LUA = """
wrk.method = "POST"
wrk.body = [[%s]]
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\n{"requests": %%d, "duration_us": %%d, "non2xx": %%d, "connect": %%d, "read": %%d, ' ..
    '"write": %%d, "timeout": %%d, "p50_us": %%d, "p90_us": %%d, "p95_us": %%d, ' ..
    '"p99_us": %%d, "max_us": %%d}\\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max))
end
"""


async def storm(bench: Bench, svc: BenchService, seconds: float, open_now: int) -> None:
    """(b) wrk: identical alerts on 50 keep-alive connections; nothing lost."""
    key = await integration(bench, svc)
    dedup = f"storm-{uuid.uuid4().hex[:6]}"
    body = {
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": dedup,
        "payload": {
            "summary": "bench storm: checkout latency high",
            "source": "bench.quiet",
            "severity": "critical",
            "custom_details": {"region": "eu-west-1", "p99_ms": 2300},
        },
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA % json.dumps(body))
        script = f.name
    # One alert first, so the storm measures alerts joining an open incident.
    r = await bench.http.post("/v2/enqueue", json=body)
    r.raise_for_status()
    wid = f"incident:{svc.routing_key}:{dedup}"
    await bench.until(lambda: bench.probe.alert_count(wid), 1, None, "storm's first alert")
    argv = ["wrk", "-t2", "-c50", f"-d{seconds:.0f}s", "--timeout", "10s", "-s", script]
    log(f"b: {' '.join(argv)} {bench.stack.api}/v2/enqueue ({open_now} incidents open)")
    with bench.measure_cpu("b wrk storm"):
        proc = await asyncio.create_subprocess_exec(
            *argv, f"{bench.stack.api}/v2/enqueue", stdout=asyncio.subprocess.PIPE
        )
        out, _ = await proc.communicate()
    ended = time.time()
    os.unlink(script)
    text = out.decode()
    w = json.loads(text.strip().splitlines()[-1])
    errors = w["connect"] + w["read"] + w["write"] + w["timeout"]
    accepted = w["requests"] - w["non2xx"]  # completed responses; socket errors are apart
    counted = await bench.until(
        lambda: bench.probe.alert_count(wid), accepted + 1, None, "storm alerts counted", 0.5,
        2 * bench.args.wait_timeout,
    )  # fmt: skip
    res = bench.results
    res.add(
        "b_accepted",
        f"b. wrk storm accepted, {open_now:,} open",
        "/s",
        accepted / (w["duration_us"] / 1e6),
    )
    res.add("b_p50", "b. wrk storm latency p50", "ms", w["p50_us"] / 1000)
    res.add("b_p99", "b. wrk storm latency p99", "ms", w["p99_us"] / 1000)
    res.add("b_refused", "b. wrk storm non-202 or socket errors", "count", w["non2xx"] + errors)
    stored = await bench.probe.alert_count(wid)
    res.add(
        "b_lost", "b. storm alerts accepted but not counted", "count", max(accepted + 1 - stored, 0)
    )
    runs = [
        r
        async for r in (await Client.connect(bench.stack.temporal)).list_workflows(
            f"WorkflowId = '{wid}'"
        )
    ]
    res.add("b_runs", "b. runs of the storm's incident (continue-as-new)", "count", len(runs))
    log(
        f"b: latency p50 {w['p50_us'] / 1000:.0f}, p90 {w['p90_us'] / 1000:.0f}, "
        f"p95 {w['p95_us'] / 1000:.0f}, p99 {w['p99_us'] / 1000:.0f}, "
        f"max {w['max_us'] / 1000:.0f} ms; the incident ran as {len(runs)} run(s)"
    )
    log(
        f"b: {accepted} accepted in {w['duration_us'] / 1e6:.1f}s "
        f"({accepted / (w['duration_us'] / 1e6):.0f}/s), p99 {w['p99_us'] / 1000:.0f} ms, "
        f"{w['non2xx']} non-2xx, {errors} socket errors; all counted after "
        f"{counted - ended:.1f}s more; the incident holds {stored}"
    )


# --- c: alert -> first page at 10/s -------------------------------------------------------


async def first_page(
    bench: Bench, svc: BenchService, standins: Standins, rate: float, seconds: float
) -> None:
    """(c) hey -q: new incidents at `rate`/s; alert row received -> SMS at the stand-in."""
    key = await integration(bench, svc)
    # No dedup key: each event opens its own incident (PagerDuty semantics).
    body = {
        "routing_key": key,
        "event_action": "trigger",
        "payload": {"summary": "bench page", "source": "bench.quiet", "severity": "critical"},
    }
    n = int(rate * seconds)
    argv = [
        "hey", "-n", str(n), "-c", "1", "-q", f"{rate:g}", "-m", "POST",
        "-T", "application/json", "-d", json.dumps(body), f"{bench.stack.api}/v2/enqueue",
    ]  # fmt: skip
    log(f"c: hey -n {n} -c 1 -q {rate:g} (new incidents at {rate:g}/s for {seconds:g}s)")
    with bench.measure_cpu("c first page at 10/s"):
        proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE)
        out, _ = await proc.communicate()
        wid = f"incident:{svc.routing_key}:"
        sms = (
            "SELECT count(*) FROM notifications n JOIN incidents i ON i.id = n.incident_id "
            "WHERE i.workflow_id LIKE %s AND n.channel = 'sms' "
            "AND n.status IN ('sent', 'delivered')"
        )

        async def sent() -> int:
            return int(await bench.probe.scalar(sms, (like_prefix(wid),)))

        await bench.until(sent, n, None, "first SMS pages", 0.5, bench.args.wait_timeout + seconds)
    codes = re.search(r"\[202\]\s+(\d+) responses", out.decode())
    accepted = int(codes.group(1)) if codes else 0
    rows = await bench.probe.rows(
        "SELECT n.provider_id, extract(epoch FROM min(a.received_at)) FROM notifications n "
        "JOIN incidents i ON i.id = n.incident_id JOIN alerts a ON a.incident_id = i.id "
        "WHERE i.workflow_id LIKE %s AND n.channel = 'sms' AND n.status IN ('sent', 'delivered') "
        "GROUP BY n.provider_id",
        (like_prefix(wid),),
    )
    latencies = [
        standins.twilio.received[sid] - float(at)
        for sid, at in rows
        if sid in standins.twilio.received
    ]
    res = bench.results
    res.add(
        "c_p50", f"c. alert -> first SMS at {rate:g}/s, p50", "ms", percentile(latencies, 50) * 1000
    )
    res.add(
        "c_p99", f"c. alert -> first SMS at {rate:g}/s, p99", "ms", percentile(latencies, 99) * 1000
    )
    res.add("c_twice", "c. pages sent twice", "count", await paged_twice(bench, wid))
    log(
        f"c: {accepted} of {n} accepted (hey: 202s), {len(latencies)} SMS: "
        f"p50 {percentile(latencies, 50) * 1000:.0f} ms, "
        f"p99 {percentile(latencies, 99) * 1000:.0f} ms"
    )


# --- d: crash recovery ----------------------------------------------------------------------


def _worker_starts(stack: Stack) -> int:
    """How often the worker logged that it started (`pagefree dev`'s output)."""
    assert stack.data_dir is not None
    return (stack.data_dir / "dev.log").read_text(errors="replace").count("worker started on")


def _worker_pid(stack: Stack) -> int | None:
    """The running worker's pid (the killed one is a zombie until `pagefree dev` reaps it)."""
    assert stack.dev is not None
    for child in psutil.Process(stack.dev.pid).children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE and child.cmdline()[-2:] == ["-m", "worker"]:
                stack.worker_pid = child.pid
                return child.pid
        except psutil.Error:
            continue
    return None


async def crash(bench: Bench, svc: BenchService, count: int = 5) -> None:
    """(d) kill -9 the worker while level 1 waits; level 2 lateness after due / worker back."""
    r = await bench.open_incidents(svc, "d-crash", count)
    wid = r["wid_prefix"]
    old = bench.stack.worker_pid
    if old is None:
        bench.note("d skipped: the worker process is unknown")
        return
    await asyncio.sleep(1.0)  # level 1 is waiting on its 6 s timer
    started = _worker_starts(bench.stack)
    killed = time.time()
    os.kill(old, signal.SIGKILL)
    log(f"d: kill -9 worker {old}")
    restarted = back = None
    while time.time() - killed < 2 * bench.args.wait_timeout and back is None:
        pid = _worker_pid(bench.stack)
        if restarted is None and pid and pid != old:
            restarted = psutil.Process(pid).create_time()
        if _worker_starts(bench.stack) > started:
            back = time.time()  # it logged "worker started": it polls from now on
        await asyncio.sleep(0.1)
    if restarted is None or back is None:
        raise RuntimeError("the worker was not back in time")
    await bench.until(
        lambda: bench.probe.notified(wid, level=2), count, None, "level 2", 0.1,
        2 * bench.args.wait_timeout,
    )  # fmt: skip
    rows = await bench.probe.rows(
        "SELECT extract(epoch FROM p1.at) + %s, extract(epoch FROM p2.at) FROM incidents i "
        "JOIN timeline_events p1 ON p1.incident_id = i.id AND p1.type = 'paged' "
        "AND p1.detail->>'level' = '1' JOIN timeline_events p2 ON p2.incident_id = i.id "
        "AND p2.type = 'paged' AND p2.detail->>'level' = '2' WHERE i.workflow_id LIKE %s",
        (CRASH_DELAY, like_prefix(wid)),
    )
    late = [float(paged) - float(due) for due, paged in rows]
    after_back = [float(paged) - max(float(due), back) for due, paged in rows]
    res = bench.results
    res.add("d_restart", "d. worker process restarted after kill -9", "s", restarted - killed)
    res.add("d_back", "d. worker back (logged 'worker started') after kill", "s", back - killed)
    res.add("d_late_max", "d. level 2 paged after due, max", "s", max(late))
    res.add(
        "d_after_back_max",
        "d. level 2 paged after max(due, worker back), max",
        "s",
        max(after_back),
    )
    res.add("d_twice", "d. pages sent twice", "count", await paged_twice(bench, wid))
    log(
        f"d: worker back {back - killed:.1f}s after the kill; level 2 paged "
        f"{min(late):.1f}-{max(late):.1f}s after due, at most {max(after_back):.1f}s after back"
    )


# --- the run ----------------------------------------------------------------------------------


async def run(args: argparse.Namespace, stack: Stack, standins: Standins) -> Results:
    headers = {"Authorization": f"Bearer {stack.token}"}
    probe = await Probe.connect(stack.database_url)
    async with httpx.AsyncClient(base_url=stack.api, headers=headers, timeout=30) as http:
        bench = Bench(args=args, stack=stack, http=http, probe=probe, fixtures=Fixtures(http))
        try:
            await _figures(bench, args, standins)
        finally:
            bench.kill_loads()
            await probe.close()
    args.cpu, args.notes = bench.cpu, bench.notes
    return bench.results


async def _figures(bench: Bench, args: argparse.Namespace, standins: Standins) -> None:
    fx = bench.fixtures
    a, b = await reachable_user(fx, standins, "a"), await reachable_user(fx, standins, "b")
    svc = {
        name: await fx.service(name, levels)
        for name, levels in {
            "open": [("PT1H", a)],
            "storm": [("PT1H", a)],
            "page": [("PT1H", a)],
            "crash": [(f"PT{CRASH_DELAY:g}S", a), ("PT1H", b)],
            "idle": [("PT1H", a)],
        }.items()
    }
    log("created users (SMS, e-mail, push) and services")
    only = set((args.only or "f,a,d,c,b,e").split(","))
    res = bench.results

    async def phase(name: str, work: Any) -> None:
        if name not in only:
            return
        log(f"--- figure {name}")
        try:
            await work()
        except Exception as exc:
            bench.kill_loads()
            res.fail(f"{name}_failed", f"{name}. (failed: see notes)", "", repr(exc))
            bench.note(f"figure {name} failed: {exc!r}")

    await phase("f", lambda: figures.baseline(bench))

    async def opening() -> None:
        await figures.opening(bench, svc["open"])
        await round_trips(bench, f"incident:{svc['open'].routing_key}:a0-", args.alerts)
        res.add(
            "a_twice",
            "a. pages sent twice",
            "count",
            await paged_twice(bench, f"incident:{svc['open'].routing_key}:"),
        )

    await phase("a", opening)
    fa, ff = res.figures.get("a_paged"), res.figures.get("f_completed")
    if fa and ff:
        for paged, done in zip(fa.values, ff.values, strict=False):
            res.add("a_ratio", "a/f. incidents paged / baseline completed", "x", paged / done)
    await phase("d", lambda: crash(bench, svc["crash"]))
    await phase("c", lambda: first_page(bench, svc["page"], standins, 10.0, args.page_seconds))
    procs = bench.stack.processes()
    peak = PeakRss(procs)
    opened = 0

    async def open_more(total: int) -> None:
        nonlocal opened
        if total <= opened:
            return
        with bench.measure_cpu(f"e open {total - opened}"):
            timeout = args.wait_timeout + (total - opened) / 2
            r = await bench.open_incidents(svc["idle"], f"e{opened}", total - opened, timeout)
        res.add(
            f"e_rate_{total}",
            f"e. opened+paged {opened:,}->{total:,}",
            "/s",
            (total - opened) / (r["paged"] - r["t0"]),
        )
        opened = total

    with peak:
        if "b" in only or "e" in only:
            await phase("e", lambda: open_more(args.storm_open))
        await phase("b", lambda: storm(bench, svc["storm"], args.storm_seconds, opened))
        await phase("e", lambda: open_more(args.open))
    if "e" in only and "worker" in procs:
        await asyncio.sleep(2)
        worker = bench.stack.processes().get("worker")
        res.add(
            "e_worker",
            f"e. worker RSS, {opened:,} incidents open",
            "MB",
            rss_mb(worker) if worker else 0,
        )
        res.add(
            "e_worker_peak", "e. worker RSS peak (since d's restart)", "MB", peak.peak["worker"]
        )
        for role in ("api", "temporal", "postgres"):
            if role in procs:
                res.add(
                    f"e_{role}",
                    f"e. {role} RSS, {opened:,} incidents open",
                    "MB",
                    rss_mb(procs[role]),
                )
        res.add(
            "e_twice",
            "e. pages sent twice",
            "count",
            await paged_twice(bench, f"incident:{svc['idle'].routing_key}:"),
        )


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench quiet", description=__doc__.split("\n")[0])
    p.add_argument(
        "--full", action="store_true", help="the issue's sizes (10,000 open, 2,000 during b)"
    )
    p.add_argument("--out", type=Path, default=Path("bench/results/quiet.json"))
    p.add_argument("--only", help="comma-separated figures: f,a,d,c,b,e")
    for key, value in SMALL.items():
        p.add_argument(
            "--" + key.replace("_", "-"), type=int, help=f"small {value}, full {FULL[key]}"
        )
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--wait-timeout", type=float, default=60)
    p.add_argument("--ports", default="18400,17433,18433")
    args = p.parse_args(argv)
    for key, value in (FULL if args.full else SMALL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.runs = 1
    args.deadline = time.monotonic() + 3600
    return args


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    for tool in ("wrk", "hey"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed: apt-get install -y wrk hey")
    started = time.monotonic()
    standins = Standins()
    env = standins.start()
    os.environ.update(env)  # start_dev passes its environment on to `pagefree dev`
    stack = None
    try:
        asyncio.run(_verify_ses(env))
        stack = start_dev(pick_ports(*(int(p) for p in args.ports.split(","))))
        results = asyncio.run(run(args, stack, standins))
    finally:
        if stack is not None:
            stop(stack)
        standins.stop()
    print(table(results), flush=True)
    out = {
        "figures": [f.summary() for f in results.figures.values()],
        "sizes": {k: getattr(args, k) for k in SMALL},
        "cpu_cores_by_phase": args.cpu,
        "notes": args.notes,
        "load_average_at_end": os.getloadavg(),
        "cpus": os.cpu_count(),
        "sent": {
            "twilio": len(standins.twilio.received),
            "slack_requests": len(standins.slack.requests),
            "push": len(standins.push.requests),
        },
        "seconds": round(time.monotonic() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2, default=str))
    log(f"total {out['seconds']:.0f}s; wrote {args.out}")
