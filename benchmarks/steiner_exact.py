"""Exact Steiner tree optima for the benchmark instances (benchmark-only; needs ``highspy``).

* :func:`reduce_instance`: classical reductions that keep the optimum (non-terminal leaves
  removed, non-terminals of degree 2 replaced by one edge, terminal leaves merged into their
  neighbour), so the exact methods see smaller graphs;
* :func:`dp_value`: the Dreyfus-Wagner dynamic programme (netplan's compiled kernel) where
  ``2^(k-1) n`` is small;
* :func:`milp_value`: the directed-cut formulation solved with HiGHS by cut generation: the LP
  relaxation is tightened with violated cuts found by maximum flows until none is left, then
  the MILP is solved and any terminal its solution leaves unreached adds the cut around its
  component, until the solution is a tree (or the time cap is reached: the best lower bound is
  returned instead).

:func:`optimum` chooses the method and caches the result in a JSON file keyed by instance name,
with the instance's fingerprint so a changed generator never reuses a stale value.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.sparse import csr_array
from scipy.sparse.csgraph import breadth_first_order, maximum_flow

from netplan import _steiner_core as core


@dataclass(frozen=True)
class Reduced:
    """A reduced instance: its optimum plus ``offset`` is the original optimum."""

    n_nodes: int
    u: np.ndarray
    v: np.ndarray
    w: np.ndarray
    terminals: np.ndarray
    offset: float


def reduce_instance(n: int, u, v, w, terminals) -> Reduced:
    """Degree-1 and degree-2 reductions (see the module docstring); nodes renumbered."""
    adj: dict[int, dict[int, float]] = defaultdict(dict)
    for a, b, c in zip(
        np.asarray(u).tolist(), np.asarray(v).tolist(), np.asarray(w).tolist(), strict=True
    ):
        if a != b and c < adj[a].get(b, np.inf):
            adj[a][b] = c
            adj[b][a] = c
    terms = set(np.asarray(terminals).tolist())
    offset = 0.0
    queue = list(adj)
    while queue and len(terms) > 1:
        x = queue.pop()
        if x not in adj:
            continue
        nb = adj[x]
        if len(nb) == 0 and x not in terms:
            del adj[x]
        elif len(nb) == 1:
            ((y, c),) = nb.items()
            del adj[y][x]
            del adj[x]
            if x in terms:  # a terminal leaf: its edge is in every tree
                offset += c
                terms.discard(x)
                terms.add(y)
            queue.append(y)
        elif len(nb) == 2 and x not in terms:
            (a, ca), (b, cb) = nb.items()
            del adj[a][x]
            del adj[b][x]
            del adj[x]
            if ca + cb < adj[a].get(b, np.inf):
                adj[a][b] = ca + cb
                adj[b][a] = ca + cb
            queue += [a, b]
    nodes = sorted(set(adj) | terms)
    index = {x: i for i, x in enumerate(nodes)}
    rows = [(index[a], index[b], c) for a in adj for b, c in adj[a].items() if a < b]
    arr = np.array(rows, dtype=float).reshape(-1, 3)
    return Reduced(
        len(nodes), arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64), arr[:, 2],
        np.array(sorted(index[t] for t in terms), dtype=np.int64), offset,
    )  # fmt: skip


_DP_CELLS = 2e7  # 2^(k-1) n: memory of the DP tables (16 bytes a cell)
_DP_MERGES = 2e9  # 3^(k-1) n: the subset merging


def dp_feasible(n: int, k: int) -> bool:
    """Whether :func:`dp_value` is cheap enough (seconds) for ``n`` nodes and ``k`` terminals."""
    return k >= 2 and 2 ** (k - 1) * n <= _DP_CELLS and 3 ** (k - 1) * n <= _DP_MERGES


def dp_value(n: int, u, v, w, terminals) -> float:
    """Exact optimum by the Dreyfus-Wagner DP (netplan's kernel, tested against brute force)."""
    if len(terminals) < 2:
        return 0.0
    g = core.SimpleGraph(n, u, v, w)
    return float(g.w[core.dreyfus_wagner(g, np.asarray(terminals, dtype=np.int64))].sum())


@dataclass(frozen=True)
class MilpResult:
    """``value`` is the optimum, or ``None`` when the time cap stopped the solve first.

    ``bound_proof``: the optimum is the known tree's weight ``upper``, proven by a lower bound
    above ``upper - 1`` (integer weights) rather than by a solved MILP.
    """

    value: float | None
    lower: float
    seconds: float
    bound_proof: bool = False


COUPLE = False
EPS = 1e-3


class _DCut:
    """The directed-cut MILP of one (reduced) instance in a HiGHS model."""

    def __init__(self, r: Reduced) -> None:
        import highspy

        self.r = r
        n, m = r.n_nodes, len(r.u)
        self.root = int(r.terminals[0])
        self.tail = np.concatenate([r.u, r.v])
        self.head = np.concatenate([r.v, r.u])
        self.is_term = np.zeros(n, dtype=bool)
        self.is_term[r.terminals] = True
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        h.setOptionValue("mip_rel_gap", 0.0)
        h.setOptionValue("mip_abs_gap", 0.5)  # integer weights: < 1 proves optimality
        ub = np.ones(2 * m)
        ub[self.head == self.root] = 0.0
        h.addVars(2 * m, np.zeros(2 * m), ub)
        h.changeColsCost(2 * m, np.arange(2 * m, dtype=np.int32), np.concatenate([r.w, r.w]))
        self.h = h
        into = [np.flatnonzero(self.head == x) for x in range(n)]
        out = [np.flatnonzero(self.tail == x) for x in range(n)]
        rows: list[tuple[float, float, np.ndarray, np.ndarray]] = []
        for x in range(n):
            if x == self.root:
                continue
            one = np.ones(len(into[x]))
            # a terminal has one arc in; any other node at most one
            rows.append((1.0 if self.is_term[x] else 0.0, 1.0, into[x], one))
            for a in out[x] if COUPLE else ():  # an arc leaves x only if x is reached
                rows.append((-np.inf, 0.0, np.concatenate([[a], into[x]]),
                             np.concatenate([[1.0], -one])))  # fmt: skip
            if not self.is_term[x]:  # a reached Steiner node is left again
                rows.append((-np.inf, 0.0, np.concatenate([into[x], out[x]]),
                             np.concatenate([one, -np.ones(len(out[x]))])))  # fmt: skip
        for e in range(m):
            rows.append((-np.inf, 1.0, np.array([e, e + m]), np.ones(2)))
        self._add(rows)
        self.cuts = 0

    def _add(self, rows) -> None:
        if not rows:
            return
        lo = np.array([r[0] for r in rows])
        hi = np.array([r[1] for r in rows])
        starts = np.cumsum([0] + [len(r[2]) for r in rows[:-1]]).astype(np.int32)
        idx = np.concatenate([r[2] for r in rows]).astype(np.int32)
        val = np.concatenate([r[3] for r in rows]).astype(float)
        self.h.addRows(len(rows), lo, hi, len(idx), starts, idx, val)

    def cut(self, inside: np.ndarray) -> tuple[float, float, np.ndarray, np.ndarray]:
        """The cut row: at least one arc enters the node set ``inside`` (a bool mask)."""
        arcs = np.flatnonzero(~inside[self.tail] & inside[self.head])
        self.cuts += 1
        return (1.0, np.inf, arcs, np.ones(len(arcs)))

    def solve(self, seconds: float) -> tuple[str, np.ndarray, float]:
        self.h.setOptionValue("time_limit", self.h.getRunTime() + max(seconds, 0.01))
        self.h.run()
        status = self.h.modelStatusToString(self.h.getModelStatus())
        x = np.asarray(self.h.getSolution().col_value)
        return status, x, float(self.h.getInfo().objective_function_value)

    def separate(self, x: np.ndarray, nested: int = 10) -> list:
        """Violated cuts of the LP solution ``x``, by max-flows from the root to each terminal.

        For each terminal, up to ``nested`` cuts: after each, the arcs of the cut get full
        capacity and the flow is computed again (nested cuts), and each minimum cut gives its
        root-side and terminal-side version.
        """
        n = self.r.n_nodes
        scale = 1_000_000
        # a small capacity on every arc makes the minimum cuts the ones with few arcs
        base = np.rint((np.clip(x, 0, 1) + EPS) * scale).astype(np.int64)
        rows = []
        for t in self.r.terminals[1:]:
            cap = base.copy()
            for _nest in range(nested):
                graph = csr_array((cap.astype(np.int32), (self.tail, self.head)), shape=(n, n))
                res = maximum_flow(graph, self.root, int(t))
                if res.flow_value >= scale - 1000:
                    break
                resid = graph - res.flow
                resid.data[resid.data < 0] = 0
                resid.eliminate_zeros()
                back = np.zeros(n, dtype=bool)
                back[breadth_first_order(resid.T.tocsr(), int(t), return_predecessors=False)] = True
                row = self.cut(back)
                if x[row[2]].sum() > 1 - 1e-4:
                    break
                rows.append(row)
                cap[row[2]] = scale
        return rows

    def components(self, x: np.ndarray) -> list:
        """Cuts around the parts of an integer solution that the root does not reach."""
        n = self.r.n_nodes
        on = x > 0.5
        graph = csr_array((np.ones(int(on.sum())), (self.tail[on], self.head[on])), shape=(n, n))
        reach = np.zeros(n, dtype=bool)
        reach[breadth_first_order(graph, self.root, directed=True, return_predecessors=False)] = (
            True
        )
        sym = (graph + graph.T).tocsr()
        rows = []
        done = np.zeros(n, dtype=bool)
        for t in self.r.terminals[1:]:
            if reach[t] or done[t]:
                continue
            comp = np.zeros(n, dtype=bool)
            comp[breadth_first_order(sym, int(t), directed=False, return_predecessors=False)] = True
            done |= comp
            rows.append(self.cut(comp))
        return rows


def milp_value(r: Reduced, *, time_limit: float = 60.0, upper: float | None = None) -> MilpResult:
    """Optimum of the reduced instance ``r`` (``offset`` included) by the directed-cut MILP.

    ``upper``: a known tree weight (of the original instance) that cuts off worse branches;
    as the weights are integers, a lower bound above ``upper - 1`` proves it optimal.
    """
    res = _milp(r, time_limit, upper)
    if res.value is None and upper is not None and res.lower > upper - 1 + 1e-6:
        return MilpResult(float(upper), float(upper), res.seconds, bound_proof=True)
    return res


def _milp(r: Reduced, time_limit: float, upper: float | None) -> MilpResult:
    t0 = time.perf_counter()
    if len(r.terminals) < 2:
        return MilpResult(r.offset, r.offset, 0.0)
    model = _DCut(r)
    lower = _lp_bound(model, r, t0, time_limit, upper)
    if upper is not None and lower + r.offset > upper - 1 + 1e-6:
        return MilpResult(None, lower + r.offset, time.perf_counter() - t0)
    return _integer_phase(model, r, t0, time_limit, upper, lower)


def _lp_bound(model: _DCut, r: Reduced, t0: float, time_limit: float, upper: float | None) -> float:
    """The LP relaxation's bound, adding violated directed cuts until none is left (or the
    known tree ``upper`` is proven optimal, or time is up)."""
    lower = 0.0
    for _round in range(200):
        if time.perf_counter() - t0 > time_limit:
            break
        status, x, obj = model.solve(time_limit - (time.perf_counter() - t0))
        if status != "Optimal":
            break
        lower = max(lower, obj)
        if upper is not None and lower + r.offset > upper - 1 + 1e-6:
            break  # the known tree is optimal
        rows = model.separate(x)
        if not rows:
            break
        model._add(rows)
    return lower


def _integer_phase(
    model: _DCut, r: Reduced, t0: float, time_limit: float, upper: float | None, lower: float
) -> MilpResult:
    """Solve the MILP, adding the cuts of disconnected components until the tree is whole."""
    h = model.h
    m2 = 2 * len(r.u)
    h.changeColsIntegrality(m2, np.arange(m2, dtype=np.int32), np.ones(m2, dtype=np.uint8))
    if upper is not None:
        h.setOptionValue("objective_bound", float(upper - r.offset) + 0.5)
    while True:
        left = time_limit - (time.perf_counter() - t0)
        if left <= 0:
            return MilpResult(None, lower + r.offset, time.perf_counter() - t0)
        status, x, obj = model.solve(left)
        if status != "Optimal":
            lower = max(lower, float(h.getInfo().mip_dual_bound))
            return MilpResult(None, lower + r.offset, time.perf_counter() - t0)
        rows = model.components(x)
        if not rows:
            value = float(np.rint(obj + r.offset))  # integer weights
            return MilpResult(value, value, time.perf_counter() - t0)
        lower = max(lower, obj)
        model._add(rows)


def optimum(inst, cache: dict, *, time_limit: float, upper: float | None = None) -> dict:
    """The cached entry of ``inst`` (computing it when missing or stale).

    ``upper`` must be the weight of a valid tree (it cuts off the MILP's search and may be
    proven optimal by a lower bound). Returns ``{"opt": value or None, "lower": bound,
    "method": "dp" | "milp" | "milp-bound" | "milp-capped", "seconds": time,
    "fingerprint": ...}``.
    """
    fp = inst.fingerprint()
    hit = cache.get(inst.name)
    if hit and hit["fingerprint"] == fp and (hit["opt"] is not None or hit["cap"] >= time_limit):
        return hit
    t0 = time.perf_counter()
    r = reduce_instance(inst.n_nodes, inst.u, inst.v, inst.w, inst.terminals)
    if dp_feasible(r.n_nodes, len(r.terminals)):
        value = dp_value(r.n_nodes, r.u, r.v, r.w, r.terminals) + r.offset
        entry = {"opt": value, "lower": value, "method": "dp"}
    else:
        res = milp_value(r, time_limit=time_limit, upper=upper)
        method = "milp-bound" if res.bound_proof else "milp"
        entry = {"opt": res.value, "lower": res.lower,
                 "method": method if res.value is not None else "milp-capped"}  # fmt: skip
    entry.update(seconds=round(time.perf_counter() - t0, 2), cap=time_limit, fingerprint=fp,
                 reduced=[r.n_nodes, len(r.u), len(r.terminals)])  # fmt: skip
    cache[inst.name] = entry
    return entry


def load_cache(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def save_cache(path: Path, cache: dict) -> None:
    path.write_text(json.dumps(dict(sorted(cache.items())), indent=1) + "\n")
