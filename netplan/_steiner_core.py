"""Steiner tree search on compact integer graphs (private; see :mod:`netplan.steiner`).

Everything here works on a *simple* undirected graph held as numpy arrays (``u``, ``v``, ``w``)
and a symmetric CSR view. The inner loops (shortest paths, construction, moves, tabu search,
the exact DP) are compiled kernels in :mod:`netplan._steiner_jit`; this module drives them.

Algorithm
---------
1. Construction: the shortest-path heuristic of Takahashi and Matsuyama (grow a tree from a root
   terminal, always adding the terminal nearest to the tree by its shortest path) from
   ``_N_ROOTS`` roots, each result replaced by the MST of the subgraph its nodes induce and
   pruned of non-terminal leaves.
2. Local search on the best construction until no move improves (or the deadline passes):

   * key-path exchange: remove a key path (a tree path whose inner nodes are Steiner nodes of
     degree 2) and reconnect the two halves by a shortest path (a Dijkstra run from the
     smaller half's nodes near the path, bounded by the path's weight);
   * Steiner-vertex insertion: add a node outside the tree when the pruned MST of the grown
     node set is lighter (after an induced-MST clean);
   * key-vertex elimination, once the two moves above are exhausted: remove a Steiner key node,
     or a pair of them, with their key paths, and reconnect the pieces by the cheaper of the
     MST of their Voronoi boundary graph (Mehlhorn) and an MST through one new hub node.

   Moves found not to improve are remembered by a hash of their edges for the whole solve.
3. Perturbed restarts (iterated local search): the shortest-path heuristic on weights multiplied
   by seeded random factors in ``[1, 1 + _PERTURB]`` from a random root, then local search on
   the true weights, until a work budget (:func:`work_budget`) is spent or ``_PATIENCE``
   restarts bring nothing better. The ``_ELITE`` best distinct trees are kept.
4. Recombination: the instance restricted to the union of the elite trees is solved again and
   the result improved on the full graph.
5. Tabu search over Steiner node sets from the elite trees (add / drop moves, each evaluated by
   the pruned MST of the induced subgraph, random tie-breaks), within ``_TABU_WORK``: it walks
   across the plateaus of equal weight where the edge moves stall (unit weights).

Small instances (at most ``_DP_MAX_K`` terminals and ``2^(k-1) (n + m)`` below ``_DP_WORK``)
are instead solved exactly by the Dreyfus-Wagner dynamic programme (:func:`dreyfus_wagner`).

Budgets count the work the kernels do (arcs scanned, heap pops), not seconds; ties are broken
by node / edge index and the random numbers come from a fixed-seed
``numpy.random.Generator``, so results are deterministic on any machine (unless a deadline cuts
the search short).
"""

from __future__ import annotations

import time

import numpy as np

from netplan import _steiner_jit as _jit


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
        self.u = np.ascontiguousarray(u, dtype=np.int64)
        self.v = np.ascontiguousarray(v, dtype=np.int64)
        self.w = np.ascontiguousarray(w, dtype=np.float64)
        self.m = len(self.u)
        self.indptr, self.indices, self.arc_edge = _jit.build_csr(self.n, self.u, self.v)


