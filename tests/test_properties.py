"""Property tests of the planner on random small road graphs and site sets (hypothesis).

Each example is a jittered grid of roads in a metric CRS (a random subset of its edges, sometimes
drawn as long multi-vertex lines, some ends pulled back to leave gaps, a road duplicated), now and
then a disconnected fragment (bridged or not) and an unnoded line crossing the grid, with 1-3 PoPs
(two may share a spot, one may sit on the fragment) and 1-12 GPs placed on, within a metre of,
near or off the roads (one sometimes too far from any road, several at the same spot or at a PoP).
The properties are what a planner must guarantee whatever the input:

1. every GP comes out exactly once, routed or with a reason;
2. each PoP's routes form one tree holding its PoP and its routed GPs, whose leaves are GPs, and
   whose per-segment ``gp_ids`` and per-GP ``route_m`` agree with that tree;
3. the trench total equals the sum of segment lengths and of the per-PoP rows;
4. shuffling input rows changes nothing;
5. shared-trench trees are never longer than the star (union of shortest paths): in total for
   the joint design, per PoP for per-PoP trees (``joint=False``); star routes are shortest paths;
6. a GP's route along the tree is never shorter than its shortest network path from its PoP,
   and with per-PoP trees GPs go to their nearest PoP by road;
7. a tree lays one cable per trench, a star one cable per GP;
8. with a PoP capacity no PoP serves more GPs, each PoP's routes still form one tree, and a GP
   is left over only when every PoP it can reach is full.

``NETPLAN_PROPERTY_EXAMPLES=500`` runs a longer search than the default 25 examples per test.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netplan
from netplan.params import NetworkOptions

CRS = "EPSG:32644"
X0, Y0 = 500_000.0, 2_300_000.0
CLASSES = ("VR", "ODR", "NH")
OPTIONS = NetworkOptions()  # max_spur_m 2000, max_bridge_m 1000, heal 20
TOL_M = 1e-6

# CI explores the same examples every run (a red CI must mean a real regression); local runs
# draw new examples each time, and NETPLAN_PROPERTY_EXAMPLES=500 searches longer.
SETTINGS = settings(
    max_examples=int(os.environ.get("NETPLAN_PROPERTY_EXAMPLES", "25")),
    derandomize=os.environ.get("CI") == "true",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)


# --------------------------------------------------------------------------------------------
# strategies
# --------------------------------------------------------------------------------------------
@dataclass
class Case:
    """One random planning input (GeoDataFrames in EPSG:32644)."""

    gps: gpd.GeoDataFrame
    pops: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame


Node = tuple[int, int]
XY = tuple[float, float]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    nx_, ny_ = draw(st.integers(3, 6)), draw(st.integers(3, 6))
    spacing = draw(st.integers(200, 1000))
    node_xy, kept = _draw_grid(draw, nx_, ny_, spacing)
    if draw(st.booleans()):
        lines = _chained_lines(node_xy, set(kept), nx_, ny_)
    else:
        lines = [shapely.LineString([node_xy[a], node_xy[b]]) for a, b in kept]
    _draw_gaps_and_duplicate(draw, lines)
    width, height = (nx_ - 1) * spacing, (ny_ - 1) * spacing
    fragment = _draw_extra_lines(draw, lines, width, height)
    classes = [draw(st.sampled_from(CLASSES)) for _ in lines]
    roads = gpd.GeoDataFrame(
        {"road_class": classes, "name": [f"road {k}" for k in range(len(lines))]},
        geometry=lines,
        crs=CRS,
    )
    pop_pts, gp_pts = _draw_sites(draw, lines, node_xy, fragment, width, height)
    gps = gpd.GeoDataFrame(
        {"site_id": [f"G{k:02d}" for k in range(len(gp_pts))]},
        geometry=shapely.points(np.asarray(gp_pts, dtype=float)),
        crs=CRS,
    )
    pops = gpd.GeoDataFrame(
        {"site_id": [f"P{k}" for k in range(len(pop_pts))]},
        geometry=shapely.points(np.asarray(pop_pts, dtype=float)),
        crs=CRS,
    )
    return Case(gps=gps, pops=pops, roads=roads)


def _draw_grid(
    draw: st.DrawFn, nx_: int, ny_: int, spacing: int
) -> tuple[dict[Node, XY], list[tuple[Node, Node]]]:
    """Jittered grid nodes and a random non-empty subset of the grid's edges."""
    jitter = int(spacing * 0.2)
    jit = st.integers(-jitter, jitter)
    node_xy = {
        (i, j): (X0 + i * spacing + draw(jit), Y0 + j * spacing + draw(jit))
        for i in range(nx_)
        for j in range(ny_)
    }
    grid_edges = [((i, j), (i + 1, j)) for j in range(ny_) for i in range(nx_ - 1)]
    grid_edges += [((i, j), (i, j + 1)) for i in range(nx_) for j in range(ny_ - 1)]
    keep = draw(st.lists(st.booleans(), min_size=len(grid_edges), max_size=len(grid_edges)))
    kept = [e for e, k in zip(grid_edges, keep, strict=True) if k] or grid_edges[:1]
    return node_xy, kept


