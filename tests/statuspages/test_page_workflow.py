"""The page workflow on the time-skipping server: auto-opened page incidents, debounced
announcements of component changes, the safety-net recompute, and the NOTIFY feeder."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app.catalog.models import Service
from app.config import Settings
from app.db import SessionMaker
from app.statuspages.feeder import Feeder, page_workflow_id
from tests import incident_helpers as ih
from tests.statuspages.conftest import Api, OpenIncident, SetStatus
from tests.statuspages.histories import record
from workflows.statuspage_types import StatusPageInput

SECRET = "payments-db-7 disk full (Carol's laptop)"


@pytest.fixture
def feeder(
    ts_env: WorkflowEnvironment, settings: Settings, sessionmaker: SessionMaker, database_url: str
) -> Feeder:
    return Feeder(
        client=ts_env.client,
        settings=settings,
        sessionmaker=sessionmaker,
        database_url=database_url,
    )


async def _state(ts_env: WorkflowEnvironment, page_id: str) -> StatusPageInput:
    handle = ts_env.client.get_workflow_handle(page_workflow_id(page_id))
    return await handle.query("state", result_type=StatusPageInput)


async def _baseline(ts_env: WorkflowEnvironment, feeder: Feeder, page: dict[str, Any]) -> None:
    assert await feeder.sweep() >= 1

    async def ready() -> bool:
        return (await _state(ts_env, page["id"])).announced is not None

    await ih.eventually(ready)


async def _component_announcements(api: Api, page_id: str) -> list[str]:
    rows = (await api("GET", f"/api/v1/status-pages/{page_id}/announcements")).json()["data"]
    return [a["subject"] for a in rows if a["kind"] == "component_status"]


async def test_a_severe_incident_opens_a_published_page_incident_and_resolves_it(
    ts_env: WorkflowEnvironment,
    worker: Worker,
    feeder: Feeder,
    api: Api,
    make_page: Any,
    services: list[Service],
    open_incident: OpenIncident,
    set_incident_status: SetStatus,
) -> None:
    page = await make_page(auto_publish_severity="error", auto_publish_mode="published")
    url = f"/api/v1/status-pages/{page['id']}/incidents"
    quiet = await open_incident(services[1], "warning", title=SECRET)  # below the threshold
    loud = await open_incident(services[0], "critical", title=SECRET)
    await feeder.handle([quiet, loud])

    async def opened() -> list[dict[str, Any]]:
        return (await api("GET", url)).json()["data"]  # type: ignore[no-any-return]

    [pi] = await ih.eventually(opened)
    assert pi["name"] == "Service disruption: API" and SECRET not in json.dumps(pi)
    assert pi["published"] is True and pi["impact"] == "critical"
    assert pi["incident_ids"] == [loud] and pi["status"] == "investigating"

    await feeder.handle([loud])  # a repeat opens nothing more
    await set_incident_status(loud, "resolved")
    await feeder.handle([loud])

    async def resolved() -> bool:
        [again] = await opened()
        return again["status"] == "resolved"

    await ih.eventually(resolved)
    assert len(await opened()) == 1


async def test_draft_mode_opens_an_unpublished_page_incident(
    ts_env: WorkflowEnvironment,
    worker: Worker,
    feeder: Feeder,
    api: Api,
    client: Any,
    make_page: Any,
    services: list[Service],
    open_incident: OpenIncident,
) -> None:
    page = await make_page(auto_publish_severity="warning")
    await feeder.handle([await open_incident(services[2], "warning")])
    url = f"/api/v1/status-pages/{page['id']}/incidents"

    async def opened() -> list[dict[str, Any]]:
        return (await api("GET", url)).json()["data"]  # type: ignore[no-any-return]

    [pi] = await ih.eventually(opened)
    assert pi["published"] is False
    summary = (await client.get("/status/acme/api/v2/summary.json")).json()
    assert summary["incidents"] == []


async def test_a_flap_inside_the_debounce_period_is_not_announced(
    ts_env: WorkflowEnvironment,
    worker: Worker,
    feeder: Feeder,
    api: Api,
    make_page: Any,
    services: list[Service],
    open_incident: OpenIncident,
    set_incident_status: SetStatus,
) -> None:
    page = await make_page()
    await _baseline(ts_env, feeder, page)
    incident = await open_incident(services[2], "critical")
    await feeder.handle([incident])

    async def held() -> bool:
        return bool((await _state(ts_env, page["id"])).pending)

    await ih.eventually(held)
    await ts_env.sleep(timedelta(seconds=60))
    await set_incident_status(incident, "resolved")
    await feeder.handle([incident])

    async def dropped() -> bool:
        return not (await _state(ts_env, page["id"])).pending

    await ih.eventually(dropped)
    await ts_env.sleep(timedelta(minutes=5))
    assert await _component_announcements(api, page["id"]) == []
    handle = ts_env.client.get_workflow_handle(page_workflow_id(page["id"]))
    await record(handle, "statuspage_flap_not_announced")


async def test_a_change_that_holds_for_the_debounce_period_is_announced_once(
    ts_env: WorkflowEnvironment,
    worker: Worker,
    feeder: Feeder,
    api: Api,
    make_page: Any,
    services: list[Service],
    open_incident: OpenIncident,
) -> None:
    page = await make_page()
    await _baseline(ts_env, feeder, page)
    await feeder.handle([await open_incident(services[2], "critical")])
    await ts_env.sleep(timedelta(seconds=90))
    assert await _component_announcements(api, page["id"]) == []  # not yet: 2 minutes
    await ts_env.sleep(timedelta(seconds=60))

    async def told() -> list[str]:
        return await _component_announcements(api, page["id"])

    assert await ih.eventually(told) == ["[Acme] Mail: Major outage"]
    await ts_env.sleep(timedelta(minutes=5))
    assert await told() == ["[Acme] Mail: Major outage"]
    mail = next(c for c in page["components"] if c["name"] == "Mail")
    assert (await _state(ts_env, page["id"])).announced[mail["id"]] == "major_outage"  # type: ignore[index]
    handle = ts_env.client.get_workflow_handle(page_workflow_id(page["id"]))
    await record(handle, "statuspage_change_held_and_announced")


async def test_without_any_signal_the_safety_net_recompute_finds_the_change(
    ts_env: WorkflowEnvironment,
    worker: Worker,
    feeder: Feeder,
    api: Api,
    make_page: Any,
    services: list[Service],
    open_incident: OpenIncident,
) -> None:
    page = await make_page()
    await _baseline(ts_env, feeder, page)
    await open_incident(services[0], "error")  # no NOTIFY, no signal: a missed one
    await ts_env.sleep(timedelta(seconds=65))

    async def held() -> bool:
        return bool((await _state(ts_env, page["id"])).pending)

    await ih.eventually(held)
    await ts_env.sleep(timedelta(minutes=3))

    async def told() -> list[str]:
        return await _component_announcements(api, page["id"])

    assert await ih.eventually(told) == ["[Acme] API: Partial outage"]


async def test_the_feeder_signals_pages_on_the_projections_notify(
    ts_env: WorkflowEnvironment,
    worker: Worker,
    feeder: Feeder,
    api: Api,
    make_page: Any,
    services: list[Service],
    open_incident: OpenIncident,
    sessionmaker: SessionMaker,
) -> None:
    page = await make_page(auto_publish_severity="critical", auto_publish_mode="published")
    other = await make_page(slug="other")
    stop = asyncio.Event()
    running = asyncio.create_task(feeder.run(stop))
    try:
        await _baseline(ts_env, feeder, page)
        incident = await open_incident(services[0], "critical")
        async with sessionmaker() as session:  # what projection.open_incident publishes
            payload = json.dumps({"incident_id": incident, "kind": "opened"})
            await session.execute(
                text("SELECT pg_notify('pagefree_incidents', :p)"), {"p": payload}
            )
            await session.commit()

        async def opened() -> list[dict[str, Any]]:
            url = f"/api/v1/status-pages/{page['id']}/incidents"
            return (await api("GET", url)).json()["data"]  # type: ignore[no-any-return]

        await ih.eventually(opened)
        # The other page maps the same services but does not auto-publish.
        url = f"/api/v1/status-pages/{other['id']}/incidents"
        assert (await api("GET", url)).json()["data"] == []
    finally:
        stop.set()
        await running