class Search:
    """Construction and local search for one instance, on the compiled kernels.

    A tree is held as an edge mask ``te`` (bool, one per edge) with node degrees ``tdeg``.

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
        self.terminals = np.ascontiguousarray(terminals, dtype=np.int64)
        self.is_term = np.zeros(g.n, dtype=np.bool_)
        self.is_term[self.terminals] = True
        self.root = int(self.terminals[0])
        self.deadline = deadline
        max_deg = int(np.diff(g.indptr).max()) if g.n else 0
        self.wk = _jit.make_work(g.n, rows=max(3, min(_KVE_MAX_PIECES, max_deg)))
        self.tol = 0.0  # set from the first construction's weight
        # moves found not to improve, by a hash of (node and) edges, kept for the whole solve
        self.memo = np.zeros(_MEMO_SLOTS, dtype=np.uint64)
        self._csr = (g.indptr, g.indices, g.arc_edge, g.u, g.v)

    @property
    def work(self) -> int:
        """Arcs scanned so far by the kernels (a machine-independent measure of effort)."""
        return int(self.wk.gen[2])

    def timed_out(self) -> bool:
        return self.deadline is not None and time.perf_counter() > self.deadline

    def cost(self, te: np.ndarray) -> float:
        return float(self.g.w[te].sum())

    def edges(self, te: np.ndarray) -> np.ndarray:
        return np.flatnonzero(te)

    def from_edges(self, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        g = self.g
        te = np.zeros(g.m, dtype=np.bool_)
        te[edges] = True
        tdeg = np.bincount(g.u[edges], minlength=g.n) + np.bincount(g.v[edges], minlength=g.n)
        return te, tdeg.astype(np.int64)

    def construct(self, ww: np.ndarray, root: int) -> tuple[np.ndarray, np.ndarray]:
        """Shortest-path heuristic on weights ``ww`` from node ``root``, MST-cleaned."""
        g = self.g
        wk = self.wk
        te = np.zeros(g.m, dtype=np.bool_)
        tdeg = np.zeros(g.n, dtype=np.int64)
        indptr, adj, aed, eu, ev = self._csr
        _jit.sph(indptr, adj, aed, eu, ev, ww, self.terminals, root, self.is_term, te, tdeg,
                 wk.dist, wk.pred, wk.hnode, wk.hpos, wk.hsize, wk.touched,
                 wk.ntouched, wk.gen)  # fmt: skip
        if not self.tol:
            self.tol = 1e-9 * max(1.0, self.cost(te))
        self.clean(te, tdeg)
        return te, tdeg

    def clean(self, te: np.ndarray, tdeg: np.ndarray) -> None:
        """Replace the tree by the pruned MST of the subgraph its nodes induce (in place)."""
        wk = self.wk
        indptr, adj, aed, eu, ev = self._csr
        _jit.induced_mst(indptr, adj, aed, eu, ev, self.g.w, te, tdeg, self.is_term, wk.dist,
                         wk.pred, wk.hnode, wk.hpos, wk.hsize, wk.touched, wk.ntouched,
                         wk.stamp, wk.gen)  # fmt: skip

    def key_path_exchange(self, te: np.ndarray, tdeg: np.ndarray) -> bool:
        wk = self.wk
        indptr, adj, aed, eu, ev = self._csr
        return _jit.key_path_exchange(
            indptr, adj, aed, eu, ev, self.g.w, te, tdeg, self.is_term, self.root, self.tol,
            wk.dist, wk.pred, wk.hnode, wk.hpos, wk.hsize, wk.touched, wk.ntouched, wk.stamp,
            wk.gen, wk.order, wk.tin, wk.size, wk.par, wk.pedge, wk.label, wk.tdist, wk.stack,
            self.memo,
        )  # fmt: skip

    def key_vertex_elimination(self, te: np.ndarray, tdeg: np.ndarray) -> bool:
        wk = self.wk
        indptr, adj, aed, eu, ev = self._csr
        return _jit.key_vertex_elimination(
            indptr, adj, aed, eu, ev, self.g.w, te, tdeg, self.is_term, self.tol, wk.dist,
            wk.pred, wk.hnode, wk.hpos, wk.hsize, wk.touched, wk.ntouched, wk.stamp, wk.label,
            wk.mark, wk.gen, wk.order, wk.tdist, wk.dd, wk.pp,
            self.memo, _KVE_PAIRS, _KVE_RADIUS,
        )  # fmt: skip

    def vertex_insertion(self, te: np.ndarray, tdeg: np.ndarray) -> bool:
        wk = self.wk
        indptr, adj, aed, eu, ev = self._csr
        return _jit.vertex_insertion(
            indptr, adj, aed, eu, ev, self.g.w, te, tdeg, self.is_term, self.tol, wk.gen
        )  # fmt: skip

    def tabu(self, te: np.ndarray, tdeg: np.ndarray, iters: int, work: int, seed: int) -> bool:
        """Tabu search over the tree's node set (in place); see :func:`_jit.node_tabu`."""
        indptr, adj, aed, eu, ev = self._csr
        rnd = np.random.default_rng(seed).random(4099)
        return _jit.node_tabu(
            indptr, adj, aed, eu, ev, self.g.w, te, tdeg, self.is_term, self.tol, int(iters),
            int(_TABU_PATIENCE), int(self.work + work), rnd, _TABU_TENURE[0], _TABU_TENURE[1], self.wk.gen,
        )  # fmt: skip

    def local_search(self, te: np.ndarray, tdeg: np.ndarray) -> None:
        """Apply all moves until none improves (or the deadline passes); in place."""
        if len(self.terminals) <= 2:
            return
        while not self.timed_out():
            # the cheap moves to a local optimum first, then the costly elimination
            changed = self.key_path_exchange(te, tdeg)
            self.clean(te, tdeg)
            changed |= self.vertex_insertion(te, tdeg)
            if changed:
                continue
            if not self.key_vertex_elimination(te, tdeg):
                break


