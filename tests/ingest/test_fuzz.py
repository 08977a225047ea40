"""Property-based fuzzing of every receiver: whatever arrives, never a 500, always the
format's own error shape, and nothing handed to a workflow unless it passed validation.

The API runs without Temporal, so anything that passes validation is answered 503 by the
hand-off; a 503 for any other reason (a crash caught by the last-resort handler) fails.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from app.audit.models import Actor
from app.config import Settings
from app.ingest import service as integrations
from app.ingest.models import IntegrationCreate, IntegrationType
from app.ingest.signing import sign
from app.temporal import LazyClient
from tests import incident_helpers as h
from tests.ingest.conftest import fixture

EXAMPLES = {
    "pagerduty": fixture("pagerduty_v2_trigger.json"),
    "alertmanager": fixture("alertmanager_v4_firing.json"),
    "grafana": fixture("grafana_firing.json"),
    "datadog": fixture("datadog_webhook.json"),
    "newrelic": fixture("newrelic_workflow.json"),
    "generic": {"summary": "s", "dedup_key": "d", "severity": "info", "action": "trigger"},
}
PROBLEM_STATUSES = {400, 401, 404, 409, 413, 415, 429, 503}


@dataclass
class Target:
    runner: asyncio.Runner
    client: httpx.AsyncClient
    integrations: dict[str, Any]  # type → IntegrationCreated


@pytest.fixture
def target(settings: Settings, database_url: str) -> Iterator[Target]:
    """The API on its own event loop (hypothesis drives synchronous tests), no Temporal."""
    from api import create_app

    app = create_app(settings, database_url=database_url)
    app.state.temporal = LazyClient(settings, None)
    runner = asyncio.Runner(loop_factory=asyncio.new_event_loop)
    lifespan = app.router.lifespan_context(app)
    runner.run(lifespan.__aenter__())

    async def setup() -> dict[str, Any]:
        sm = app.state.sessionmaker
        people = await h.users(sm, 1)
        pol = await h.policy(sm, settings, [h.level(300, people[0])])
        svc = await h.service(sm, pol)
        made = {}
        async with sm() as session:
            for t in IntegrationType:
                made[t.value] = await integrations.create(
                    session=session,
                    settings=settings,
                    integration_in=IntegrationCreate(type=t, name=f"fuzz {t.value}"),
                    actor=Actor.system(via="test"),
                    service_id=svc.id,
                )
            await session.commit()
        return made

    made = runner.run(setup())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    client = httpx.AsyncClient(transport=transport, base_url="http://test")
    yield Target(runner, client, made)
    runner.run(client.aclose())
    runner.run(lifespan.__aexit__(None, None, None))
    runner.close()


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def mutated(draw: st.DrawFn, fmt: str) -> Any:
    """The documented example with some fields replaced, removed or nested ones broken."""
    payload = copy.deepcopy(EXAMPLES[fmt])
    keys = sorted(payload)
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from(keys))
        if draw(st.booleans()):
            payload.pop(key, None)
        else:
            payload[key] = draw(json_values)
    if (
        fmt in ("alertmanager", "grafana")
        and isinstance(payload.get("alerts"), list)
        and payload["alerts"]
    ):
        alert = payload["alerts"][0]
        if isinstance(alert, dict) and alert:
            alert[draw(st.sampled_from(sorted(alert)))] = draw(json_values)
    if (
        fmt == "pagerduty"
        and isinstance(payload.get("payload"), dict)
        and payload["payload"]
        and draw(st.booleans())
    ):
        inner = payload["payload"]
        inner[draw(st.sampled_from(sorted(inner)))] = draw(json_values)
    return payload


def bodies(fmt: str) -> st.SearchStrategy[bytes]:
    # Mostly near-valid payloads, which get past parsing into the normalizers.
    as_json = st.one_of(mutated(fmt), mutated(fmt), mutated(fmt), json_values).map(
        lambda v: json.dumps(v, ensure_ascii=draw_ascii(v)).encode("utf-8", "surrogatepass")
    )
    return st.one_of(
        as_json,
        st.binary(max_size=200),
        st.text(max_size=100).map(lambda t: t.encode("utf-8", "surrogatepass")),
    )


def draw_ascii(value: Any) -> bool:
    return len(json.dumps(value)) % 2 == 0  # both escaped and raw unicode, deterministically


def _check(fmt: str, r: httpx.Response) -> None:
    assert r.status_code != 500, r.text
    if r.status_code == 202:
        return  # impossible without Temporal, but never wrong
    assert r.status_code in PROBLEM_STATUSES, (r.status_code, r.text)
    body = r.json()
    if fmt == "pagerduty":
        assert body["status"] in ("invalid event", "throttle event", "unavailable"), body
        assert isinstance(body["message"], str) and body["errors"]
        assert all(isinstance(e, str) for e in body["errors"])
    else:
        assert r.headers["content-type"].startswith("application/problem+json")
        assert body["status"] == r.status_code and body["title"] and body["type"]
    if r.status_code == 503:
        # Only a valid alert reaches the hand-off, which finds no Temporal here.
        detail = body.get("detail") or body.get("message")
        assert "Temporal" in detail, body


def _send(t: Target, fmt: str, content: bytes, ctype: str | None, sign_it: bool) -> httpx.Response:
    integ = t.integrations[fmt]
    headers = {} if ctype is None else {"Content-Type": ctype}
    if fmt == "generic" and sign_it:
        stamp = int(time.time())
        headers.update(
            {
                "X-PageFree-Timestamp": str(stamp),
                "X-PageFree-Signature": sign(integ.secret, stamp, content),
            }
        )
    if fmt == "pagerduty":
        # Keep the example's routing key valid most of the time, so events get deep.
        try:
            value = json.loads(content)
            if isinstance(value, dict) and value.get("routing_key") == EXAMPLES[fmt]["routing_key"]:
                value["routing_key"] = integ.key
                content = json.dumps(value).encode()
        except ValueError:
            pass
        return t.runner.run(t.client.post("/v2/enqueue", content=content, headers=headers))
    url = f"/integrations/{integ.key}/{fmt}"
    return t.runner.run(t.client.post(url, content=content, headers=headers))


CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        None,
        "text/plain",
        "application/vnd.api+json",
    ]
)


@pytest.mark.parametrize("fmt", sorted(EXAMPLES))
def test_receivers_never_fail_and_always_answer_in_their_shape(target: Target, fmt: str) -> None:
    @hyp_settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
    )
    @given(content=bodies(fmt), ctype=CONTENT_TYPES, sign_it=st.booleans())
    def run(content: bytes, ctype: str | None, sign_it: bool) -> None:
        _check(fmt, _send(target, fmt, content, ctype, sign_it))

    run()
