"""The schedule editor over HTTP: create and edit layers, the preview, errors kept inline."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from uuid import UUID

from fastapi import FastAPI
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.db import SessionMaker
from app.identity.models import Role, User
from app.schedules.models import Schedule
from tests.factories import login, make_user
from tests.web.conftest import Browser, browser_for

_PREVIEW_ITEM = re.compile(
    r'data-kind="(shift|gap)" data-user="([^"]*)" data-start="([^"]+)" data-end="([^"]+)"'
)


def _form(users: list[User], **over: str | list[str]) -> dict[str, str | list[str]]:
    """A one-layer daily rotation with a daily 09:00-17:00 restriction."""
    data: dict[str, str | list[str]] = {
        "name": "Support",
        "timezone": "Europe/Berlin",
        "layers": "1",
        "layer-0-name": "Days",
        "layer-0-start": "2026-03-02T09:00",
        "layer-0-mode": "length",
        "layer-0-length": "1",
        "layer-0-unit": "days",
        "layer-0-users": [str(u.id) for u in users],
        "layer-0-restrictions": "1",
        "layer-0-r-0-type": "daily",
        "layer-0-r-0-start_time": "09:00",
        "layer-0-r-0-end_time": "17:00",
        "intent": "save",
    }
    data.update(over)
    return data


async def _people(sessionmaker: SessionMaker, n: int) -> list[User]:
    async with sessionmaker() as session:
        return [await make_user(session, name=f"Person {i}") for i in range(n)]


async def _admin(web_app: FastAPI, sessionmaker: SessionMaker) -> Browser:
    admin = await browser_for(web_app, sessionmaker, role=Role.admin)
    await admin.get("/schedules/new")
    return admin


async def test_admin_creates_a_rotating_schedule_with_a_restriction(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    people = await _people(sessionmaker, 2)
    admin = await _admin(web_app, sessionmaker)
    page = await admin.get("/schedules/new")
    assert page.status_code == 200 and 'id="preview"' in page.text
    saved = await admin.post("/schedules/new", _form(people))
    assert saved.status_code == 303, saved.text
    schedule_id = UUID(saved.headers["location"].split("/")[2].split("?")[0])
    async with sessionmaker() as session:
        row = await session.get(Schedule, schedule_id)
        assert row is not None
        layer = row.layers[0]
        assert layer["users"] == [str(p.id) for p in people]
        assert layer["rotation_seconds"] == 86400
        assert layer["restrictions"] == [
            {
                "type": "daily",
                "start_time": "09:00",
                "duration_seconds": 8 * 3600,
                "start_day": None,
            }
        ]
        events = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.entity_id == str(schedule_id))
            )
        ).all()
        assert [(e.action, e.via) for e in events] == [("schedule.create", "web")]


async def test_preview_matches_the_apis_shifts_and_marks_gaps(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    people = await _people(sessionmaker, 2)
    admin = await _admin(web_app, sessionmaker)
    form = _form(people)
    del form["intent"]
    fragment = await admin.client.post(
        "/schedules/preview", data=form, headers={"X-CSRF-Token": admin.csrf}
    )
    assert fragment.status_code == 200, fragment.text
    items = _PREVIEW_ITEM.findall(fragment.text)
    shifts = [
        (u, datetime.fromisoformat(s), datetime.fromisoformat(e))
        for k, u, s, e in items
        if k == "shift"
    ]
    gaps = [k for k, *_ in items if k == "gap"]
    assert shifts and gaps  # nights are gaps: on call 09:00-17:00 only, in Berlin time
    assert {(s.hour, e.hour, e - s) for _, s, e in shifts} == {(9, 17, timedelta(hours=8))}
    assert len({u for u, _, _ in shifts}) == 2  # a daily hand-off between the two
    assert "gap" in fragment.text and "nobody is on call" in fragment.text.lower()

    saved = await admin.post("/schedules/new", _form(people))
    schedule_id = saved.headers["location"].split("/")[2].split("?")[0]
    since = re.search(r'data-since="([^"]+)"', fragment.text)
    until = re.search(r'data-until="([^"]+)"', fragment.text)
    assert since and until
    reader = await login(sessionmaker, role=Role.observer)
    api = await admin.client.get(
        f"/api/v1/schedules/{schedule_id}/shifts",
        params={"since": since.group(1), "until": until.group(1)},
        headers={"Authorization": f"Bearer {reader.token}"},
    )
    assert api.status_code == 200, api.text
    expected = [
        (s["user_id"], datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"]))
        for s in api.json()["data"]
    ]
    assert shifts == expected
    assert len(gaps) == len(api.json()["gaps"])


async def test_bad_input_is_shown_at_its_field_and_the_form_keeps_what_was_typed(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    people = await _people(sessionmaker, 1)
    admin = await _admin(web_app, sessionmaker)
    bad = _form(
        people,
        name="Typed name",
        timezone="Mars/Olympus",
        **{"layer-0-users": [], "layer-0-rrule": "FREQ=SOMETIMES", "layer-0-mode": "rrule"},
    )
    answer = await admin.post("/schedules/new", bad)
    assert answer.status_code == 422
    assert 'value="Typed name"' in answer.text
    assert (
        'id="s-tz" name="timezone" maxlength="64" value="Mars/Olympus" aria-invalid="true"'
        in answer.text
    )
    assert re.search(
        r'name="layer-0-rrule"[^>]*value="FREQ=SOMETIMES" aria-invalid="true"', answer.text
    )
    assert 'class="field-error"' in answer.text
    async with sessionmaker() as session:
        assert (await session.scalars(select(Schedule))).all() == []


async def test_taken_name_is_a_409_shown_on_the_form(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    people = await _people(sessionmaker, 1)
    admin = await _admin(web_app, sessionmaker)
    assert (await admin.post("/schedules/new", _form(people))).status_code == 303
    again = await admin.post("/schedules/new", _form(people, **{"layer-0-name": "Kept"}))
    assert again.status_code == 409
    assert "already exists" in again.text and 'value="Kept"' in again.text


async def test_buttons_reorder_add_and_remove_people_without_javascript(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    a, b, c = await _people(sessionmaker, 3)
    admin = await _admin(web_app, sessionmaker)
    moved = await admin.post("/schedules/new", _form([a, b], intent="down:0:0"))
    assert moved.status_code == 200
    order = re.findall(r'name="layer-0-users" value="([^"]+)"', moved.text)
    assert order == [str(b.id), str(a.id)]
    added = await admin.post(
        "/schedules/new", _form([b, a], intent="add-user:0", **{"layer-0-add": str(c.id)})
    )
    assert re.findall(r'name="layer-0-users" value="([^"]+)"', added.text) == [
        str(b.id),
        str(a.id),
        str(c.id),
    ]
    layer = await admin.post("/schedules/new", _form([a], intent="add-layer"))
    assert 'name="layers" value="2"' in layer.text


async def test_edit_keeps_layer_ids_and_prefills_the_form(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    a, b = await _people(sessionmaker, 2)
    admin = await _admin(web_app, sessionmaker)
    saved = await admin.post(
        "/schedules/new",
        _form(
            [a, b],
            **{
                "layer-0-r-0-type": "weekly",
                "layer-0-r-0-start_day": "fri",
                "layer-0-r-0-start_time": "18:00",
                "layer-0-r-0-end_day": "mon",
                "layer-0-r-0-end_time": "08:00",
            },
        ),
    )
    schedule_id = saved.headers["location"].split("/")[2].split("?")[0]
    form = await admin.get(f"/schedules/{schedule_id}/edit")
    assert form.status_code == 200
    assert (
        '<option value="fri" selected>' in form.text
        and '<option value="mon" selected>' in form.text
    )
    layer_id = re.search(r'name="layer-0-id" value="([^"]+)"', form.text)
    assert layer_id
    changed = await admin.post(
        f"/schedules/{schedule_id}/edit",
        _form([b, a], **{"layer-0-id": layer_id.group(1), "layer-0-restrictions": "0"}),
    )
    assert changed.status_code == 303
    async with sessionmaker() as session:
        row = await session.get(Schedule, UUID(schedule_id))
        assert row is not None
        assert row.layers[0]["id"] == layer_id.group(1)
        assert row.layers[0]["users"] == [str(b.id), str(a.id)]
        assert row.layers[0]["restrictions"] == []


async def test_responders_cannot_use_the_editor(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    people = await _people(sessionmaker, 1)
    responder = await browser_for(web_app, sessionmaker, role=Role.responder)
    assert (await responder.get("/schedules/new")).status_code == 403
    assert (await responder.post("/schedules/new", _form(people))).status_code == 403
    no_csrf = await responder.client.post("/schedules/preview", data=_form(people))
    assert no_csrf.status_code == 403


async def test_an_rrule_hand_off_is_saved_and_previewed(
    web_app: FastAPI, sessionmaker: SessionMaker
) -> None:
    a, b = await _people(sessionmaker, 2)
    admin = await _admin(web_app, sessionmaker)
    rule = "FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=9;BYMINUTE=0"
    form = _form(
        [a, b],
        **{"layer-0-mode": "rrule", "layer-0-rrule": rule, "layer-0-restrictions": "0"},
    )
    del form["intent"]
    fragment = await admin.client.post(
        "/schedules/preview", data=form, headers={"X-CSRF-Token": admin.csrf}
    )
    starts = [datetime.fromisoformat(s) for k, _, s, _ in _PREVIEW_ITEM.findall(fragment.text)]
    # Hand-offs on Mondays and Thursdays at 09:00 Berlin time (the first entry may have begun).
    assert starts and all((s.weekday(), s.hour) in ((0, 9), (3, 9)) for s in starts[1:])
    assert "gap" not in [k for k, *_ in _PREVIEW_ITEM.findall(fragment.text)]
    saved = await admin.post("/schedules/new", {**form, "intent": "save"})
    assert saved.status_code == 303, saved.text
    async with sessionmaker() as session:
        row = (await session.scalars(select(Schedule))).one()
        assert row.layers[0]["handoff_rrule"] == rule
        assert row.layers[0]["rotation_seconds"] is None
    edit = await admin.get(f"/schedules/{row.id}/edit")
    assert 'value="rrule" checked' in edit.text and f'value="{rule}"' in edit.text
