"""Joint assignment and design (a Steiner forest rooted at the PoPs) and PoP capacities.

Hand-made cases whose answers are worked out in the docstrings, property tests of
:func:`netplan.joint.steiner_forest` on random graphs, and the bundled sample and real Ladakh
roads against a FiberPath-style greedy and one Steiner tree with the PoPs merged into one root.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, box

import netplan
from netplan import cli
from netplan.joint import OVER_CAPACITY, greedy_forest, steiner_forest
from netplan.steiner import steiner_tree_arrays

CRS = "EPSG:32644"
X0, Y0 = 500_000.0, 2_300_000.0


def _points(coords: dict[str, tuple[float, float]], **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": list(coords), **columns},
        geometry=[Point(X0 + x, Y0 + y) for x, y in coords.values()],
        crs=CRS,
    )


def _roads(lines: list[list[tuple[float, float]]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"road_class": ["VR"] * len(lines)},
        geometry=[LineString([(X0 + x, Y0 + y) for x, y in line]) for line in lines],
        crs=CRS,
    )


# --------------------------------------------------------------------------------------------
# a GP next to the other PoP's trench
# --------------------------------------------------------------------------------------------
@pytest.fixture
def crossing():
    """PoP A at (0, 0), PoP B at (10 km, 0). B's road runs 8 km north to GP b1, then 4 km west
    to GP g; a 10 km diagonal road joins A to g.

    g is 10 km from A and 12 km from B by road, so nearest-PoP assignment gives it to A: per-PoP
    trees need 8 km (B to b1) + 10 km (A to g) = 18 km. Joined to B's trench at b1 it needs
    4 km more: 12 km in all, and g's PoP is B (12 km along the trench, 12 km by road).
    """
    pops = _points({"A": (0, 0), "B": (10_000, 0)}, block=["north", "east"])
    gps = _points({"b1": (10_000, 8000), "g": (6000, 8000)}, block=["east", "north"])
    roads = _roads(
        [[(10_000, 0), (10_000, 8000)], [(10_000, 8000), (6000, 8000)], [(0, 0), (6000, 8000)]]
    )
    return gps, pops, roads


def test_a_gp_joins_the_other_pops_trench(crossing):
    planner = netplan.Planner(*crossing, progress=False)
    joint = planner.plan()
    assert joint.sites["pop_id"].to_dict() == {"b1": "B", "g": "B"}
    assert joint.summary.loc["TOTAL", "trench_km"] == pytest.approx(12.0)
    assert joint.summary.loc["B", "trench_km"] == pytest.approx(12.0)
    assert joint.summary.loc["A", "trench_km"] == pytest.approx(0.0)
    assert joint.sites.at["g", "route_m"] == pytest.approx(12_000.0)
    assert joint.sites.at["g", "network_m"] == pytest.approx(12_000.0)
    per_pop = planner.plan(joint=False)
    assert per_pop.sites["pop_id"].to_dict() == {"b1": "B", "g": "A"}
    assert per_pop.summary.loc["TOTAL", "trench_km"] == pytest.approx(18.0)
    # stars stay shortest paths to the nearest PoP
    assert planner.plan(topology="star").sites.at["g", "pop_id"] == "A"


def test_the_greedy_and_the_forest_find_the_crossing_on_arrays():
    # nodes: A=0, B=1, b1=2, g=3; edges B-b1 8, b1-g 4, A-g 10 (the fixture above, in km)
    u, v, w = np.array([1, 2, 0]), np.array([2, 3, 3]), np.array([8.0, 4.0, 10.0])
    for forest in (
        greedy_forest(4, u, v, w, [0, 1], [2, 3]),
        steiner_forest(4, u, v, w, [0, 1], [2, 3]),
    ):
        assert forest.root_of.tolist() == [1, 1]
        assert forest.weight == pytest.approx(12.0)
        assert [t.tolist() for t in forest.trees] == [[], [0, 1]]


def test_assign_by_keeps_gps_on_their_own_pop(crossing):
    p = netplan.plan(*crossing, assign_by="block", progress=False)
    assert p.sites["pop_id"].to_dict() == {"b1": "B", "g": "A"}
    assert p.summary.loc["TOTAL", "trench_km"] == pytest.approx(18.0)


def test_permission_penalties_apply_to_the_joint_design(crossing):
    """A forest over the 4 km link b1-g at 2 equivalent metres per metre makes it weigh 12 km
    against the 10 km road from A: g goes back to A (18 km of trench)."""
    gps, pops, roads = crossing
    forest = gpd.GeoDataFrame(
        {"forest_id": ["RF"]},
        geometry=[box(X0 + 6500, Y0 + 7900, X0 + 9500, Y0 + 8100)],
        crs=CRS,
    )
    planner = netplan.Planner(gps, pops, roads, forest=forest, progress=False)
    assert planner.plan().sites.at["g", "pop_id"] == "B"
    aware = planner.plan(costs=netplan.CostModel(forest_penalty_per_m=2.0))
    assert aware.sites.at["g", "pop_id"] == "A"
    assert aware.summary.loc["TOTAL", "trench_km"] == pytest.approx(18.0)
    assert aware.summary.loc["TOTAL", "in_forest_km"] == pytest.approx(0.0)


def test_rings_and_a_subset_of_pops_use_the_joint_assignment(crossing):
    planner = netplan.Planner(*crossing, progress=False)
    rings = planner.plan(topology="ring")
    assert rings.sites["pop_id"].to_dict() == {"b1": "B", "g": "B"}
    assert rings.rings["pop_id"].tolist() == ["B"]
    only_b = planner.plan(pops=["B"])
    assert sorted(only_b.sites.index) == ["b1", "g"]
    assert only_b.summary.loc["TOTAL", "trench_km"] == pytest.approx(12.0)
    assert planner.plan(pops=["A"]).sites.empty


# --------------------------------------------------------------------------------------------
# capacity
# --------------------------------------------------------------------------------------------
@pytest.fixture
def three_pops():
    """PoP A at (0, 0) with GPs g1 (1 km east), g2 (2 km east, on the same road) and g3 (1 km
    north). PoP B is 3 km north of g2, PoP C 1.5 km north of g3, each on a road to that GP.

    Without a limit A serves all three (3 km). With at most 2 GPs per PoP one of A's leaves
    must move: g2 to B adds 3 km and frees 1 km (+2 km); g3 to C adds 1.5 km and frees 1 km
    (+0.5 km). So g3 goes to C: 3.5 km in all.
    """
    pops = _points({"A": (0, 0), "B": (2000, 3000), "C": (0, 2500)})
    gps = _points({"g1": (1000, 0), "g2": (2000, 0), "g3": (0, 1000)})
    roads = _roads(
        [
            [(0, 0), (2000, 0)],
            [(0, 0), (0, 1000)],
            [(2000, 0), (2000, 3000)],
            [(0, 1000), (0, 2500)],
        ]
    )
    return gps, pops, roads


def test_capacity_moves_the_gp_that_adds_least_trench(three_pops):
    planner = netplan.Planner(*three_pops, progress=False)
    free = planner.plan()
    assert set(free.sites["pop_id"]) == {"A"}
    assert free.summary.loc["TOTAL", "trench_km"] == pytest.approx(3.0)
    capped = planner.plan(pop_capacity=2)
    assert capped.sites["pop_id"].to_dict() == {"g1": "A", "g2": "A", "g3": "C"}
    assert capped.sites["routed"].all()
    assert capped.summary.loc["TOTAL", "trench_km"] == pytest.approx(3.5)
    assert capped.sites.at["g3", "route_m"] == pytest.approx(1500.0)
    # the same limit from a capacity column on the PoPs (text, as read from a CSV)
    gps, pops, roads = three_pops
    pops = pops.assign(capacity=["2", "", " "])
    by_column = netplan.plan(gps, pops, roads, progress=False)
    assert by_column.sites["pop_id"].to_dict() == capped.sites["pop_id"].to_dict()
    # the column overrides pop_capacity where given: A may serve 3, the others 1
    assert set(
        netplan.plan(
            gps, pops.assign(capacity=[3, None, None]), roads, pop_capacity=1, progress=False
        ).sites["pop_id"]
    ) == {"A"}


def test_capacity_on_arrays(three_pops):
    # nodes: A=0, g1=1, g2=2, g3=3, B=4, C=5 (the fixture above, in km)
    u, v = np.array([0, 1, 0, 2, 3]), np.array([1, 2, 3, 4, 5])
    w = np.array([1.0, 1.0, 1.0, 3.0, 1.5])
    forest = steiner_forest(6, u, v, w, [0, 4, 5], [1, 2, 3], capacity=[2, 2, 2])
    assert forest.root_of.tolist() == [0, 0, 2]
    assert forest.weight == pytest.approx(3.5)
    # two GPs at one node count twice
    crowded = steiner_forest(6, u, v, w, [0, 4, 5], [1, 2, 2, 3], capacity=[3, 3, 3])
    assert np.bincount(crowded.root_of, minlength=3).max() <= 3


def test_short_capacity_lists_the_gps_left_over_with_a_reason():
    """One PoP allowed 2 GPs, three GPs 1, 2 and 3 km along its road: the farthest (the leaf
    freeing 1 km) is left over; 2 km of trench remain."""
    pops = _points({"A": (0, 0)}, capacity=[2])
    gps = _points({"g1": (1000, 0), "g2": (2000, 0), "g3": (3000, 0)})
    roads = _roads([[(0, 0), (3000, 0)]])
    for joint in (True, False):
        p = netplan.plan(gps, pops, roads, joint=joint, progress=False)
        assert p.sites["routed"].to_dict() == {"g1": True, "g2": True, "g3": False}
        assert "PoP A is full (capacity: 2 GPs)" in p.sites.at["g3", "reason"]
        assert p.summary.loc["TOTAL", "trench_km"] == pytest.approx(2.0)
        assert p.summary.loc["TOTAL", "unroutable"] == 1
    forest = steiner_forest(4, [0, 1, 2], [1, 2, 3], np.ones(3), [0], [1, 2, 3], capacity=[2])
    assert forest.reason.tolist() == ["", "", OVER_CAPACITY]


def test_assign_by_with_capacity_keeps_gps_home(three_pops):
    gps, pops, roads = three_pops
    p = netplan.plan(
        gps.assign(block="A"),
        pops,
        roads,
        assign_by="block",
        pop_key="id",
        pop_capacity=2,
        progress=False,
    )
    assert p.sites["pop_id"].tolist() == ["A", "A", "A"]
    assert int(p.sites["routed"].sum()) == 2
    assert p.sites.loc[~p.sites["routed"], "reason"].str.contains("assign_by").all()


def test_bad_capacities_are_input_errors(three_pops):
    gps, pops, roads = three_pops
    with pytest.raises(netplan.InputError, match=r"PoPs B \('-1'\), C \('2.5'\)"):
        netplan.Planner(gps, pops.assign(capacity=["4", "-1", "2.5"]), roads, progress=False)
    with pytest.raises(netplan.InputError, match="pop_capacity must be a whole number"):
        netplan.DesignOptions(pop_capacity=2.5)
    with pytest.raises(netplan.InputError, match="capacity must hold one number"):
        steiner_forest(2, [0], [1], [1.0], [0], [1], capacity=[1, 2])


# --------------------------------------------------------------------------------------------
# properties on random graphs
# --------------------------------------------------------------------------------------------
PROPS = settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


@st.composite
def graphs(draw: st.DrawFn, zeros: bool = True):
    """A random sparse graph (possibly disconnected, with loops, parallel and, if ``zeros``,
    zero-weight edges), 1-4 roots and 1-15 terminals."""
    n = draw(st.integers(4, 40))
    m = draw(st.integers(n - 1, 3 * n))
    u = np.asarray(draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m)))
    v = np.asarray(draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m)))
    weight = st.floats(0.1, 100.0) | st.just(0.0) if zeros else st.floats(0.1, 100.0)
    w = np.asarray(draw(st.lists(weight, min_size=m, max_size=m)))
    nodes = draw(st.permutations(range(n)))
    k = draw(st.integers(1, min(4, n - 1)))
    roots = np.asarray(nodes[:k])
    terminals = np.asarray(draw(st.lists(st.sampled_from(nodes[k:]), min_size=1, max_size=15)))
    return n, u, v, w, roots, terminals


def _components(n, u, v) -> np.ndarray:
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from(zip(u.tolist(), v.tolist(), strict=True))
    label = np.empty(n, dtype=np.int64)
    for c, nodes in enumerate(nx.connected_components(g)):
        label[list(nodes)] = c
    return label


def _check_trees(forest, n, u, v, terminals) -> None:
    """Each root's edges form one tree holding the root and its terminals."""
    for r, tree in enumerate(forest.trees):
        g = nx.Graph()
        g.add_node(int(forest.roots[r]))
        g.add_edges_from(zip(u[tree].tolist(), v[tree].tolist(), strict=True))
        assert nx.is_tree(g)
        assert set(terminals[forest.root_of == r].tolist()) <= set(g.nodes)


