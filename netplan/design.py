"""Fibre route design for one PoP on compact arrays (no geography here).

A design connects a root (the PoP's node) to terminal nodes (its GPs' nodes) over an undirected
weighted graph given as arrays ``u, v, w``:

* ``"tree"``: a shared-trench Steiner tree (:func:`netplan.steiner.steiner_tree_arrays`);
* ``"star"``: the union of independent shortest paths from the root, each GP with its own cable;
* ``"ring"``: rings of at most ``ring_size`` GPs that leave the root and come back to it, for
  redundancy (BharatNet's amended design). GPs are taken in the order of a walk around the Steiner
  tree, so each ring serves neighbouring GPs; each leg is a shortest path, and roads already used by
  the ring cost ``1 + diversity`` times more, so the way back takes other roads where it can.
  The length a ring runs twice over the same road (no physical redundancy there) is reported.

The work is restricted to the PoP's *service area*: the nodes within a slack factor of the
farthest terminal's distance, so each PoP is solved on a small compact graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from netplan._csr import CSRGraph, arc_arrays, bounded_path
from netplan._errors import DisconnectedTerminalsError
from netplan.params import Topology
from netplan.steiner import steiner_tree_arrays

__all__ = ["Design", "Ring", "design_routes", "Topology"]


@dataclass(frozen=True, eq=False)
class Ring:
    """One ring of a ring design.

    Attributes
    ----------
    terminals
        Terminal nodes in the order the ring visits them (from the root and back).
    edges
        Edge ids in traversal order (an edge appears twice where the ring runs over it twice).
    length
        Length of the ring.
    shared
        Length of the roads the ring runs over more than once: there, one cut breaks the ring.
    distances
        For each terminal, its distance from the root along the ring, the shorter way round.
    legs
        Length of each leg: root to the first terminal, terminal to terminal, last terminal
        back to the root (one more than the terminals).
    """

    terminals: tuple[int, ...]
    edges: np.ndarray
    length: float
    shared: float
    distances: tuple[float, ...]
    legs: tuple[float, ...] = ()


@dataclass(frozen=True, eq=False)
class Design:
    """Edges of one PoP's design, rooted at the PoP.

    Attributes
    ----------
    edges
        Global edge ids used, ordered from the root outwards (breadth first).
    parent_node, child_node
        For each edge, its end nearer the root and its far end.
    served
        For each edge, the terminal nodes downstream of it (as a tuple of node ids).
    cable_count
        Cables laid in the edge: 1 for a tree, the number of GPs served for a star.
    depth
        Length from the root along the design to each terminal node (for a ring: the shorter
        way round).
    rings
        The rings of a ring design (empty otherwise). For a ring design ``parent_node`` and
        ``child_node`` are simply the edge ends.
    """

    edges: np.ndarray
    parent_node: np.ndarray
    child_node: np.ndarray
    served: tuple[tuple[int, ...], ...]
    cable_count: np.ndarray
    depth: dict[int, float]
    rings: tuple[Ring, ...] = ()


def _service_area(
    csr: CSRGraph,
    root: int,
    terminals: np.ndarray,
    *,
    slack: float,
    margin: float,
    reach: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Nodes worth considering for ``root``'s design (sorted global node ids), and the
    shortest-path predecessors from ``root`` that were computed on the way.

    The search stops at the area's edge: ``reach`` (a guess of the farthest terminal's distance)
    bounds the first try, which is widened only when it falls short.
    """
    limit = np.inf if reach is None else reach * slack + margin
    while True:
        dist, pred = csr.dijkstra(root, limit=limit)
        missing = ~np.isfinite(dist[terminals])
        if missing.any() and np.isfinite(limit):
            limit = np.inf
            continue
        if missing.any():
            raise DisconnectedTerminalsError(
                f"terminals {sorted(terminals[missing].tolist())} cannot be reached from the "
                f"root {root}; connect them (or leave them out) before designing"
            )
        far = float(np.max(dist[terminals])) if len(terminals) else 0.0
        if far * slack + margin <= limit:
            return np.flatnonzero(dist <= far * slack + margin), pred
        limit = far * slack + margin


