"""Compact sparse-graph plumbing shared by assignment and design (no geography here)."""

from __future__ import annotations

from dataclasses import dataclass
from heapq import heappop, heappush
from typing import Literal, overload

import numpy as np
import scipy.sparse as sp
from numba import njit
from scipy.sparse import csgraph


@dataclass(frozen=True, eq=False)
class CSRGraph:
    """An undirected weighted graph as a symmetric CSR matrix plus the edge id of every entry.

    ``weights`` must be positive; zero weights are raised to a tiny epsilon because scipy treats an
    explicit zero as a missing edge in some routines.
    """

    matrix: sp.csr_matrix
    edge_ids: sp.csr_matrix  # same sparsity as ``matrix``; stores edge id + 1

    @classmethod
    def from_arrays(cls, n_nodes: int, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> CSRGraph:
        u = np.asarray(u, dtype=np.int64)
        v = np.asarray(v, dtype=np.int64)
        w = np.maximum(np.asarray(w, dtype=np.float64), 1e-9)
        ids = np.arange(len(u), dtype=np.int64)
        # keep the lightest of parallel edges so that summing duplicates cannot happen
        a = np.minimum(u, v)
        b = np.maximum(u, v)
        order = np.lexsort((ids, w, b, a))
        a, b, w, ids = a[order], b[order], w[order], ids[order]
        first = np.ones(len(a), dtype=bool)
        first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
        keep = first & (a != b)
        a, b, w, ids = a[keep], b[keep], w[keep], ids[keep]
        rows = np.concatenate([a, b])
        cols = np.concatenate([b, a])
        shape = (n_nodes, n_nodes)
        matrix = sp.csr_matrix((np.concatenate([w, w]), (rows, cols)), shape=shape)
        edge_ids = sp.csr_matrix((np.concatenate([ids, ids]) + 1, (rows, cols)), shape=shape)
        matrix.sort_indices()
        edge_ids.sort_indices()
        return cls(matrix, edge_ids)

    @property
    def n_nodes(self) -> int:
        return self.matrix.shape[0]

    def edge_between(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Edge ids joining node arrays ``a`` and ``b`` elementwise (-1 where none)."""
        return np.asarray(self.edge_ids[np.asarray(a), np.asarray(b)]).ravel().astype(np.int64) - 1

    @overload
    def dijkstra(
        self, sources: int | np.ndarray, *, limit: float = ..., multi: Literal[False] = ...
    ) -> tuple[np.ndarray, np.ndarray]: ...

    @overload
    def dijkstra(
        self, sources: int | np.ndarray, *, limit: float = ..., multi: Literal[True]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...

    def dijkstra(
        self, sources: int | np.ndarray, *, limit: float = np.inf, multi: bool = False
    ) -> tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Shortest distances and predecessors from ``sources``.

        With ``multi=True`` the sources act as one super-source and the third array names the
        source each node was reached from. (The matrix holds both directions of every edge, so
        it is searched as a directed graph: scipy would otherwise build its transpose each time.)
        """
        if multi:
            return csgraph.dijkstra(
                self.matrix,
                directed=True,
                indices=np.asarray(sources),
                limit=limit,
                min_only=True,
                return_predecessors=True,
            )
        return csgraph.dijkstra(
            self.matrix, directed=True, indices=int(sources), limit=limit, return_predecessors=True
        )


def path_edges(csr: CSRGraph, predecessors: np.ndarray, target: int) -> np.ndarray:
    """Edge ids of the shortest path ending at ``target`` given a predecessor array."""
    nodes = [target]
    while predecessors[nodes[-1]] >= 0:
        nodes.append(int(predecessors[nodes[-1]]))
    nodes_arr = np.asarray(nodes, dtype=np.int64)
    if len(nodes_arr) < 2:
        return np.empty(0, dtype=np.int64)
    return csr.edge_between(nodes_arr[1:], nodes_arr[:-1])


def arc_arrays(n: int, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR arrays of the undirected edges ``u``-``v``: ``indptr``, and the neighbour and edge id
    of each arc (every edge gives an arc from each end)."""
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    ends = np.concatenate([u, v])
    order = np.argsort(ends, kind="stable")
    adj = np.concatenate([v, u])[order]
    aed = np.tile(np.arange(len(u), dtype=np.int64), 2)[order]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(ends, minlength=n), out=indptr[1:])
    return indptr, adj, aed


@njit(cache=True, nogil=True)
def bounded_path(
    indptr: np.ndarray,
    adj: np.ndarray,
    aed: np.ndarray,
    eu: np.ndarray,
    ev: np.ndarray,
    w: np.ndarray,
    source: int,
    target: int,
    limit: float,
    dist: np.ndarray,
    pred: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled
    """Edge ids of a shortest path from ``source`` to ``target`` under weights ``w`` (in path
    order), searching no farther than ``limit``; empty when ``target`` lies beyond it. The
    search stops when it reaches ``target``; ties go to the node of lower index.

    ``dist`` (all ``inf``) and ``pred`` (all -1), one per node, are work arrays that calls
    share: a search touches only the nodes it reaches and leaves them as it found them.
    """
    touched = [source]
    dist[source] = 0.0
    heap = [(0.0, source)]
    while len(heap) > 0:
        d, x = heappop(heap)
        if d > dist[x]:
            continue
        if x == target:
            break
        for a in range(indptr[x], indptr[x + 1]):
            y = adj[a]
            nd = d + w[aed[a]]
            if nd < dist[y] and nd <= limit:
                if dist[y] == np.inf:
                    touched.append(y)
                dist[y] = nd
                pred[y] = aed[a]
                heappush(heap, (nd, y))
    path = _walk_back(pred, eu, ev, source, target, dist[target] <= limit)
    for x in touched:
        dist[x] = np.inf
        pred[x] = -1
    return path


@njit(cache=True, nogil=True)
def _walk_back(
    pred: np.ndarray, eu: np.ndarray, ev: np.ndarray, source: int, target: int, reached: bool
) -> np.ndarray:  # pragma: no cover - compiled
    """The edges of the predecessor chain from ``source`` to ``target``, in path order."""
    if not reached:
        return np.empty(0, dtype=np.int64)
    steps = 0
    y = target
    while y != source:
        e = pred[y]
        y = eu[e] if ev[e] == y else ev[e]
        steps += 1
    path = np.empty(steps, dtype=np.int64)
    y = target
    for i in range(steps - 1, -1, -1):
        e = pred[y]
        path[i] = e
        y = eu[e] if ev[e] == y else ev[e]
    return path
