"""Tests of netplan.network: noding, healing, snapping, bridging, determinism, real data."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, MultiLineString, Point, Polygon

from netplan._errors import CRSError, DuplicateIdError, EmptyLayerError, GeometryTypeError
from netplan.network import RoadNetwork, build_network
from netplan.params import NetworkOptions

CRS = "EPSG:32643"  # metric: hand-made coordinates are metres, kept as given
X0, Y0 = 500_000.0, 3_800_000.0  # near the zone's central meridian


def _roads(*lines, **cols) -> gpd.GeoDataFrame:
    geoms = [
        LineString([(X0 + x, Y0 + y) for x, y in line]) if isinstance(line, list) else line
        for line in lines
    ]
    return gpd.GeoDataFrame(cols, geometry=geoms, crs=CRS)


def _sites(**points) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": list(points)},
        geometry=[Point(X0 + x, Y0 + y) for x, y in points.values()],
        index=list(points),
        crs=CRS,
    )


def _build(roads, **kw) -> RoadNetwork:
    return build_network(roads, progress=False, **kw)


def _node_at(net: RoadNetwork, x: float, y: float) -> int:
    d = np.hypot(net.nodes["x"] - (X0 + x), net.nodes["y"] - (Y0 + y))
    assert d.min() < 1e-6, f"no node at ({x}, {y}); nearest {d.min():.3f} m"
    return int(d.idxmin())


# ------------------------------------------------------------------------------------------
# noding
# ------------------------------------------------------------------------------------------
def test_x_crossing_becomes_four_edges_with_a_node_at_the_crossing():
    net = _build(_roads([(0, 0), (100, 100)], [(0, 100), (100, 0)], road_class=["A", "B"]))
    assert len(net.edges) == 4
    assert len(net.nodes) == 5
    centre = _node_at(net, 50, 50)
    assert net.nodes.loc[centre, "degree"] == 4
    assert np.allclose(net.edges["length"], math.hypot(50, 50))
    assert sorted(net.edges["road_class"]) == ["A", "A", "B", "B"]
    # missing name/ref columns become ""
    assert set(net.edges["name"]) == {""} and set(net.edges["ref"]) == {""}
    assert (net.edges["kind"] == "road").all()
    # geometry runs from u to v
    for _, e in net.edges.iterrows():
        x0, y0 = shapely.get_coordinates(e.geometry)[0]
        assert (net.nodes.loc[e.u, "x"], net.nodes.loc[e.u, "y"]) == (x0, y0)


def test_overshoot_is_noded_and_its_stub_is_not_healed_back():
    # the vertical line runs 10 m past the horizontal one
    net = _build(_roads([(0, 0), (200, 0)], [(100, 100), (100, -10)]))
    assert len(net.edges) == 4
    assert net.report["healed_gaps"] == 0
    junction = _node_at(net, 100, 0)
    assert net.nodes.loc[junction, "degree"] == 4
    assert net.edges["length"].min() == pytest.approx(10.0)


def test_lengths_preserved_by_noding():
    lines = [[(0, y), (1000, y + 37)] for y in range(0, 1000, 150)]
    lines += [[(x, -50), (x + 80, 1100), (x - 30, 1200)] for x in range(40, 1000, 170)]
    roads = _roads(*lines)
    total = roads.length.sum()
    net = _build(roads, options=NetworkOptions(heal_tolerance_m=0))
    road = net.edges[net.edges["kind"] == "road"]
    assert road["length"].sum() == pytest.approx(total, abs=1e-3)
    assert road.length.sum() == pytest.approx(total, abs=1e-3)  # geometry agrees with column
    assert len(net.edges) == len(lines) + 2 * 7 * 6  # each of 42 crossings splits two lines
    assert net.report["components_final"] == 1


def test_multilinestring_exploded_and_parallel_duplicate_dropped():
    mls = MultiLineString([[(X0, Y0), (X0 + 100, Y0)], [(X0 + 100, Y0), (X0 + 100, Y0 + 100)]])
    dup = LineString([(X0, Y0), (X0 + 100, Y0)])
    net = _build(gpd.GeoDataFrame(geometry=[mls, dup], crs=CRS))
    assert len(net.edges) == 2
    assert net.report["duplicates_dropped"] == 1
    assert net.report["input_parts"] == 3


def test_parallel_roads_of_different_length_are_both_kept():
    direct = LineString([(X0, Y0), (X0 + 1000, Y0)])
    detour = LineString([(X0, Y0), (X0, Y0 + 300), (X0 + 1000, Y0 + 300), (X0 + 1000, Y0)])
    net = _build(gpd.GeoDataFrame(geometry=[direct, detour], crs=CRS))
    assert sorted(net.edges["length"].round(6)) == [1000.0, 1600.0]
    assert net.report["duplicates_dropped"] == 0
    # the networkx view holds the shorter of the two
    ((u, v, data),) = net.graph.edges(data=True)
    assert data["length"] == pytest.approx(1000.0)


# ------------------------------------------------------------------------------------------
# healing
# ------------------------------------------------------------------------------------------
def test_t_junction_gap_healed_only_within_tolerance():
    roads = _roads([(0, 0), (200, 0)], [(100, 10), (100, 100)], road_class=["MDR", "VR"])
    healed = _build(roads, options=NetworkOptions(heal_tolerance_m=20))
    assert healed.report["healed_gaps"] == 1
    assert healed.report["components_final"] == 1
    conn = healed.edges[healed.edges["healed"]]
    assert len(conn) == 1
    assert conn["length"].iloc[0] == pytest.approx(10.0)
    assert conn["road_class"].iloc[0] == "VR" and conn["kind"].iloc[0] == "road"
    # the through road was split at the foot of the gap, not joined at its far end
    assert healed.nodes.loc[_node_at(healed, 100, 0), "degree"] == 3

    not_healed = _build(roads, options=NetworkOptions(heal_tolerance_m=5))
    assert not_healed.report["healed_gaps"] == 0
    assert not_healed.report["components_final"] == 2
    assert len(not_healed.edges) == 2


def test_end_to_end_gap_joins_the_two_ends():
    roads = _roads([(0, 0), (100, 0)], [(108, 0), (300, 0)])
    net = _build(roads, options=NetworkOptions(heal_tolerance_m=20))
    assert net.report["healed_gaps"] == 1  # not two connectors, one per end
    conn = net.edges[net.edges["healed"]]
    assert conn["length"].iloc[0] == pytest.approx(8.0)
    assert net.report["components_final"] == 1


def test_gap_short_of_a_junction_closes_onto_the_junction():
    # a road heading for the junction (100, 0) stops 15 m short of it, 4.3 m above the through
    # road: it is joined to the junction straight ahead, not to the nearest line point
    end = np.array([100.0, 0.0]) + 15 * np.array([200.0, 60.0]) / math.hypot(200, 60)
    roads = _roads([(0, 0), (100, 0)], [(100, 0), (200, 0)], [(300, 60), tuple(end)])
    net = _build(roads, options=NetworkOptions(heal_tolerance_m=20))
    conn = net.edges[net.edges["healed"]]
    assert len(conn) == 1
    assert conn["length"].iloc[0] == pytest.approx(15.0)
    assert net.nodes.loc[_node_at(net, 100, 0), "degree"] == 3
    assert len(net.edges) == 4


# ------------------------------------------------------------------------------------------
# snapping
# ------------------------------------------------------------------------------------------
def test_site_beside_a_long_edge_snaps_onto_the_edge_not_its_far_end():
    roads = _roads([(0, 0), (1000, 0)])
    net = _build(roads, gps=_sites(g=(400, 40)), pops=_sites(p=(0, 0)))
    gp = net.gps.loc["g"]
    assert gp["status"] == "ok" and gp["reason"] == ""
    assert gp["spur_m"] == pytest.approx(40.0)
    assert gp["snap_m"] == pytest.approx(40.0)
    assert (net.nodes.loc[gp["node"], "x"], net.nodes.loc[gp["node"], "y"]) == (X0 + 400, Y0 + 40)
    foot = _node_at(net, 400, 0)
    spur = net.edges[net.edges["kind"] == "spur"]
    assert len(spur) == 1
    assert {spur["u"].iloc[0], spur["v"].iloc[0]} == {foot, gp["node"]}
    assert spur["length"].iloc[0] == pytest.approx(40.0)
    road = net.edges[net.edges["kind"] == "road"].sort_values("length")
    assert road["length"].tolist() == pytest.approx([400.0, 600.0])
    assert net.report["spurs"] == 1


def test_several_sites_on_one_edge_split_it_once_in_order():
    roads = _roads([(0, 0), (1000, 0)])
    gps = _sites(a=(700, 0.4), b=(200, -5), c=(450, 3), d=(700, 0.4))
    net = _build(roads, gps=gps, pops=_sites(p=(0, 0)))
    road = net.edges[net.edges["kind"] == "road"]
    assert sorted(road["length"]) == pytest.approx([200, 250, 250, 300])
    assert net.gps.loc["a", "node"] == net.gps.loc["d", "node"]  # same place, same node
    assert net.gps.loc["a", "spur_m"] == 0.0  # within 1 m: on the road
    assert net.report["spurs"] == 2
    assert (net.gps["status"] == "ok").all()


def test_site_too_far_from_any_road_is_unroutable_with_reason():
    roads = _roads([(0, 0), (1000, 0)])
    net = _build(roads, gps=_sites(near=(500, 10), far=(500, 3000)), pops=_sites(p=(0, 0)))
    far = net.gps.loc["far"]
    assert far["status"] == "unroutable"
    assert pd.isna(far["node"])
    assert "2000 m" in far["reason"] and "3000 m" in far["reason"]
    assert far["snap_m"] == pytest.approx(3000.0)
    assert net.gps.loc["near", "status"] == "ok"
    assert net.report["gps_unroutable"] == 1


def test_sites_without_geometry_are_kept_as_unroutable():
    gps = _sites(a=(10, 5))
    gps.loc["b"] = ["b", None]
    net = _build(_roads([(0, 0), (100, 0)]), gps=gps)
    assert list(net.gps.index) == ["a", "b"]
    assert net.gps.loc["b", "status"] == "unroutable"
    assert "no location" in net.gps.loc["b", "reason"]


# ------------------------------------------------------------------------------------------
# bridging
# ------------------------------------------------------------------------------------------
def _two_fragments() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    roads = _roads([(0, 0), (1000, 0)], [(1500, 0), (2500, 0)])
    return roads, _sites(g=(2500, 0)), _sites(p=(0, 0))


def test_fragment_with_gp_but_no_pop_gets_one_bridge():
    roads, gps, pops = _two_fragments()
    net = _build(roads, gps=gps, pops=pops)
    bridges = net.edges[net.edges["kind"] == "bridge"]
    assert len(bridges) == 1
    assert bridges["length"].iloc[0] == pytest.approx(500.0)
    assert {bridges["u"].iloc[0], bridges["v"].iloc[0]} == {
        _node_at(net, 1000, 0),
        _node_at(net, 1500, 0),
    }
    assert net.report["bridges"] == 1 and net.report["bridge_km"] == pytest.approx(0.5)
    assert net.gps.loc["g", "status"] == "ok"
    assert net.gps.loc["g", "component"] == net.pops.loc["p", "component"]
    assert net.report["components_final"] == 1


def test_no_bridge_beyond_max_bridge_and_gp_unroutable():
    roads, gps, pops = _two_fragments()
    net = _build(roads, gps=gps, pops=pops, options=NetworkOptions(max_bridge_m=100))
    assert (net.edges["kind"] != "bridge").all()
    gp = net.gps.loc["g"]
    assert gp["status"] == "unroutable"
    assert "100 m bridge" in gp["reason"] and "500 m away" in gp["reason"]
    assert not pd.isna(gp["node"])  # snapped, but on a fragment without a PoP


def test_bridges_reach_into_lines_chain_through_empty_fragments_and_skip_useless_ones():
    roads = _roads(
        [(0, 0), (1000, 0)],  # PoP fragment
        [(600, 300), (700, 800)],  # GP fragment, 300 m from the PoP road
        [(600, 30), (500, 150), (400, 30)],  # fragment with no site, 30 m from the PoP road
        [(3000, 0), (3000, 100)],  # far fragment with no site
    )
    net = _build(roads, gps=_sites(g=(700, 800)), pops=_sites(p=(0, 0)))
    assert net.gps.loc["g", "status"] == "ok"
    bridges = net.edges[net.edges["kind"] == "bridge"]
    # GP fragment -> middle fragment (180 m) -> PoP road (30 m, onto the line's interior)
    # beats the direct 300 m link; the far fragment gets nothing
    assert sorted(bridges["length"]) == pytest.approx([30.0, math.hypot(100, 150)])
    foot = [n for n in (_node_at_or_none(net, 400, 0), _node_at_or_none(net, 600, 0)) if n]
    assert len(foot) == 1 and net.nodes.loc[foot[0], "degree"] == 3
    assert net.report["components_final"] == 2


def _node_at_or_none(net: RoadNetwork, x: float, y: float) -> int | None:
    d = np.hypot(net.nodes["x"] - (X0 + x), net.nodes["y"] - (Y0 + y))
    return int(d.idxmin()) if d.min() < 1e-6 else None


# ------------------------------------------------------------------------------------------
# determinism, arrays, graph, errors
# ------------------------------------------------------------------------------------------
def _scene() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    roads = _roads(
        [(0, 0), (500, 0), (1000, 50)],
        [(300, -200), (350, 400)],
        [(700, 30), (700, 300)],
        [(1000, 50), (1200, 400)],
        [(1600, 400), (2000, 500)],
        [(0, 0), (-300, 100)],
        road_class=["SH", "VR", "VR", "ODR", "track", "MDR"],
        name=["a", "b", "c", "d", "e", "f"],
    )
    gps = _sites(g1=(350, 500), g2=(2000, 520), g3=(800, 30), g4=(5000, 5000))
    pops = _sites(p1=(-300, 120))
    return roads, gps, pops


def test_deterministic_under_row_shuffle():
    roads, gps, pops = _scene()
    a = _build(roads, gps=gps, pops=pops)
    perm = np.random.default_rng(3).permutation(len(roads))
    b = _build(
        roads.iloc[perm].reset_index(drop=True),
        gps=gps.iloc[::-1],
        pops=pops,
    )
    cols = ["u", "v", "length", "kind", "road_class", "name", "healed"]
    pd.testing.assert_frame_equal(a.edges[cols], b.edges[cols])
    assert a.edges.geometry.geom_equals_exact(b.edges.geometry, tolerance=0).all()
    pd.testing.assert_frame_equal(a.nodes, b.nodes)
    pd.testing.assert_frame_equal(a.gps.loc[b.gps.index], b.gps)
    assert a.report["bridges"] == 1 and a.report["healed_gaps"] == 1


def test_arrays_graph_and_repr_agree_with_edges():
    roads, gps, pops = _scene()
    net = _build(roads, gps=gps, pops=pops)
    u, v, length = net.arrays()
    assert u.dtype == np.int64 and len(u) == len(net.edges)
    assert list(net.edges.index) == list(range(len(net.edges)))
    assert list(net.nodes.index) == list(range(len(net.nodes)))
    assert np.allclose(length, net.edges.length)
    g = net.graph
    assert g.number_of_nodes() == len(net.nodes) and g.number_of_edges() == len(net.edges)
    data = g.edges[int(u[0]), int(v[0])]
    assert data["edge_id"] == 0 and data["length"] == length[0]
    assert set(data) >= {"edge_id", "length", "kind", "road_class", "name", "ref"}
    assert g.nodes[0]["x"] == net.nodes.loc[0, "x"]
    assert (net.edges["u"] != net.edges["v"]).all() and (net.edges["length"] > 0).all()
    assert "RoadNetwork" in repr(net) and "edges" in repr(net)
    assert net.crs.equals(CRS)


def test_geographic_input_gets_a_utm_crs():
    roads = gpd.GeoDataFrame(geometry=[LineString([(77.0, 34.0), (77.01, 34.0)])], crs="EPSG:4326")
    net = _build(roads)
    assert net.crs.to_epsg() == 32643
    assert net.edges["length"].iloc[0] == pytest.approx(922.5, abs=2)


def test_bad_inputs_raise_clear_errors():
    line = LineString([(0, 0), (1, 1)])
    with pytest.raises(CRSError, match="no CRS"):
        _build(gpd.GeoDataFrame(geometry=[line]))
    with pytest.raises(GeometryTypeError, match="not lines"):
        _build(gpd.GeoDataFrame(geometry=[Polygon([(0, 0), (1, 0), (1, 1)])], crs=CRS))
    with pytest.raises(EmptyLayerError):
        _build(gpd.GeoDataFrame(geometry=[], crs=CRS))
    roads = _roads([(0, 0), (100, 0)])
    gps = _sites(a=(1, 1), b=(2, 2))
    gps.index = ["x", "x"]
    with pytest.raises(DuplicateIdError, match="'x'"):
        _build(roads, gps=gps)
    with pytest.raises(CRSError, match="degrees"):
        _build(roads, crs="EPSG:4326")


# ------------------------------------------------------------------------------------------
# real data: Ladakh (PMGSY), lines not noded as delivered
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ladakh(shared_data):
    folder = shared_data / "ladakh"
    roads = gpd.read_file(folder / "Road_DRRP_Ladakh.zip").rename(
        columns={"RoadCatego": "road_class", "RoadName": "name"}
    )
    fac = gpd.read_file(folder / "Facilities_Ladakh.zip")
    gps = fac[fac["FAC_DESC"].str.contains("panchayat", case=False, na=False)].copy()
    gps.index = gps["FACILITY_I"].astype(str)
    hab = gpd.read_file(folder / "Habitation_Ladakh.zip")
    pops = (
        hab.sort_values(["BLOCK_ID", "TOT_POPULA", "HAB_ID"], ascending=[True, False, True])
        .groupby("BLOCK_ID")
        .head(1)
        .copy()
    )
    pops.index = pops["HAB_ID"].astype(str)
    pops["name"] = pops["HAB_NAME"]
    net = build_network(roads, gps=gps, pops=pops, progress=False)
    return roads, gps, pops, net


def test_ladakh_deterministic_under_row_shuffle(ladakh):
    roads, gps, pops, net = ladakh
    perm = np.random.default_rng(7).permutation(len(roads))
    again = build_network(
        roads.iloc[perm], gps=gps.iloc[::-1], pops=pops.iloc[::-1], progress=False
    )
    cols = ["u", "v", "length", "kind", "road_class", "name"]
    pd.testing.assert_frame_equal(net.edges[cols], again.edges[cols])
    assert net.edges.geometry.geom_equals_exact(again.edges.geometry, tolerance=0).all()
    pd.testing.assert_frame_equal(net.gps, again.gps.loc[net.gps.index])


def test_ladakh_roads_build_into_a_connected_network(ladakh):
    """Ladakh PMGSY roads, GP offices and block PoPs.

    GPs: the facilities whose ``FAC_DESC`` matches /panchayat/i. PoPs: per ``BLOCK_ID`` the most
    populous habitation (``TOT_POPULA``; ties by lowest ``HAB_ID``), a stand-in for the block HQ.
    """
    roads, gps, pops, net = ladakh
    r = net.report
    assert r["input_lines"] == len(roads) == 1015
    # as delivered the lines fall into ~618 pieces (only crossings connect them); healing dangling
    # ends onto nearby lines (not only onto other ends) joins almost all of them
    assert 600 <= r["components_noded"] <= 620
    assert r["healed_gaps"] > 500
    assert r["components_healed"] < 100
    # road length kept up to dropped duplicates and loops (< 1 %)
    assert r["road_km"] == pytest.approx(r["input_km"], rel=0.01)
    assert r["road_km"] == pytest.approx(6280, rel=0.02)


def test_ladakh_every_panchayat_office_accounted_for(ladakh):
    """Every office is ok with a node, or unroutable with a reason; offices near roads route.

    GPs: facilities with ``FAC_DESC`` matching /panchayat/i; PoPs: the most populous habitation
    of each block (``TOT_POPULA`` per ``BLOCK_ID``).
    """
    roads, gps, pops, net = ladakh
    table = net.gps
    assert len(table) == len(gps) and set(table.index) == set(gps.index)
    ok = table["status"] == "ok"
    bad = table["status"] == "unroutable"
    assert (ok | bad).all()
    assert table.loc[ok, "node"].notna().all() and (table.loc[ok, "reason"] == "").all()
    assert (table.loc[bad, "reason"].str.len() > 0).all()
    assert ok.sum() + bad.sum() == len(gps)
    assert (net.pops["status"] == "ok").sum() >= 0.9 * len(pops)

    pop_components = set(net.pops.loc[net.pops["status"] == "ok", "component"].astype(int))
    near = table["snap_m"] <= 2000
    assert near.sum() >= 0.5 * len(gps)
    routed = ok & table["component"].isin(pop_components)
    assert (routed & near).sum() >= 0.9 * near.sum()
    # spur lengths never exceed the snapping distance plus the vertex snap
    assert (table.loc[ok, "spur_m"] <= table.loc[ok, "snap_m"] + 0.5).all()
