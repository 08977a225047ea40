"""The dependency graph of services: edges without cycles, and walks up or down it.

An edge `A → B` says A depends on B. Upstream of A are the services A depends on (directly or
not): their failures are the likely causes of A's. Downstream of A are the services that
depend on A: they feel A's failures. Walks are recursive CTEs bounded by a depth; the graph is
kept acyclic, checked under one advisory lock so two concurrent edges cannot close a cycle.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from uuid import UUID

from sqlalchemy import func, literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.audit.models import Actor
from app.catalog.models import (
    Graph,
    GraphDirection,
    GraphEdge,
    GraphNode,
    Service,
    ServiceDependency,
)
from app.catalog.service import get_service
from app.errors import Conflict, invalid, not_found

MAX_DEPTH = 10
# Any fixed number: the key of the advisory lock that serialises changes of the graph.
_GRAPH_LOCK = 0x5E2C_0017

Edges = Mapping[UUID, Iterable[UUID]]


def shortest_path(edges: Edges, start: UUID, goal: UUID) -> list[UUID] | None:
    """Return the shortest path `start … goal` along `edges` (breadth first), or None."""
    came_from: dict[UUID, UUID | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            path = [node]
            while (prev := came_from[path[-1]]) is not None:
                path.append(prev)
            return path[::-1]
        for nxt in edges.get(node, ()):
            if nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    return None


def cycle_closed_by(edges: Edges, service_id: UUID, depends_on: UUID) -> list[UUID] | None:
    """Return the cycle the edge `service_id → depends_on` would close, or None.

    The cycle is written from `service_id` back to itself: `[A, B, …, A]`.
    """
    if service_id == depends_on:
        return [service_id, service_id]
    back = shortest_path(edges, depends_on, service_id)
    return None if back is None else [service_id, *back]


_WALK = """
    WITH RECURSIVE walk(id, depth) AS (
        SELECT d.{far}, 1 FROM service_dependencies d WHERE d.{near} = :root
        UNION
        SELECT d.{far}, walk.depth + 1
        FROM service_dependencies d JOIN walk ON d.{near} = walk.id
        WHERE walk.depth < :depth
    )
    SELECT id, min(depth) FROM walk GROUP BY id
