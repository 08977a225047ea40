"""/metrics on the API: a PagerDuty event's life counted, parsed with the client's parser."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from app.catalog.models import Service
from tests import incident_helpers as h
from tests.factories import Login
from tests.ingest.conftest import incidents_of, make_integration


async def scrape(
    api: httpx.AsyncClient, **headers: str
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Return every sample of /metrics as {(name, labels): value}."""
    r = await api.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def delta(after: dict, before: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def test_an_incidents_life_is_counted_without_personal_data(
    api: httpx.AsyncClient, admin: Login, svc: Service
) -> None:
    integ = await make_integration(api, admin, svc, "pagerduty")
    before = await scrape(api)
    event = {
        "routing_key": integ["key"],
        "event_action": "trigger",
        "dedup_key": "m-1",
        "payload": {"summary": "Disk full", "source": "db-1", "severity": "critical"},
    }
    assert (await api.post("/v2/enqueue", json=event)).status_code == 202
    [inc] = await h.eventually(lambda: incidents_of(api, admin, svc.id))

    async def paged() -> dict | None:  # type: ignore[type-arg]
        now = await scrape(api)
        return now if delta(now, before, "pagefree_page_latency_seconds_count") >= 1 else None

    after = await h.eventually(paged, timeout=20)
    assert delta(after, before, "pagefree_alerts_received_total", integration_type="pagerduty") == 1
    assert delta(after, before, "pagefree_incidents_opened_total", severity="critical") == 1
    assert delta(after, before, "pagefree_pages_total") == 1
    assert delta(after, before, "pagefree_escalation_lateness_seconds_count") == 1
    # The person has no contact method: the page is logged on the "log" channel.
    assert delta(after, before, "pagefree_notifications_sent_total", channel="log") == 1
    assert delta(after, before, "pagefree_page_latency_seconds_bucket", le="+Inf") == 1

    for action in ("acknowledge", "resolve"):
        r = await api.post("/v2/enqueue", json={**event, "event_action": action})
        assert r.status_code == 202

    async def closed() -> dict | None:  # type: ignore[type-arg]
        now = await scrape(api)
        return now if delta(now, before, "pagefree_incidents_resolved_total") >= 1 else None

    final = await h.eventually(closed, timeout=20)
    assert delta(final, before, "pagefree_incidents_acknowledged_total") == 1

    bad = {**event, "routing_key": "0" * 32}
    assert (await api.post("/v2/enqueue", json=bad)).status_code >= 400
    assert (await api.post("/v2/enqueue", content=b"{not json")).status_code == 400
    rejected = await scrape(api)
    refused = sum(
        v - before.get(k, 0.0)
        for k, v in rejected.items()
        if k[0] == "pagefree_alerts_rejected_total" and ("integration_type", "pagerduty") in k[1]
    )
    assert refused == 2
    text = (await api.get("/metrics")).text
    assert all(
        n.startswith("pagefree_") or n.startswith(("python_", "process_"))
        for n in {k[0] for k in rejected}
    )
    for secret in (integ["key"], admin.user.email, admin.user.name, inc["id"], "Disk full"):
        assert secret not in text


async def test_a_metrics_token_is_required_when_set(
    api: httpx.AsyncClient, ingest_app: object
) -> None:
    from pydantic import SecretStr

    ingest_app.state.settings.metrics_token = SecretStr("scrape-me")  # type: ignore[attr-defined]
    assert (await api.get("/metrics")).status_code == 401
    wrong = await api.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert await scrape(api, Authorization="Bearer scrape-me")
