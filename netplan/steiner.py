"""Near-optimal Steiner trees: the shortest shared trench that connects a PoP to its GPs.

This module knows nothing of geography: it works on any undirected graph with non-negative edge
weights. :func:`steiner_tree` takes a :class:`networkx.Graph`; :func:`steiner_tree_arrays` takes
plain edge arrays and is what the planner calls for each PoP's service area.

Method (see :mod:`netplan._steiner_core` for details), in numba-compiled kernels on a CSR view
of the graph: dead ends and paths through nodes of degree 2 are reduced away first; then the
shortest-path heuristic of Takahashi and Matsuyama from root terminals, each tree replaced by the
pruned minimum spanning tree of the subgraph its nodes induce; local search (key-path exchange,
Steiner-vertex insertion, key-vertex elimination of one or two Steiner nodes with reconnection
through Voronoi regions or a new hub) until no move improves the tree; restarts on randomly
perturbed weights; recombination on the union of the best trees; and a final tabu search over
Steiner node sets. The search's budget is proportional to the size of the graph. Where the
exact Dreyfus-Wagner dynamic programme is cheap enough (few terminals), it is used instead.
Results are deterministic: ties are broken by node and edge index, random numbers are seeded,
and the budgets count work done, not seconds. A ``time_budget`` stops the search early (the result is then still a valid tree,
but may depend on machine speed). The first call after installing compiles the kernels (about
20 s, cached on disk for later processes).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Hashable, Iterable

import networkx as nx
import numpy as np

from netplan import _steiner_core as _core
from netplan import _steiner_jit as _jit
from netplan._errors import DisconnectedTerminalsError, InputError

__all__ = ["steiner_tree", "steiner_tree_arrays"]

logger = logging.getLogger(__name__)

_MAX_LISTED = 20


def _fmt(items: list) -> str:
    shown = ", ".join(repr(x) for x in items[:_MAX_LISTED])
    if len(items) > _MAX_LISTED:
        shown += f", ... ({len(items)} in all)"
    return shown


def _prepare(
    n_nodes: int, u, v, w, terminals
) -> tuple[_core.SimpleGraph, np.ndarray, np.ndarray, np.ndarray]:
    """Validate arrays, drop loops and parallel edges; return graph, edge map, terminals, order."""
    n = int(n_nodes)
    if n < 0:
        raise InputError(f"steiner_tree_arrays: n_nodes must be >= 0, got {n_nodes!r}")
    u = np.asarray(u)
    v = np.asarray(v)
    w = np.asarray(w)
    if not (u.ndim == v.ndim == w.ndim == 1 and len(u) == len(v) == len(w)):
        raise InputError(
            "steiner_tree_arrays: u, v and w must be 1-D arrays of the same length "
            f"(got shapes {u.shape}, {v.shape}, {w.shape})"
        )
    if len(u) and not (np.issubdtype(u.dtype, np.integer) and np.issubdtype(v.dtype, np.integer)):
        raise InputError("steiner_tree_arrays: u and v must be integer node indices")
    u = u.astype(np.int64, copy=False)
    v = v.astype(np.int64, copy=False)
    try:
        w = w.astype(np.float64, copy=False)
    except (TypeError, ValueError) as exc:
        raise InputError("steiner_tree_arrays: weights w must be numbers") from exc
    if len(u):
        bad = np.flatnonzero((u < 0) | (u >= n) | (v < 0) | (v >= n))
        if len(bad):
            raise InputError(
                f"steiner_tree_arrays: edges {_fmt(bad.tolist())} have end nodes outside "
                f"0..{n - 1}; renumber the nodes or pass a larger n_nodes"
            )
        bad = np.flatnonzero(~(w >= 0) | ~np.isfinite(w))
        if len(bad):
            raise InputError(
                f"steiner_tree_arrays: edges {_fmt(bad.tolist())} have negative, NaN or infinite "
                "weights; Steiner trees need finite non-negative weights"
            )
    terms = np.asarray(terminals).ravel()
    if len(terms) and not np.issubdtype(terms.dtype, np.integer):
        raise InputError("steiner_tree_arrays: terminals must be integer node indices")
    terms = terms.astype(np.int64, copy=False)
    bad_t = terms[(terms < 0) | (terms >= n)]
    if len(bad_t):
        raise InputError(
            f"steiner_tree_arrays: terminals {_fmt(np.unique(bad_t).tolist())} are not nodes of "
            f"the graph (0..{n - 1})"
        )
    # distinct terminals, first occurrence order
    _, first = np.unique(terms, return_index=True)
    terms = terms[np.sort(first)]
    # simple graph: lightest of parallel edges (lowest index on ties), no self-loops, edges in
    # the order of their end nodes, so that the input's edge order does not change the tree
    a = np.minimum(u, v)
    b = np.maximum(u, v)
    key = a * max(n, 1) + b
    ids = np.argsort(key, kind="stable")
    sorted_key = key[ids]
    if len(key) > 1 and (sorted_key[1:] == sorted_key[:-1]).any():
        ids = np.lexsort((np.arange(len(key)), w, key))
        first = np.ones(len(ids), dtype=bool)
        first[1:] = key[ids][1:] != key[ids][:-1]
        ids = ids[first]
    ids = ids[a[ids] != b[ids]]
    return _core.SimpleGraph(n, a[ids], b[ids], w[ids]), ids, terms, w


def _check_connected(g: _core.SimpleGraph, terms: np.ndarray, names: list | None = None) -> None:
    if len(terms) <= 1:
        return
    bad = np.flatnonzero(~_jit.reached_from(g.indptr, g.indices, int(terms[0]))[terms])
    if len(bad):
        shown = [names[i] for i in terms[bad]] if names is not None else terms[bad].tolist()
        first = names[terms[0]] if names is not None else int(terms[0])
        err = DisconnectedTerminalsError(
            f"{len(bad)} terminal(s) are not connected to the first terminal {first!r}: "
            f"{_fmt(shown)}. Connect the network (e.g. bridge the fragments) or drop these "
            "terminals."
        )
        err.terminals = shown  # type: ignore[attr-defined]
        raise err


def _solve_arrays(
    n_nodes: int,
    u,
    v,
    w,
    terminals,
    *,
    time_budget: float | None,
    names: list | None = None,
) -> np.ndarray:
    start = time.perf_counter()
    g, ids, terms, w_all = _prepare(n_nodes, u, v, w, terminals)
    if len(terms) <= 1:
        return np.empty(0, dtype=np.int64)
    _check_connected(g, terms, names)
    deadline = None if time_budget is None else start + float(time_budget)
    edges = _core.solve(g, terms, deadline=deadline)
    out = np.sort(ids[edges])
    logger.debug(
        "Steiner tree: %d nodes, %d edges, %d terminals -> %d tree edges, weight %.6g (%.3f s)",
        g.n,
        g.m,
        len(terms),
        len(out),
        float(w_all[out].sum()),
        time.perf_counter() - start,
    )
    return out


def steiner_tree_arrays(
    n_nodes: int,
    u: np.ndarray,
    v: np.ndarray,
    w: np.ndarray,
    terminals: np.ndarray,
    *,
    time_budget: float | None = None,
) -> np.ndarray:
    """Near-minimum Steiner tree of a graph given as edge arrays.

    Parameters
    ----------
    n_nodes
        Number of nodes; nodes are ``0..n_nodes-1``.
    u, v
        Integer end nodes of each edge. Parallel edges and self-loops are allowed (the lightest
        parallel edge is used, loops are ignored).
    w
        Non-negative edge weights (e.g. metres).
    terminals
        Nodes the tree must connect. Duplicates are ignored.
    time_budget
        Seconds after which the local search stops and returns the best tree so far. ``None``
        (default) runs it to a local optimum, which keeps results deterministic.

    Returns
    -------
    numpy.ndarray
        Sorted indices into ``u``/``v``/``w`` of the tree edges (empty for fewer than two
        distinct terminals).

    Raises
    ------
    DisconnectedTerminalsError
        If some terminals cannot be reached from the first one; the message and the error's
        ``terminals`` attribute list them.
    InputError
        If the arrays are malformed, weights are negative or not finite, or terminals are not
        nodes of the graph.

    Examples
    --------
    The four corners of a 3 x 3 grid of unit edges need the centre column (or row): 6 edges.

    >>> import numpy as np
    >>> idx = np.arange(9).reshape(3, 3)
    >>> u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    >>> v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    >>> edges = steiner_tree_arrays(9, u, v, np.ones(len(u)), [0, 2, 6, 8])
    >>> len(edges)
    6
    """
    return _solve_arrays(n_nodes, u, v, w, terminals, time_budget=time_budget)


def _weights(values: list, weight: str | None) -> np.ndarray:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"steiner_tree: edge attribute {weight!r} holds values that are not numbers; "
            "pass weight= the name of a numeric edge attribute"
        ) from exc


def _graph_arrays(graph: nx.Graph, weight: str | None):
    """Node list, node index, edge ends (node labels, with keys for multigraphs) and arrays.

    Self-loops are left out (they never belong to a tree).
    """
    nodes = list(graph.nodes)
    index = {x: i for i, x in enumerate(nodes)}
    if graph.is_multigraph():
        rows = [r for r in graph.edges(keys=True, data=weight, default=1) if r[0] != r[1]]
        ends = [(a, b, k) for a, b, k, _w in rows]
        u = np.fromiter((index[r[0]] for r in rows), dtype=np.int64, count=len(rows))
        v = np.fromiter((index[r[1]] for r in rows), dtype=np.int64, count=len(rows))
        ws = [r[-1] for r in rows]
    else:
        # one pass over the adjacency dicts (networkx's own algorithms read ``_adj`` too: the
        # public views cost a third more here), each edge once from its lower-indexed end
        us: list[int] = []
        vs: list[int] = []
        ws = []
        for a, nbrs in graph._adj.items():
            ia = index[a]
            for b, data in nbrs.items():
                ib = index[b]
                if ia < ib:
                    us.append(ia)
                    vs.append(ib)
                    ws.append(data.get(weight, 1))
        u = np.asarray(us, dtype=np.int64)
        v = np.asarray(vs, dtype=np.int64)
        ends = None
    w = np.ones(len(u)) if weight is None else _weights(ws, weight)
    return nodes, index, ends, u, v, w


def steiner_tree(
    graph: nx.Graph,
    terminals: Iterable[Hashable],
    *,
    weight: str | None = "length",
    time_budget: float | None = None,
) -> nx.Graph:
    """Near-minimum Steiner tree of an undirected networkx graph.

    Parameters
    ----------
    graph
        Undirected :class:`networkx.Graph` or :class:`networkx.MultiGraph` with non-negative
        edge weights.
    terminals
        Nodes the tree must connect. Duplicates are ignored.
    weight
        Edge attribute holding the weight (edges without it weigh 1); ``None`` weighs every
        edge 1.
    time_budget
        Seconds after which the local search stops (see :func:`steiner_tree_arrays`).

    Returns
    -------
    networkx.Graph
        A new graph of the same class holding the tree's nodes and edges with (shallow copies
        of) their attributes. A single terminal gives that node alone; no terminals give an
        empty graph.

    Raises
    ------
    DisconnectedTerminalsError
        If some terminals cannot be reached from the first one (they are listed).
    InputError
        If the graph is directed, some terminals are not nodes of the graph (they are listed),
        or weights are negative, missing numbers or not finite.

    Examples
    --------
    Connect a PoP of the bundled sample to ten GP offices along its roads:

    >>> import networkx as nx
    >>> import netplan
    >>> sample = netplan.datasets.load_sample()
    >>> net = netplan.build_network(
    ...     sample["roads"], gps=sample["gps"], pops=sample["pops"], progress=False
    ... )
    >>> pop = int(net.pops["node"].iloc[0])
    >>> gps = net.gps["node"].dropna().astype(int).tolist()[:10]
    >>> tree = netplan.steiner_tree(net.graph, [pop, *gps], weight="length")
    >>> nx.is_tree(tree), set(gps) <= set(tree)
    (True, True)
    """
    if graph.is_directed():
        raise InputError("steiner_tree: the graph is directed; pass graph.to_undirected() instead")
    terms = list(dict.fromkeys(terminals))
    missing = [t for t in terms if t not in graph]
    if missing:
        raise InputError(
            f"steiner_tree: terminals {_fmt(missing)} are not nodes of the graph; "
            "check the node ids (e.g. snap the sites to the network first)"
        )
    out = graph.__class__()
    out.graph.update(graph.graph)
    if len(terms) <= 1:
        out.add_nodes_from((t, dict(graph.nodes[t])) for t in terms)
        return out
    nodes, index, ends, u, v, w = _graph_arrays(graph, weight)
    t_idx = np.array([index[t] for t in terms], dtype=np.int64)
    chosen = _solve_arrays(
        len(nodes),
        u,
        v,
        w,
        t_idx,
        time_budget=time_budget,
        names=nodes,
    )
    if ends is None:
        ends = [
            (nodes[a], nodes[b])
            for a, b in zip(u[chosen].tolist(), v[chosen].tolist(), strict=True)
        ]
    else:
        ends = [ends[i] for i in chosen.tolist()]
    used: dict = {}
    for end in ends:
        used.setdefault(end[0], None)
        used.setdefault(end[1], None)
    out.add_nodes_from((x, dict(graph.nodes[x])) for x in used)
    for end in ends:
        if graph.is_multigraph():
            a, b, k = end
            out.add_edge(a, b, key=k, **graph[a][b][k])
        else:
            a, b = end
            out.add_edge(a, b, **graph[a][b])
    return out