def _root_edges(
    edge_ids: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    length: np.ndarray,
    root: int,
    terminals: set[int],
) -> Design:
    """Orient a set of tree edges away from ``root`` and collect what each edge serves."""
    adjacency: dict[int, list[tuple[int, int]]] = {}
    for e in edge_ids.tolist():
        a, b = int(u[e]), int(v[e])
        adjacency.setdefault(a, []).append((b, e))
        adjacency.setdefault(b, []).append((a, e))
    for lst in adjacency.values():
        lst.sort()
    order: list[int] = []
    parent: list[int] = []
    child: list[int] = []
    depth = {root: 0.0}
    stack = [root]
    seen = {root}
    head = 0
    while head < len(stack):  # breadth first
        node = stack[head]
        head += 1
        for nxt, e in adjacency.get(node, ()):
            if nxt in seen:
                continue
            seen.add(nxt)
            depth[nxt] = depth[node] + float(length[e])
            order.append(e)
            parent.append(node)
            child.append(nxt)
            stack.append(nxt)
    # terminals downstream of each edge, accumulated leaves-up
    below: dict[int, list[int]] = {n: ([n] if n in terminals and n != root else []) for n in seen}
    for i in range(len(order) - 1, -1, -1):
        below[parent[i]].extend(below[child[i]])
    served = tuple(tuple(sorted(below[c])) for c in child)
    return Design(
        edges=np.asarray(order, dtype=np.int64),
        parent_node=np.asarray(parent, dtype=np.int64),
        child_node=np.asarray(child, dtype=np.int64),
        served=served,
        cable_count=np.ones(len(order), dtype=np.int64),
        depth={n: d for n, d in depth.items() if n in terminals},
    )


def design_routes(
    n_nodes: int,
    u: np.ndarray,
    v: np.ndarray,
    w: np.ndarray,
    root: int,
    terminals: np.ndarray,
    *,
    topology: Topology = "tree",
    csr: CSRGraph | None = None,
    slack: float = 1.5,
    margin: float = 5000.0,
    time_budget: float | None = None,
    length: np.ndarray | None = None,
    ring_size: int = 10,
    diversity: float = 2.0,
    reach: float | None = None,
    tree_edges: np.ndarray | None = None,
) -> Design:
    """Design the routes joining ``root`` to ``terminals``.

    Parameters
    ----------
    n_nodes, u, v, w
        The whole graph as edge arrays (``w`` positive).
    root
        The PoP's node.
    terminals
        Nodes of the GPs to connect; all must be reachable from ``root``.
    topology
        ``"tree"`` (shared trench, Steiner) or ``"star"`` (independent shortest paths).
    csr
        A prebuilt :class:`~netplan._csr.CSRGraph` of the same arrays, to save rebuilding it.
    slack, margin
        The service area holds the nodes within ``slack * farthest + margin`` of the root.
    time_budget
        Seconds allowed for the Steiner local search.
    length
        Edge lengths used for :attr:`Design.depth` (default ``w``).
    ring_size
        Most GPs on one ring (``topology="ring"``).
    diversity
        Ring legs pay ``1 + diversity`` times the weight of roads their ring already uses.
    reach
        A guess of the weighted distance from the root to the farthest terminal (e.g. its road
        distance): the service-area search starts bounded by it (much faster on a large graph).
    tree_edges
        Edges of a tree already designed for these terminals from ``root`` (e.g. by the joint
        design): trees and rings use it instead of solving a new one, where it lies inside the
        service area.
    """
    length = np.asarray(w if length is None else length, dtype=float)
    if topology not in ("tree", "star", "ring"):
        raise ValueError(f"topology must be 'tree', 'star' or 'ring', got {topology!r}")
    if topology == "ring" and not ring_size >= 1:
        raise ValueError(f"ring_size must be at least 1 GP, got {ring_size!r}")
    csr = csr if csr is not None else CSRGraph.from_arrays(n_nodes, u, v, w)
    terminals = np.unique(np.asarray(terminals, dtype=np.int64))
    terminal_set = set(terminals.tolist()) - {root}
    if not terminal_set:
        return _root_edges(np.empty(0, dtype=np.int64), u, v, length, root, set())

    area, pred = _service_area(csr, root, terminals, slack=slack, margin=margin, reach=reach)
    if topology == "star":
        return _star(csr, pred, u, v, length, root, terminal_set)
    local = np.full(n_nodes, -1, dtype=np.int64)
    local[area] = np.arange(len(area))
    inside = (local[u] >= 0) & (local[v] >= 0)
    sub_edges = np.flatnonzero(inside)
    lu, lv, lw = local[u[sub_edges]], local[v[sub_edges]], np.asarray(w)[sub_edges]
    local_terms = local[np.asarray(sorted(terminal_set | {root}))]

    if tree_edges is not None and np.isin(tree_edges, sub_edges).all():
        chosen = np.asarray(tree_edges, dtype=np.int64)
    else:
        chosen_local = steiner_tree_arrays(
            len(area), lu, lv, lw, local_terms, time_budget=time_budget
        )
        chosen = sub_edges[np.asarray(chosen_local, dtype=np.int64)]
    tree = _root_edges(np.sort(chosen), u, v, length, root, terminal_set)
    if topology == "tree":
        return tree
    order = _walk_order(tree, root, terminal_set)
    rings = _route_rings(
        order,
        len(area),
        lu,
        lv,
        lw,
        local,
        sub_edges,
        length,
        root,
        _TreePaths(tree, np.searchsorted(sub_edges, tree.edges)),
        ring_size=ring_size,
        diversity=diversity,
    )
    return _ring_design(rings, u, v)


