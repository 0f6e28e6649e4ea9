"""Compact sparse-graph plumbing shared by assignment and design (no geography here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, overload

import numpy as np
import scipy.sparse as sp
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


class ReweightableCSR:
    """A :class:`CSRGraph` whose edge weights can be changed in place, cheaply.

    Changing weights this way costs one array assignment instead of rebuilding the matrix; where
    parallel edges join the same two nodes, the lightest one under the new weights is chosen again.
    """

    def __init__(self, n_nodes: int, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> None:
        u = np.asarray(u, dtype=np.int64)
        v = np.asarray(v, dtype=np.int64)
        self.graph = CSRGraph.from_arrays(n_nodes, u, v, w)
        self._slot_edge = self.graph.edge_ids.data.astype(np.int64) - 1
        a, b = np.minimum(u, v), np.maximum(u, v)
        idx = np.flatnonzero(a != b)
        key = a[idx] * n_nodes + b[idx]
        order = idx[np.argsort(key, kind="stable")]
        sorted_key = a[order] * n_nodes + b[order]
        starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
        ends = np.r_[starts[1:], len(order)]
        self._parallel: list[tuple[np.ndarray, np.ndarray]] = []
        for start, end in zip(starts, ends, strict=True):
            if end - start > 1:
                group = order[start:end]
                self._parallel.append((group, np.flatnonzero(np.isin(self._slot_edge, group))))

    def set_weights(self, w: np.ndarray) -> CSRGraph:
        """Use weights ``w`` (aligned with the edge arrays) from now on; returns the graph."""
        w = np.maximum(np.asarray(w, dtype=np.float64), 1e-9)
        for group, slots in self._parallel:
            best = group[np.argmin(w[group])]
            self._slot_edge[slots] = best
            self.graph.edge_ids.data[slots] = best + 1
        self.graph.matrix.data[:] = w[self._slot_edge]
        return self.graph