_DP_WORK = 3.0e6  # 2**(k-1) * (n + m) bound for the exact Dreyfus-Wagner DP
_DP_CELLS = 2.0e7  # 2**(k-1) * n bound (memory of the DP tables)
_DP_MAX_K = 9  # beyond this the 3^k merging costs more than the heuristic


def dp_feasible(n: int, m: int, k: int) -> bool:
    """Whether the exact Dreyfus-Wagner DP is cheap enough for this instance size."""
    if k < 3 or k > _DP_MAX_K:
        return False
    q = 2 ** (k - 1)
    return q * (n + m + 1) <= _DP_WORK and q * (n + 1) <= _DP_CELLS


def dreyfus_wagner(g: SimpleGraph, terminals: np.ndarray) -> np.ndarray:
    """Exact minimum Steiner tree (sorted edge indices); see :func:`_jit.dreyfus_wagner`."""
    heap = (np.zeros(g.n, dtype=np.int64), np.full(g.n, -1, dtype=np.int64), np.zeros(1, np.int64))
    return _jit.dreyfus_wagner(
        g.indptr, g.indices, g.arc_edge, g.u, g.v, g.w,
        np.ascontiguousarray(terminals, dtype=np.int64), *heap,
    )  # fmt: skip


def work_budget(n: int, m: int) -> int:
    """Arcs the search may scan for a graph of ``n`` nodes and ``m`` edges (see :func:`solve`).

    ``_WORK_PER_SIZE * (n + m) + _WORK_FLOOR``: a construction scans a few times ``n + m``
    arcs, so large graphs get a few restarts and small ones (where every restart is cheap)
    many. Arcs scanned are counted by the kernels, so the budget depends on the instance only,
    never on the clock, and results are deterministic.
    """
    return int(_WORK_PER_SIZE * (n + m) + _WORK_FLOOR)


_MEMO_SLOTS = 1 << 15  # failed-move table size (emptied when half full)
_KVE_MAX_PIECES = 16  # key-vertex elimination skips removals leaving more pieces
_KVE_PAIRS = 2  # key-vertex elimination also removes pairs: joined by a key path (1), or also
# through one key node (2)
_KVE_RADIUS = 0.5  # piece searches stop at this share of the removed weight
_WORK_PER_SIZE = 100
_WORK_FLOOR = 1_000_000
_N_STARTS = 1
_N_ROOTS = 8
_MAX_RESTARTS = 2000
_PATIENCE = 10
_ELITE = 8
_SEED = 20180601
_PERTURB = 1.0  # restart weights are multiplied by factors in [1, 1 + _PERTURB]
_TABU_ITERS = 2000
_TABU_WORK = 1_000_000  # work all the final tabu searches together may use
_TABU_PATIENCE = 100
_TABU_ROUNDS = 8
_TABU_TENURE = (3, 10)


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
    out = solve(sub, mp[terminals], deadline=deadline, restarts=0, recombine=False, tabu=False)
    return edges[out]


def _roots(k: int, n_roots: int) -> list[int]:
    """Terminal positions used as construction roots, spread over the terminal list."""
    if k <= n_roots:
        return list(range(k))
    return sorted({int(i) for i in np.linspace(0, k - 1, n_roots).round()})