def _chained_lines(
    node_xy: dict[Node, XY], kept_set: set[tuple[Node, Node]], nx_: int, ny_: int
) -> list[shapely.LineString]:
    """The kept edges chained into long multi-vertex lines (rows, then columns)."""
    lines: list[shapely.LineString] = []
    for horizontal in (True, False):
        outer, inner = (ny_, nx_) if horizontal else (nx_, ny_)
        for a in range(outer):
            run: list[Node] = []
            for b in range(inner):
                node = (b, a) if horizontal else (a, b)
                prev = ((b - 1, a) if horizontal else (a, b - 1)) if b else None
                if prev is not None and (prev, node) in kept_set:
                    run.append(node)
                else:
                    if len(run) > 1:
                        lines.append(shapely.LineString([node_xy[n] for n in run]))
                    run = [node]
            if len(run) > 1:
                lines.append(shapely.LineString([node_xy[n] for n in run]))
    return lines


def _draw_gaps_and_duplicate(draw: st.DrawFn, lines: list[shapely.LineString]) -> None:
    """Maybe pull a few line ends back and maybe duplicate a road (in place)."""
    if draw(st.booleans()):  # pull a few line ends back: gaps to heal (<20 m) or not (>20 m)
        for k in draw(st.lists(st.integers(0, len(lines) - 1), max_size=3, unique=True)):
            coords = np.asarray(lines[k].coords)
            a, b = coords[-2], coords[-1]
            step = np.linalg.norm(b - a)
            cut = min(draw(st.sampled_from((3, 8, 15, 30))), step / 2)
            coords[-1] = b - (b - a) / step * cut
            lines[k] = shapely.LineString(coords)
    if draw(st.booleans()):  # a duplicated road (same or reversed direction)
        k = draw(st.integers(0, len(lines) - 1))
        dup = lines[k] if draw(st.booleans()) else shapely.reverse(lines[k])
        lines.append(dup)


def _draw_extra_lines(
    draw: st.DrawFn, lines: list[shapely.LineString], width: int, height: int
) -> shapely.LineString | None:
    """Maybe a fragment off the grid and an unnoded crossing line (appended); the fragment."""
    fragment: shapely.LineString | None = None
    if draw(st.booleans()):  # a fragment east of the grid, not touching it
        gap = draw(st.integers(300, 1500))  # bridged when <= max_bridge_m
        fx = X0 + width + gap
        fy = Y0 + draw(st.integers(0, height))
        flen = draw(st.integers(100, 800))
        fragment = shapely.LineString([(fx, fy), (fx, fy + flen)])
        lines.append(fragment)
    if draw(st.booleans()):  # a line crossing the grid without shared vertices
        a = (X0 + draw(st.integers(0, width)), Y0 - draw(st.integers(50, 300)))
        b = (X0 + draw(st.integers(0, width)), Y0 + height + draw(st.integers(50, 300)))
        lines.append(shapely.LineString([a, b]))
    return fragment


