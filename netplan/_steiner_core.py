"""Steiner tree heuristics on compact integer graphs (private; see :mod:`netplan.steiner`).

Everything here works on a *simple* undirected graph held as numpy arrays (``u``, ``v``, ``w``)
and a symmetric CSR view; shortest paths come from :func:`scipy.sparse.csgraph.dijkstra`.

Algorithm
---------
1. Construction: the shortest-path heuristic of Takahashi and Matsuyama (grow a tree from a root
   terminal, always adding the terminal nearest to the tree by its shortest path), run from
   several roots on one terminal-to-all distance matrix, each result cleaned by an MST of the
   subgraph induced by its nodes and pruned of non-terminal leaves.
2. Local search on the best constructions until no move improves (or the deadline passes):

   * key-path exchange: remove a key path (a tree path whose inner nodes are Steiner nodes of
     degree 2) and reconnect the two halves by a shortest path;
   * key-vertex elimination: remove a Steiner node of degree >= 3 with its key paths and
     reconnect the pieces by the MST of their Voronoi boundary graph (Mehlhorn's construction);
   * Steiner-vertex insertion: add the node adjacent to the tree whose insertion shortens the
     minimum spanning tree most (all candidates scored at once from the tree's bottleneck
     matrix by a batched Prim; the best few checked exactly, pruning included);
   * MST-prune after every accepted move.

   Moves found not to improve are remembered (by their edges) for the whole solve, restarts
   included, and not tried again.
3. Perturbed restarts (iterated local search): the shortest-path heuristic on weights multiplied
   by seeded random factors in [1, 1.25], then local search on the true weights; the number of
   restarts is a fixed work amount divided by ``k * m`` (:func:`restart_budget`), stopping early
   after a few restarts without improvement. The best distinct trees are kept.
4. Recombination: the instance restricted to the union of those trees is solved again (up to
   16 roots, key-path exchange and key-vertex elimination) and the result improved on the full
   graph by the full local search.

Small instances (at most ``_DP_MAX_K`` terminals and ``2^(k-1) (n + m)`` below ``_DP_WORK``)
are instead solved exactly by the Dreyfus-Wagner dynamic programme (:func:`dreyfus_wagner`),
with one Dijkstra run per subset size (virtual sources carry the merged labels).

All tie-breaking is by node / edge index and the random factors come from a fixed-seed
``numpy.random.Generator``, so results are deterministic (unless a deadline cuts the search
short).
"""

from __future__ import annotations

import time

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra, minimum_spanning_tree

_NO_PRED = -9999