def solve(
    g: SimpleGraph,
    terminals: np.ndarray,
    *,
    deadline: float | None = None,
    local_search: bool = True,
    n_roots: int | None = None,
    n_starts: int | None = None,
    restarts: int | None = None,
    recombine: bool = True,
    exact: bool = True,
    tabu: bool = True,
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
        Maximum number of perturbed restarts (``None``: ``_MAX_RESTARTS``). Restarts stop when
        the work budget (:func:`work_budget`, arcs scanned) is spent or after ``_PATIENCE``
        restarts without improvement.
    recombine
        Finally solve again on the union of the best distinct trees found.
    exact
        Use the exact dynamic programme where it is cheap (:func:`dp_feasible`).

    Returns
    -------
    numpy.ndarray
        Sorted edge indices of the tree.
    """
    terminals = np.asarray(terminals, dtype=np.int64)
    k = len(terminals)
    if k <= 1:
        return np.empty(0, dtype=np.int64)
    if local_search and exact and dp_feasible(g.n, g.m, k):
        s = Search(g, terminals, deadline)
        te, tdeg = s.from_edges(dreyfus_wagner(g, terminals))
        s.tol = 1e-9 * max(1.0, s.cost(te))
        s.clean(te, tdeg)
        return s.edges(te)
    s = Search(g, terminals, deadline)
    n_starts = _N_STARTS if n_starts is None else n_starts
    raw: list[tuple[float, int, np.ndarray]] = []
    seen: set[bytes] = set()
    for r in _roots(k, _N_ROOTS if n_roots is None else n_roots):
        te, _tdeg = s.construct(g.w, int(terminals[r]))
        key = te.tobytes()
        if key not in seen:
            seen.add(key)
            raw.append((s.cost(te), r, te))
    raw.sort(key=lambda t: (t[0], t[1]))
    if not local_search:
        return s.edges(raw[0][2])
    elite = _Elite(_ELITE)
    for _c, _r, te in raw[:n_starts]:
        te, tdeg = s.from_edges(s.edges(te))
        s.local_search(te, tdeg)
        elite.add(s.cost(te), s.edges(te))
        if s.timed_out():
            break
    if k <= 2:
        return elite.best[1]
    n_restarts = _MAX_RESTARTS if restarts is None else int(restarts)
    budget = work_budget(g.n, g.m)
    rng = np.random.default_rng(_SEED)
    idle = 0
    done = 0
    while done < n_restarts:
        if s.timed_out() or idle >= _PATIENCE or s.work >= budget:
            break
        ww = g.w * rng.uniform(1.0, 1.0 + _PERTURB, g.m)
        te, tdeg = s.construct(ww, int(terminals[rng.integers(k)]))
        s.local_search(te, tdeg)
        if elite.add(s.cost(te), s.edges(te)):
            idle = 0
        else:
            idle += 1
        done += 1
    if recombine and done and not s.timed_out():
        _recombine_into(s, elite, deadline)
    if tabu and _TABU_ITERS:
        _tabu_rounds(s, elite, _TABU_WORK)
    return elite.best[1]


def _tabu_rounds(s: Search, elite: _Elite, work: int) -> None:
    """Tabu searches from the elite trees, best first, while the work budget lasts."""
    stop = s.work + work
    for i, (_c, _n, edges) in enumerate(list(elite.items)[:_TABU_ROUNDS]):
        if s.work >= stop or s.timed_out():
            break
        te, tdeg = s.from_edges(edges)
        if s.tabu(te, tdeg, _TABU_ITERS, stop - s.work, _SEED + i):
            s.local_search(te, tdeg)
            elite.add(s.cost(te), s.edges(te))


def _recombine_into(s: Search, elite: _Elite, deadline: float | None) -> None:
    """Solve on the union of the elite trees, improve on the whole graph, offer to the elite."""
    if len(elite.items) < 2:
        return
    union = np.unique(np.concatenate([e for _c, _i, e in elite.items]))
    te, tdeg = s.from_edges(_recombine(s.g, s.terminals, union, deadline))
    s.local_search(te, tdeg)
    elite.add(s.cost(te), s.edges(te))
