"""Tests of netplan.steiner: optimal on hand-made graphs, valid trees, errors, PACE optima.

The PACE reader and the instance families live in ``benchmarks/steiner_instances.py``
(``conftest.py`` puts ``benchmarks/`` on the import path).
"""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
import steiner_instances as si
from steiner_instances import read_optima, read_pace

from netplan import _steiner_core as core
from netplan._errors import DisconnectedTerminalsError, InputError, NetplanError
from netplan.steiner import _prepare, steiner_tree, steiner_tree_arrays

# ---------------------------------------------------------------- helpers


def _construct(n, u, v, w, terminals):
    """The shortest-path-heuristic tree from the first terminal, MST-cleaned: no search."""
    g, ids, t, _w = _prepare(n, np.asarray(u), np.asarray(v), np.asarray(w, float), terminals)
    s = core.Search(g, t)
    te, _tdeg = s.construct(g.w, int(t[0]))
    return ids[s.edges(te)]


def _exact(n, u, v, w, terminals) -> float:
    """Optimum by the Dreyfus-Wagner DP (checked against brute force below)."""
    g, _ids, t, _w = _prepare(n, np.asarray(u), np.asarray(v), np.asarray(w, float), terminals)
    return float(g.w[core.dreyfus_wagner(g, t)].sum())


def _check_tree(n, u, v, w, terminals, edges):
    """Assert ``edges`` (indices) form a tree spanning ``terminals``; return its weight."""
    edges = np.asarray(edges)
    assert len(np.unique(edges)) == len(edges)
    assert np.all((edges >= 0) & (edges < len(u)))
    g = nx.Graph()
    g.add_nodes_from(int(t) for t in terminals)
    g.add_edges_from(zip(np.asarray(u)[edges].tolist(), np.asarray(v)[edges].tolist(), strict=True))
    assert nx.is_tree(g)
    assert set(int(t) for t in terminals) <= set(g.nodes)
    # no non-terminal leaf (the tree is pruned)
    leaves = [x for x in g.nodes if g.degree(x) == 1]
    assert set(leaves) <= set(int(t) for t in terminals)
    return float(np.asarray(w)[edges].sum())


def _brute_force(n, u, v, w, terminals):
    """Exact optimum: best pruned MST over terminals plus every subset of Steiner nodes."""
    terms = set(int(t) for t in terminals)
    others = [x for x in range(n) if x not in terms]
    g = nx.Graph()
    for a, b, c in sorted(
        zip(u.tolist(), v.tolist(), w.tolist(), strict=True), key=lambda r: -r[2]
    ):
        g.add_edge(a, b, weight=c)
    best = np.inf
    for r in range(len(others) + 1):
        for extra in itertools.combinations(others, r):
            sub = g.subgraph(terms | set(extra))
            if len(sub) != len(terms) + r or not nx.is_connected(sub):
                continue
            best = min(best, nx.minimum_spanning_tree(sub).size(weight="weight"))
    return best