@PROPS
@given(graphs(), st.sampled_from([0, 300]))
def test_forest_serves_every_reachable_terminal_once_and_beats_the_greedy(case, single) -> None:
    n, u, v, w, roots, terminals = case
    forest = steiner_forest(n, u, v, w, roots, terminals, max_single=single)
    label = _components(n, u, v)
    reachable = np.isin(label[terminals], label[roots])
    assert ((forest.root_of >= 0) == reachable).all()
    assert (forest.reason[~reachable] == "unreachable").all()
    _check_trees(forest, n, u, v, terminals)
    nodes = [
        set(u[t].tolist()) | set(v[t].tolist()) | {int(roots[r])}
        for r, t in enumerate(forest.trees)
    ]
    assert sum(map(len, nodes)) == len(set().union(*nodes)), "trees share a node"
    assert forest.weight <= greedy_forest(n, u, v, w, roots, terminals).weight + 1e-9
    again = steiner_forest(n, u, v, w, roots, terminals, max_single=single)
    assert again.root_of.tolist() == forest.root_of.tolist()
    assert [t.tolist() for t in again.trees] == [t.tolist() for t in forest.trees]


def _reference_greedy(n, u, v, w, roots, terminals) -> float:
    """FiberPath's rule written plainly: join the terminal nearest to what is connected, by its
    shortest path, until none can be reached."""
    g = nx.Graph()
    g.add_nodes_from(range(n))
    for a, b, x in zip(u.tolist(), v.tolist(), w.tolist(), strict=True):
        if a != b and (not g.has_edge(a, b) or g[a][b]["w"] > x):
            g.add_edge(a, b, w=x)
    tree, total = set(roots.tolist()), 0.0
    left = set(terminals.tolist()) - tree
    while left:
        dist, paths = nx.multi_source_dijkstra(g, tree, weight="w")
        reached = [t for t in left if t in dist]
        if not reached:
            break
        t = min(reached, key=lambda x: (dist[x], x))
        total += dist[t]
        tree.update(paths[t])
        left.discard(t)
    return total