@dataclass
class _Placer:
    """Draws points near, on or off the roads of one example."""

    draw: st.DrawFn
    lines: list[shapely.LineString]
    fragment: shapely.LineString | None
    width: int
    height: int

    def near(self) -> XY:
        draw = self.draw
        if draw(st.integers(0, 3)) == 0:  # off the integer grid
            fx = st.floats(-300, self.width + 300, allow_nan=False, allow_infinity=False)
            fy = st.floats(-300, self.height + 300, allow_nan=False, allow_infinity=False)
            return X0 + draw(fx), Y0 + draw(fy)
        x = draw(st.integers(-300, self.width + 300))
        return X0 + x, Y0 + draw(st.integers(-300, self.height + 300))

    def on_line(self, offset: float = 0.0) -> XY:
        line = self.lines[self.draw(st.integers(0, len(self.lines) - 1))]
        pt = line.interpolate(self.draw(st.integers(0, 100)) / 100, normalized=True)
        return pt.x + offset, pt.y - offset

    def at_fragment(self) -> XY:
        assert self.fragment is not None
        pt = self.fragment.interpolate(self.draw(st.integers(0, 100)) / 100, normalized=True)
        return pt.x + self.draw(st.integers(0, 200)), pt.y


def _draw_sites(
    draw: st.DrawFn,
    lines: list[shapely.LineString],
    node_xy: dict[Node, XY],
    fragment: shapely.LineString | None,
    width: int,
    height: int,
) -> tuple[list[XY], list[XY]]:
    """PoP and GP positions: near, on or off the roads, some shared or out of reach."""
    place = _Placer(draw, lines, fragment, width, height)
    n_pops = draw(st.integers(1, 3))
    pop_pts = [place.near() for _ in range(n_pops)]
    if n_pops > 1 and draw(st.booleans()):  # two PoPs at one spot
        pop_pts[-1] = pop_pts[0]
    elif n_pops > 1 and fragment is not None and draw(st.booleans()):  # a PoP on the fragment
        pop_pts[-1] = place.at_fragment()
    gp_pts = _draw_gps(place, node_xy)
    if draw(st.booleans()):  # one GP farther than max_spur_m from every road
        gp_pts.append((X0 - OPTIONS.max_spur_m - draw(st.integers(200, 2000)), Y0 + height / 2))
    if draw(st.booleans()) and gp_pts:  # a GP at a PoP
        gp_pts.append(draw(st.sampled_from(pop_pts)))
    return pop_pts, gp_pts


def _draw_gps(place: _Placer, node_xy: dict[Node, XY]) -> list[XY]:
    draw = place.draw
    gp_pts: list[XY] = []
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(("near", "near", "near", "node", "online", "fragment", "dup")))
        if kind == "node":  # exactly on a grid node (maybe of a dropped edge)
            gp_pts.append(node_xy[draw(st.sampled_from(sorted(node_xy)))])
        elif kind == "online":  # on a road line, or within a metre or so of it
            gp_pts.append(place.on_line(draw(st.sampled_from((0.0, 0.0, 0.3, 0.69, 0.71, 1.5)))))
        elif kind == "fragment" and place.fragment is not None:
            gp_pts.append(place.at_fragment())
        elif kind == "dup" and gp_pts:
            gp_pts.append(draw(st.sampled_from(gp_pts)))
        else:
            gp_pts.append(place.near())
    return gp_pts


def run_plan(case: Case, **kwargs) -> netplan.Plan:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # far-off sites are warned about; expected here
        return netplan.plan(case.gps, case.pops, case.roads, progress=False, **kwargs)


@pytest.fixture(autouse=True)
def _quiet_logs():
    logging.getLogger("netplan").setLevel(logging.ERROR)
    yield
    logging.getLogger("netplan").setLevel(logging.NOTSET)