def _random_graph(seed, n, p):
    rng = np.random.default_rng(seed)
    pairs = [(a, b) for a in range(n) for b in range(a + 1, n) if rng.random() < p]
    pairs += [(i, i + 1) for i in range(n - 1)]  # keep it connected
    arr = np.array(pairs, dtype=np.int64)
    w = rng.integers(1, 10, len(arr)).astype(float)
    terms = rng.choice(n, size=max(2, n // 3), replace=False)
    return n, arr[:, 0], arr[:, 1], w, terms


# ---------------------------------------------------------------- provable optima


def test_star_needs_steiner_vertex():
    # terminals 0, 1, 2 on a triangle of 1.9; centre 3 (non-terminal) joined to each by 1
    u = np.array([0, 1, 2, 3, 3, 3])
    v = np.array([1, 2, 0, 0, 1, 2])
    w = np.array([1.9, 1.9, 1.9, 1.0, 1.0, 1.0])
    e = steiner_tree_arrays(4, u, v, w, [0, 1, 2])
    assert sorted(e.tolist()) == [3, 4, 5]
    assert _check_tree(4, u, v, w, [0, 1, 2], e) == pytest.approx(3.0)


def test_triangle_without_useful_centre():
    # same star but spokes of 1.5: the centre would cost 4.5 > 3.8
    u = np.array([0, 1, 2, 3, 3, 3])
    v = np.array([1, 2, 0, 0, 1, 2])
    w = np.array([1.9, 1.9, 1.9, 1.5, 1.5, 1.5])
    e = steiner_tree_arrays(4, u, v, w, [0, 1, 2])
    assert _check_tree(4, u, v, w, [0, 1, 2], e) == pytest.approx(3.8)
    assert set(e.tolist()) <= {0, 1, 2}


def test_grid_corners():
    # 3x3 unit grid, the four corners: the rectilinear optimum is 3 * 2 = 6
    g = nx.grid_2d_graph(3, 3)
    nx.set_edge_attributes(g, 1.0, "length")
    tree = steiner_tree(g, [(0, 0), (0, 2), (2, 0), (2, 2)])
    assert nx.is_tree(tree)
    assert tree.size(weight="length") == pytest.approx(6.0)
    assert all(g.has_edge(a, b) for a, b in tree.edges)


def test_two_terminals_is_shortest_path():
    g = nx.cycle_graph(6)
    nx.set_edge_attributes(g, {e: 1.0 for e in g.edges}, "length")
    g.edges[0, 5]["length"] = 10.0
    tree = steiner_tree(g, [0, 4])
    assert sorted(tree.nodes) == [0, 1, 2, 3, 4]
    assert tree.size(weight="length") == pytest.approx(4.0)


@pytest.mark.parametrize("seed", range(12))
def test_random_small_graphs_optimal(seed):
    n, u, v, w, terms = _random_graph(seed, 11, 0.3)
    e = steiner_tree_arrays(n, u, v, w, terms)
    cost = _check_tree(n, u, v, w, terms, e)
    assert cost == pytest.approx(_brute_force(n, u, v, w, terms))


@pytest.mark.parametrize("seed", range(6))
def test_never_heavier_than_construction(seed):
    n, u, v, w, terms = _random_graph(100 + seed, 60, 0.08)
    built = _check_tree(n, u, v, w, terms, _construct(n, u, v, w, terms))
    final = _check_tree(n, u, v, w, terms, steiner_tree_arrays(n, u, v, w, terms))
    assert final <= built + 1e-9


# ---------------------------------------------------------------- input handling


def test_parallel_edges_and_loops_use_lightest():
    u = np.array([0, 0, 1, 1, 2])
    v = np.array([1, 1, 1, 2, 1])
    w = np.array([5.0, 2.0, 0.5, 3.0, 1.0])
    e = steiner_tree_arrays(3, u, v, w, [0, 2])
    assert sorted(e.tolist()) == [1, 4]


def test_zero_weight_edges():
    u = np.array([0, 1, 2, 0])
    v = np.array([1, 2, 3, 3])
    w = np.array([0.0, 0.0, 0.0, 1.0])
    e = steiner_tree_arrays(4, u, v, w, [0, 3])
    assert sorted(e.tolist()) == [0, 1, 2]


@pytest.mark.parametrize("seed", range(12))
def test_zero_weight_regions_give_an_optimal_tree(seed):
    # grids where many edges weigh nothing: the DP's pieces overlap on them (its
    # reconstruction once wrote past its buffer and returned forests); the optimum lies
    # within eps * n below the DP's on weights where the zeros become eps (all positive)
    rng = np.random.default_rng(700 + seed)
    rows, cols = 3 + seed % 4, 4 + seed % 5
    idx = np.arange(rows * cols).reshape(rows, cols)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    w = rng.integers(1, 4, len(u)).astype(float)
    w[rng.random(len(u)) < (0.3, 0.6, 1.0)[seed % 3]] = 0.0
    terms = rng.choice(rows * cols, size=4 + seed % 4, replace=False)
    n = rows * cols
    eps = 1e-6
    ref = _exact(n, u, v, np.where(w == 0, eps, w), terms)
    for edges in (
        steiner_tree_arrays(n, u, v, w, terms),
        core.dreyfus_wagner(core.SimpleGraph(n, u, v, w), terms),
    ):
        assert ref - eps * n <= _check_tree(n, u, v, w, terms, edges) <= ref + 1e-9
    big = np.concatenate([terms, rng.choice(np.setdiff1d(np.arange(n), terms), 3, replace=False)])
    _check_tree(n, u, v, w, big, steiner_tree_arrays(n, u, v, w, big))


def test_duplicate_single_and_empty_terminals():
    g = nx.path_graph(4)
    nx.set_edge_attributes(g, 2.0, "length")
    g.nodes[1]["name"] = "one"
    t = steiner_tree(g, [0, 3, 0, 3, 3])
    assert sorted(t.edges) == [(0, 1), (1, 2), (2, 3)]
    assert t.nodes[1]["name"] == "one"
    single = steiner_tree(g, [2, 2])
    assert list(single.nodes) == [2] and single.number_of_edges() == 0
    empty = steiner_tree(g, [])
    assert empty.number_of_nodes() == 0
    assert steiner_tree_arrays(4, [0, 1, 2], [1, 2, 3], [1.0, 1.0, 1.0], [3, 3]).size == 0


def test_disconnected_terminals_are_listed():
    g = nx.Graph()
    g.add_edge("a", "b", length=1.0)
    g.add_edge("b", "c", length=1.0)
    g.add_edge("x", "y", length=1.0)
    g.add_node("z")
    with pytest.raises(DisconnectedTerminalsError) as info:
        steiner_tree(g, ["a", "c", "y", "z"])
    msg = str(info.value)
    assert "'y'" in msg and "'z'" in msg and "'a'" in msg
    assert info.value.terminals == ["y", "z"]
    assert isinstance(info.value, NetplanError)
    with pytest.raises(DisconnectedTerminalsError, match=r"\[?4"):
        steiner_tree_arrays(5, [0, 1], [1, 2], [1.0, 1.0], [0, 2, 4])


def test_unknown_terminals_and_bad_input():
    g = nx.path_graph(3)
    with pytest.raises(InputError, match="'q'"):
        steiner_tree(g, [0, "q"])
    with pytest.raises(ValueError, match="7"):
        steiner_tree_arrays(3, [0, 1], [1, 2], [1.0, 1.0], [0, 7])
    with pytest.raises(InputError, match="negative"):
        steiner_tree_arrays(3, [0, 1], [1, 2], [1.0, -1.0], [0, 2])
    with pytest.raises(InputError, match="outside"):
        steiner_tree_arrays(3, [0, 1], [1, 5], [1.0, 1.0], [0, 2])
    with pytest.raises(InputError, match="directed"):
        steiner_tree(nx.DiGraph([(0, 1)]), [0, 1])


def test_networkx_attributes_weight_none_and_multigraph():
    g = nx.Graph()
    g.add_edge(0, 1, length=1.0, road="A")
    g.add_edge(1, 2, length=1.0, road="B")
    g.add_edge(0, 2, length=5.0, road="C")
    t = steiner_tree(g, [0, 2])
    assert {d["road"] for _a, _b, d in t.edges(data=True)} == {"A", "B"}
    t_unit = steiner_tree(g, [0, 2], weight=None)
    assert list(t_unit.edges(data="road")) in ([(0, 2, "C")], [(2, 0, "C")])
    mg = nx.MultiGraph()
    mg.add_edge("p", "q", key="slow", length=4.0)
    mg.add_edge("p", "q", key="fast", length=1.0)
    mt = steiner_tree(mg, ["p", "q"])
    assert isinstance(mt, nx.MultiGraph)
    assert list(mt.edges(keys=True)) == [("p", "q", "fast")]


def test_deterministic_and_time_budget():
    n, u, v, w, terms = _random_graph(7, 200, 0.03)
    first = steiner_tree_arrays(n, u, v, w, terms)
    for _ in range(2):
        assert np.array_equal(steiner_tree_arrays(n, u, v, w, terms), first)
    quick = steiner_tree_arrays(n, u, v, w, terms, time_budget=0.0)
    _check_tree(n, u, v, w, terms, quick)


# ---------------------------------------------------------------- PACE 2018 instances

_FAST_PACE = ["instance001", "instance009", "instance011", "instance027", "instance069"]


@pytest.fixture(scope="module")
def pace_dir(shared_data):
    path = shared_data / "steiner" / "pace2018"
    if not path.is_dir():
        pytest.skip(f"{path} not found")
    return path


@pytest.mark.parametrize(
    ("name", "tolerance"),
    [(name, 1.01) for name in _FAST_PACE]
    # small, symmetric unit-weight graphs where edge moves stall (the node-set tabu search
    # crosses their plateaus): within the budget of about Mehlhorn's time, 3 to 5 edges too
    # many on optima of 42 to 71 remain (the search of the previous release got within 3 %
    # in three times Mehlhorn's time)
    + [("instance171", 1.08), ("instance173", 1.08), ("instance195", 1.05)],
)
def test_pace_instances_near_optimum(pace_dir, name, tolerance):
    inst = read_pace(pace_dir / "Track1" / f"{name}.gr.gz")
    opt = read_optima(pace_dir / "track1.csv")[inst.name]
    e = steiner_tree_arrays(inst.n_nodes, inst.u, inst.v, inst.w, inst.terminals)
    cost = _check_tree(inst.n_nodes, inst.u, inst.v, inst.w, inst.terminals, e)
    assert opt - 1e-9 <= cost <= opt * tolerance
    built = float(inst.w[_construct(inst.n_nodes, inst.u, inst.v, inst.w, inst.terminals)].sum())
    assert cost <= built + 1e-9


def test_pace_reader_and_networkx_wrapper_agree(pace_dir):
    inst = read_pace(pace_dir / "Track1" / "instance007.gr.gz")
    assert (inst.n_nodes, len(inst.u), len(inst.terminals)) == (157, 266, 6)
    assert inst.u.min() >= 0 and inst.v.max() < inst.n_nodes
    g = inst.to_networkx()
    tree = steiner_tree(g, inst.terminals.tolist(), weight="weight")
    e = steiner_tree_arrays(inst.n_nodes, inst.u, inst.v, inst.w, inst.terminals)
    assert tree.size(weight="weight") == pytest.approx(float(inst.w[e].sum()))


# ---------------------------------------------------------------- restarts and recombination


def test_work_budget_is_proportional_to_size():
    small = core.work_budget(200, 300)
    big = core.work_budget(20_000, 30_000)
    assert small == core._WORK_PER_SIZE * 500 + core._WORK_FLOOR
    assert big - small == core._WORK_PER_SIZE * 49_500  # no cap
    assert core._WORK_FLOOR < core._WORK_PER_SIZE * 1000  # the floor matters for tiny graphs only


def test_elite_keeps_best_distinct():
    el = core._Elite(2)
    assert el.add(5.0, np.array([3, 1]))
    assert not el.add(5.0, np.array([1, 3]))  # same tree
    assert el.add(4.0, np.array([2]))
    assert not el.add(6.0, np.array([7]))  # not a new best, and dropped (pool of 2)
    assert [c for c, _i, _e in el.items] == [4.0, 5.0]
    assert el.best[0] == 4.0 and el.best[1].tolist() == [2]


@pytest.mark.parametrize("seed", range(4))
def test_restarts_deterministic_valid_and_not_worse(seed):
    n, u, v, w, terms = _random_graph(300 + seed, 80, 0.06)
    g, ids, t, _w = _prepare(n, u, v, w, terms)
    plain = core.solve(g, t, restarts=0, recombine=False, tabu=False)
    a = core.solve(g, t, restarts=6)
    b = core.solve(g, t, restarts=6)
    assert np.array_equal(a, b)
    cost_a = _check_tree(n, u, v, w, terms, ids[a])
    assert cost_a <= float(g.w[plain].sum()) + 1e-9


def test_recombine_on_union_is_a_valid_tree():
    n, u, v, w, terms = _random_graph(42, 60, 0.1)
    g, ids, t, _w = _prepare(n, u, v, w, terms)
    union = np.arange(g.m)  # the whole graph as "union": recombination must still work
    e = core._recombine(g, t, union, None)
    _check_tree(n, u, v, w, terms, ids[e])


# ---------------------------------------------------------------- exact DP


@pytest.mark.parametrize("seed", range(10))
def test_dreyfus_wagner_equals_brute_force(seed):
    rng = np.random.default_rng(500 + seed)
    n, u, v, w, _t = _random_graph(500 + seed, 11, 0.35)
    if seed % 3 == 0:
        w[rng.random(len(w)) < 0.2] = 0.0  # zero-weight edges too
    terms = rng.choice(n, size=3 + seed % 4, replace=False)
    g, ids, t, _w = _prepare(n, u, v, w, terms)
    e = core.dreyfus_wagner(g, t)
    assert float(g.w[e].sum()) == pytest.approx(_brute_force(n, u, v, w, terms))
    # the DP's tree, MST-cleaned as the solver does, is a pruned tree of the same weight
    s = core.Search(g, t)
    te, tdeg = s.from_edges(e)
    s.clean(te, tdeg)
    cost = _check_tree(n, u, v, w, terms, ids[s.edges(te)])
    assert cost == pytest.approx(float(g.w[e].sum()))


def test_dreyfus_wagner_needs_steiner_vertices():
    # a 3x3 grid with unit weights and the four corners as terminals: optimum 6
    idx = np.arange(9).reshape(3, 3)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    g = core.SimpleGraph(9, u, v, np.ones(len(u)))
    e = core.dreyfus_wagner(g, np.array([0, 2, 6, 8]))
    assert float(g.w[e].sum()) == 6.0
    # weight 2 on the centre's edges: still 6, and the centre is then never needed
    w = np.where((u == 4) | (v == 4), 2.0, 1.0)
    g = core.SimpleGraph(9, u, v, w)
    e = core.dreyfus_wagner(g, np.array([0, 2, 6, 8]))
    assert float(g.w[e].sum()) == 6.0


def test_dp_only_where_cheaper_than_the_search():
    budget = core.work_budget(50, 80)
    assert core.dp_feasible(50, 80, 5, budget)
    assert not core.dp_feasible(50, 80, 12, budget)  # 2^11 passes cost more than the search
    assert not core.dp_feasible(50, 80, 2, budget)  # two terminals: a shortest path does it
    assert core.dp_work(50, 80, 6) < core.dp_work(50, 80, 7) < core.dp_work(500, 800, 7)
    # memory: never more than _DP_CELLS labels, whatever the budget
    assert not core.dp_feasible(10**6, 10**6, 9, 1e18)
    assert not core.dp_feasible(100, 200, 2000, 1e18)  # thousands of terminals: no overflow


# ---------------------------------------------------------------- the moves, one at a time


def _search(n, u, v, w, terminals, tree_edges):
    """A Search on the simple graph of the arrays, with the tree given by original edge ids."""
    g, ids, t, _w = _prepare(n, np.asarray(u), np.asarray(v), np.asarray(w, float), terminals)
    pos = {int(e): i for i, e in enumerate(ids.tolist())}
    s = core.Search(g, t)
    s.tol = 1e-9
    te, tdeg = s.from_edges(np.array([pos[e] for e in tree_edges], dtype=np.int64))
    return s, te, tdeg, ids


def test_prune_strips_dangling_chains_only():
    # path 0-1-2-3-4 with terminals 1, 3 plus a branch 2-5-6: keep only 1-2-3
    u, v = [0, 1, 2, 3, 2, 5], [1, 2, 3, 4, 5, 6]
    s, te, tdeg, ids = _search(7, u, v, np.ones(6), [1, 3], range(6))
    s.clean(te, tdeg)
    assert ids[s.edges(te)].tolist() == [1, 2]
    assert tdeg.tolist() == [0, 1, 2, 1, 0, 0, 0]


def test_key_path_exchange_replaces_a_long_detour():
    # terminals 0, 2, 4; the tree goes 0-1-2 (10) where 0-3-2 costs 2
    u, v, w = [0, 1, 0, 3, 2], [1, 2, 3, 2, 4], [5, 5, 1, 1, 1]
    s, te, tdeg, ids = _search(5, u, v, w, [0, 2, 4], [0, 1, 4])
    assert s.cost(te) == 11.0
    assert s.key_path_exchange(te, tdeg)
    assert sorted(ids[s.edges(te)].tolist()) == [2, 3, 4] and s.cost(te) == 3.0
    assert not s.key_path_exchange(te, tdeg)  # a local optimum now


def test_key_vertex_elimination_moves_a_hub():
    # three terminals joined by hub 3 (3 + 3 + 3) where hub 4 does it for 2 + 2 + 2
    u = [0, 1, 2, 0, 1, 2]
    v = [3, 3, 3, 4, 4, 4]
    w = [3, 3, 3, 2, 2, 2]
    s, te, tdeg, ids = _search(5, u, v, w, [0, 1, 2], [0, 1, 2])
    assert not s.key_path_exchange(te, tdeg)  # no single path has a cheaper detour
    assert s.key_vertex_elimination(te, tdeg)
    assert sorted(ids[s.edges(te)].tolist()) == [3, 4, 5] and s.cost(te) == 6.0


def test_vertex_insertion_adds_a_steiner_node():
    # a triangle of terminals (edges 4) and a centre joined by 3s: centre saves 2
    u = [0, 1, 0, 0, 1, 2]
    v = [1, 2, 2, 3, 3, 3]
    w = [4, 4, 4, 2, 2, 2]
    s, te, tdeg, ids = _search(4, u, v, w, [0, 1, 2], [0, 1])
    assert s.cost(te) == 8.0
    assert s.vertex_insertion(te, tdeg)
    assert sorted(ids[s.edges(te)].tolist()) == [3, 4, 5] and s.cost(te) == 6.0


@pytest.mark.parametrize("seed", range(3))
def test_every_move_keeps_a_valid_tree_and_never_worsens(seed):
    n, u, v, w, terms = _random_graph(900 + seed, 70, 0.08)
    g, ids, t, _w = _prepare(n, u, v, w, terms)
    s = core.Search(g, t)
    te, tdeg = s.construct(g.w, int(t[0]))
    cost = s.cost(te)
    moves = [s.key_path_exchange, s.key_vertex_elimination, s.vertex_insertion]
    for _round in range(3):
        for move in moves:
            s.clean(te, tdeg)
            move(te, tdeg)
            new = _check_tree(n, u, v, w, terms, ids[s.edges(te)])
            assert new <= cost + 1e-9
            cost = new
    work = s.work
    s.tabu(te, tdeg, 30, 10**9, seed)
    assert s.work > work
    assert _check_tree(n, u, v, w, terms, ids[s.edges(te)]) <= cost + 1e-9


def test_tabu_search_leaves_a_unit_weight_plateau(pace_dir):
    # instance171 has unit weights: the edge moves stall on plateaus the node-set tabu crosses
    inst = read_pace(pace_dir / "Track1" / "instance171.gr.gz")
    g, ids, t, _w = _prepare(inst.n_nodes, inst.u, inst.v, inst.w, inst.terminals)
    s = core.Search(g, t)
    te, tdeg = s.construct(g.w, int(t[0]))
    s.local_search(te, tdeg)
    stuck = s.cost(te)
    assert s.tabu(te, tdeg, 2000, 10**9, 1)
    assert s.cost(te) < stuck
    _check_tree(inst.n_nodes, inst.u, inst.v, inst.w, inst.terminals, ids[s.edges(te)])


# ---------------------------------------------------------------- reductions


def _sparse_random(seed):
    """A random tree plus a few chords (many nodes of degree 1 and 2), unit-ish weights."""
    rng = np.random.default_rng(700 + seed)
    n = int(rng.integers(8, 30))
    pairs = [(i, int(rng.integers(0, i))) for i in range(1, n)]
    for _ in range(int(rng.integers(0, 6))):
        a, b = rng.integers(0, n, 2)
        if a != b:
            pairs.append((int(a), int(b)))
    arr = np.array(pairs, dtype=np.int64)
    w = rng.integers(1, 5, len(arr)).astype(float)
    terms = rng.choice(n, size=int(rng.integers(2, 7)), replace=False)
    return n, arr[:, 0], arr[:, 1], w, terms


@pytest.mark.parametrize("seed", range(40))
def test_reductions_keep_the_optimum(seed):
    n, u, v, w, terms = _sparse_random(seed)
    g, _ids, t, _w = _prepare(n, u, v, w, terms)
    red = core.reduce_graph(g, t)
    if red is None:
        assert g.m == 0 or (np.bincount(np.r_[g.u, g.v], minlength=g.n) >= 3).any()
        return
    assert red.graph.n <= g.n and red.graph.m <= g.m
    # every reduced edge stands for a path of original edges of the same weight
    for i in range(red.graph.m):
        chain = red.chain[red.cptr[i] : red.cptr[i + 1]]
        assert float(g.w[chain].sum()) == pytest.approx(float(red.graph.w[i]))
    best = core.dreyfus_wagner(red.graph, red.terminals) if len(t) > 1 else np.zeros(0, int)
    expanded = red.expand(best)
    assert float(g.w[expanded].sum()) == pytest.approx(_exact(n, u, v, w, terms))
    _check_tree(g.n, g.u, g.v, g.w, t, expanded)


def test_reductions_remove_dead_ends_and_chains():
    # terminals 0 and 4 on a path 0-1-2-3-4 with a dead-end branch 2-5-6: one edge of weight 4
    u = np.array([0, 1, 2, 3, 2, 5])
    v = np.array([1, 2, 3, 4, 5, 6])
    g = core.SimpleGraph(7, u, v, np.ones(6))
    red = core.reduce_graph(g, np.array([0, 4]))
    assert (red.graph.n, red.graph.m) == (2, 1) and red.graph.w.tolist() == [4.0]
    assert red.expand(np.array([0])).tolist() == [0, 1, 2, 3]
    # a cycle hanging from a terminal goes; the lighter of two parallel chains stays
    u = np.array([0, 1, 2, 0, 4, 0, 5])
    v = np.array([1, 2, 0, 4, 3, 5, 3])
    w = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0])
    g = core.SimpleGraph(6, u, v, w)
    red = core.reduce_graph(g, np.array([0, 3]))
    assert red.graph.m == 1 and red.graph.w.tolist() == [2.0]
    assert red.expand(np.array([0])).tolist() == [3, 4]