"""
# Upstream follows edges from dependent to dependency; downstream the other way.
_WALKS = {
    GraphDirection.upstream: _WALK.format(near="service_id", far="depends_on_id"),
    GraphDirection.downstream: _WALK.format(near="depends_on_id", far="service_id"),
}


async def reachable(
    session: AsyncSession, root: UUID, direction: GraphDirection, depth: int = MAX_DEPTH
) -> dict[UUID, int]:
    """Return the services reachable from `root` one way, each with its distance."""
    rows = await session.execute(text(_WALKS[direction]), {"root": root, "depth": depth})
    return {row[0]: int(row[1]) for row in rows}


async def all_upstream(session: AsyncSession, root: UUID) -> set[UUID]:
    """Return every service `root` depends on, at any distance (each visited once)."""
    rows = await session.scalars(
        text(
            """
            WITH RECURSIVE walk(id) AS (
                SELECT depends_on_id FROM service_dependencies WHERE service_id = :root
                UNION
                SELECT d.depends_on_id
                FROM service_dependencies d JOIN walk ON d.service_id = walk.id
            )
            SELECT id FROM walk
            """
        ),
        {"root": root},
    )
    return set(rows.all())


async def _edges_from(session: AsyncSession, sources: Sequence[UUID]) -> dict[UUID, list[UUID]]:
    rows = await session.execute(
        select(col(ServiceDependency.service_id), col(ServiceDependency.depends_on_id)).where(
            col(ServiceDependency.service_id).in_(sources)
        )
    )
    edges: dict[UUID, list[UUID]] = {}
    for src, dst in rows:
        edges.setdefault(src, []).append(dst)
    return edges


async def add_dependency(
    *, session: AsyncSession, service_id: UUID, depends_on: UUID, actor: Actor
) -> ServiceDependency:
    """Record that a service depends on another; 409 naming the cycle if it would close one."""
    service = await get_service(session=session, service_id=service_id)
    target = await session.get(Service, depends_on)
    if target is None:
        raise invalid([{"field": "depends_on", "message": f"service {depends_on} does not exist"}])
    if service_id == depends_on:
        raise Conflict("a service cannot depend on itself", cycle=[str(service_id)] * 2)
    await session.execute(select(func.pg_advisory_xact_lock(literal(_GRAPH_LOCK))))
    if await session.get(ServiceDependency, (service_id, depends_on)) is not None:
        raise Conflict(f"{service.name} already depends on {target.name}")
    # A cycle closes when the new target already reaches the service: walk up from it.
    above = await all_upstream(session, depends_on)
    if service_id in above:
        edges = await _edges_from(session, [depends_on, *above])
        cycle = cycle_closed_by(edges, service_id, depends_on) or [service_id, depends_on]
        names = await _names(session, cycle)
        raise Conflict(
            "the dependency would close a cycle: " + " → ".join(names[i] for i in cycle),
            cycle=[str(i) for i in cycle],
        )
    edge = ServiceDependency(service_id=service_id, depends_on_id=depends_on)
    session.add(edge)
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="service.dependency.add",
        entity_type="service",
        entity_id=service_id,
        after={"depends_on": str(depends_on)},
    )
    return edge


async def remove_dependency(
    *, session: AsyncSession, service_id: UUID, depends_on: UUID, actor: Actor
) -> None:
    """Remove an edge; 404 when there is none."""
    edge = await session.get(ServiceDependency, (service_id, depends_on))
    if edge is None:
        raise not_found("dependency", f"{service_id} → {depends_on}")
    await session.delete(edge)
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="service.dependency.remove",
        entity_type="service",
        entity_id=service_id,
        before={"depends_on": str(depends_on)},
    )


async def _names(session: AsyncSession, ids: Iterable[UUID]) -> dict[UUID, str]:
    rows = await session.execute(
        select(col(Service.id), col(Service.name)).where(col(Service.id).in_(set(ids)))
    )
    return {row[0]: row[1] for row in rows}


async def open_incident_counts(session: AsyncSession, ids: Iterable[UUID]) -> dict[UUID, int]:
    """Return the number of unresolved incidents of each service (absent: none).

    Plain SQL on the incidents table: the incidents domain imports the catalog, not back.
    """
    rows = await session.execute(
        text(
            "SELECT service_id, count(*) FROM incidents"
            " WHERE status <> 'resolved' AND service_id = ANY(:ids) GROUP BY service_id"
        ),
        {"ids": list(set(ids))},
    )
    return {row[0]: int(row[1]) for row in rows}


async def graph(
    *, session: AsyncSession, service_id: UUID, direction: GraphDirection, depth: int
) -> Graph:
    """Return the service and its neighbours up to `depth` edges away, with the edges between."""
    await get_service(session=session, service_id=service_id)
    ids = {service_id}
    for way in (GraphDirection.upstream, GraphDirection.downstream):
        if direction in (way, GraphDirection.both):
            ids |= set(await reachable(session, service_id, way, depth))
    return await subgraph(session, ids)


async def subgraph(session: AsyncSession, ids: set[UUID]) -> Graph:
    """Return these services as nodes, with every edge between two of them."""
    services = (
        await session.scalars(
            select(Service).where(col(Service.id).in_(ids)).order_by(col(Service.name))
        )
    ).all()
    counts = await open_incident_counts(session, ids)
    rows = await session.execute(
        select(col(ServiceDependency.service_id), col(ServiceDependency.depends_on_id))
        .where(
            col(ServiceDependency.service_id).in_(ids),
            col(ServiceDependency.depends_on_id).in_(ids),
        )
        .order_by(col(ServiceDependency.service_id), col(ServiceDependency.depends_on_id))
    )
    return Graph(
        nodes=[
            GraphNode(id=s.id, name=s.name, status=s.status, open_incidents=counts.get(s.id, 0))
            for s in services
        ],
        edges=[GraphEdge(from_=src, to=dst) for src, dst in rows],
    )


async def whole_graph(session: AsyncSession) -> Graph:
    """Return every service and every edge (the catalog's map)."""
    ids = set((await session.scalars(select(col(Service.id)))).all())
    return await subgraph(session, ids)


async def upstream_with_open_incidents(
    session: AsyncSession, service_id: UUID, depth: int = MAX_DEPTH
) -> list[GraphNode]:
    """Return the services upstream of this one that have open incidents, nearest first."""
    above = await reachable(session, service_id, GraphDirection.upstream, depth)
    if not above:
        return []
    counts = await open_incident_counts(session, above)
    names = await _names(session, counts)
    services = {
        s.id: s
        for s in (await session.scalars(select(Service).where(col(Service.id).in_(counts)))).all()
    }
    ordered = sorted(counts, key=lambda i: (above[i], names[i]))
    return [
        GraphNode(id=i, name=services[i].name, status=services[i].status, open_incidents=counts[i])
        for i in ordered
    ]


async def with_open_incidents_upstream(
    session: AsyncSession, roots: Iterable[UUID], depth: int = MAX_DEPTH
) -> set[UUID]:
    """Return those of `roots` with an open (triggered or acknowledged) incident upstream.

    One recursive walk from all roots at once (a status page asks for all its services).
    """
    ids = list(set(roots))
    if not ids:
        return set()
    rows = await session.scalars(
        text(
            """
            WITH RECURSIVE walk(root, id, depth) AS (
                SELECT service_id, depends_on_id, 1
                FROM service_dependencies WHERE service_id = ANY(:roots)
                UNION
                SELECT walk.root, d.depends_on_id, walk.depth + 1
                FROM service_dependencies d JOIN walk ON d.service_id = walk.id
                WHERE walk.depth < :depth
            )
            SELECT DISTINCT walk.root FROM walk
            WHERE EXISTS (
                SELECT 1 FROM incidents i
                WHERE i.service_id = walk.id AND i.status IN ('triggered', 'acknowledged')
            )
            """
        ),
        {"roots": ids, "depth": depth},
    )
    return set(rows.all())