def _pop_trees(p: netplan.Plan) -> dict[str, nx.Graph]:
    """Each PoP's route graph over network node ids (edge attribute ``length``)."""
    edges = p.network.edges
    trees: dict[str, nx.Graph] = {}
    for pop_id in p.pops.index:
        g = nx.Graph()
        mine = p.routes[p.routes["pop_id"] == pop_id]
        for edge_id, length in zip(mine["edge_id"], mine["length_m"], strict=True):
            g.add_edge(
                int(edges.at[edge_id, "u"]),
                int(edges.at[edge_id, "v"]),
                length=float(length),
                edge_id=int(edge_id),
            )
        trees[pop_id] = g
    return trees


# --------------------------------------------------------------------------------------------
# 1. every GP accounted for
# --------------------------------------------------------------------------------------------
@SETTINGS
@given(cases(), st.sampled_from(("tree", "star", "ring")))
def test_every_gp_routed_or_has_reason(case: Case, topology: str) -> None:
    p = run_plan(case, topology=topology)
    given_ids = sorted(case.gps["site_id"])
    assert sorted(p.sites.index) == given_ids  # each exactly once
    assert p.sites.index.is_unique
    routed = p.sites["routed"].astype(bool)
    reason = p.sites["reason"].astype(str)
    assert (reason[routed] == "").all(), p.sites[routed & (reason != "")]
    assert (reason[~routed].str.strip() != "").all(), p.sites[~routed]
    assert "please report this as a bug" not in " ".join(reason)
    # routed GPs have a PoP, a finite route, and a PoP that is itself routed
    assert p.sites.loc[routed, "pop_id"].notna().all()
    assert np.isfinite(p.sites.loc[routed, "route_m"].astype(float)).all()
    assert p.pops.loc[p.sites.loc[routed, "pop_id"].unique(), "routed"].all()
    # a GP within max_spur_m of a road is never unroutable for being too far
    snap = p.network.gps["snap_m"].reindex(p.sites.index).astype(float)
    near = ~routed & (snap <= OPTIONS.max_spur_m - 1)
    assert not reason[near].str.contains("farther than").any(), p.sites[near]
    # every PoP comes out once, with counts that add up
    assert sorted(p.pops.index) == sorted(case.pops["site_id"])
    assert int(p.pops["routed_gps"].sum()) == int(routed.sum())


# --------------------------------------------------------------------------------------------
# 2. each PoP's routes form one tree holding its PoP and routed GPs
# --------------------------------------------------------------------------------------------
def _check_pop_trees(p: netplan.Plan) -> None:
    """Each PoP's routes form one tree holding the PoP and its routed GPs, whose leaves are GPs,
    and whose per-segment ``gp_ids`` and per-GP ``route_m`` agree with that tree."""
    trees = _pop_trees(p)
    gp_nodes = p.network.gps["node"]
    routed = p.sites[p.sites["routed"]]
    for pop_id, g in trees.items():
        mine = p.routes[p.routes["pop_id"] == pop_id]
        assert mine["edge_id"].is_unique, f"PoP {pop_id} uses an edge twice"
        gp_ids = routed.index[routed["pop_id"] == pop_id]
        if not len(gp_ids):
            assert mine.empty, f"PoP {pop_id} has routes but no routed GP"
            continue
        root = int(p.network.pops.at[pop_id, "node"])
        g.add_node(root)
        terminals = {int(gp_nodes.at[gp]) for gp in gp_ids}
        assert nx.is_tree(g), f"PoP {pop_id}: routes are not one tree"
        assert terminals <= set(g.nodes), f"PoP {pop_id}: GP nodes missing from its routes"
        leaves = {n for n in g.nodes if g.degree(n) == 1 and n != root}
        assert leaves <= terminals, (
            f"PoP {pop_id}: dangling branches ending at {leaves - terminals}"
        )
        # route_m is the distance along the tree; gp_ids lists the GPs downstream of each segment
        dist, paths = nx.single_source_dijkstra(g, root, weight="length")
        downstream: dict[int, set[str]] = {}
        for gp in gp_ids:
            node = int(gp_nodes.at[gp])
            assert p.sites.at[gp, "route_m"] == pytest.approx(dist[node], abs=1e-6)
            for a, b in zip(paths[node][:-1], paths[node][1:], strict=True):
                downstream.setdefault(g.edges[a, b]["edge_id"], set()).add(gp)
        for edge_id, ids, served in zip(
            mine["edge_id"], mine["gp_ids"], mine["gps_served"], strict=True
        ):
            listed = set(ids.split(";")) if ids else set()
            assert listed == downstream.get(int(edge_id), set()), f"edge {edge_id} of {pop_id}"
            assert served == len(listed)
    # segments of different PoPs may share a road, but each PoP's rows are its own
    assert set(p.routes["pop_id"]) <= set(p.pops.index)


