"""A layered drawing of the dependency graph, for a server-rendered SVG.

Layers come from networkx's topological generations: the services nobody depends on in the
first column, each dependency in a column to the right of everything that depends on it
(longest-path layering, so every edge points right). Within a column the nodes are ordered
by the barycentre of their neighbours (a few sweeps each way), which untangles most edges.
Columns stack vertically, so a graph of hundreds of services scrolls instead of shrinking.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import networkx as nx

from app.catalog.models import Graph, GraphNode

NODE_W = 190
NODE_H = 28
COL_GAP = 110
ROW_GAP = 12
MARGIN = 16
_SWEEPS = 4


@dataclass(frozen=True)
class PlacedNode:
    node: GraphNode
    x: int
    y: int
    label: str


@dataclass(frozen=True)
class PlacedEdge:
    path: str
    hot: bool  # the dependency has open incidents


@dataclass(frozen=True)
class Drawing:
    width: int
    height: int
    nodes: list[PlacedNode]
    edges: list[PlacedEdge]


def _layers(g: nx.DiGraph[UUID]) -> list[list[UUID]]:
    """Longest-path layering: a node sits one column right of its furthest dependent."""
    column: dict[UUID, int] = {}
    for generation in nx.topological_generations(g):
        for n in generation:
            column[n] = max((column[p] + 1 for p in g.predecessors(n)), default=0)
    layers: list[list[UUID]] = [[] for _ in range(max(column.values(), default=-1) + 1)]
    for n in nx.topological_sort(g):
        layers[column[n]].append(n)
    return layers


def _order(g: nx.DiGraph[UUID], layers: list[list[UUID]]) -> None:
    """Reorder each layer in place by the mean position of its neighbours in the layer before."""
    for sweep in range(_SWEEPS):
        forward = sweep % 2 == 0
        indices = range(1, len(layers)) if forward else range(len(layers) - 2, -1, -1)
        for i in indices:
            pos = {n: k for k, n in enumerate(layers[i - 1] if forward else layers[i + 1])}

            def barycentre(
                n: UUID, here: int, forward: bool = forward, pos: dict[UUID, int] = pos
            ) -> float:
                near = g.predecessors(n) if forward else g.successors(n)
                ks = [pos[m] for m in near if m in pos]
                return sum(ks) / len(ks) if ks else float(here)

            keyed = sorted((barycentre(n, k), k, n) for k, n in enumerate(layers[i]))
            layers[i] = [n for _, _, n in keyed]


def _label(name: str) -> str:
    return name if len(name) <= 26 else name[:25] + "…"


def layout(graph: Graph) -> Drawing:
    """Place every node of the graph and draw each edge as a curve from dependent to dependency."""
    g: nx.DiGraph[UUID] = nx.DiGraph()
    g.add_nodes_from(n.id for n in graph.nodes)
    g.add_edges_from((e.from_, e.to) for e in graph.edges if e.from_ != e.to)
    layers = _layers(g)
    _order(g, layers)
    by_id = {n.id: n for n in graph.nodes}
    placed: dict[UUID, PlacedNode] = {}
    for col_index, layer in enumerate(layers):
        for row, n in enumerate(layer):
            placed[n] = PlacedNode(
                node=by_id[n],
                x=MARGIN + col_index * (NODE_W + COL_GAP),
                y=MARGIN + row * (NODE_H + ROW_GAP),
                label=_label(by_id[n].name),
            )
    edges = []
    for src, dst in g.edges:
        a, b = placed[src], placed[dst]
        x1, y1 = a.x + NODE_W, a.y + NODE_H // 2
        x2, y2 = b.x, b.y + NODE_H // 2
        mid = (x1 + x2) // 2
        edges.append(
            PlacedEdge(
                path=f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}",
                hot=b.node.open_incidents > 0,
            )
        )
    tallest = max((len(layer) for layer in layers), default=0)
    return Drawing(
        width=2 * MARGIN + max(len(layers), 1) * (NODE_W + COL_GAP) - COL_GAP,
        height=2 * MARGIN + max(tallest, 1) * (NODE_H + ROW_GAP) - ROW_GAP,
        nodes=list(placed.values()),
        edges=edges,
    )
