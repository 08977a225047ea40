"""The incident API end to end: open, read, act (through the workflow), filter, page."""

from __future__ import annotations

import httpx
import pytest

from app.config import Settings
from app.db import SessionMaker
from app.identity.models import Role
from tests import incident_helpers as h
from tests.factories import Login, assert_problem, login


@pytest.fixture
async def setup(sessionmaker: SessionMaker, settings: Settings):  # type: ignore[no-untyped-def]
    people = await h.users(sessionmaker, 2)
    pol = await h.policy(sessionmaker, settings, [h.level(300, p) for p in people])
    svc = await h.service(sessionmaker, pol)
    return people, pol, svc, await login(sessionmaker, role=Role.responder)


async def _open(
    api: httpx.AsyncClient, who: Login, service_id: object, title: str = "DB down"
) -> dict:  # type: ignore[type-arg]
    r = await api.post(
        "/api/v1/incidents",
        json={"service_id": str(service_id), "title": title, "severity": "error"},
        headers=who.headers,
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_open_by_hand_pages_level_one_and_shows_everywhere(
    api: httpx.AsyncClient,
    setup,
    sessionmaker: SessionMaker,
    settings: Settings,  # type: ignore[no-untyped-def]
) -> None:
    (a, _), pol, svc, me = setup
    inc = await _open(api, me, svc.id)
    assert inc["status"] == "triggered" and inc["number"] >= 1 and inc["severity"] == "error"
    assert inc["service_id"] == str(svc.id) and inc["escalation_policy_id"] == str(pol.id)
    assert inc["workflow_id"].startswith(f"incident:{svc.routing_key}:manual-")
    assert inc["temporal_url"].startswith(settings.temporal_ui_url)
    assert inc["workflow_id"].replace(":", "%3A") in inc["temporal_url"]

    await h.eventually(lambda: h.paged_users(sessionmaker, inc["id"]))
    got = (await api.get(f"/api/v1/incidents/{inc['id']}", headers=me.headers)).json()
    assert got["assigned_to"] == [str(a.id)]
    timeline = (await api.get(f"/api/v1/incidents/{inc['id']}/timeline", headers=me.headers)).json()
    assert [e["type"] for e in timeline][:2] == ["triggered", "paged"]
    assert timeline[0]["actor"] == {"type": "user", "id": str(me.user.id), "via": "api"}
    alerts = (await api.get(f"/api/v1/incidents/{inc['id']}/alerts", headers=me.headers)).json()
    assert len(alerts) == 1 and alerts[0]["summary"] == "DB down"
    log = (
        await api.get(
            "/api/v1/notifications", params={"incident_id": inc["id"]}, headers=me.headers
        )
    ).json()
    assert [(n["user_id"], n["channel"], n["status"]) for n in log] == [(str(a.id), "log", "sent")]


async def test_acknowledge_then_resolve_and_resolved_actions_are_409(
    api: httpx.AsyncClient,
    setup,
    sessionmaker: SessionMaker,  # type: ignore[no-untyped-def]
) -> None:
    _, _, svc, me = setup
    inc = await _open(api, me, svc.id)
    acked = await api.post(f"/api/v1/incidents/{inc['id']}/acknowledge", headers=me.headers)
    assert acked.status_code == 200, acked.text
    assert acked.json()["status"] == "acknowledged"
    assert acked.json()["acknowledged_by"] == str(me.user.id)
    note = await api.post(
        f"/api/v1/incidents/{inc['id']}/notes", json={"body": "on it"}, headers=me.headers
    )
    assert note.status_code == 200
    done = await api.post(
        f"/api/v1/incidents/{inc['id']}/resolve", json={"note": "fixed"}, headers=me.headers
    )
    assert done.status_code == 200 and done.json()["status"] == "resolved"

    async def projected() -> bool:
        r = await api.get(f"/api/v1/incidents/{inc['id']}", headers=me.headers)
        return r.json()["status"] == "resolved"

    await h.eventually(projected)
    for action in ("acknowledge", "escalate", "resolve"):
        body = assert_problem(
            await api.post(f"/api/v1/incidents/{inc['id']}/{action}", headers=me.headers), 409
        )
        assert "resolved" in body["detail"]
    types = [
        e["type"]
        for e in (
            await api.get(f"/api/v1/incidents/{inc['id']}/timeline", headers=me.headers)
        ).json()
    ]
    assert {"acknowledged", "note", "resolved"} <= set(types)


async def test_observers_cannot_act_and_nobody_without_a_token(
    api: httpx.AsyncClient,
    setup,
    sessionmaker: SessionMaker,  # type: ignore[no-untyped-def]
) -> None:
    _, _, svc, me = setup
    inc = await _open(api, me, svc.id)
    observer = await login(sessionmaker, role=Role.observer)
    assert_problem(
        await api.post(f"/api/v1/incidents/{inc['id']}/acknowledge", headers=observer.headers), 403
    )
    assert_problem(
        await api.post(
            "/api/v1/incidents",
            json={"service_id": str(svc.id), "title": "x"},
            headers=observer.headers,
        ),
        403,
    )
    assert_problem(await api.get(f"/api/v1/incidents/{inc['id']}"), 401)
    # Observers read.
    assert (
        await api.get(f"/api/v1/incidents/{inc['id']}", headers=observer.headers)
    ).status_code == 200


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("reassign", {}),
        ("reassign", {"user_ids": ["00000000-0000-0000-0000-000000000009"]}),
        ("reassign", {"escalation_policy_id": "00000000-0000-0000-0000-000000000009"}),
        ("snooze", {"duration": "PT0S"}),
        ("snooze", {"duration": "P30D"}),
        ("snooze", {"duration": "soon"}),
        ("notes", {"body": ""}),
    ],
)
async def test_bad_action_input_is_a_4xx_problem(
    api: httpx.AsyncClient,
    setup,
    path: str,
    body: dict,  # type: ignore[no-untyped-def, type-arg]
) -> None:
    _, _, svc, me = setup
    inc = await _open(api, me, svc.id)
    r = await api.post(f"/api/v1/incidents/{inc['id']}/{path}", json=body, headers=me.headers)
    assert r.status_code in (404, 422), r.text
    assert_problem(r, r.status_code)


