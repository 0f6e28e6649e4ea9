"""Fibre route design for one PoP on compact arrays (no geography here).

A design connects a root (the PoP's node) to terminal nodes (its GPs' nodes) over an undirected
weighted graph given as arrays ``u, v, w``:

* ``"tree"``: a shared-trench Steiner tree (:func:`netplan.steiner.steiner_tree_arrays`);
* ``"star"``: the union of independent shortest paths from the root, each GP with its own cable.

The work is restricted to the PoP's *service area*: the nodes within a slack factor of the
farthest terminal's distance, so each PoP is solved on a small compact graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from netplan._csr import CSRGraph
from netplan.steiner import steiner_tree_arrays

__all__ = ["Design", "design_routes", "Topology"]

Topology = Literal["tree", "star"]


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
        Length from the root along the design to each terminal node.
    """

    edges: np.ndarray
    parent_node: np.ndarray
    child_node: np.ndarray
    served: tuple[tuple[int, ...], ...]
    cable_count: np.ndarray
    depth: dict[int, float]


def _service_area(
    csr: CSRGraph, root: int, terminals: np.ndarray, *, slack: float, margin: float
) -> np.ndarray:
    """Nodes worth considering for ``root``'s design (sorted global node ids)."""
    dist, _ = csr.dijkstra(root)
    far = float(np.max(dist[terminals])) if len(terminals) else 0.0
    if not np.isfinite(far):
        far = float(np.max(dist[terminals][np.isfinite(dist[terminals])], initial=0.0))
    return np.flatnonzero(dist <= far * slack + margin)


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
    """
    length = np.asarray(w if length is None else length, dtype=float)
    if topology not in ("tree", "star"):
        raise ValueError(f"topology must be 'tree' or 'star', got {topology!r}")
    csr = csr if csr is not None else CSRGraph.from_arrays(n_nodes, u, v, w)
    terminals = np.unique(np.asarray(terminals, dtype=np.int64))
    terminal_set = set(terminals.tolist()) - {root}
    if not terminal_set:
        return _root_edges(np.empty(0, dtype=np.int64), u, v, length, root, set())

    area = _service_area(csr, root, terminals, slack=slack, margin=margin)
    local = np.full(n_nodes, -1, dtype=np.int64)
    local[area] = np.arange(len(area))
    inside = (local[u] >= 0) & (local[v] >= 0)
    sub_edges = np.flatnonzero(inside)
    lu, lv, lw = local[u[sub_edges]], local[v[sub_edges]], np.asarray(w)[sub_edges]
    local_terms = local[np.asarray(sorted(terminal_set | {root}))]

    if topology == "tree":
        chosen_local = steiner_tree_arrays(
            len(area), lu, lv, lw, local_terms, time_budget=time_budget
        )
        chosen = sub_edges[np.asarray(chosen_local, dtype=np.int64)]
        return _root_edges(np.sort(chosen), u, v, length, root, terminal_set)

    sub = CSRGraph.from_arrays(len(area), lu, lv, lw)
    _, pred = sub.dijkstra(int(local[root]))
    used: dict[int, int] = {}
    for t in sorted(terminal_set):
        node = int(local[t])
        while pred[node] >= 0:
            prev = int(pred[node])
            e_local = int(sub.edge_between(np.array([prev]), np.array([node]))[0])
            used[e_local] = used.get(e_local, 0) + 1
            node = prev
    chosen = sub_edges[np.asarray(sorted(used), dtype=np.int64)]
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
