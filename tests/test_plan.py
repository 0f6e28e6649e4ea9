"""The whole planner: hand-made cases with known answers, the bundled sample, real Ladakh roads."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

import netplan
from netplan import CostModel, NetworkOptions, RowLayer

CRS = "EPSG:32644"
X0, Y0 = 500_000.0, 2_300_000.0


def _points(coords, prefix):
    return gpd.GeoDataFrame(
        {
            "id": [f"{prefix}{i}" for i in range(len(coords))],
            "name": [f"{prefix} {i}" for i in range(len(coords))],
        },
        geometry=[Point(X0 + x, Y0 + y) for x, y in coords],
        crs=CRS,
    )


def _roads(lines, classes=None, refs=None):
    n = len(lines)
    return gpd.GeoDataFrame(
        {
            "road_class": classes or ["VR"] * n,
            "ref": refs or [""] * n,
            "name": [f"road {i}" for i in range(n)],
        },
        geometry=[LineString([(X0 + x, Y0 + y) for x, y in line]) for line in lines],
        crs=CRS,
    )


@pytest.fixture
def detour_case():
    """PoP at (0,0), GP at (2000,0). Direct road 2000 m through a forest square covering
    x in [500,1500]; a detour road north of the forest: (0,0)-(0,600)-(2000,600)-(2000,0), 3200 m."""
    roads = _roads([[(0, 0), (2000, 0)], [(0, 0), (0, 600), (2000, 600), (2000, 0)]])
    forest = gpd.GeoDataFrame(
        {"forest_id": ["RF-7"], "division": ["North Division"], "name": ["Test RF"]},
        geometry=[box(X0 + 500, Y0 - 300, X0 + 1500, Y0 + 300)],
        crs=CRS,
    )
    return _points([(2000, 0)], "gp"), _points([(0, 0)], "pop"), roads, forest


def test_route_through_forest_has_exact_forest_length(detour_case):
    gps, pops, roads, forest = detour_case
    p = netplan.plan(gps, pops, roads, forest=forest, progress=False)
    assert p.sites["routed"].all()
    assert p.routes["length_m"].sum() == pytest.approx(2000.0)
    assert p.routes["in_forest_m"].sum() == pytest.approx(1000.0)
    total = p.summary.loc["TOTAL"]
    assert total["forest_ha"] == pytest.approx(1000.0 * 1.0 / 10_000)
    forest_items = p.permits[p.permits["authority"] == "Forest Department"]
    assert forest_items["sub_authority"].tolist() == ["North Division"]
    assert forest_items["length_km"].sum() == pytest.approx(1.0)
    # the polygon id travels with the segment, the entry point and the register item
    assert set(p.routes.loc[p.routes["in_forest_m"] > 0, "forest_ids"]) == {"RF-7"}
    assert p.crossings.loc[p.crossings["kind"] == "entry", "feature_ids"].tolist() == ["RF-7"]
    assert forest_items["feature_ids"].tolist() == ["RF-7"]


def test_permission_aware_detours_and_reports_the_trade(detour_case):
    gps, pops, roads, forest = detour_case
    # detour costs 1200 m extra; avoiding 1000 m of forest is worth it at 2 m per metre
    p = netplan.plan(
        gps, pops, roads, forest=forest, costs=CostModel(forest_penalty_per_m=2.0), progress=False
    )
    assert p.routes["length_m"].sum() == pytest.approx(3200.0)
    assert p.routes["in_forest_m"].sum() == pytest.approx(0.0)
    diff = p.tradeoff.loc["difference"]
    assert diff["trench_km"] == pytest.approx(1.2)
    assert diff["in_forest_km"] == pytest.approx(-1.0)
    assert diff["forest_ha"] == pytest.approx(-0.1)
    # a penalty too small to pay for the detour keeps the direct route
    cheap = netplan.plan(
        gps, pops, roads, forest=forest, costs=CostModel(forest_penalty_per_m=1.0), progress=False
    )
    assert cheap.routes["length_m"].sum() == pytest.approx(2000.0)


def test_highway_crossing_is_flagged_once_with_chainage():
    # NH runs north-south at x=1000 from y=-5000 to y=5000; PoP west, GP east; local road crosses it
    roads = _roads(
        [[(0, 0), (2000, 0)], [(1000, -5000), (1000, 5000)]],
        classes=["VR", "NH"],
        refs=["", "NH-30"],
    )
    p = netplan.plan(_points([(2000, 0)], "gp"), _points([(0, 0)], "pop"), roads, progress=False)
    crossings = p.crossings[p.crossings["kind"] == "crossing"]
    assert len(crossings) == 1
    assert crossings["sub_authority"].iloc[0] == "NH-30"
    assert crossings["chainage_km"].iloc[0] == pytest.approx(5.0, abs=0.01)
    assert p.summary.loc["TOTAL", "nh_crossings"] == 1
    nh_items = p.permits[p.permits["authority"] == "NHAI / MoRTH"]
    assert (nh_items["kind"] == "crossing").sum() == 1


def test_every_gp_is_routed_or_has_a_reason():
    roads = _roads([[(0, 0), (1000, 0)], [(0, 5000), (1000, 5000)]])
    gps = _points([(1000, 10), (500, 2500), (500, 5000)], "gp")  # near, 2.5 km off, other fragment
    p = netplan.plan(
        gps,
        _points([(0, 0)], "pop"),
        roads,
        options=NetworkOptions(max_bridge_m=1000),
        progress=False,
    )
    assert len(p.sites) == 3
    assert p.sites.loc["gp0", "routed"]
    assert not p.sites.loc["gp1", "routed"] and "2000 m" in p.sites.loc["gp1", "reason"]
    assert not p.sites.loc["gp2", "routed"] and p.sites.loc["gp2", "reason"]
    assert p.summary.loc["TOTAL", "unroutable"] == 2


def test_assign_by_column_matches_pop_names():
    roads = _roads([[(0, 0), (3000, 0)]])
    pops = _points([(0, 0), (3000, 0)], "pop")
    pops["block"] = ["East", "West"]  # deliberately the far PoP
    gps = _points([(500, 0), (2500, 0)], "gp")
    gps["block"] = ["West", "East"]
    p = netplan.plan(gps, pops, roads, assign_by="block", progress=False)
    assert p.sites["pop_id"].tolist() == ["pop1", "pop0"]
    assert p.sites["network_m"].tolist() == pytest.approx([2500.0, 2500.0])
    nearest = netplan.plan(gps, pops, roads, progress=False)
    assert nearest.sites["pop_id"].tolist() == ["pop0", "pop1"]


def test_sample_plan(sample_paths):
    p = netplan.plan(
        sample_paths["gps"],
        sample_paths["pops"],
        sample_paths["roads"],
        forest=sample_paths["forest"],
        highways=sample_paths["highways"],
        progress=False,
    )
    assert len(p.sites) == 92
    assert (p.sites["routed"] | (p.sites["reason"] != "")).all()
    assert p.routes.crs.to_epsg() == 4326 and p.sites.crs.to_epsg() == 4326
    total = p.summary.loc["TOTAL"]
    assert total["trench_km"] * 1000 == pytest.approx(p.routes["length_m"].sum())
    per_pop = p.summary.drop(index="TOTAL")
    assert per_pop["trench_km"].sum() == pytest.approx(total["trench_km"], abs=1e-3)
    assert set(p.permits["authority"]) == {"Forest Department", "NHAI / MoRTH"}
    assert (p.routes["in_forest_m"] <= p.routes["length_m"] + 1e-6).all()
    routed = p.sites[p.sites["routed"]]
    assert (routed["route_m"] >= routed["network_m"] - 1e-6).all()
    # a length-only star runs every GP along its shortest road path
    star = netplan.plan(
        sample_paths["gps"],
        sample_paths["pops"],
        sample_paths["roads"],
        topology="star",
        costs=CostModel(objective="length"),
        progress=False,
    )
    assert star.routes["length_m"].sum() >= p.routes["length_m"].sum() - 1e-6
    assert star.routes["cable_m"].sum() > star.routes["length_m"].sum()
    star_routed = star.sites[star.sites["routed"]]
    assert np.allclose(star_routed["route_m"], star_routed["network_m"])


def test_same_input_same_plan(sample_paths):
    layers = netplan.datasets.load_sample()
    a = netplan.plan(
        layers["gps"], layers["pops"], layers["roads"], forest=layers["forest"], progress=False
    )
    shuffled = {k: v.sample(frac=1.0, random_state=7) for k, v in layers.items()}
    b = netplan.plan(
        shuffled["gps"],
        shuffled["pops"],
        shuffled["roads"],
        forest=shuffled["forest"],
        progress=False,
    )
    pd.testing.assert_frame_equal(a.summary, b.summary)
    assert a.sites.sort_index()["pop_id"].equals(b.sites.sort_index()["pop_id"])
    assert len(a.permits) == len(b.permits)


def test_extra_row_layer_from_spec(tmp_path):
    roads = _roads([[(0, 0), (2000, 0)]])
    rail = gpd.GeoDataFrame(
        {"zone": ["SECR"]},
        geometry=[LineString([(X0 + 700, Y0 - 900), (X0 + 700, Y0 + 900)])],
        crs=CRS,
    )
    path = tmp_path / "rail.gpkg"
    rail.to_file(path)
    layer = RowLayer.from_spec(f"{path}:line:Railways:zone")
    p = netplan.plan(
        _points([(2000, 0)], "gp"),
        _points([(0, 0)], "pop"),
        roads,
        row_layers=[layer],
        progress=False,
    )
    items = p.permits[p.permits["authority"] == "Railways"]
    assert items["sub_authority"].tolist() == ["SECR"]
    assert items["crossings"].sum() == 1


def test_ladakh_real_roads(shared_data):
    paths = netplan.datasets.ladakh_paths(shared_data)
    p = netplan.plan(paths["gps"], paths["pops"], paths["roads"], progress=False)
    assert len(p.sites) == 94
    assert (p.sites["routed"] | (p.sites["reason"] != "")).all()
    assert p.sites["routed"].mean() >= 0.9
    report = p.network.report
    assert report["healed_gaps"] > 0 if "healed_gaps" in report else True


def test_pops_outside_the_road_extent_are_refused():
    roads = _roads([[(0, 0), (1000, 0)]])
    far_pops = _points([(400_000, 300_000)], "pop")  # hundreds of km away
    with pytest.raises(netplan.ExtentError, match="PoP"):
        netplan.plan(_points([(500, 0)], "gp"), far_pops, roads, progress=False)


def test_gps_in_several_unreachable_places_all_have_reasons():
    # two PoPs share a node; a GP on an isolated fragment beyond the bridge limit
    roads = _roads([[(0, 0), (1000, 0)], [(0, 9000), (1000, 9000)]])
    pops = _points([(0, 0), (0, 0)], "pop")
    gps = _points([(1000, 0), (1000, 9000)], "gp")
    p = netplan.plan(gps, pops, roads, progress=False)
    assert p.sites.loc["gp0", "pop_id"] == "pop0"  # the smaller id wins a shared node
    assert not p.sites.loc["gp1", "routed"] and "PoP" in p.sites.loc["gp1", "reason"]
    assert p.pops.loc["pop1", "n_gps"] == 0


def test_ring_plan_puts_every_gp_on_exactly_one_ring(sample_paths, tmp_path):
    p = netplan.plan(
        sample_paths["gps"],
        sample_paths["pops"],
        sample_paths["roads"],
        topology="ring",
        ring_size=8,
        progress=False,
    )
    routed = p.sites[p.sites["routed"]]
    on_rings = [g for ids in p.rings["gp_ids"] for g in ids.split(";")]
    assert sorted(on_rings) == sorted(routed.index)
    assert (p.rings["n_gps"] <= 8).all()
    assert (p.rings["shared_m"] <= p.rings["length_m"]).all()
    # every road of the plan belongs to a ring of its own PoP
    for pop_id, ring_ids in zip(p.routes["pop_id"], p.routes["ring_ids"], strict=True):
        assert ring_ids and all(r.startswith(f"{pop_id}-R") for r in ring_ids.split(";"))
    assert p.summary.loc["TOTAL", "rings"] == len(p.rings)
    # a ring is never shorter than the shared-trench tree of the same GPs
    tree = netplan.plan(
        sample_paths["gps"], sample_paths["pops"], sample_paths["roads"], progress=False
    )
    assert p.summary.loc["TOTAL", "trench_km"] >= tree.summary.loc["TOTAL", "trench_km"]
    assert (routed["route_m"] >= routed["network_m"] - 1e-6).all()
    out = p.to_file(tmp_path / "ring", map_html=False)
    assert (out / "rings.csv").stat().st_size > 0


def test_pop_just_beyond_the_spur_limit_is_unroutable_not_an_error():
    # found by hypothesis: a lone PoP 2.1 km from a road used to trip the wrong-area check
    roads = _roads([[(1500, 1500), (1500, 2200)]])
    p = netplan.plan(_points([(1500, 1800)], "gp"), _points([(0, 0)], "pop"), roads, progress=False)
    assert not p.pops.loc["pop0", "routed"] and "2000 m" in p.pops.loc["pop0", "reason"]
    assert not p.sites.loc["gp0", "routed"] and p.sites.loc["gp0", "reason"]


def test_hostile_names_from_input_files_are_escaped_in_the_plan_map(detour_case, tmp_path):
    gps, pops, roads, forest = detour_case
    gps["name"] = ['<script>alert("gp")</script>']
    forest["name"] = ["<img src=x onerror=alert(1)>"]
    roads["name"] = ['"Road" & <b>bold</b>', "</script><script>alert(2)</script>"]
    p = netplan.plan(gps, pops, roads, forest=forest, progress=False)
    html = p.to_html(tmp_path / "map.html").read_text()
    for raw in ['<script>alert("gp")', "<img src=x", "<b>bold</b>", "<script>alert(2)"]:
        assert raw not in html
    # the name is there, HTML-escaped (and JSON-escaped inside the page's script)
    assert "\\u0026lt;script\\u0026gt;alert(\\u0026quot;gp\\u0026quot;)" in html


def test_assign_by_codes_with_leading_zeros(tmp_path):
    roads = _roads([[(0, 0), (3000, 0)]])
    gps = _points([(500, 0), (2500, 0)], "gp").to_crs(4326)
    table = pd.DataFrame(
        {
            "gp_id": ["g1", "g2"],
            "block": ["002", "001"],
            "lon": gps.geometry.x,
            "lat": gps.geometry.y,
        }
    )
    table.to_csv(tmp_path / "gps.csv", index=False)
    pops = _points([(0, 0), (3000, 0)], "pop")
    pops["block"] = ["001", "002"]
    pops.to_file(tmp_path / "pops.geojson")
    p = netplan.plan(
        tmp_path / "gps.csv", tmp_path / "pops.geojson", roads, assign_by="block", progress=False
    )
    assert p.sites["pop_id"].tolist() == ["pop1", "pop0"]
    assert p.sites["routed"].all()


def test_ids_of_a_given_geodataframe_index_are_kept():
    gps = _points([(500, 0), (900, 0)], "gp").drop(columns="id")
    gps.index = ["GP-A", "GP-B"]
    pops = _points([(0, 0)], "pop").drop(columns="id")
    pops.index = [17]
    p = netplan.plan(gps, pops, _roads([[(0, 0), (1000, 0)]]), progress=False)
    assert p.sites.index.tolist() == ["GP-A", "GP-B"]
    assert p.pops.index.tolist() == ["17"]


def test_bad_plan_options_are_input_errors(detour_case):
    gps, pops, roads, _ = detour_case
    with pytest.raises(netplan.InputError, match="ring_size"):
        netplan.plan(gps, pops, roads, topology="ring", ring_size=0, progress=False)
    pops = pops.assign(id=["TOTAL"])
    with pytest.raises(netplan.InputError, match="TOTAL"):
        netplan.plan(gps, pops, roads, progress=False)


def test_register_never_leaves_the_sub_authority_blank():
    roads = _roads([[(0, 0), (3000, 0)]])
    crossing_lines = [
        LineString([(X0 + 1000, Y0 - 500), (X0 + 1000, Y0 + 500)]),
        LineString([(X0 + 2000, Y0 - 500), (X0 + 2000, Y0 + 500)]),
    ]
    unsplit = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=crossing_lines, crs=CRS)
    gps, pops = _points([(3000, 0)], "gp"), _points([(0, 0)], "pop")
    p = netplan.plan(gps, pops, roads, highways=unsplit, progress=False)
    # the loader gives every highway layer a ref column; missing refs are named as such
    assert p.permits["sub_authority"].tolist() == ["(no ref)", "(no ref)"]
    partly = unsplit.assign(ref=["NH-9", None])
    p = netplan.plan(gps, pops, roads, highways=partly, progress=False)
    assert sorted(p.permits["sub_authority"]) == ["(no ref)", "NH-9"]
    layer = netplan.RowLayer(unsplit, "canal", "line", "Irrigation Department")
    p = netplan.plan(gps, pops, roads, row_layers=[layer], progress=False)
    canal = p.permits[p.permits["layer"] == "canal"]
    assert canal["sub_authority"].tolist() == ["all", "all"]
