"""The dependency graph: edges without cycles (properties), walks up and down, the API."""

from __future__ import annotations

import itertools
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlmodel import col

from app.audit.models import Actor
from app.catalog import dependencies
from app.catalog.layout import NODE_W, layout
from app.catalog.models import GraphDirection, Service, ServiceDependency
from app.db import SessionMaker
from app.errors import Conflict
from app.escalation.models import EscalationPolicy
from app.identity.models import Role
from app.incidents.models import Incident
from tests.factories import Login, assert_problem, login

URL = "/api/v1/services"
ACTOR = Actor.system(via="test")
Api = Callable[..., Awaitable[httpx.Response]]


async def make_services(sessionmaker: SessionMaker, n: int, prefix: str = "svc") -> list[uuid.UUID]:
    """Insert a policy and `n` services named `{prefix}-000` …; return their ids in order."""
    async with sessionmaker() as session:
        policy = EscalationPolicy(name=f"{prefix} policy")
        session.add(policy)
        await session.flush()
        rows = [
            Service(
                name=f"{prefix}-{i:03d}",
                escalation_policy_id=policy.id,
                routing_key=f"{prefix}-{i:03d}",
            )
            for i in range(n)
        ]
        session.add_all(rows)
        await session.commit()
        return [s.id for s in rows]


async def open_incident(sessionmaker: SessionMaker, service_id: uuid.UUID, title: str) -> uuid.UUID:
    """Write an open incident's projection row (what the workflow's activity writes)."""
    async with sessionmaker() as session:
        incident = Incident(
            id=uuid.uuid4(),
            title=title,
            status="triggered",
            severity="critical",
            urgency="high",
            service_id=service_id,
            dedup_key=title,
            workflow_id=f"incident-{title}",
            run_id="run",
        )
        session.add(incident)
        await session.commit()
        return incident.id


@pytest.fixture
async def admin(sessionmaker: SessionMaker) -> Login:
    return await login(sessionmaker, role=Role.admin)


@pytest.fixture
def api(client: httpx.AsyncClient, admin: Login) -> Api:
    async def call(method: str, path: str, body: Any = None) -> httpx.Response:
        return await client.request(method, path, json=body, headers=admin.headers)

    return call


# --- the pure rule ------------------------------------------------------------------------


def test_cycle_closed_by_names_the_shortest_way_back() -> None:
    a, b, c, d = (uuid.uuid4() for _ in range(4))
    edges = {b: [c, d], c: [a], d: [c]}
    assert dependencies.cycle_closed_by(edges, a, b) == [a, b, c, a]
    assert dependencies.cycle_closed_by(edges, a, a) == [a, a]
    assert dependencies.cycle_closed_by(edges, d, a) is None