@PROPS
@given(graphs(zeros=False))
def test_greedy_matches_a_plain_reference(case) -> None:
    n, u, v, w, roots, terminals = case
    assert greedy_forest(n, u, v, w, roots, terminals).weight == pytest.approx(
        _reference_greedy(n, u, v, w, roots, terminals)
    )


@PROPS
@given(graphs(), st.lists(st.integers(0, 6), min_size=4, max_size=4), st.sampled_from([0, 300]))
def test_capacity_is_respected_and_nothing_is_lost(case, limits, single) -> None:
    n, u, v, w, roots, terminals = case
    limits = np.asarray(limits[: len(roots)], dtype=float)
    forest = steiner_forest(n, u, v, w, roots, terminals, capacity=limits, max_single=single)
    served = forest.root_of >= 0
    assert (np.bincount(forest.root_of[served], minlength=len(roots)) <= limits).all()
    assert set(forest.reason[~served]) <= {"unreachable", OVER_CAPACITY}
    _check_trees(forest, n, u, v, terminals)
    # a terminal is left over only when every root of its component is full
    label = _components(n, u, v)
    counts = np.bincount(forest.root_of[served], minlength=len(roots))
    for t in terminals[forest.reason == OVER_CAPACITY]:
        mine = label[roots] == label[t]
        assert (counts[mine] >= limits[mine]).all()


