"""Status-page figures: e-mail fan-out to N subscribers through SES (moto), and the time to
compute a page (the latency from an incident change to what readers see: status is computed
on read). Run: `python -m bench.statuspages [--subscribers 10000]`; prints one line each.

The fan-out runs the delivery activities' code (plan, then batches of 200 with 25 sends in
flight) in this process, as AnnouncementWorkflow runs them: one plan and N/200 batch
activities. Temporal's own cost for those ~50 activities is not included.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer
from sqlalchemy import text

from app import devstack
from app.audit.models import Actor
from app.config import Settings
from app.db import make_engine, make_sessionmaker, migrate, utcnow
from app.incidents.models import Incident
from app.statuspages import announce, delivery, snapshot, v2
from app.statuspages import service as pages
from app.statuspages.models import ComponentIn, StatusPageCreate

FROM = "status@example.com"


async def main(subscribers: int, reads: int) -> None:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://{host}:{port}",
        AWS_ACCESS_KEY_ID="x",
        AWS_SECRET_ACCESS_KEY="x",  # noqa: S106 - moto ignores credentials
        AWS_DEFAULT_REGION="us-east-1",
    )
    ses = boto3.client("ses")
    ses.verify_email_identity(EmailAddress=FROM)
    pg = devstack.start_postgres(Path(tempfile.mkdtemp(prefix="bench-status-")))
    pg.ensure_database("bench")
    migrate(pg.url("bench"))
    engine = make_engine(pg.url("bench"), pool_size=5)
    sm = make_sessionmaker(engine)
    settings = Settings(SES_FROM_ADDRESS=FROM, PAGEFREE_ENV="test")
    try:
        page_id, service_ids = await _page(sm)
        await _fan_out(sm, settings, ses, page_id, subscribers)
        await _reads(sm, page_id, service_ids, reads)
    finally:
        await engine.dispose()
        pg.stop()
        server.stop()


async def _page(sm: object) -> tuple[uuid.UUID, list[uuid.UUID]]:
    async with sm() as session:  # type: ignore[operator]
        policy = uuid.uuid4()
        await session.execute(
            text(
                "INSERT INTO escalation_policies (id, name, repeat, levels) "
                "VALUES (:id, 'p', 0, '[]')"
            ),
            {"id": policy},
        )
        services = [uuid.uuid4() for _ in range(20)]
        for i, sid in enumerate(services):
            await session.execute(
                text(
                    "INSERT INTO services (id, name, escalation_policy_id, routing_key, status, "
                    "urgency) VALUES (:id, :n, :p, :k, 'active', 'high')"
                ),
                {"id": sid, "n": f"svc {i}", "p": policy, "k": f"svc-{i}"},
            )
        page = await pages.create_page(
            session=session,
            page_in=StatusPageCreate(
                name="Bench",
                slug="bench",
                components=[
                    ComponentIn(name=f"C{i}", group=f"G{i % 4}", service_ids=[sid])
                    for i, sid in enumerate(services)
                ],
            ),
            actor=Actor.system(via="bench"),
        )
        await session.commit()
        return page.id, services


async def _fan_out(sm: object, settings: Settings, ses: object, page_id: uuid.UUID, n: int) -> None:
    async with sm() as session:  # type: ignore[operator]
        await session.execute(
            text(
                "INSERT INTO status_subscribers (id, page_id, type, address, confirmed_at, "
                "unsubscribe_token) SELECT gen_random_uuid(), :p, 'email', "
                "'reader' || g || '@example.com', now() - interval '1 min', md5(g::text || :p) "
                "FROM generate_series(1, :n) g"
            ),
            {"p": page_id, "n": n},
        )
        await announce.record(
            session,
            key="bench",
            page_id=page_id,
            kind="incident_update",
            subject="[Bench] API: investigating",
            body="We are looking into it.",
            component_ids=[],
        )
        await session.commit()
    sender = delivery.Sender(settings, ses, None)
    started = time.perf_counter()
    async with sm() as session:  # type: ignore[operator]
        planned = await delivery.plan(session, "bench", utcnow())
        await session.commit()
    batches = sent = 0
    while True:
        result = await delivery.send_due(sm, sender, "bench", utcnow())  # type: ignore[arg-type]
        batches += 1
        sent += result.sent
        if not result.more_due:
            break
    took = time.perf_counter() - started
    print(
        f"fan-out: {sent}/{planned} e-mails in {took:.1f} s = {sent / took:.0f}/s "
        f"({batches} batches of {delivery.BATCH}, {delivery.CONCURRENCY} in flight; "
        f"10,000 would take {10_000 / (sent / took) / 60:.1f} min)"
    )


async def _reads(sm: object, page_id: uuid.UUID, services: list[uuid.UUID], reads: int) -> None:
    async with sm() as session:  # type: ignore[operator]
        for i in range(200):  # open incidents on the page's services
            session.add(
                Incident(
                    id=uuid.uuid4(),
                    title="x",
                    status="triggered",
                    severity=["critical", "error", "warning", "info"][i % 4],
                    urgency="high",
                    service_id=services[i % len(services)],
                    dedup_key=str(i),
                    workflow_id=f"w{i}",
                    run_id="r",
                )
            )
        await session.commit()
    times = []
    for _ in range(reads):
        t0 = time.perf_counter()
        async with sm() as session:  # type: ignore[operator]
            page = await pages.get_page(session=session, page_id=page_id)
            s = await snapshot.load(session, page, base_url="http://x", now=utcnow())
            v2.summary_json(s)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    p50 = statistics.median(times)
    p99 = times[int(len(times) * 0.99) - 1]
    print(
        f"incident → component status (computed per read, 20 components, 200 open incidents): "
        f"summary.json built in p50 {p50:.1f} ms, p99 {p99:.1f} ms over {reads} reads"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--reads", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(main(args.subscribers, args.reads))