@SETTINGS
@given(cases(), st.sampled_from(("tree", "star")), st.booleans())
def test_routes_form_a_tree_per_pop(case: Case, topology: str, joint: bool) -> None:
    _check_pop_trees(run_plan(case, topology=topology, joint=joint))


# --------------------------------------------------------------------------------------------
# 3. lengths add up
# --------------------------------------------------------------------------------------------
@SETTINGS
@given(cases(), st.sampled_from(("tree", "star")))
def test_total_length_is_sum_of_segments(case: Case, topology: str) -> None:
    p = run_plan(case, topology=topology)
    lengths = p.routes["length_m"].astype(float)
    seg_sum = float(lengths.sum())
    total_m = float(p.summary.loc["TOTAL", "trench_km"]) * 1000
    assert total_m == pytest.approx(seg_sum, abs=0.1)  # summary rounded to 1e-4 km
    per_pop = p.summary.drop(index="TOTAL")["trench_km"].astype(float)
    assert sorted(per_pop.index) == sorted(p.pops.index)
    assert float(per_pop.sum()) * 1000 == pytest.approx(seg_sum, abs=0.1 * (len(per_pop) + 1))
    by_pop = lengths.groupby(p.routes["pop_id"]).sum().reindex(per_pop.index).fillna(0.0)
    np.testing.assert_allclose(per_pop.to_numpy() * 1000, by_pop.to_numpy(), atol=0.1)
    # each segment's length is its network edge's length and its geometry's length
    edges = p.network.edges
    np.testing.assert_allclose(
        lengths.to_numpy(),
        edges.loc[p.routes["edge_id"].astype(int), "length"].to_numpy(float),
        rtol=1e-9,
    )
    metric = p.routes.to_crs(p.network.crs)
    np.testing.assert_allclose(metric.length.to_numpy(), lengths.to_numpy(), rtol=1e-6, atol=1e-3)
    # summary kind split adds up to the trench
    t = p.summary.loc["TOTAL"]
    assert float(t["road_km"] + t["spur_km"] + t["bridge_km"]) == pytest.approx(
        float(t["trench_km"]), abs=4e-4
    )


@SETTINGS
@given(cases(), st.sampled_from(("tree", "star")))
def test_cable_per_trench_or_per_gp(case: Case, topology: str) -> None:
    """A tree lays one cable per trench; a star one cable per GP served."""
    p = run_plan(case, topology=topology)
    lengths = p.routes["length_m"].astype(float).to_numpy()
    cable = p.routes["cable_m"].astype(float).to_numpy()
    cables = p.routes["gps_served"].astype(float).to_numpy() if topology == "star" else 1.0
    np.testing.assert_allclose(cable, lengths * cables, rtol=1e-9)
    total_cable = float(p.summary.loc["TOTAL", "cable_km"]) * 1000
    assert total_cable == pytest.approx(float(cable.sum()), abs=0.1)


