"""Tests of netplan.maps (folium rendering, escaping, layers, bounds)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from types import SimpleNamespace

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon

from netplan._errors import CRSError, GeometryTypeError
from netplan.maps import plan_map, save_map

HOSTILE_GP = '<script>alert("x")</script>'
HOSTILE_FOREST = "\"quotes' & <b>html</b>"
HOSTILE_ROAD = '<img src=x onerror="alert(1)">'
HOSTILE_REASON = "farther than 2000 m from any road </script><b>html</b>"
RAW_FORBIDDEN = ("<script>alert", "<b>html</b>", "<img src=x", "</script><b>")


def make_layers() -> dict[str, gpd.GeoDataFrame]:
    """A tiny plan near Raipur: one PoP, two routed GPs, one unroutable GP."""
    crs = "EPSG:4326"
    routes = gpd.GeoDataFrame(
        {
            "pop_id": ["P1", "P1", "P1", "P1"],
            "segment_id": [0, 1, 2, 3],
            "kind": ["road", "road", "spur", "bridge"],
            "offroad": [False, False, True, True],
            "road_class": ["primary", "track", "", ""],
            "road_name": [HOSTILE_ROAD, "Village road", "", ""],
            "ref": ["NH-30", "", "", ""],
            "length_m": [2200.0, 1100.0, 150.0, 400.0],
            "gps_served": [2, 1, 1, 1],
            "in_forest_m": [0.0, 1100.0, 0.0, 0.0],
            "nh_crossings": [1, 0, 0, 0],
            "along_nh_m": [0.0, 0.0, 0.0, 0.0],
        },
        geometry=[
            LineString([(81.60, 21.20), (81.62, 21.20)]),
            LineString([(81.62, 21.20), (81.62, 21.21)]),
            LineString([(81.62, 21.21), (81.621, 21.211)]),
            LineString([(81.62, 21.20), (81.63, 21.19)]),
        ],
        crs=crs,
    )
    sites = gpd.GeoDataFrame(
        {
            "name": [HOSTILE_GP, "Amlidih", "Far Gaon"],
            "pop_id": ["P1", "P1", "P1"],
            "routed": [True, True, False],
            "reason": ["", "", HOSTILE_REASON],
            "network_m": [2200.0, 3300.0, float("nan")],
            "route_m": [2200.0, 3450.0, float("nan")],
            "spur_m": [0.0, 150.0, float("nan")],
        },
        index=pd.Index(["GP1", "GP2", "GP3"], name="site_id"),
        geometry=[Point(81.62, 21.20), Point(81.621, 21.211), Point(81.70, 21.30)],
        crs=crs,
    )
    pops = gpd.GeoDataFrame(
        {"name": ["Block HQ"], "n_gps": [3], "routed_gps": [2]},
        index=pd.Index(["P1"], name="pop_id"),
        geometry=[Point(81.60, 21.20)],
        crs=crs,
    )
    crossings = gpd.GeoDataFrame(
        {
            "layer": ["nh", "forest"],
            "authority": ["NHAI / MoRTH", "Forest Department"],
            "sub_authority": ["NH-30", "Bastar Forest Division"],
            "kind": ["crossing", "entry"],
            "pop_id": ["P1", "P1"],
            "segment_id": [0, 1],
            "length_m": [0.0, 1200.0],
            "chainage_km": [123.4, float("nan")],
        },
        geometry=[Point(81.61, 21.20), Point(81.62, 21.205)],
        crs=crs,
    )
    forest = gpd.GeoDataFrame(
        {"name": [HOSTILE_FOREST], "division": ["Bastar"]},
        geometry=[
            Polygon([(81.615, 21.203), (81.625, 21.203), (81.625, 21.215), (81.615, 21.215)])
        ],
        crs=crs,
    )
    highways = gpd.GeoDataFrame(
        {"ref": ["NH-30"], "name": [HOSTILE_ROAD]},
        geometry=[LineString([(81.61, 21.10), (81.61, 21.30)])],
        crs=crs,
    )
    return {
        "routes": routes,
        "sites": sites,
        "pops": pops,
        "crossings": crossings,
        "forest": forest,
        "highways": highways,
    }


@pytest.fixture
def layers() -> dict[str, gpd.GeoDataFrame]:
    return make_layers()


@pytest.fixture
def page(layers) -> str:
    return plan_map(**layers, title="Test <plan> & co").get_root().render()


def test_returns_map_with_layers_in_control(layers, page):
    m = plan_map(**layers)
    assert isinstance(m, folium.Map)
    for name in (
        "Forest",
        "National highways",
        "Routes",
        "Permissions",
        "GPs routed",
        "GPs unroutable",
        "PoPs",
    ):
        assert f'"{name}"' in page, name
    # the layer control lists exactly these seven overlays
    control = re.search(r"overlays\s*:\s*\{(.*?)\}", page, re.S).group(1)
    assert len(re.findall(r'"[^"]+"\s*:', control)) == 7


def test_legend_and_title(page):
    assert "netplan-legend" in page
    assert "Road trench" in page
    assert "Bridge link (off-road, needs field survey)" in page
    assert "GP unroutable (1)" in page
    assert "GP routed (2)" in page
    assert "Test &lt;plan&gt; &amp; co" in page
    assert "Test <plan>" not in page


def _features(page: str) -> list[dict]:
    """All GeoJSON features embedded in the page."""
    out = []
    for blob in re.findall(r"_add\((\{.*?\})\);\n", page):
        out.extend(json.loads(blob)["features"])
    return out


def test_unroutable_reason_and_permission_text(page):
    props = [f["properties"] for f in _features(page)]
    popups = [p.get("popup", "") for p in props]
    assert any("farther than 2000 m from any road &lt;/script&gt;" in p for p in popups)
    assert any(
        "NHAI / MoRTH permission: crossing of NH-30 at chainage 123.4 km" in p for p in popups
    )
    assert any(
        "Forest Department permission: 1.2 km in Bastar Forest Division" in p for p in popups
    )
    tips = [p["tip"] for p in props]
    # route tooltip: PoP, length and class
    assert any(
        "Road trench" in t and "PoP: P1" in t and "2.2 km" in t and "primary" in t for t in tips
    )
    assert any("in forest: 1.1 km" in t for t in tips)
    # forest tooltip with escaped attributes
    assert any("&quot;quotes&#x27; &amp; &lt;b&gt;html&lt;/b&gt;" in t for t in tips)


def test_fit_bounds_match_data(layers, page):
    match = re.search(r"fitBounds\(\s*\[\[([^\]]+)\],\s*\[([^\]]+)\]\]", page)
    assert match, "no fitBounds call"
    south, west = (float(v) for v in match.group(1).split(","))
    north, east = (float(v) for v in match.group(2).split(","))
    # plan data (not the context layers: the highway runs to 21.10 / 21.30)
    assert (south, west, north, east) == pytest.approx((21.19, 81.60, 21.30, 81.70))


def test_hostile_text_only_escaped(page):
    for raw in RAW_FORBIDDEN:
        assert raw not in page, raw
    # the values are there, escaped once, inside the embedded JSON (which folium also
    # escapes for <script> blocks, so decode the JSON before looking)
    props = [f["properties"] for f in _features(page)]
    text = " ".join(v for p in props for v in p.values() if isinstance(v, str))
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in text
    assert "&lt;b&gt;html&lt;/b&gt;" in text


def test_merged_routes_for_large_plans(layers):
    page = plan_map(**layers, max_segments=1).get_root().render()
    feats = _features(page)
    lines = [f for f in feats if f["geometry"]["type"] in ("LineString", "MultiLineString")]
    # routes merged per (pop, kind): road, spur, bridge → 3 features (+1 highway)
    route_tips = [
        f["properties"]["tip"] for f in lines if "National highway" not in f["properties"]["tip"]
    ]
    assert len(route_tips) == 3
    road = next(t for t in route_tips if "Road trench" in t)
    assert "3.3 km in 2 segments" in road
    assert "primary 2.2 km" in road and "track 1.1 km" in road
    # the two road segments join into one line
    road_feature = next(f for f in lines if "Road trench" in f["properties"]["tip"])
    assert road_feature["geometry"]["type"] == "LineString"


def test_reprojects_and_tolerates_missing_columns(layers):
    routes = layers["routes"][["geometry"]].to_crs(32644)
    sites = layers["sites"][["geometry"]]
    page = plan_map(routes=routes, sites=sites, pops=None).get_root().render()
    feats = _features(page)
    xs = [
        c[0]
        for f in feats
        if f["geometry"]["type"] == "LineString"
        for c in f["geometry"]["coordinates"]
    ]
    assert min(xs) == pytest.approx(81.60, abs=1e-6)
    assert '"GPs routed"' in page and '"GPs unroutable"' not in page
    assert '"Permissions"' not in page


def test_empty_inputs_give_india_view():
    m = plan_map()
    assert m.location == [22.0, 79.0]
    assert "fitBounds" not in m.get_root().render()


def test_bad_geometry_and_crs(layers):
    with pytest.raises(GeometryTypeError, match="sites"):
        plan_map(sites=layers["forest"])
    utm = layers["sites"].to_crs(32644).set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match="no CRS"):
        plan_map(sites=utm)


def test_deterministic(layers):
    a = plan_map(**layers).get_root().render()
    b = plan_map(**layers).get_root().render()
    strip = lambda s: re.sub(r"_[0-9a-f]{32}", "_ID", s)  # noqa: E731
    assert strip(a) == strip(b)


def test_save_map(layers, tmp_path):
    path = save_map(plan_map(**layers), tmp_path / "sub" / "map.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "<script>alert" not in text


@pytest.fixture(scope="module")
def shared_data() -> Path:
    env = os.environ.get("NETPLAN_SHARED_DATA")
    path = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"
    if not path.is_dir():
        pytest.skip(f"shared test data not found at {path} (set NETPLAN_SHARED_DATA)")
    return path


def test_real_forest_is_clipped_to_the_plan(shared_data):
    """Kerala OSM forests (382 polygons): only those near the plan are drawn."""
    forest = gpd.read_file(shared_data / "forest" / "kerala_osm_forests.shp")
    metric = forest.to_crs(32643)
    # a GP on the edge of the forest with the most other forests within 5 km
    pairs = metric.sindex.query(metric.centroid.buffer(5000), predicate="intersects")
    busiest = int(np.bincount(pairs[0], minlength=len(metric)).argmax())
    site_xy = Point(shapely.get_coordinates(metric.geometry.iloc[busiest])[0])
    sites = gpd.GeoDataFrame(
        {"name": ["GP at the forest edge"]},
        index=pd.Index(["G1"], name="site_id"),
        geometry=[site_xy],
        crs=32643,
    )
    page = plan_map(sites=sites, forest=forest, context_margin_m=5000).get_root().render()
    forest_feats = [f for f in _features(page) if f["properties"]["tip"].startswith("<b>Forest")]
    drawn = gpd.GeoSeries(
        shapely.from_geojson([json.dumps(f["geometry"]) for f in forest_feats]), crs=4326
    ).to_crs(32643)
    # by hand: every polygon touching the 10 km square around the site is drawn, nothing far off
    square = shapely.box(site_xy.x - 5000, site_xy.y - 5000, site_xy.x + 5000, site_xy.y + 5000)
    near = metric[metric.intersects(square)]
    assert 0 < len(near) < len(forest)
    assert len(near) <= len(forest_feats) <= len(metric[metric.intersects(square.buffer(1000))])
    assert drawn.within(square.buffer(1000)).all()
    # drawn forest covers (nearly) the same area inside the square
    inside_input = near.geometry.intersection(square).area.sum()
    inside_drawn = drawn.intersection(square).area.sum()
    assert inside_drawn == pytest.approx(inside_input, rel=0.02)
    assert (
        shapely.get_num_coordinates(drawn.values).sum()
        < shapely.get_num_coordinates(near.geometry.values).sum()
    )


def test_forest_simplified_in_metres():
    """A 1 km circle drawn with 2000 vertices: at 20 m tolerance a chord may span
    2*acos(1 - 20/1000) = 0.4 rad, so about 16 vertices remain (at least 2*pi/0.4)."""
    circle = Point(500000, 2300000).buffer(1000, quad_segs=500)
    forest = gpd.GeoDataFrame({"name": ["round"]}, geometry=[circle], crs=32644)
    page = plan_map(forest=forest, simplify_m=20).get_root().render()
    (feature,) = _features(page)
    n = len(feature["geometry"]["coordinates"][0]) - 1
    assert 16 <= n <= 40
    page = plan_map(forest=forest, simplify_m=0).get_root().render()
    (feature,) = _features(page)
    assert len(feature["geometry"]["coordinates"][0]) - 1 == 2000


def test_plan_object_and_routed_from_reason(layers):
    sites = layers["sites"].drop(columns=["routed"])  # routed then follows "reason"
    plan = SimpleNamespace(
        routes=layers["routes"], sites=sites, pops=layers["pops"], crossings=None
    )
    page = plan_map(plan, crossings=layers["crossings"]).get_root().render()
    assert "GP routed (2)" in page and "GP unroutable (1)" in page
    assert '"Permissions"' in page and '"Forest"' not in page