# ---------------------------------------------------------------- instance families

_FAMILY_CASES = [
    (maker, params, seed)
    for seed in range(3)
    for maker, params in [
        (si.rgg, (60, 11)),
        (si.grid, (8, 11, "unit")),
        (si.grid, (9, 11, "euclid")),
        (si.unit, ("hc5", 11)),
        (si.unit, ("ham3^3", 11)),
        (si.unit, ("torus7", 11)),
        (si.wrp, (8, 6)),
    ]
]


def test_small_family_instances_near_optimal():
    # 11 terminals: too many for the solver's DP, so the search runs; the DP gives the optimum
    gaps = []
    for maker, params, seed in _FAMILY_CASES:
        inst = maker(*params, seed)
        e = steiner_tree_arrays(inst.n_nodes, inst.u, inst.v, inst.w, inst.terminals)
        cost = _check_tree(inst.n_nodes, inst.u, inst.v, inst.w, inst.terminals, e)
        opt = _exact(inst.n_nodes, inst.u, inst.v, inst.w, inst.terminals)
        gaps.append(cost / opt - 1)
    gaps = np.array(gaps)
    assert gaps.min() >= -1e-12 and gaps.max() <= 0.01
    assert (gaps <= 1e-12).mean() >= 0.9


def test_family_generators_are_deterministic():
    for maker, params, _seed in _FAMILY_CASES[:7]:
        a, b = maker(*params, 4), maker(*params, 4)
        assert a.fingerprint() == b.fingerprint()
        assert a.fingerprint() != maker(*params, 5).fingerprint()
        assert nx.is_connected(a.to_networkx())