# --------------------------------------------------------------------------------------------
# 4. shuffled rows give the same plan
# --------------------------------------------------------------------------------------------
def _shuffled(case: Case, seed: int) -> Case:
    rng = np.random.default_rng(seed)

    def perm(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        return gdf.iloc[rng.permutation(len(gdf))].reset_index(drop=True)

    return Case(gps=perm(case.gps), pops=perm(case.pops), roads=perm(case.roads))


def _routes_shape(p: netplan.Plan, pop_id: str) -> shapely.Geometry:
    mine = p.routes[p.routes["pop_id"] == pop_id]
    return shapely.MultiLineString(list(mine.to_crs(p.network.crs).geometry))


@SETTINGS
@given(cases(), st.integers(0, 2**32 - 1), st.sampled_from(("tree", "star")))
def test_shuffled_rows_give_the_same_plan(case: Case, seed: int, topology: str) -> None:
    a = run_plan(case, topology=topology)
    b = run_plan(_shuffled(case, seed), topology=topology)
    cols = ["pop_id", "routed", "reason"]
    pd.testing.assert_frame_equal(
        pd.DataFrame(a.sites[cols]).sort_index(), pd.DataFrame(b.sites[cols]).sort_index()
    )
    for col in ("route_m", "network_m", "spur_m"):
        np.testing.assert_allclose(
            a.sites[col].sort_index().to_numpy(float),
            b.sites[col].sort_index().to_numpy(float),
            atol=TOL_M,
            err_msg=col,
        )
    sa, sb = a.summary.sort_index(), b.summary.sort_index()
    np.testing.assert_allclose(sa["trench_km"], sb["trench_km"], atol=1e-9)
    for pop_id in a.pops.index:
        ra, rb = a.routes[a.routes["pop_id"] == pop_id], b.routes[b.routes["pop_id"] == pop_id]
        assert len(ra) == len(rb), f"PoP {pop_id}: {len(ra)} vs {len(rb)} segments"
        if len(ra):
            ga, gb = _routes_shape(a, pop_id), _routes_shape(b, pop_id)
            assert shapely.hausdorff_distance(ga, gb) < 1e-3, f"PoP {pop_id} routes differ"
            assert sorted(ra["gp_ids"]) == sorted(rb["gp_ids"])


# --------------------------------------------------------------------------------------------
# 5. star against tree; star routes are shortest paths
# --------------------------------------------------------------------------------------------
@SETTINGS
@given(cases())
def test_tree_never_longer_than_star(case: Case) -> None:
    # length-only plans: shortest-path stars against the shortest trees
    length = netplan.CostModel(objective="length")
    star = run_plan(case, topology="star", costs=length)
    per_pop = run_plan(case, topology="tree", joint=False, costs=length)
    joint = run_plan(case, topology="tree", costs=length)
    cols = ["pop_id", "routed"]
    pd.testing.assert_frame_equal(pd.DataFrame(per_pop.sites[cols]), pd.DataFrame(star.sites[cols]))
    t_len = per_pop.routes.groupby("pop_id")["length_m"].sum()
    s_len = star.routes.groupby("pop_id")["length_m"].sum()
    for pop_id in per_pop.pops.index:
        t, s = float(t_len.get(pop_id, 0.0)), float(s_len.get(pop_id, 0.0))
        assert t <= s + TOL_M, f"PoP {pop_id}: tree {t:.3f} m > star {s:.3f} m"
    # the joint design routes the same GPs (perhaps from another PoP) on no more trench
    assert joint.sites["routed"].equals(star.sites["routed"])
    joint_m = float(joint.routes["length_m"].sum())
    assert joint_m <= float(star.routes["length_m"].sum()) + TOL_M
    assert joint_m <= float(per_pop.routes["length_m"].sum()) + TOL_M
    routed = star.sites[star.sites["routed"]]
    np.testing.assert_allclose(
        routed["route_m"].to_numpy(float), routed["network_m"].to_numpy(float), atol=TOL_M
    )


# --------------------------------------------------------------------------------------------
# 6. a route along the tree is never shorter than the shortest path
# --------------------------------------------------------------------------------------------
@SETTINGS
@given(cases(), st.booleans())
def test_tree_route_not_shorter_than_shortest_path(case: Case, joint: bool) -> None:
    p = run_plan(case, topology="tree", joint=joint)
    routed = p.sites[p.sites["routed"]]
    route, network = routed["route_m"].to_numpy(float), routed["network_m"].to_numpy(float)
    assert (route >= network - TOL_M).all(), routed[route < network - TOL_M]
    # and network_m is the true shortest path on the network graph from the assigned PoP
    g = p.network.graph
    for gp, row in routed.iterrows():
        src = int(p.network.pops.at[row["pop_id"], "node"])
        dst = int(p.network.gps.at[gp, "node"])
        assert nx.shortest_path_length(g, src, dst, weight="length") == pytest.approx(
            row["network_m"], abs=1e-6
        )
        if joint:
            continue
        # nearest-PoP assignment: no other routed PoP is strictly nearer by road
        for other, pop_row in p.network.pops.iterrows():
            if pop_row["status"] != "ok" or other == row["pop_id"]:
                continue
            try:
                d = nx.shortest_path_length(g, int(pop_row["node"]), dst, weight="length")
            except nx.NetworkXNoPath:
                continue
            assert d >= row["network_m"] - 1e-6, f"{gp} is nearer to {other} than {row['pop_id']}"


# --------------------------------------------------------------------------------------------
# 8. PoP capacity
# --------------------------------------------------------------------------------------------
@SETTINGS
@given(cases(), st.integers(1, 5), st.sampled_from(("tree", "star")), st.booleans())
def test_pop_capacity_is_respected_and_nothing_is_lost(
    case: Case, capacity: int, topology: str, joint: bool
) -> None:
    p = run_plan(case, topology=topology, joint=joint, pop_capacity=capacity)
    assert sorted(p.sites.index) == sorted(case.gps["site_id"])
    routed = p.sites["routed"].astype(bool)
    assert (p.sites.loc[~routed, "reason"].str.strip() != "").all()
    assert (p.sites[routed].groupby("pop_id").size() <= capacity).all()
    if topology == "tree":
        _check_pop_trees(p)
    # a GP is left over for capacity only when every PoP it can reach by road is full
    full = p.sites.loc[~routed, "reason"].str.contains("is full")
    served = p.sites[routed].groupby("pop_id").size().reindex(p.pops.index, fill_value=0)
    g = p.network.graph
    for gp in full.index[full]:
        reach = nx.node_connected_component(g, int(p.network.gps.at[gp, "node"]))
        ok = p.network.pops[(p.network.pops["status"] == "ok")]
        near = ok.index[ok["node"].astype(int).isin(reach)]
        # PoPs sharing a node with a smaller id are never used (the smaller id serves)
        first = ok.loc[near].reset_index().groupby("node")["site_id"].min()
        assert (served[first.to_numpy()] >= capacity).all(), gp


# --------------------------------------------------------------------------------------------
# hand-made cases distilled from the properties (answers computable by hand)
# --------------------------------------------------------------------------------------------
def _line_case(gp_xy: list[tuple[float, float]], pop_xy: tuple[float, float]) -> Case:
    """One straight 1 km road from (X0, Y0) eastwards."""
    roads = gpd.GeoDataFrame(
        {"road_class": ["VR"]}, geometry=[shapely.LineString([(X0, Y0), (X0 + 1000, Y0)])], crs=CRS
    )
    gps = gpd.GeoDataFrame(
        {"site_id": [f"G{k}" for k in range(len(gp_xy))]},
        geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in gp_xy],
        crs=CRS,
    )
    pops = gpd.GeoDataFrame(
        {"site_id": ["P0"]}, geometry=[shapely.Point(X0 + pop_xy[0], Y0 + pop_xy[1])], crs=CRS
    )
    return Case(gps=gps, pops=pops, roads=roads)