class _TreePaths:
    """Paths between nodes of a rooted tree, as the (local) edge indices on them.

    A ring leg between two stops is a shortest path, so it is no heavier than the tree path
    between them: that weight bounds the leg's search.
    """

    def __init__(self, tree: Design, local_edges: np.ndarray) -> None:
        self.parent: dict[int, int] = {}
        self.up: dict[int, int] = {}  # local edge from a node to its parent
        self.hops: dict[int, int] = {}
        for e, p, c in zip(
            local_edges.tolist(), tree.parent_node.tolist(), tree.child_node.tolist(), strict=True
        ):  # breadth first: a parent comes before its children
            self.parent[c], self.up[c] = p, e
            self.hops[c] = self.hops.get(p, 0) + 1

    def between(self, a: int, b: int) -> list[int]:
        """Local edge indices on the tree path from node ``a`` to node ``b``."""
        edges: list[int] = []
        while a != b:
            if self.hops.get(a, 0) >= self.hops.get(b, 0):
                edges.append(self.up[a])
                a = self.parent[a]
            else:
                edges.append(self.up[b])
                b = self.parent[b]
        return edges


def _star(
    csr: CSRGraph,
    pred: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    length: np.ndarray,
    root: int,
    terminal_set: set[int],
) -> Design:
    """The union of the shortest paths from ``root`` (predecessors ``pred``) to the terminals."""
    on_paths: set[int] = set()
    for t in sorted(terminal_set):
        node = t
        while node not in on_paths and pred[node] >= 0:
            on_paths.add(node)
            node = int(pred[node])
    nodes = np.asarray(sorted(on_paths), dtype=np.int64)
    chosen = csr.edge_between(pred[nodes], nodes)
    design = _root_edges(np.sort(chosen), u, v, length, root, terminal_set)
    counts = np.asarray([len(s) for s in design.served], dtype=np.int64)
    return Design(
        edges=design.edges,
        parent_node=design.parent_node,
        child_node=design.child_node,
        served=design.served,
        cable_count=counts,
        depth=design.depth,
    )


