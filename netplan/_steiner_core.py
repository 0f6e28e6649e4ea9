"""Steiner tree search on compact integer graphs (private; see :mod:`netplan.steiner`).

Everything here works on a *simple* undirected graph held as numpy arrays (``u``, ``v``, ``w``)
and a symmetric CSR view. The inner loops (reductions, shortest paths, construction, moves,
tabu search, the exact DP) are compiled kernels in :mod:`netplan._steiner_jit`; this module
drives them.

Algorithm
---------
0. Budget and reductions: the search may do :func:`work_budget` units of work, proportional to
   the graph as given. Then non-terminal dead ends are removed and paths through non-terminals
   of degree 2 become single edges (:func:`reduce_graph`; road graphs lose about a third of
   their nodes), and everything below runs on the reduced graph, whose tree expands back.
   Where the exact Dreyfus-Wagner dynamic programme costs at most ``_DP_PREMIUM`` times the
   budget (:func:`dp_feasible`; few terminals), it solves the instance instead.
1. Construction: the shortest-path heuristic of Takahashi and Matsuyama (grow a tree from a root
   terminal, always adding the terminal nearest to the tree by its shortest path) from up to
   ``_N_ROOTS`` roots, each result replaced by the MST of the subgraph its nodes induce and
   pruned of non-terminal leaves.
2. Local search on the best construction until no move improves, the budget is spent or the
   deadline passes:

   * key-path exchange: remove a key path (a tree path whose inner nodes are Steiner nodes of
     degree 2) and reconnect the two halves by a shortest path (a Dijkstra run from the
     smaller half's nodes near the path, bounded by the path's weight);
   * Steiner-vertex insertion: add a node outside the tree when the pruned MST of the grown
     node set is lighter (after an induced-MST clean);
   * key-vertex elimination, once the two moves above are exhausted: remove a Steiner key node,
     or a pair of them, with their key paths, and reconnect the pieces by the cheaper of the
     MST of their Voronoi boundary graph (Mehlhorn) and an MST through one new hub node. Each
     piece's search stops where no reconnection lighter than the removed weight can reach, given
     what the other pieces must pay to be left at all (so terminals hanging on heavy edges do
     not widen the searches), and no new candidate starts once the budget is spent.

   Moves found not to improve are remembered by a hash of their edges for the whole solve.
3. Perturbed restarts (iterated local search): the shortest-path heuristic on weights multiplied
   by seeded random factors in ``[1, 1 + _PERTURB]`` from a random root, then local search on
   the true weights, until ``1 - _TABU_SHARE`` of the budget is spent or ``_PATIENCE``
   restarts bring nothing better. The ``_ELITE`` best distinct trees are kept.
4. Recombination: the instance restricted to the union of the elite trees is solved again and
   the result improved on the full graph.
5. Tabu search over Steiner node sets from the elite trees with the rest of the budget (at
   least ``_TABU_SHARE`` of it): add / drop moves, each evaluated by the pruned MST of the
   induced subgraph, a random window of ``_TABU_SAMPLE`` of each kind per iteration, random
   tie-breaks. It walks across the plateaus of equal weight where the edge moves stall (unit
   weights).

Budgets count the work the kernels do (arcs scanned, heap pops, node scans, sorts), not
seconds; ties are broken by node / edge index and the random numbers come from a fixed-seed
``numpy.random.Generator``, so results are deterministic on any machine (unless a deadline cuts
the search short).
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np

from netplan import _steiner_jit as _jit

_UNLIMITED = 2**62  # a work limit never reached


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


class Reduced(NamedTuple):
    """A graph after :func:`reduce_graph`: its terminals and the original edges of its edges."""

    graph: SimpleGraph
    terminals: np.ndarray
    cptr: np.ndarray  # edge i of ``graph`` stands for original edges chain[cptr[i]:cptr[i + 1]]
    chain: np.ndarray

    def expand(self, edges: np.ndarray) -> np.ndarray:
        """Sorted original edge indices of the reduced graph's ``edges``."""
        ptr, out = _jit.compose_chains(
            self.cptr, self.chain, np.array([0, len(edges)], dtype=np.int64),
            np.ascontiguousarray(edges, dtype=np.int64),
        )  # fmt: skip
        return np.sort(out)