@pytest.mark.parametrize("topology", ["tree", "star"])
def test_gps_sharing_a_spot_get_a_cable_each_in_a_star(topology: str) -> None:
    # two GPs at the far end of the road, the PoP at the near end: 1 km of trench either way;
    # a star lays one cable per GP (2 km), a tree one shared cable (1 km)
    p = run_plan(_line_case([(1000, 0), (1000, 0)], (0, 0)), topology=topology)
    assert p.sites["routed"].all()
    assert p.sites["route_m"].tolist() == pytest.approx([1000.0, 1000.0])
    assert float(p.routes["length_m"].sum()) == pytest.approx(1000.0)
    assert p.routes["gps_served"].tolist() == [2]
    assert p.routes["gp_ids"].tolist() == ["G0;G1"]
    expected_cable = 2000.0 if topology == "star" else 1000.0
    assert float(p.routes["cable_m"].sum()) == pytest.approx(expected_cable)
    assert float(p.summary.loc["TOTAL", "cable_km"]) == pytest.approx(expected_cable / 1000)


def test_gp_at_its_pop_needs_no_route_and_columns_stay_numeric() -> None:
    p = run_plan(_line_case([(0, 0)], (0, 0)))
    assert bool(p.sites.at["G0", "routed"])
    assert p.sites.at["G0", "route_m"] == 0.0
    assert p.routes.empty
    assert float(p.summary.loc["TOTAL", "trench_km"]) == 0.0
    # an empty routes table keeps its schema (written as numbers to GeoPackage)
    for col in ("segment_id", "edge_id", "length_m", "cable_m", "gps_served"):
        assert pd.api.types.is_numeric_dtype(p.routes[col]), f"{col}: {p.routes[col].dtype}"
    assert pd.api.types.is_bool_dtype(p.routes["offroad"])