def test_wrp_terminals_hang_on_heavy_edges():
    inst = si.wrp(10, 4, 0)
    heavy = inst.w == 100_000
    assert set(np.unique(np.r_[inst.u[heavy], inst.v[heavy]])) >= set(inst.terminals.tolist())
    e = steiner_tree_arrays(inst.n_nodes, inst.u, inst.v, inst.w, inst.terminals)
    assert int(heavy[e].sum()) == len(inst.terminals)  # each terminal on one heavy edge
    assert float(inst.w[e].sum()) == _exact(inst.n_nodes, inst.u, inst.v, inst.w, inst.terminals)


def test_cg_service_area_both_entry_points(shared_data):
    if not (shared_data / "cg_state" / "roads.parquet").exists():
        pytest.skip("cg_state not found")
    inst = si.cg(12, 0, shared_data)
    assert inst.n_nodes > 300 and len(inst.terminals) == 12
    e = steiner_tree_arrays(inst.n_nodes, inst.u, inst.v, inst.w, inst.terminals)
    cost = _check_tree(inst.n_nodes, inst.u, inst.v, inst.w, inst.terminals, e)
    tree = steiner_tree(inst.to_networkx(), inst.terminals.tolist(), weight="weight")
    assert tree.size(weight="weight") == pytest.approx(cost)
    assert cost <= 1.01 * _exact(inst.n_nodes, inst.u, inst.v, inst.w, inst.terminals)


def test_key_vertex_elimination_stops_at_its_work_limit():
    n, u, v, w, terms = _random_graph(11, 80, 0.08)
    g, _ids, t, _w = _prepare(n, u, v, w, terms)
    s = core.Search(g, t)
    te, tdeg = s.construct(g.w, int(t[0]))
    before = s.edges(te).copy()
    start = s.work
    assert not s.key_vertex_elimination(te, tdeg, stop=start)  # no candidate may start
    assert np.array_equal(s.edges(te), before)
    s.local_search(te, tdeg, stop=start + 1)  # one round of the cheap moves at most
    limited = s.work - start
    te2, tdeg2 = s.construct(g.w, int(t[0]))
    start = s.work
    s.local_search(te2, tdeg2)
    assert limited <= s.work - start