async def test_unknown_incident_and_service_are_404(api: httpx.AsyncClient, setup) -> None:  # type: ignore[no-untyped-def]
    *_, me = setup
    missing = "00000000-0000-0000-0000-000000000000"
    assert_problem(await api.get(f"/api/v1/incidents/{missing}", headers=me.headers), 404)
    assert_problem(
        await api.post(f"/api/v1/incidents/{missing}/acknowledge", headers=me.headers), 404
    )
    assert_problem(
        await api.post(
            "/api/v1/incidents", json={"service_id": missing, "title": "x"}, headers=me.headers
        ),
        404,
    )


async def test_list_filters_and_cursor_pagination(
    api: httpx.AsyncClient,
    setup,
    sessionmaker: SessionMaker,  # type: ignore[no-untyped-def]
) -> None:
    (a, _), _, svc, me = setup
    made = [await _open(api, me, svc.id, title=f"incident {i}") for i in range(5)]
    await api.post(f"/api/v1/incidents/{made[0]['id']}/acknowledge", headers=me.headers)

    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/api/v1/incidents", params=params, headers=me.headers)).json()
        seen += [i["number"] for i in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted((m["number"] for m in made), reverse=True)

    async def acked_listed() -> bool:
        r = await api.get(
            "/api/v1/incidents", params={"status": "acknowledged"}, headers=me.headers
        )
        return [i["id"] for i in r.json()["data"]] == [made[0]["id"]]

    await h.eventually(acked_listed)
    q = await api.get("/api/v1/incidents", params={"q": "incident 3"}, headers=me.headers)
    assert [i["title"] for i in q.json()["data"]] == ["incident 3"]
    by_number = await api.get(
        "/api/v1/incidents", params={"q": f"#{made[1]['number']}"}, headers=me.headers
    )
    assert [i["id"] for i in by_number.json()["data"]] == [made[1]["id"]]

    async def assigned() -> bool:
        r = await api.get(
            "/api/v1/incidents", params={"assigned_to": str(a.id)}, headers=me.headers
        )
        return len(r.json()["data"]) == 5

    await h.eventually(assigned)
    assert_problem(
        await api.get("/api/v1/incidents", params={"status": "open"}, headers=me.headers), 422
    )
    assert_problem(
        await api.get("/api/v1/incidents", params={"cursor": "garbage"}, headers=me.headers), 422
    )


async def test_events_stream_reports_incident_changes(
    api: httpx.AsyncClient,
    setup,
    settings: Settings,
    database_url: str,  # type: ignore[no-untyped-def]
) -> None:
    import asyncio
    import json

    from app.incidents import events

    _, _, svc, me = setup
    received: list[dict] = []  # type: ignore[type-arg]

    hub = events.Hub(database_url)

    async def listen() -> None:
        async for frame in events.stream(hub.subscribe(me.user.id), heartbeat=0.5):
            if frame.startswith("event: incident"):
                received.append(json.loads(frame.split("data: ", 1)[1]))
                if any(r["kind"] == "opened" for r in received):
                    return

    task = asyncio.create_task(listen())
    await asyncio.sleep(0.3)
    inc = await _open(api, me, svc.id)
    await asyncio.wait_for(task, 10)
    await hub.close()
    assert any(r["kind"] == "opened" and r["incident_id"] == inc["id"] for r in received)
    # The route itself answers an SSE stream to an authenticated client.
    assert_problem(await api.get("/api/v1/events"), 401)