def _walk_order(tree: Design, root: int, terminals: set[int]) -> list[int]:
    """Terminals in the order a depth-first walk around ``tree`` meets them."""
    children: dict[int, list[int]] = {}
    for parent, child in zip(tree.parent_node.tolist(), tree.child_node.tolist(), strict=True):
        children.setdefault(parent, []).append(child)
    order: list[int] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node in terminals:
            order.append(node)
        stack.extend(sorted(children.get(node, ()), reverse=True))
    return order


def _route_rings(
    order: list[int],
    n_local: int,
    lu: np.ndarray,
    lv: np.ndarray,
    lw: np.ndarray,
    local: np.ndarray,
    sub_edges: np.ndarray,
    length: np.ndarray,
    root: int,
    tree: _TreePaths,
    *,
    ring_size: int,
    diversity: float,
) -> list[Ring]:
    """Cut ``order`` into balanced rings and route each leg on the service-area graph (each
    leg's search bounded by the weight of the tree path between its stops)."""
    n_rings = -(-len(order) // ring_size)
    bounds = np.linspace(0, len(order), n_rings + 1).round().astype(int)
    rings: list[Ring] = []
    lu, lv = np.asarray(lu, dtype=np.int64), np.asarray(lv, dtype=np.int64)
    indptr, adj, aed = arc_arrays(n_local, lu, lv)
    dist, pred = np.full(n_local, np.inf), np.full(n_local, -1, dtype=np.int64)
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        stops = [root, *order[a:b], root]
        weight = np.asarray(lw, dtype=np.float64).copy()
        legs: list[int] = []
        reached: list[float] = []
        travelled = 0.0
        for start, end in zip(stops[:-1], stops[1:], strict=True):
            bound = float(weight[tree.between(start, end)].sum())
            path = bounded_path(
                indptr, adj, aed, lu, lv, weight,
                int(local[start]), int(local[end]), bound * (1 + 1e-9) + 1e-6, dist, pred,
            )  # fmt: skip
            legs.extend(path.tolist())
            weight[path] = lw[path] * (1.0 + diversity)
            travelled += float(length[sub_edges[path]].sum())
            reached.append(travelled)
        edges = sub_edges[np.asarray(legs, dtype=np.int64)]
        ids, counts = np.unique(edges, return_counts=True)
        total = float(length[edges].sum())
        rings.append(
            Ring(
                terminals=tuple(order[a:b]),
                edges=edges,
                length=total,
                shared=float((length[ids] * (counts - 1)).sum()),
                distances=tuple(min(d, total - d) for d in reached[:-1]),
                legs=tuple(np.diff(np.r_[0.0, reached]).tolist()),
            )
        )
    return rings


def _ring_design(rings: list[Ring], u: np.ndarray, v: np.ndarray) -> Design:
    """Merge rings into one design: each road once, with its passes and the GPs it serves."""
    passes: dict[int, int] = {}
    served: dict[int, tuple[int, ...]] = {}  # sorted; one tuple per ring where one ring runs
    depth: dict[int, float] = {}
    for ring in rings:
        for node, distance in zip(ring.terminals, ring.distances, strict=True):
            depth[node] = min(depth.get(node, np.inf), distance)
        mine = tuple(sorted(set(ring.terminals)))
        for e in ring.edges.tolist():
            passes[e] = passes.get(e, 0) + 1
            before = served.get(e, mine)
            served[e] = mine if before is mine else tuple(sorted({*before, *mine}))
    edges = np.asarray(sorted(passes), dtype=np.int64)
    return Design(
        edges=edges,
        parent_node=np.asarray(u)[edges],
        child_node=np.asarray(v)[edges],
        served=tuple(served[e] for e in edges.tolist()),
        cable_count=np.asarray([passes[e] for e in edges.tolist()], dtype=np.int64),
        depth=depth,
        rings=tuple(rings),
    )