# --------------------------------------------------------------------------------------------
# real data: the checks of the issue
# --------------------------------------------------------------------------------------------
def _merged_root_tree(planner: netplan.Planner, p: netplan.Plan) -> float:
    """One Steiner tree over every routed GP and a virtual root joined to every PoP at 0 m."""
    net = planner.network
    u, v, length = net.arrays()
    n = len(net.nodes)
    roots = np.unique(net.pops.loc[net.pops["status"] == "ok", "node"].astype(np.int64))
    gps = net.gps.loc[p.sites.index[p.sites["routed"]], "node"].astype(np.int64).to_numpy()
    w = np.concatenate([length, np.zeros(len(roots))])
    tree = steiner_tree_arrays(
        n + 1,
        np.concatenate([u, np.full(len(roots), n)]),
        np.concatenate([v, roots]),
        w,
        np.concatenate([[n], gps]),
    )
    return float(w[tree].sum())


def _check_against_baselines(planner: netplan.Planner) -> netplan.Plan:
    p = planner.plan()
    total_m = float(p.routes["length_m"].sum())
    net = planner.network
    u, v, length = net.arrays()
    roots = np.unique(net.pops.loc[net.pops["status"] == "ok", "node"].astype(np.int64))
    gps = net.gps.loc[p.sites.index[p.sites["routed"]], "node"].astype(np.int64).to_numpy()
    greedy = greedy_forest(len(net.nodes), u, v, length, roots, gps)
    assert total_m <= greedy.weight + 1e-6
    assert total_m <= 1.01 * _merged_root_tree(planner, p)
    assert total_m < float(planner.plan(joint=False).routes["length_m"].sum())
    return p