NODES = 7
edge_lists = st.lists(
    st.tuples(st.integers(0, NODES - 1), st.integers(0, NODES - 1)), min_size=1, max_size=30
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(pairs=edge_lists)
async def test_the_database_refuses_exactly_the_edges_that_close_a_cycle(
    sessionmaker: SessionMaker, pairs: list[tuple[int, int]]
) -> None:
    """Property: an edge is stored iff the graph stays acyclic, and a refusal names a cycle."""
    async with sessionmaker() as session:
        ids = list(
            (await session.scalars(select(col(Service.id)).order_by(col(Service.name)))).all()
        )
        await session.execute(delete(ServiceDependency))
        await session.commit()
    if not ids:  # the first example: the services stay for the others
        ids = await make_services(sessionmaker, NODES, prefix="prop")
    model: nx.DiGraph[int] = nx.DiGraph()
    model.add_nodes_from(range(NODES))
    for a, b in pairs:
        if model.has_edge(a, b):
            continue
        model.add_edge(a, b)
        acyclic = nx.is_directed_acyclic_graph(model)
        async with sessionmaker() as session:
            try:
                await dependencies.add_dependency(
                    session=session, service_id=ids[a], depends_on=ids[b], actor=ACTOR
                )
                await session.commit()
                stored = True
            except Conflict as exc:
                stored = False
                cycle = [ids.index(uuid.UUID(x)) for x in exc.extra["cycle"]]
                assert cycle[0] == cycle[-1] == a and cycle[1] == b
                # Every step of the named cycle is an edge of the graph plus the new one.
                assert all(model.has_edge(x, y) for x, y in itertools.pairwise(cycle))
        assert stored == acyclic, (pairs, a, b)
        if not acyclic:
            model.remove_edge(a, b)


# --- walks on a few hundred services --------------------------------------------------------


def _random_dag(n: int, seed: int) -> list[tuple[int, int]]:
    """Edges i → j only with i < j, so the graph is acyclic; about three per service."""
    rng = random.Random(seed)
    return sorted(
        {(i, j) for i in range(n - 1) for j in rng.sample(range(i + 1, n), min(3, n - 1 - i))}
    )


async def test_graph_walks_on_three_hundred_services_match_networkx(
    sessionmaker: SessionMaker,
) -> None:
    n = 300
    ids = await make_services(sessionmaker, n)
    pairs = _random_dag(n, seed=17)
    async with sessionmaker() as session:
        session.add_all(
            ServiceDependency(service_id=ids[a], depends_on_id=ids[b]) for a, b in pairs
        )
        await session.commit()
    await open_incident(sessionmaker, ids[250], "db down")
    model: nx.DiGraph[int] = nx.DiGraph(pairs)
    up, down = GraphDirection.upstream, GraphDirection.downstream
    worst = 0.0
    async with sessionmaker() as session:
        for root in (0, 40, 150, 299):
            for depth in (1, 3, 10):
                started = time.perf_counter()
                g = await dependencies.graph(
                    session=session,
                    service_id=ids[root],
                    direction=GraphDirection.both,
                    depth=depth,
                )
                worst = max(worst, time.perf_counter() - started)
                ups = nx.single_source_shortest_path_length(model, root, cutoff=depth)
                downs = nx.single_source_shortest_path_length(model.reverse(), root, cutoff=depth)
                expected = {ids[i] for i in {*ups, *downs}}
                assert {node.id for node in g.nodes} == expected
                inside = {ids.index(x) for x in expected}
                assert {(e.from_, e.to) for e in g.edges} == {
                    (ids[a], ids[b]) for a, b in model.subgraph(inside).edges
                }
            only_up = await dependencies.reachable(session, ids[root], up, 2)
            assert only_up == {
                ids[i]: d
                for i, d in nx.single_source_shortest_path_length(model, root, cutoff=2).items()
                if i != root
            }
            only_down = await dependencies.reachable(session, ids[root], down, 2)
            assert set(only_down) == {
                ids[i]
                for i in nx.ancestors(model, root)
                if nx.shortest_path_length(model, i, root) <= 2
            }
        whole = await dependencies.whole_graph(session)
        counts = {node.id: node.open_incidents for node in whole.nodes}
        causes = await dependencies.upstream_with_open_incidents(session, ids[0])
    assert len(whole.nodes) == n and len(whole.edges) == len(pairs)
    assert counts[ids[250]] == 1 and sum(counts.values()) == 1
    assert nx.has_path(model, 0, 250) == ([c.id for c in causes] == [ids[250]])
    assert worst < 2.0, f"a graph query took {worst:.2f}s"
    # The drawing: every edge points right, nothing overlaps, every node is placed once.
    drawing = layout(whole)
    at = {p.node.id: (p.x, p.y) for p in drawing.nodes}
    assert len(at) == n and len(set(at.values())) == n
    assert all(at[e.from_][0] + NODE_W <= at[e.to][0] for e in whole.edges)


# --- the API --------------------------------------------------------------------------------


async def test_dependency_api_refuses_cycles_and_self_and_walks_the_graph(
    api: Api, client: httpx.AsyncClient, sessionmaker: SessionMaker
) -> None:
    web, auth, db = await make_services(sessionmaker, 3, prefix="api")
    dep = f"{URL}/{web}/dependencies"
    created = await api("POST", dep, {"depends_on": str(auth)})
    assert created.status_code == 201, created.text
    assert (
        await api("POST", f"{URL}/{auth}/dependencies", {"depends_on": str(db)})
    ).status_code == 201
    cycle = assert_problem(
        await api("POST", f"{URL}/{db}/dependencies", {"depends_on": str(web)}), 409
    )
    assert cycle["cycle"] == [str(db), str(web), str(auth), str(db)]
    assert "api-002 → api-000 → api-001 → api-002" in cycle["detail"]
    own = assert_problem(await api("POST", dep, {"depends_on": str(web)}), 409)
    assert "itself" in own["detail"]
    assert_problem(await api("POST", dep, {"depends_on": str(auth)}), 409)  # already there
    missing = assert_problem(await api("POST", dep, {"depends_on": str(uuid.uuid4())}), 422)
    assert missing["errors"][0]["field"] == "depends_on"
    assert_problem(
        await api("POST", f"{URL}/{uuid.uuid4()}/dependencies", {"depends_on": str(db)}), 404
    )
    assert_problem(await api("POST", dep, {"depends_on": "nope"}), 422)

    graph = (await api("GET", f"{URL}/{web}/graph?direction=upstream&depth=1")).json()
    assert {n["id"] for n in graph["nodes"]} == {str(web), str(auth)}
    assert graph["edges"] == [{"from": str(web), "to": str(auth)}]
    assert graph["nodes"][0].keys() == {"id", "name", "status", "open_incidents"}
    both = (await api("GET", f"{URL}/{auth}/graph?direction=both&depth=5")).json()
    assert len(both["nodes"]) == 3 and len(both["edges"]) == 2
    down = (await api("GET", f"{URL}/{db}/graph?direction=downstream")).json()
    assert {n["id"] for n in down["nodes"]} == {str(web), str(auth), str(db)}
    assert_problem(await api("GET", f"{URL}/{web}/graph?depth=0"), 422)
    assert_problem(await api("GET", f"{URL}/{web}/graph?direction=sideways"), 422)
    assert_problem(await api("GET", f"{URL}/{uuid.uuid4()}/graph"), 404)

    responder = await login(sessionmaker)
    refused = await client.post(dep, json={"depends_on": str(db)}, headers=responder.headers)
    assert_problem(refused, 403)
    seen = await client.get(f"{URL}/{web}/graph", headers=responder.headers)
    assert seen.status_code == 200

    assert (await api("DELETE", f"{dep}/{auth}")).status_code == 204
    assert_problem(await api("DELETE", f"{dep}/{auth}"), 404)
    # With web → auth gone, db → web closes no cycle any more.
    assert (
        await api("POST", f"{URL}/{db}/dependencies", {"depends_on": str(web)})
    ).status_code == 201
    audit = (await api("GET", f"/api/v1/audit?entity_id={web}")).json()
    actions = {e["action"] for e in audit["data"]}
    assert {"service.dependency.add", "service.dependency.remove"} <= actions