def reduce_graph(g: SimpleGraph, terminals: np.ndarray) -> Reduced | None:
    """Degree-1 and degree-2 reductions to a fixed point (``None`` when nothing reduces).

    Non-terminal dead ends are removed and paths through non-terminals of degree 2 become
    single edges (the lighter one is kept where that makes parallel edges), rounds repeated
    until nothing changes; see :func:`_jit.reduce_round`. Every Steiner tree of the reduced
    graph expands to one of the same weight, and a minimum one to a minimum one. Nodes are
    renumbered in their original order.
    """
    is_term = np.zeros(g.n, dtype=np.bool_)
    is_term[terminals] = True
    u, v, w = g.u, g.v, g.w
    indptr, adj, aed = g.indptr, g.indices, g.arc_edge
    cptr = np.arange(g.m + 1, dtype=np.int64)
    chain = np.arange(g.m, dtype=np.int64)
    reduced = False
    while True:
        alive, na, nb, nw, ncp, nch, changed = _jit.reduce_round(indptr, adj, aed, u, v, w, is_term)
        if not changed:
            break
        reduced = True
        kept = np.flatnonzero(alive)
        lptr = np.concatenate([np.arange(len(kept)), ncp + len(kept)])
        cptr, chain = _jit.compose_chains(cptr, chain, lptr, np.concatenate([kept, nch]))
        a = np.concatenate([u[kept], np.minimum(na, nb)])
        b = np.concatenate([v[kept], np.maximum(na, nb)])
        w = np.concatenate([w[kept], nw])
        # one edge per node pair: the lightest (the first on ties)
        key = a * g.n + b
        order = np.lexsort((np.arange(len(key)), w, key))
        first = np.ones(len(order), dtype=bool)
        first[1:] = key[order][1:] != key[order][:-1]
        keep = np.sort(order[first])
        u, v, w = a[keep], b[keep], w[keep]
        cptr, chain = _jit.compose_chains(
            cptr, chain, np.arange(len(keep) + 1, dtype=np.int64), keep.astype(np.int64)
        )
        indptr, adj, aed = _jit.build_csr(g.n, u, v)
    if not reduced:
        return None
    used = is_term.copy()
    used[u] = True
    used[v] = True
    mp = np.cumsum(used) - 1
    return Reduced(SimpleGraph(int(used.sum()), mp[u], mp[v], w), mp[terminals], cptr, chain)


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

    def charge(self, work: int) -> None:
        """Count ``work`` units done outside the kernels."""
        self.wk.gen[2] += int(work)

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

    def key_vertex_elimination(
        self, te: np.ndarray, tdeg: np.ndarray, stop: float = _UNLIMITED
    ) -> bool:
        """Key-vertex elimination (see the kernel); no new candidate once the work reaches ``stop``."""
        wk = self.wk
        indptr, adj, aed, eu, ev = self._csr
        return _jit.key_vertex_elimination(
            indptr, adj, aed, eu, ev, self.g.w, te, tdeg, self.is_term, self.tol, wk.dist,
            wk.pred, wk.hnode, wk.hpos, wk.hsize, wk.touched, wk.ntouched, wk.stamp, wk.label,
            wk.mark, wk.gen, wk.order, wk.tin, wk.size, wk.par, wk.pedge, wk.stack, wk.tdist,
            wk.dd, wk.pp, self.memo, _KVE_PAIRS, _KVE_RADIUS, int(min(stop, _UNLIMITED)),
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
            int(_TABU_PATIENCE), int(self.work + work), rnd, _TABU_TENURE[0], _TABU_TENURE[1],
            _TABU_SAMPLE, self.wk.gen,
        )  # fmt: skip

    def local_search(self, te: np.ndarray, tdeg: np.ndarray, stop: float = _UNLIMITED) -> None:
        """Apply all moves until none improves, the work reaches ``stop`` or the deadline passes.

        In place. The cheap moves run to a local optimum first, then the costly key-vertex
        elimination.
        """
        if len(self.terminals) <= 2:
            return
        while not self.timed_out() and self.work < stop:
            changed = self.key_path_exchange(te, tdeg)
            self.clean(te, tdeg)
            changed |= self.vertex_insertion(te, tdeg)
            if not changed and not self.key_vertex_elimination(te, tdeg, stop):
                break


_DP_CELLS = 2.0e7  # 2**(k-1) * n bound (memory of the DP tables)
_DP_PASS = 4.0  # work units per node and edge of one Dijkstra pass of the DP
_DP_MERGE = 0.5  # work units per node of one subset merge of the DP
_DP_PREMIUM = 4.0  # the exact DP may cost this many times the search's budget