class SimpleGraph:
    """A simple undirected weighted graph on nodes ``0..n-1`` with a CSR view.

    Parameters
    ----------
    n
        Number of nodes.
    u, v
        End nodes of the edges (no self-loops, no parallel edges).
    w
        Non-negative edge weights.
    """

    def __init__(self, n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> None:
        self.n = int(n)
        self.u = np.asarray(u, dtype=np.int64)
        self.v = np.asarray(v, dtype=np.int64)
        self.w = np.asarray(w, dtype=np.float64)
        m = len(self.u)
        self.m = m
        ids = np.arange(m, dtype=np.int64)
        src = np.concatenate([self.u, self.v])
        dst = np.concatenate([self.v, self.u])
        eid = np.concatenate([ids, ids])
        order = np.lexsort((dst, src))
        indptr = np.zeros(self.n + 1, dtype=np.int32)
        np.cumsum(np.bincount(src, minlength=self.n), out=indptr[1:])
        self.indptr = indptr
        self.indices = dst[order].astype(np.int32)
        self.arc_edge = eid[order]
        self.arc_src = src[order]
        self.csr = csr_matrix(
            (self.w[self.arc_edge], self.indices, self.indptr), shape=(self.n, self.n)
        )
        pos = np.empty(2 * m, dtype=np.int64)
        pos[order] = np.arange(2 * m, dtype=np.int64)
        self.rev = np.empty(2 * m, dtype=np.int64)
        self.rev[pos[:m]] = pos[m:]
        self.rev[pos[m:]] = pos[:m]
        # MST on ranks: exact order, no zero weights (scipy drops explicit zeros in MST)
        self.by_rank = np.argsort(self.w, kind="stable")
        self.rank = np.empty(m, dtype=np.float64)
        self.rank[self.by_rank] = np.arange(1, m + 1, dtype=np.float64)
        key = np.minimum(self.u, self.v) * self.n + np.maximum(self.u, self.v)
        self._key_order = np.argsort(key, kind="stable")
        self._key_sorted = key[self._key_order]
        self._lists: tuple[list[int], list[int], list[float]] | None = None

    def lists(self) -> tuple[list[int], list[int], list[float]]:
        """``u``, ``v`` and ``w`` as Python lists (built once, for per-edge loops on trees)."""
        if self._lists is None:
            self._lists = (self.u.tolist(), self.v.tolist(), self.w.tolist())
        return self._lists

    def edge_ids(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Edge index of each node pair ``(a[i], b[i])`` (pairs must be edges)."""
        a = np.asarray(a, dtype=np.int64)
        b = np.asarray(b, dtype=np.int64)
        key = np.minimum(a, b) * self.n + np.maximum(a, b)
        return self._key_order[np.searchsorted(self._key_sorted, key)]

    def arcs_of(self, nodes: np.ndarray) -> np.ndarray:
        """Positions in the CSR arrays of every arc leaving ``nodes``."""
        starts = self.indptr[nodes].astype(np.int64)
        lens = self.indptr[nodes + 1].astype(np.int64) - starts
        total = int(lens.sum())
        if total == 0:
            return np.empty(0, dtype=np.int64)
        offs = np.repeat(starts - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens)
        return offs + np.arange(total, dtype=np.int64)

    def path_edges(self, pred: np.ndarray, x: int) -> list[int]:
        """Edges of the predecessor path from ``x`` back to its source."""
        nodes = [x]
        p = pred[x]
        while p != _NO_PRED:
            nodes.append(int(p))
            p = pred[p]
        if len(nodes) < 2:
            return []
        arr = np.array(nodes, dtype=np.int64)
        return self.edge_ids(arr[:-1], arr[1:]).tolist()


class _Tree:
    """Rooted view of a tree given by edge indices: preorder, subtree sizes and key paths."""

    def __init__(self, g: SimpleGraph, edges: np.ndarray, root: int, is_term: np.ndarray):
        root = int(root)
        gu, gv, gw = g.lists()
        adj: dict[int, list[tuple[int, int]]] = {}
        for e in np.asarray(edges, dtype=np.int64).tolist():
            a, b = gu[e], gv[e]
            la = adj.get(a)
            if la is None:
                adj[a] = [(b, e)]
            else:
                la.append((b, e))
            lb = adj.get(b)
            if lb is None:
                adj[b] = [(a, e)]
            else:
                lb.append((a, e))
        if not adj:
            adj[root] = []
        par = {root: -1}
        ped = {root: -1}
        order = []
        stack = [root]
        while stack:
            x = stack.pop()
            order.append(x)
            px = par[x]
            for y, e in adj[x]:
                if y != px:
                    par[y] = x
                    ped[y] = e
                    stack.append(y)
        size = dict.fromkeys(order, 1)
        for x in reversed(order[1:]):
            size[par[x]] += size[x]
        deg = {x: len(a) for x, a in adj.items()}
        nodes_arr = np.array(order, dtype=np.int64)
        term = dict(zip(order, is_term[nodes_arr].tolist(), strict=True))
        key = {x: term[x] or deg[x] >= 3 for x in order}
        self.order = nodes_arr
        self.tin = dict(zip(order, range(len(order)), strict=True))
        self.pedge = ped
        self.size = size
        self.deg = deg
        self.key = key
        self.parent = par
        # key paths, one per non-root key node (its lower end)
        paths = []
        for x in order[1:]:
            if not key[x]:
                continue
            e0 = ped[x]
            pe = [e0]
            wp = gw[e0]
            inner = []
            y = par[x]
            while not key[y]:
                inner.append(y)
                e1 = ped[y]
                pe.append(e1)
                wp += gw[e1]
                y = par[y]
            top = inner[-1] if inner else x
            paths.append((x, y, top, pe, inner, wp))
        self.paths = paths

    def subtree(self, x: int) -> np.ndarray:
        i = self.tin[x]
        return self.order[i : i + self.size[x]]

    def outside(self, x: int) -> np.ndarray:
        i = self.tin[x]
        return np.concatenate([self.order[:i], self.order[i + self.size[x] :]])


class Solver:
    """Construction and local search for one Steiner tree instance.

    Parameters
    ----------
    g
        The simple graph.
    terminals
        Distinct terminal nodes, all in one connected component (checked by the caller).
    deadline
        ``time.perf_counter()`` value after which the local search stops, or ``None``.
    """

    def __init__(self, g: SimpleGraph, terminals: np.ndarray, deadline: float | None = None):
        self.g = g
        self.terminals = np.asarray(terminals, dtype=np.int64)
        self.is_term = np.zeros(g.n, dtype=bool)
        self.is_term[self.terminals] = True
        self.root = int(self.terminals[0])
        self.deadline = deadline
        self._map = np.full(g.n, -1, dtype=np.int64)
        self.max_insert_tree = 1500  # bottleneck matrix is s x s floats
        self.memo = True
        self.insert_tries = 3
        self._failed_paths: set = set()
        self._failed_vertices: set = set()
        self._tree_cache: tuple[bytes, _Tree] | None = None

    # ------------------------------------------------------------------ helpers
    def _tree(self, edges: np.ndarray) -> _Tree:
        """Rooted view of the tree ``edges``, reused while the same tree is asked for again."""
        key = np.asarray(edges, dtype=np.int64).tobytes()
        if self._tree_cache is None or self._tree_cache[0] != key:
            self._tree_cache = (key, _Tree(self.g, edges, self.root, self.is_term))
        return self._tree_cache[1]

    def _timed_out(self) -> bool:
        return self.deadline is not None and time.perf_counter() > self.deadline

    def cost(self, edges: np.ndarray) -> float:
        return float(self.g.w[edges].sum())

    def _tol(self, cost: float) -> float:
        return 1e-9 * max(1.0, abs(cost))

    def prune(self, edges: np.ndarray) -> np.ndarray:
        """Remove non-terminal leaves repeatedly (the result does not depend on the order)."""
        g = self.g
        if len(edges) == 0:
            return edges
        eu = g.u[edges]
        ev = g.v[edges]
        nodes, inv = np.unique(np.concatenate([eu, ev]), return_inverse=True)
        ne = len(edges)
        a, b = inv[:ne], inv[ne:]
        deg = np.bincount(inv, minlength=len(nodes))
        steiner = ~self.is_term[nodes]
        alive = np.ones(ne, dtype=bool)
        while True:
            leaf = steiner & (deg == 1)
            hit = alive & (leaf[a] | leaf[b])
            if not hit.any():
                break
            alive &= ~hit
            deg -= np.bincount(a[hit], minlength=len(nodes)) + np.bincount(
                b[hit], minlength=len(nodes)
            )
        return edges if alive.all() else edges[alive]

    def _mst(self, edges: np.ndarray, extra_nodes: np.ndarray | None = None) -> np.ndarray:
        """Minimum spanning forest of the subgraph formed by ``edges`` (edge indices)."""
        g = self.g
        ne = len(edges)
        if ne == 0:
            return np.asarray(edges, dtype=np.int64)
        nodes, inv = np.unique(np.concatenate([g.u[edges], g.v[edges]]), return_inverse=True)
        s = len(nodes)
        a = inv[:ne]
        order = np.argsort(a, kind="stable")
        indptr = np.zeros(s + 1, dtype=np.int32)
        np.cumsum(np.bincount(a, minlength=s), out=indptr[1:])
        # one arc per edge (a simple graph has no repeated pair); ranks are distinct and >= 1
        mat = csr_matrix(
            (g.rank[edges][order], inv[ne:][order].astype(np.int32), indptr), shape=(s, s)
        )
        tree = minimum_spanning_tree(mat)
        return np.sort(g.by_rank[tree.data.astype(np.int64) - 1])

    def mst_clean(self, edges: np.ndarray) -> np.ndarray:
        """MST of the given edges, then prune."""
        edges = np.unique(edges)
        return self.prune(self._mst(edges))

    def _induced(self, nodes: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Edges with both ends in ``nodes`` (``mask`` is the boolean node mask)."""
        g = self.g
        arcs = g.arcs_of(nodes)
        tgt = g.indices[arcs]
        keep = mask[tgt] & (g.arc_src[arcs] < tgt)
        return g.arc_edge[arcs[keep]]

    def induced_clean(self, edges: np.ndarray) -> np.ndarray:
        """Replace the tree by the pruned MST of the subgraph induced by its nodes, to a fixpoint."""
        g = self.g
        cost = self.cost(edges)
        mask = np.zeros(g.n, dtype=bool)
        while True:
            nodes = np.unique(np.concatenate([g.u[edges], g.v[edges]]))
            if len(nodes) <= 2:
                return edges
            mask[nodes] = True
            ind = self._induced(nodes, mask)
            mask[nodes] = False
            new = self.prune(self._mst(ind))
            new_cost = self.cost(new)
            if new_cost < cost - self._tol(cost):
                edges, cost = np.sort(new), new_cost
            else:
                return edges

    # ------------------------------------------------------------------ construction
    def distance_matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """Shortest distances and predecessors from every terminal (k x n)."""
        return dijkstra(self.g.csr, indices=self.terminals, return_predecessors=True)

    def sph(self, dist: np.ndarray, pred: np.ndarray, r: int) -> np.ndarray:
        """Shortest-path heuristic grown from terminal number ``r``."""
        g = self.g
        k = len(self.terminals)
        in_tree = np.zeros(g.n, dtype=bool)
        start = int(self.terminals[r])
        in_tree[start] = True
        mind = dist[:, start].copy()
        near = np.full(k, start, dtype=np.int64)
        todo = np.ones(k, dtype=bool)
        todo[r] = False
        mind[r] = np.inf
        edges: list[int] = []
        terms = self.terminals
        for _ in range(k - 1):
            j = int(np.argmin(np.where(todo, mind, np.inf)))
            todo[j] = False
            x = int(near[j])
            p = pred[j]
            tj = int(terms[j])
            nodes = [x]
            while x != tj:
                x = int(p[x])
                nodes.append(x)
            arr = np.array(nodes, dtype=np.int64)
            if len(arr) > 1:
                edges.extend(g.edge_ids(arr[:-1], arr[1:]).tolist())
            new = arr[~in_tree[arr]]
            if len(new):
                in_tree[new] = True
                sub = dist[:, new]
                am = np.argmin(sub, axis=1)
                mn = sub[np.arange(k), am]
                better = mn < mind
                mind[better] = mn[better]
                near[better] = new[am[better]]
        return np.unique(np.array(edges, dtype=np.int64))

    # ------------------------------------------------------------------ local search
    def key_path_exchange(self, edges: np.ndarray) -> tuple[np.ndarray, bool]:
        g = self.g
        cost = self.cost(edges)
        improved = False
        failed = self._failed_paths if self.memo else set()
        while not self._timed_out():
            tree = self._tree(edges)
            found = False
            for low, _high, top, pe, _inner, wp in sorted(tree.paths, key=lambda p: (-p[5], p[0])):
                pkey = tuple(sorted(pe))
                if pkey in failed:
                    continue
                b_nodes = tree.subtree(low)
                a_nodes = tree.outside(top)
                if len(a_nodes) < len(b_nodes):
                    src_nodes, tgt_nodes = a_nodes, b_nodes
                else:
                    src_nodes, tgt_nodes = b_nodes, a_nodes
                dist, pred, _ = dijkstra(
                    g.csr,
                    indices=src_nodes,
                    min_only=True,
                    return_predecessors=True,
                    limit=wp,
                )
                dt = dist[tgt_nodes]
                j = int(np.argmin(dt))
                if not dt[j] < wp - self._tol(cost):
                    failed.add(pkey)
                    continue
                new_path = g.path_edges(pred, int(tgt_nodes[j]))
                keep = np.setdiff1d(edges, np.array(pe, dtype=np.int64), assume_unique=True)
                cand = self.mst_clean(np.concatenate([keep, np.array(new_path, dtype=np.int64)]))
                new_cost = self.cost(cand)
                if new_cost < cost - self._tol(cost) and self._spans(cand):
                    edges, cost = cand, new_cost
                    improved = found = True
                    break
                failed.add(pkey)
            if not found:
                break
        return edges, improved

    def _spans(self, edges: np.ndarray) -> bool:
        if len(self.terminals) <= 1:
            return True
        nodes = np.unique(np.concatenate([self.g.u[edges], self.g.v[edges]]))
        return len(nodes) == len(edges) + 1 and bool(
            self.is_term[nodes].sum() == len(self.terminals)
        )

    def key_vertex_elimination(self, edges: np.ndarray) -> tuple[np.ndarray, bool]:
        g = self.g
        cost = self.cost(edges)
        improved = False
        failed: set = self._failed_vertices if self.memo else set()
        while not self._timed_out():
            tree = self._tree(edges)
            down: dict[int, list[tuple]] = {}
            up: dict[int, tuple] = {}
            for p in tree.paths:
                down.setdefault(p[1], []).append(p)
                up[p[0]] = p
            cands = [x for x in tree.order.tolist() if not self.is_term[x] and tree.deg[x] >= 3]
            found = False
            for x in cands:
                pu = up[x]
                removed = [e for p in down[x] for e in p[3]] + list(pu[3])
                vkey = (x, *sorted(removed))
                if vkey in failed:
                    continue
                comps = [tree.subtree(p[0]) for p in down[x]]
                comps.append(tree.outside(pu[2]))
                wrem = float(g.w[removed].sum())
                new = self._reconnect(comps, x, wrem - self._tol(cost))
                if new is not None:
                    keep = np.setdiff1d(edges, np.array(removed, dtype=np.int64))
                    cand = self.mst_clean(np.concatenate([keep, new]))
                    new_cost = self.cost(cand)
                    if new_cost < cost - self._tol(cost) and self._spans(cand):
                        edges, cost = cand, new_cost
                        improved = found = True
                        break
                failed.add(vkey)
            if not found:
                break
        return edges, improved

    def _reconnect(self, comps: list[np.ndarray], banned: int, bound: float) -> np.ndarray | None:
        """Cheapest connection of the node sets ``comps`` avoiding ``banned``, if below ``bound``.

        Uses one multi-source Dijkstra and the MST of the Voronoi boundary graph (Mehlhorn).
        """
        g = self.g
        d = len(comps)
        sources = np.concatenate(comps)
        lab = self._map
        for i, c in enumerate(comps):
            lab[c] = i
        arcs_b = np.arange(g.indptr[banned], g.indptr[banned + 1], dtype=np.int64)
        arcs_b = np.concatenate([arcs_b, g.rev[arcs_b]])
        data = g.csr.data
        saved = data[arcs_b].copy()
        data[arcs_b] = np.inf
        try:
            dist, pred, src = dijkstra(
                g.csr,
                indices=sources,
                min_only=True,
                return_predecessors=True,
                limit=max(bound, 0.0),
            )
        finally:
            data[arcs_b] = saved
        reached = np.flatnonzero(np.isfinite(dist))
        arcs = g.arcs_of(reached)
        a = g.arc_src[arcs]
        b = g.indices[arcs].astype(np.int64)
        e = g.arc_edge[arcs]
        val = dist[a] + g.w[e] + dist[b]  # infinite when b is unreached (or banned)
        ok = val < bound
        arcs, a, b, e, val = arcs[ok], a[ok], b[ok], e[ok], val[ok]
        la = lab[src[a]]
        lb = lab[src[b]]
        lab[sources] = -1
        ok = la < lb
        if not ok.any():
            return None
        arcs, a, b, la, lb, e, val = arcs[ok], a[ok], b[ok], la[ok], lb[ok], e[ok], val[ok]
        order = np.lexsort((e, val, lb, la))
        pair = la[order] * d + lb[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = pair[1:] != pair[:-1]
        sel = order[first]
        sel = sel[np.lexsort((e[sel], val[sel]))]
        parent = list(range(d))

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        total = 0.0
        chosen = []
        for i in sel.tolist():
            ra, rb = find(int(la[i])), find(int(lb[i]))
            if ra != rb:
                parent[ra] = rb
                total += float(val[i])
                chosen.append(i)
                if len(chosen) == d - 1:
                    break
        if len(chosen) < d - 1 or not total < bound:
            return None
        out: list[int] = []
        for i in chosen:
            out.append(int(e[i]))
            out.extend(g.path_edges(pred, int(a[i])))
            out.extend(g.path_edges(pred, int(b[i])))
        return np.unique(np.array(out, dtype=np.int64))

    def _bottleneck(self, tree: _Tree) -> np.ndarray:
        """Matrix of the heaviest edge weight on the tree path between every two tree nodes.

        Rows and columns follow ``tree.order``.
        """
        w = self.g.w
        order = tree.order.tolist()
        s = len(order)
        bm = np.zeros((s, s), dtype=np.float64)
        tin = tree.tin
        parent = tree.parent
        pedge = tree.pedge
        for i in range(1, s):
            y = order[i]
            ip = tin[parent[y]]
            np.maximum(bm[:i, ip], w[pedge[y]], out=bm[:i, i])
        return np.maximum(bm, bm.T)

    def vertex_insertion(self, edges: np.ndarray) -> tuple[np.ndarray, bool]:
        """Insert the non-tree node that shortens the tree most, while one does.

        The gain of adding node ``x`` with edges of weights ``c`` to tree nodes ``U`` equals
        ``MST(B[U]) - MST(B[U] + star(x))``, where ``B`` is the bottleneck (heaviest path edge)
        metric of the tree; it is evaluated for all candidates at once by a batched Prim.
        """
        g = self.g
        edges = self.induced_clean(edges)
        cost = self.cost(edges)
        improved = False
        mask = np.zeros(g.n, dtype=bool)
        while not self._timed_out():
            tree = self._tree(edges)
            nodes = tree.order
            s = len(nodes)
            if s < 2 or s > self.max_insert_tree:
                break
            mask[nodes] = True
            arcs = g.arcs_of(nodes)
            tgt = g.indices[arcs].astype(np.int64)
            out = ~mask[tgt]
            mask[nodes] = False
            out_arcs = arcs[out]
            out_t = tgt[out]
            if not len(out_t):
                break
            order = np.lexsort((out_arcs, out_t))
            out_arcs, out_t = out_arcs[order], out_t[order]
            cand, starts, counts = np.unique(out_t, return_index=True, return_counts=True)
            c_all = g.w[g.arc_edge[out_arcs]]
            cmin = np.minimum.reduceat(c_all, starts)
            sel = counts >= 2
            cand, starts, counts, cmin = cand[sel], starts[sel], counts[sel], cmin[sel]
            if not len(cand):
                break
            bm = self._bottleneck(tree)
            pos = self._map
            pos[nodes] = np.arange(s)
            u_pos = pos[g.arc_src[out_arcs]]  # tree end (compact) of every outgoing arc
            pos[nodes] = -1
            gains = np.empty(len(cand), dtype=np.float64)
            by_count = np.argsort(counts, kind="stable")
            i = 0
            while i < len(by_count):
                jmax = int(counts[by_count[i]])
                j = i
                # chunk of candidates with similar neighbour counts, bounded memory
                limit = 2_000_000
                while (
                    j < len(by_count) and (j - i + 1) * (int(counts[by_count[j]]) + 1) ** 2 <= limit
                ):
                    jmax = int(counts[by_count[j]])
                    j += 1
                j = max(j, i + 1)
                idx = by_count[i:j]
                jmax = int(counts[idx].max())
                offs = np.minimum(np.arange(jmax)[None, :], counts[idx, None] - 1)
                take = starts[idx, None] + offs  # (b, jmax) arc rows, padded by repeating
                up = u_pos[take]
                cw = c_all[take]
                b = len(idx)
                mat = np.zeros((b, jmax + 1, jmax + 1), dtype=np.float64)
                mat[:, :jmax, :jmax] = bm[up[:, :, None], up[:, None, :]]
                mst_k = _batched_prim(mat[:, :jmax, :jmax])
                mat[:, jmax, :jmax] = cw
                mat[:, :jmax, jmax] = cw
                gains[idx] = mst_k - _batched_prim(mat)
                i = j
            ranked = np.lexsort((cand, -gains))
            accepted = False
            for t, best in enumerate(ranked[: self.insert_tries].tolist()):
                if t and not gains[best] > self._tol(cost) - cmin[best]:
                    break  # the node would only hang as a leaf
                st, ct = int(starts[best]), int(counts[best])
                star = g.arc_edge[out_arcs[st : st + ct]]
                cand_edges = self.induced_clean(self.mst_clean(np.concatenate([edges, star])))
                new_cost = self.cost(cand_edges)
                if new_cost < cost - self._tol(cost) and self._spans(cand_edges):
                    edges, cost = cand_edges, new_cost
                    improved = accepted = True
                    break
            if not accepted:
                break
        return edges, improved

    def local_search(self, edges: np.ndarray, insertion: bool = True) -> np.ndarray:
        """Apply all moves until none improves (or the deadline passes)."""
        if len(self.terminals) <= 2 or len(edges) == 0:
            return edges
        if not _KEEP_MEMO:
            self._failed_paths = set()
            self._failed_vertices = set()
        while not self._timed_out():
            any_imp = False
            edges, imp = self.key_path_exchange(edges)
            any_imp |= imp
            edges, imp = self.key_vertex_elimination(edges)
            any_imp |= imp
            if imp or not insertion:
                if imp:
                    continue
                break
            edges, imp = self.vertex_insertion(edges)
            any_imp |= imp
            if not any_imp:
                break
        return edges


_DP_WORK = 3.0e6  # 2**(k-1) * (n + m) bound for the exact Dreyfus-Wagner DP
_DP_CELLS = 2.0e7  # 2**(k-1) * n bound (memory of the DP tables)
_DP_MAX_K = 9  # beyond this the 3^k merging costs more than the heuristic


def dp_feasible(n: int, m: int, k: int) -> bool:
    """Whether the exact Dreyfus-Wagner DP is cheap enough for this instance size."""
    if k < 3 or k > _DP_MAX_K:
        return False
    q = 2 ** (k - 1)
    return q * (n + m + 1) <= _DP_WORK and q * (n + 1) <= _DP_CELLS


def _splits(s: int, masks: np.ndarray) -> np.ndarray:
    """Proper subsets of the bit set ``s`` that contain its lowest bit."""
    low = s & -s
    rest = s ^ low
    subs = np.unique(rest & masks[: rest + 1]) | low
    return subs[subs != s]


def dreyfus_wagner(g: SimpleGraph, terminals: np.ndarray) -> np.ndarray:
    """Exact minimum Steiner tree by the Dreyfus-Wagner dynamic programme.

    ``f[S](v)`` is the weight of a cheapest tree spanning the terminal subset ``S`` and node
    ``v``: singletons are shortest-path distances; larger sets first merge two complementary
    subsets at every node, then spread the merged labels by one Dijkstra run from a virtual
    source joined to every node by an arc weighted with its label. The last terminal is the
    root, so the tables cover subsets of the other ``k - 1``. Time ``O(3^k n + 2^k m log n)``.

    Returns the tree's edge indices (sorted).
    """
    terminals = np.asarray(terminals, dtype=np.int64)
    k = len(terminals)
    n = g.n
    q = k - 1
    full = (1 << q) - 1
    f = np.full((full + 1, n), np.inf)
    preds = np.full((full + 1, n), _NO_PRED, dtype=np.int32)
    d0, p0 = dijkstra(g.csr, indices=terminals[:q], return_predecessors=True)
    for i in range(q):
        f[1 << i] = d0[i]
        preds[1 << i] = p0[i]
    masks = np.arange(full + 1)
    popc = np.zeros(full + 1, dtype=np.int64)
    for i in range(q):
        popc += (masks >> i) & 1
    base = g.csr
    b_indptr = base.indptr.astype(np.int64)
    b_indices = base.indices.astype(np.int64)
    for level in range(2, q + 1):
        level_sets = np.flatnonzero(popc == level)
        nb = len(level_sets)
        merged = np.empty((nb, n))
        for j, s in enumerate(level_sets.tolist()):
            s1 = _splits(s, masks)
            merged[j] = (f[s1] + f[s ^ s1]).min(axis=0)
        # one Dijkstra run for the whole level: virtual sources n..n+nb-1, each with an arc
        # to every node weighted by its merged label (sources have no incoming arcs)
        indptr = np.concatenate([b_indptr, b_indptr[-1] + n * np.arange(1, nb + 1)])
        indices = np.concatenate([b_indices, np.tile(np.arange(n, dtype=np.int64), nb)])
        data = np.concatenate([base.data, merged.ravel()])
        aug = csr_matrix((data, indices, indptr), shape=(n + nb, n + nb))
        dist, pred = dijkstra(aug, indices=np.arange(n, n + nb), return_predecessors=True)
        f[level_sets] = dist[:, :n]
        pr = pred[:, :n]
        preds[level_sets] = np.where(pr >= n, n, pr)
    # reconstruction
    out: list[int] = []
    stack = [(full, int(terminals[q]))]
    while stack:
        s, v = stack.pop()
        p = preds[s]
        nodes = [v]
        x = v
        if popc[s] == 1:
            while p[x] != _NO_PRED:
                x = int(p[x])
                nodes.append(x)
        else:
            while p[x] != n:
                x = int(p[x])
                nodes.append(x)
        if len(nodes) > 1:
            arr = np.array(nodes, dtype=np.int64)
            out.extend(g.edge_ids(arr[:-1], arr[1:]).tolist())
        if popc[s] == 1:
            continue
        u = x
        s1 = _splits(s, masks)
        val = f[s1, u] + f[s ^ s1, u]
        j = int(np.argmin(val))
        stack.append((int(s1[j]), u))
        stack.append((int(s ^ s1[j]), u))
    return np.unique(np.array(out, dtype=np.int64))


def restart_budget(m: int, k: int) -> int:
    """Number of perturbed restarts for a graph of ``m`` edges and ``k`` terminals.

    One restart costs about ``k`` Dijkstra runs plus a local search, so the count is a fixed
    amount of work divided by ``k * m`` (clamped): small instances get many restarts, huge ones
    few. It depends on the instance size only, never on the clock.
    """
    work = _RESTART_WORK / max(1, k * (m + 1000))
    if work >= 0.5 > _MIN_RESTARTS:
        work = max(work, 1.0)  # at least one restart (and recombination) when half of one fits
    return int(min(_MAX_RESTARTS, max(_MIN_RESTARTS, work)))


_RESTART_WORK = 2.0e5
_KEEP_MEMO = True  # failed-move memos persist across restarts (saves repeated searches)
_N_STARTS = 2
_N_ROOTS = 4
_MIN_RESTARTS = 0
_MAX_RESTARTS = 40
_PATIENCE = 4
_ELITE = 6
_SEED = 20180601
_LS_RESTARTS = True
_RECOMBINE_ROOTS = 16  # shortest-path heuristic roots on the union graph (all terminals)
_RECOMBINE_STARTS = 1  # local searches on the union graph
_RECOMBINE_INSERTION = False  # cheap moves only there; the full search follows on the graph


class _Elite:
    """The best distinct trees found so far (cost, then insertion order, decide the ranking)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: list[tuple[float, int, np.ndarray]] = []
        self.keys: set[bytes] = set()
        self._count = 0

    def add(self, cost: float, edges: np.ndarray) -> bool:
        """Add a tree; return whether it is a new overall best."""
        edges = np.sort(edges)
        key = edges.tobytes()
        if key in self.keys:
            return False
        best = self.items[0][0] if self.items else np.inf
        self.keys.add(key)
        self.items.append((cost, self._count, edges))
        self._count += 1
        self.items.sort(key=lambda t: (t[0], t[1]))
        for _c, _i, e in self.items[self.size :]:
            self.keys.discard(e.tobytes())
        del self.items[self.size :]
        return cost < best - 1e-9 * max(1.0, abs(cost))

    @property
    def best(self) -> tuple[float, np.ndarray]:
        c, _i, e = self.items[0]
        return c, e


def _recombine(g: SimpleGraph, terminals: np.ndarray, edges: np.ndarray, deadline) -> np.ndarray:
    """Solve the instance restricted to the union of several trees (``edges``)."""
    nodes = np.unique(np.concatenate([g.u[edges], g.v[edges]]))
    mp = np.full(g.n, -1, dtype=np.int64)
    mp[nodes] = np.arange(len(nodes))
    sub = SimpleGraph(len(nodes), mp[g.u[edges]], mp[g.v[edges]], g.w[edges])
    out = solve(
        sub,
        mp[terminals],
        deadline=deadline,
        n_roots=min(len(terminals), _RECOMBINE_ROOTS),
        restarts=0,
        recombine=False,
        n_starts=_RECOMBINE_STARTS,
        insertion=_RECOMBINE_INSERTION,
    )
    return edges[out]


def solve(
    g: SimpleGraph,
    terminals: np.ndarray,
    *,
    deadline: float | None = None,
    local_search: bool = True,
    n_roots: int | None = None,
    n_starts: int | None = None,
    insertion: bool = True,
    restarts: int | None = None,
    recombine: bool = True,
    ls_restarts: bool | None = None,
) -> np.ndarray:
    """Steiner tree edge indices of ``g`` spanning ``terminals`` (distinct, connected).

    Parameters
    ----------
    g
        The simple graph.
    terminals
        Distinct terminal nodes in one connected component.
    deadline
        ``time.perf_counter()`` value after which improvement stops.
    local_search
        ``False`` returns the best construction (used by tests to compare).
    n_roots
        Number of roots of the shortest-path heuristic (spread over the terminals;
        ``None``: ``_N_ROOTS``).
    n_starts
        Number of distinct best constructions improved by local search (``None``:
        ``_N_STARTS``).
    restarts
        Number of perturbed restarts (``None``: :func:`restart_budget`). Each one runs the
        shortest-path heuristic on weights multiplied by seeded random factors in [1, 1.25]
        (edges of the current best tree get the high end more often), then local search on the
        true weights. The search stops early after ``_PATIENCE`` restarts without improvement.
    recombine
        Finally solve again on the union of the best distinct trees found.
    ls_restarts
        Improve each restart's tree by key-path exchange and key-vertex elimination
        (``None``: the module default ``_LS_RESTARTS``).
    """
    terminals = np.asarray(terminals, dtype=np.int64)
    k = len(terminals)
    if k <= 1:
        return np.empty(0, dtype=np.int64)
    if n_starts is None:
        n_starts = _N_STARTS
    if n_roots is None:
        n_roots = _N_ROOTS
    solver = Solver(g, terminals, deadline)
    if local_search and dp_feasible(g.n, g.m, k):
        return solver.mst_clean(dreyfus_wagner(g, terminals))
    dist, pred = solver.distance_matrix()
    if k <= n_roots:
        roots = list(range(k))
    else:
        roots = sorted({int(i) for i in np.linspace(0, k - 1, n_roots).round()})
    raw: list[tuple[float, int, np.ndarray]] = []
    seen: set[tuple[int, ...]] = set()
    for r in roots:
        e = solver.prune(solver.sph(dist, pred, r))
        key = tuple(e.tolist())
        if key in seen:
            continue
        seen.add(key)
        raw.append((solver.cost(e), r, e))
    raw.sort(key=lambda t: (t[0], t[1]))
    starts: list[tuple[float, int, np.ndarray]] = []
    seen = set()
    for _c, r, e in raw[: max(2 * n_starts, 1)]:
        e = solver.induced_clean(e)
        key = tuple(e.tolist())
        if key in seen:
            continue
        seen.add(key)
        starts.append((solver.cost(e), r, e))
    starts.sort(key=lambda t: (t[0], t[1]))
    if not local_search:
        return starts[0][2]
    elite = _Elite(_ELITE)
    n_restarts = restart_budget(g.m, k) if restarts is None else int(restarts)
    for _c, _r, e in starts[:n_starts]:
        e = solver.local_search(e, insertion)
        elite.add(solver.cost(e), e)
        if solver._timed_out():
            break
    if k <= 2:
        return elite.best[1]
    rng = np.random.default_rng(_SEED)
    idle = 0
    for _ in range(n_restarts):
        if solver._timed_out() or idle >= _PATIENCE:
            break
        factor = rng.uniform(1.0, 1.25, g.m)
        best_edges = elite.best[1]
        factor[best_edges] = np.maximum(factor[best_edges], rng.uniform(1.0, 1.25, len(best_edges)))
        pw = g.w * factor
        csr = csr_matrix((pw[g.arc_edge], g.indices, g.indptr), shape=(g.n, g.n))
        d, p = dijkstra(csr, indices=terminals, return_predecessors=True)
        r = int(rng.integers(k))
        e = solver.induced_clean(solver.prune(solver.sph(d, p, r)))
        if _LS_RESTARTS if ls_restarts is None else ls_restarts:  # cheap moves only
            e = solver.local_search(e, False)
        if elite.add(solver.cost(e), e):
            idle = 0
        else:
            idle += 1
    if recombine and n_restarts and len(elite.items) > 1 and not solver._timed_out():
        union = np.unique(np.concatenate([e for _c, _i, e in elite.items]))
        e = _recombine(g, terminals, union, deadline)
        e = solver.local_search(e, insertion)
        elite.add(solver.cost(e), e)
    return elite.best[1]


def _batched_prim(mat: np.ndarray) -> np.ndarray:
    """Total weight of the minimum spanning tree of each dense symmetric matrix in ``mat``."""
    b, n, _ = mat.shape
    total = np.zeros(b, dtype=np.float64)
    if n <= 1:
        return total
    rows = np.arange(b)
    done = np.zeros((b, n), dtype=bool)
    done[:, 0] = True
    best = mat[:, 0, :].copy()
    best[done] = np.inf
    for _ in range(n - 1):
        k = np.argmin(best, axis=1)
        total += best[rows, k]
        done[rows, k] = True
        np.minimum(best, mat[rows, k, :], out=best)
        best[done] = np.inf
    return total