# --------------------------------------------------------------------------------------------
# rings: every routed GP on exactly one ring of its PoP; each ring's roads connect it to the PoP
# --------------------------------------------------------------------------------------------
@SETTINGS
@given(cases(), st.integers(min_value=1, max_value=4))
def test_rings_cover_each_routed_gp_once(case: Case, ring_size: int) -> None:
    p = run_plan(case, topology="ring", ring_size=ring_size)
    routed = p.sites[p.sites["routed"].astype(bool)]
    gp_node = p.network.gps["node"]
    pop_node = p.network.pops["node"]
    # a GP at its PoP's own location needs no ring
    at_pop = [g for g in routed.index if gp_node[g] == pop_node[routed.at[g, "pop_id"]]]
    on_rings = [g for ids in p.rings["gp_ids"] for g in ids.split(";") if g]
    assert sorted(on_rings) == sorted(set(routed.index) - set(at_pop))
    # ring_size counts GP locations (GPs at one spot are one stop)
    stops = p.rings["gp_ids"].map(lambda ids: len({int(gp_node[g]) for g in ids.split(";")}))
    assert (stops <= ring_size).all()
    assert (p.rings["shared_m"] <= p.rings["length_m"] + 1e-6).all()
    assert (routed["route_m"] >= routed["network_m"] - 1e-6).all()
    edges = p.network.edges
    for ring_id, ring in p.rings.iterrows():
        mine = p.routes[p.routes["ring_ids"].str.split(";").apply(lambda ids, r=ring_id: r in ids)]
        g = nx.MultiGraph()
        g.add_edges_from(
            zip(edges.loc[mine["edge_id"], "u"], edges.loc[mine["edge_id"], "v"], strict=True)
        )
        pop_node = int(p.network.pops.at[ring["pop_id"], "node"])
        gp_nodes = {int(p.network.gps.at[g_id, "node"]) for g_id in ring["gp_ids"].split(";")}
        reachable = nx.node_connected_component(g, pop_node) if pop_node in g else {pop_node}
        assert gp_nodes <= reachable
