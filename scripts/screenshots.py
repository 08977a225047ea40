"""Take screenshots of the web UI's main pages into docs/screenshots/ (demo data, real stack).

Usage: .venv/bin/python scripts/screenshots.py
Needs the test extras (Playwright, Pillow, the Temporal test server) and /usr/bin/chromium.
It starts its own embedded PostgreSQL in a temporary folder, the time-skipping Temporal
server and a worker, seeds the demo organisation, opens a few incidents, and serves the app
on a free loopback port; nothing is downloaded.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402
from playwright.async_api import Page, async_playwright  # noqa: E402
from sqlalchemy import select  # noqa: E402
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest  # noqa: E402
from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from activities import build_activities  # noqa: E402
from api import create_app  # noqa: E402
from app import demo, devstack  # noqa: E402
from app.audit.models import Actor  # noqa: E402
from app.catalog.models import Service  # noqa: E402
from app.config import Settings  # noqa: E402
from app.db import make_engine, make_sessionmaker, migrate  # noqa: E402
from app.incidents import service as incidents  # noqa: E402
from app.ingest import service as ingest  # noqa: E402
from app.ingest.models import IntegrationCreate, IntegrationType  # noqa: E402
from app.schedules.models import Schedule  # noqa: E402
from app.temporal import LazyClient  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.incident_helpers import alert  # noqa: E402
from tests.live_server import free_port, serve  # noqa: E402
from workflows.registry import WORKFLOWS  # noqa: E402
from workflows.search_attributes import ALL as SEARCH_ATTRIBUTES  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1100, "height": 760}
PHONE = {"width": 375, "height": 740}
ALERTS = [
    ("Checkout p99 latency above 2 s", "latency", "error"),
    ("Payment provider returns 503", "psp-503", "critical"),
    ("Disk 91% full on db-2", "disk-db2", "warning"),
]


def shrink(path: Path) -> None:
    """Keep the committed PNGs small: a 256-colour palette is plenty for UI pictures."""
    Image.open(path).convert("RGB").quantize(colors=256).save(path, optimize=True)


async def shot(page: Page, name: str, url: str) -> None:
    await page.goto(url)
    await page.wait_for_load_state("networkidle")
    path = OUT / f"{name}.png"
    await page.screenshot(path=str(path), full_page=False)
    shrink(path)
    print(f"{path.relative_to(ROOT)}  {path.stat().st_size // 1024} KiB")


async def snap(page: Page, name: str) -> None:
    """Take the page as it is now (after a click, say)."""
    await page.wait_for_load_state("networkidle")
    path = OUT / f"{name}.png"
    await page.screenshot(path=str(path))
    shrink(path)
    print(f"{path.relative_to(ROOT)}  {path.stat().st_size // 1024} KiB")


async def refused_forms(page: Page, base: str) -> None:
    """Refused forms: each error at its field, and what was typed kept."""
    await page.locator("#edit summary").click()
    await page.locator("#e-name").fill("   ")  # only blanks: refused by the server
    await page.locator("#edit button[type=submit]").click()
    await page.locator("#edit button[type=submit]").scroll_into_view_if_needed()
    await snap(page, "service-edit-errors")
    await page.goto(f"{base}/profile")
    await page.locator("#p-name").fill("Dana Admin-Typed")
    await page.locator("#p-tz").fill("Mars/Olympus")
    await page.locator("#details-form button[type=submit]").click()
    await snap(page, "profile-errors")


async def take(base: str) -> None:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for viewport, suffix in ((DESKTOP, ""), (PHONE, "-phone")):
            page = await (await browser.new_context(viewport=viewport)).new_page()  # type: ignore[arg-type]
            await shot(page, f"login{suffix}", f"{base}/login")
            await page.get_by_label("E-mail").fill(demo.DEMO_ADMIN)
            await page.get_by_label("Password").fill(demo.DEMO_PASSWORD)
            await page.get_by_role("button", name="Sign in").click()
            await page.wait_for_url(f"{base}/")
            await shot(page, f"dashboard{suffix}", f"{base}/")
            first = page.locator(".incident a").first
            incident_url = base + str(await first.get_attribute("href"))
            await shot(page, f"incident{suffix}", incident_url)
            if suffix:
                # One tap on a row's Acknowledge: a few seconds to undo (undone here).
                await page.goto(f"{base}/")
                await page.locator(".incident .quick.ack").first.click()
                await page.locator("#toast").wait_for()
                path = OUT / "dashboard-phone-undo.png"
                await page.screenshot(path=str(path))
                shrink(path)
                await page.get_by_role("button", name="Undo").click()
                await page.goto(f"{base}/oncall")
                await page.get_by_role("link", name="Checkout primary").first.click()
                await page.get_by_role("link", name="Edit layers").click()
                await page.wait_for_load_state("networkidle")
                path = OUT / "schedule-edit-phone.png"
                await page.screenshot(path=str(path))
                shrink(path)
            if not suffix:
                await shot(page, "oncall", f"{base}/oncall")
                link = page.get_by_role("link", name="Checkout primary").first
                schedule_url = base + str(await link.get_attribute("href"))
                await shot(page, "schedule", schedule_url)
                await shot(page, "schedule-edit", f"{schedule_url}/edit")
                await shot(page, "users", f"{base}/users")
                await shot(page, "audit", f"{base}/audit")
                await page.goto(f"{base}/services")
                svc = page.get_by_role("link", name="Checkout API").first
                await shot(page, "service", base + str(await svc.get_attribute("href")))
                await refused_forms(page, base)
        await browser.close()


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        pg = devstack.start_postgres(Path(tmp) / "data")
        try:
            pg.ensure_database()
            url = pg.url()
            migrate(url)
            await demo.seed(url)
            await run(url, Path(tmp))
        finally:
            pg.stop()


async def run(url: str, tmp: Path) -> None:
    port = free_port()
    settings = Settings(
        PAGEFREE_DATA_DIR=tmp,
        PAGEFREE_ENV="test",
        TEMPORAL_TASK_QUEUE="screenshots",
        # Links shown on the pages read as in a real install; the browser uses the loopback.
        PAGEFREE_PUBLIC_URL="https://pagefree.example.com",
        PAGEFREE_COOKIE_SECURE=False,
    )
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=str(Path(sys.executable).parent / "temporal-test-server"),
    )
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={k.name: k.indexed_value_type for k in SEARCH_ATTRIBUTES},
        )
    )
    engine = make_engine(url, pool_size=5)
    sessionmaker = make_sessionmaker(engine)
    worker = Worker(
        env.client,
        task_queue=settings.temporal_task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(sessionmaker, settings),
    )
    app = create_app(settings, database_url=url)
    app.state.temporal = LazyClient(settings, None, client=env.client)
    try:
        async with worker, app.router.lifespan_context(app), serve(app, port) as base:
            async with sessionmaker() as session:
                svc = (await session.scalars(select(Service))).first()
                assert svc is not None and await session.scalar(select(Schedule.id))
                await ingest.create(
                    session=session,
                    settings=settings,
                    integration_in=IntegrationCreate(
                        type=IntegrationType.alertmanager, name="Prometheus"
                    ),
                    actor=Actor.system(via="demo"),
                    service_id=svc.id,
                )
                await session.commit()
            for summary, key, severity in ALERTS:
                a = alert(summary=summary, dedup_key=key, severity=severity, source="prometheus")
                a.details = {"labels": {"alertname": key, "service": "checkout"}, "value": 0.97}
                await incidents.signal_alert(
                    client=env.client, settings=settings, service=svc, alert=a
                )
                await asyncio.sleep(0.5)
            await asyncio.sleep(1.5)
            await take(base)
    finally:
        await engine.dispose()
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
