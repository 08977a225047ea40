"""The responder's dashboard: my incidents and on-call status on top, one-tap actions, search."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from app.audit.models import Actor
from app.config import Settings
from app.db import SessionMaker, utcnow
from app.identity.models import Role
from app.schedules import service as schedules
from app.schedules.models import LayerIn, ScheduleCreate
from tests import incident_helpers as h
from tests.web.conftest import browser_for

SYSTEM = Actor.system(via="test")


async def test_the_list_offers_one_tap_actions_search_and_my_on_call_status(
    live_app: FastAPI, sessionmaker: SessionMaker, settings: Settings
) -> None:
    me = await browser_for(live_app, sessionmaker, timezone="UTC")
    pol = await h.policy(sessionmaker, settings, [h.level(300, me.user)])
    svc = await h.service(sessionmaker, pol)
    client = await live_app.state.temporal.get()
    opened = await h.opened(await h.send_alert(client, settings, svc, h.alert(summary="Disk full")))
    await h.opened(
        await h.send_alert(client, settings, svc, h.alert(summary="CPU hot", dedup_key="c"))
    )
    start = (utcnow() - timedelta(hours=1)).replace(tzinfo=None, microsecond=0)
    async with sessionmaker() as session:
        await schedules.create_schedule(
            session=session,
            schedule_in=ScheduleCreate(
                name="Primary",
                timezone="UTC",
                layers=[
                    LayerIn(
                        name="l",
                        start=start,
                        rotation_length=timedelta(hours=8),
                        users=[me.user.id],
                    )
                ],
            ),
            actor=SYSTEM,
        )
        await session.commit()

    page = await me.get("/")
    assert "I am on call until" in page.text and "(Primary)" in page.text
    assert "my incidents" in page.text and "2 triggered" in page.text
    assert (
        f'action="/incidents/{opened.incident_id}/acknowledge" data-quick="acknowledge"'
        in page.text
    )
    assert f'aria-label="Resolve #{opened.number}"' in page.text
    assert 'class="bottom-nav"' in page.text and 'src="/static/responder.js"' in page.text
    found = await me.get("/", params={"q": "disk"})
    assert "Disk full" in found.text and "CPU hot" not in found.text
    assert 'value="disk"' in found.text and 'data-live-list="/web/incidents?q=disk"' in found.text

    # Without the script the row's button is a plain form that acts at once.
    acked = await me.post(f"/incidents/{opened.incident_id}/acknowledge")
    assert acked.status_code == 303
    later = await me.get("/web/incidents")
    assert f'aria-label="Acknowledge #{opened.number}"' not in later.text
    assert f'aria-label="Resolve #{opened.number}"' in later.text


async def test_observers_get_no_row_actions_and_not_on_call_is_said(
    live_app: FastAPI, sessionmaker: SessionMaker, settings: Settings
) -> None:
    pager = (await h.users(sessionmaker, 1))[0]
    pol = await h.policy(sessionmaker, settings, [h.level(300, pager)])
    svc = await h.service(sessionmaker, pol)
    client = await live_app.state.temporal.get()
    await h.opened(await h.send_alert(client, settings, svc, h.alert(summary="Disk full")))
    observer = await browser_for(live_app, sessionmaker, role=Role.observer)
    page = await observer.get("/")
    assert "Disk full" in page.text and "data-quick" not in page.text
    assert "Not on call in the next 14 days." in page.text