def test_sample_joint_design_capacity_and_blocks(sample_paths):
    planner = netplan.Planner(
        sample_paths["gps"], sample_paths["pops"], sample_paths["roads"], progress=False
    )
    p = _check_against_baselines(planner)
    assert p.sites["routed"].all()
    capped = planner.plan(pop_capacity=30)
    assert capped.sites["routed"].all()
    assert capped.sites.groupby("pop_id").size().max() <= 30
    # assign_by: every GP whose block names a PoP stays on it
    blocks = planner.plan(assign_by="block", pop_key="name")
    gps = planner.gps.join(blocks.sites[["pop_id"]])
    named = dict(zip(planner.pops["name"], planner.pops.index, strict=True))
    home = gps["block"].map(named)
    matched = home.notna()
    assert matched.sum() > 0.7 * len(gps)
    assert (gps.loc[matched, "pop_id"] == home[matched]).all()


def test_ladakh_joint_design(shared_data):
    paths = netplan.datasets.ladakh_paths(shared_data)
    planner = netplan.Planner(paths["gps"], paths["pops"], paths["roads"], progress=False)
    p = _check_against_baselines(planner)
    assert p.sites["routed"].mean() >= 0.9


def test_command_line_capacity_and_no_joint(tmp_path, sample_paths):
    def run(out, *flags):
        args = ["plan", "--sites", str(sample_paths["gps"]), "--pops", str(sample_paths["pops"])]
        args += ["--roads", str(sample_paths["roads"]), "--out", str(out), "--quiet", "--no-map"]
        assert cli.main([*args, *flags]) == 0
        return pd.read_csv(out / "sites.csv", dtype={"pop_id": str}), pd.read_csv(
            out / "summary.csv", dtype={"pop_id": str}
        ).set_index("pop_id")

    sites, _ = run(tmp_path / "capped", "--pop-capacity", "25")
    assert sites["routed"].all()
    assert sites.groupby("pop_id").size().max() <= 25
    _, joint = run(tmp_path / "joint")
    _, per_pop = run(tmp_path / "per-pop", "--no-joint")
    assert joint.at["TOTAL", "trench_km"] < per_pop.at["TOTAL", "trench_km"]