def dp_work(n: int, m: int, k: int) -> float:
    """Work units the Dreyfus-Wagner DP needs on ``n`` nodes, ``m`` edges, ``k`` terminals.

    ``2^(k-1)`` passes of a Dijkstra-like spread over the graph and about ``3^(k-1) / 2``
    merges of two labels at every node, in the units of :func:`work_budget` (measured on
    the compiled kernels).
    """
    return 2.0 ** (k - 1) * (n + m) * _DP_PASS + 3.0 ** (k - 1) / 2 * n * _DP_MERGE


def dp_feasible(n: int, m: int, k: int, budget: float) -> bool:
    """Whether the exact DP is worth its cost and fits in memory.

    It is, for at least three terminals, when it costs at most ``_DP_PREMIUM`` times the
    search's ``budget``: an exact tree is worth more than the search's near-optimal one.
    """
    if k < 3 or 2 ** (k - 1) * (n + 1) > _DP_CELLS:  # (memory first: 3^k overflows floats)
        return False
    return dp_work(n, m, k) <= _DP_PREMIUM * budget


def dreyfus_wagner(g: SimpleGraph, terminals: np.ndarray) -> np.ndarray:
    """Exact minimum Steiner tree (sorted edge indices); see :func:`_jit.dreyfus_wagner`."""
    heap = (np.zeros(g.n, dtype=np.int64), np.full(g.n, -1, dtype=np.int64), np.zeros(1, np.int64))
    return _jit.dreyfus_wagner(
        g.indptr, g.indices, g.arc_edge, g.u, g.v, g.w,
        np.ascontiguousarray(terminals, dtype=np.int64), *heap,
    )  # fmt: skip


def work_budget(n: int, m: int) -> int:
    """Work units the search may spend on a graph of ``n`` nodes and ``m`` edges.

    ``_WORK_PER_SIZE * (n + m) + _WORK_FLOOR``: proportional to the graph as given, as is the
    time of one shortest-path computation (and of networkx's Mehlhorn heuristic), plus a small
    floor (about what the smallest graphs cost that heuristic too). It is set before the
    reductions, so the work they save goes to the search. The kernels count the work (arcs
    scanned, heap pops, node scans; ``_RESTART_WORK`` for the driver's own work per restart),
    so the budget depends on the instance only, never on the clock.
    """
    return int(_WORK_PER_SIZE * (n + m) + _WORK_FLOOR)


