"""In Chromium: the dependency graph of 120 services draws, scrolls, and clicks through."""

from __future__ import annotations

import os

import pytest
from playwright.async_api import Browser, expect

from app.catalog.models import ServiceDependency
from app.db import SessionMaker
from tests.catalog.test_dependencies import _random_dag, make_services, open_incident
from tests.e2e.conftest import Live, person, sign_in

pytestmark = pytest.mark.e2e


async def test_graph_of_120_services_renders_and_a_node_opens_its_service(
    live: Live, chromium: Browser, sessionmaker: SessionMaker
) -> None:
    ids = await make_services(sessionmaker, 120, prefix="e2e")
    async with sessionmaker() as session:
        session.add_all(
            ServiceDependency(service_id=ids[a], depends_on_id=ids[b])
            for a, b in _random_dag(120, seed=5)
            if b - a < 30  # keep it layered rather than a hairball
        )
        await session.commit()
    await open_incident(sessionmaker, ids[100], "cache-down")
    me = await person(sessionmaker)
    page = await chromium.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []  # script errors and Content-Security-Policy violations
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    await sign_in(page, live, me)
    await page.goto(f"{live.url}/catalog/graph")
    graph = page.locator("#dependency-graph")
    await expect(graph).to_be_visible()
    await expect(page.locator("#dependency-graph a.node")).to_have_count(120)
    hot = page.locator(f'#dependency-graph a.node[data-service-id="{ids[100]}"]')
    await expect(hot).to_have_attribute("data-open-incidents", "1")
    box = await graph.bounding_box()
    assert box is not None and box["width"] > 1000  # drawn at full size, the card scrolls
    if os.environ.get("PAGEFREE_SCREENSHOT"):
        await page.screenshot(path=os.environ["PAGEFREE_SCREENSHOT"])
    await hot.scroll_into_view_if_needed()
    await hot.locator("rect").click()
    await page.wait_for_url(f"{live.url}/services/{ids[100]}")
    await expect(page.get_by_role("heading", name="e2e-100")).to_be_visible()
    assert not problems, problems