_MEMO_SLOTS = 1 << 15  # failed-move table size (emptied when half full)
_KVE_MAX_PIECES = 16  # key-vertex elimination skips removals leaving more pieces
_KVE_PAIRS = 2  # key-vertex elimination also removes pairs: joined by a key path (1), or also
# through one key node (2)
_KVE_RADIUS = 0.5  # piece searches stop at this share of the removed weight
_WORK_PER_SIZE = 400  # budget per node and edge (about a third of Mehlhorn's time for them)
_WORK_FLOOR = 100_000  # budget of any instance, however small (about half a millisecond)
_CONSTRUCT_SHARE = 0.25  # constructions from further roots while the work is below this share
_TABU_SHARE = 0.25  # share of the budget kept for the final tabu search
_RESTART_WORK = 2000  # driver work per restart (array set-up, kernel calls), plus n + m
_N_ROOTS = 2
_PATIENCE = 10
_ELITE = 8
_SEED = 20180601
_PERTURB = 1.0  # restart weights are multiplied by factors in [1, 1 + _PERTURB]
_TABU_ITERS = 2000
_TABU_PATIENCE = 100
_TABU_ROUNDS = 8
_TABU_TENURE = (3, 10)
_TABU_SAMPLE = 16  # drop and add moves evaluated per tabu iteration (random windows)


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
    restarts: int | None = None,
    recombine: bool = True,
    exact: bool = True,
    tabu: bool = True,
    reduce: bool = True,
    budget: int | None = None,
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
    restarts
        Maximum number of perturbed restarts (``None``: as many as the work budget
        (:func:`work_budget`) allows; they also stop after ``_PATIENCE`` restarts without
        improvement).
    recombine
        Finally solve again on the union of the best distinct trees found.
    exact
        Use the exact dynamic programme where it is cheaper than the search
        (:func:`dp_feasible`).
    tabu
        Finish with the node-set tabu search.
    reduce
        Solve on the graph after the degree-1 and degree-2 reductions (:func:`reduce_graph`).
    budget
        Work units for the search (``None``: :func:`work_budget` of ``g``).

    Returns
    -------
    numpy.ndarray
        Sorted edge indices of the tree.
    """
    terminals = np.asarray(terminals, dtype=np.int64)
    if len(terminals) <= 1:
        return np.empty(0, dtype=np.int64)
    if budget is None:
        budget = work_budget(g.n, g.m)
    if reduce:
        red = reduce_graph(g, terminals)
        if red is not None:
            out = solve(red.graph, red.terminals, deadline=deadline, restarts=restarts,
                        recombine=recombine, exact=exact, tabu=tabu, reduce=False,
                        budget=budget)  # fmt: skip
            return red.expand(out)
    if exact and dp_feasible(g.n, g.m, len(terminals), budget):
        s = Search(g, terminals, deadline)
        te, tdeg = s.from_edges(dreyfus_wagner(g, terminals))
        s.tol = 1e-9 * max(1.0, s.cost(te))
        s.clean(te, tdeg)
        return s.edges(te)
    return _search(g, terminals, deadline, restarts, recombine, tabu, budget)


def _search(g: SimpleGraph, terminals: np.ndarray, deadline, restarts, recombine, tabu, budget):
    """Constructions, local search, restarts, recombination and tabu search (see module)."""
    s = Search(g, terminals, deadline)
    elite = _Elite(_ELITE)
    te, tdeg = _best_construction(s, budget * _CONSTRUCT_SHARE)
    s.local_search(te, tdeg, budget)
    elite.add(s.cost(te), s.edges(te))
    if len(terminals) <= 2 or s.timed_out():
        return elite.best[1]
    done = _restarts(s, elite, budget * (1 - _TABU_SHARE), restarts)
    if recombine and done and not s.timed_out():
        _recombine_into(s, elite, deadline, budget)
    if tabu and _TABU_ITERS:
        _tabu_rounds(s, elite, max(budget - s.work, int(budget * _TABU_SHARE)))
    return elite.best[1]


def _best_construction(s: Search, share: float) -> tuple[np.ndarray, np.ndarray]:
    """The lightest shortest-path-heuristic tree from up to ``_N_ROOTS`` roots.

    Roots are spread over the terminals; more are tried while the work stays below ``share``.
    """
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for r in _roots(len(s.terminals), _N_ROOTS):
        if best is not None and s.work >= share:
            break
        te, tdeg = s.construct(s.g.w, int(s.terminals[r]))
        cost = s.cost(te)
        if best is None or cost < best[0]:
            best = (cost, te, tdeg)
    assert best is not None  # at least one root is tried
    return best[1], best[2]


def _restarts(s: Search, elite: _Elite, stop: float, restarts: int | None) -> int:
    """Perturbed restarts until the work reaches ``stop`` or ``_PATIENCE`` bring nothing."""
    g, terminals = s.g, s.terminals
    rng = np.random.default_rng(_SEED)
    idle = 0
    done = 0
    while restarts is None or done < restarts:
        if s.timed_out() or idle >= _PATIENCE or s.work >= stop:
            break
        s.charge(_RESTART_WORK + g.n + g.m)
        ww = g.w * rng.uniform(1.0, 1.0 + _PERTURB, g.m)
        te, tdeg = s.construct(ww, int(terminals[rng.integers(len(terminals))]))
        s.local_search(te, tdeg, stop)
        idle = 0 if elite.add(s.cost(te), s.edges(te)) else idle + 1
        done += 1
    return done


def _tabu_rounds(s: Search, elite: _Elite, work: int) -> None:
    """Tabu searches from the elite trees, best first, while the work lasts."""
    stop = s.work + work
    for i, (_c, _n, edges) in enumerate(list(elite.items)[:_TABU_ROUNDS]):
        if s.work >= stop or s.timed_out():
            break
        te, tdeg = s.from_edges(edges)
        if s.tabu(te, tdeg, _TABU_ITERS, stop - s.work, _SEED + i):
            s.local_search(te, tdeg, stop)
            elite.add(s.cost(te), s.edges(te))


def _recombine_into(s: Search, elite: _Elite, deadline: float | None, stop: float) -> None:
    """Solve on the union of the elite trees, improve on the whole graph, offer to the elite."""
    if len(elite.items) < 2:
        return
    union = np.unique(np.concatenate([e for _c, _i, e in elite.items]))
    te, tdeg = s.from_edges(_recombine(s.g, s.terminals, union, deadline))
    s.local_search(te, tdeg, stop)
    elite.add(s.cost(te), s.edges(te))
