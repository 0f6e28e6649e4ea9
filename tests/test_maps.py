"""Tests of netplan.maps: self-contained page, every right-of-way layer, colours, GPs, panel."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon

import netplan
from netplan import maps
from netplan._errors import CRSError, GeometryTypeError, InputError, MissingColumnError
from netplan._map_assets import page_assets
from netplan.maps import (
    PALETTE,
    ROUTE_COLORINGS,
    ROUTE_STYLES,
    coloring_from_column,
    plan_map,
    save_map,
)
from netplan.row import RowLayer

HOSTILE_GP = '<script>alert("x")</script>'
HOSTILE_FOREST = "\"quotes' & <b>html</b>"
HOSTILE_ROAD = '<img src=x onerror="alert(1)">'
HOSTILE_REASON = "farther than 2000 m from any road </script><b>html</b>"
HOSTILE_AUTHORITY = "<i>Railways</i> & co"
RAW_FORBIDDEN = ("<script>alert", "<b>html</b>", "<img src=x", "</script><b>", "<i>Railways")
TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
FIT = re.compile(r"map_\w+\.fitBounds\(")  # the map's fit (not the inlined libraries' code)


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


def railway_layer(authority: str = HOSTILE_AUTHORITY) -> RowLayer:
    """A third right-of-way layer: a railway line (metric CRS) crossing the plan."""
    rail = gpd.GeoDataFrame(
        {"zone": ["SECR"], "line_id": ["R1"]},
        geometry=[LineString([(81.58, 21.215), (81.66, 21.215)])],
        crs="EPSG:4326",
    ).to_crs(32644)
    return RowLayer(rail, "railway", "line", authority, split_by="zone", id_column="line_id")


@pytest.fixture
def layers() -> dict[str, gpd.GeoDataFrame]:
    return make_layers()


@pytest.fixture
def page(layers) -> str:
    return render(plan_map(**layers, layers=[railway_layer()], title="Test <plan> & co"))


def render(m: folium.Map) -> str:
    return m.get_root().render()


def drawn_layers(page: str) -> dict[str, dict]:
    """The page's data layers by their name in the layer control: the decoded specs."""
    specs = dict(re.findall(r"var (netplan_layer_\w+) = netplanMap\.layer\(\w+, (.*)\);\n", page))
    control = re.search(r"overlays\s*:\s*\{(.*?)\}", page, re.S).group(1)
    names = re.findall(r'("(?:[^"\\]|\\.)*")\s*:\s*(netplan_layer_\w+)', control)
    return {json.loads(name): json.loads(specs[var]) for name, var in names}


def control_html(page: str, position: str) -> str:
    """The (decoded) HTML of the legend (``bottomright``) or totals panel (``topleft``)."""
    return json.loads(re.search(rf'"{position}", (".*?"),\s*"netplan-box', page, re.S).group(1))


def features(page: str) -> list[dict]:
    """All features of all data layers, each with its resolved style under ``style``."""
    out = []
    for spec in drawn_layers(page).values():
        for feature in spec["data"]["features"]:
            out.append(dict(feature, style=spec["styles"][feature["properties"]["s"]]))
    return out


def tips(page: str) -> list[str]:
    return [f["properties"].get("t", "") for f in features(page)]


# --------------------------------------------------------------------------------------------
# a self-contained page
# --------------------------------------------------------------------------------------------


def test_page_links_nothing_but_tiles(page):
    # no external script, stylesheet, image or CSS url: everything is inlined
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<link[^>]+href=\"(?!data:)", page)
    assert not re.search(r"url\(\s*['\"]?(?!data:|#)", page)
    assert "sourceMappingURL" not in page
    # every http(s) URL left is the tile template, a hyperlink (attributions) or the SVG
    # namespace Leaflet creates elements in
    urls = set(re.findall(r"https?://[^\s\"'\\<>)]+", page))
    links = set(re.findall(r"href=\\?\"(https?://[^\"\\]+)", page))
    assert urls - links - {TILES, "http://www.w3.org/2000/svg"} == set()
    assert TILES in urls
    # Leaflet and markercluster are in the page, ahead of the map's own script
    assert page.index("L.MarkerClusterGroup=") < page.index("netplanMap.layer(")
    assert page.index("window.netplanMap") < page.index("L.map(")


def test_no_tiles_means_no_url_fetched(layers):
    page = render(plan_map(**layers, tiles=None))
    assert "L.tileLayer" not in page
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=\"https?:", page)


def test_charset_stays_first_and_assets_are_clean():
    page = render(plan_map())
    head = page[: page.index('<link rel="icon"')]
    assert "charset=UTF-8" in head and len(head.encode()) < 1024
    css, js = page_assets()
    assert "url(images/" not in css and css.count("data:image/png;base64,") >= 3
    assert "</script" not in js.lower() and "sourceMappingURL" not in js
    assert 'version="1.9.3"' in js and "MIT licence" in js


# --------------------------------------------------------------------------------------------
# layers
# --------------------------------------------------------------------------------------------


def test_layers_in_control_in_drawing_order(page):
    assert list(drawn_layers(page)) == [
        "Forest (Forest Department)",
        "National highways (NHAI / MoRTH)",
        "Railway (&lt;i&gt;Railways&lt;/i&gt; &amp; co)",
        "Routes",
        "Permissions",
        "GPs routed",
        "GPs unroutable",
        "PoPs",
    ]


def _plan_with_layers(layers: dict[str, gpd.GeoDataFrame], row_layers) -> SimpleNamespace:
    return SimpleNamespace(
        routes=layers["routes"],
        sites=layers["sites"],
        pops=layers["pops"],
        crossings=layers["crossings"],
        layers=tuple(row_layers),
    )


def test_every_row_layer_of_the_plan_is_drawn(layers):
    """From ``plan.layers``, whatever their names: areas as polygons, lines as lines."""
    wildlife = gpd.GeoDataFrame(
        {"sanctuary": ["Barnawapara"]},
        geometry=[Polygon([(81.64, 21.19), (81.66, 21.19), (81.66, 21.21), (81.64, 21.21)])],
        crs="EPSG:4326",
    )
    row_layers = [
        RowLayer.forest(layers["forest"]),
        RowLayer.national_highway(layers["highways"]),
        railway_layer("Railways"),
        RowLayer(wildlife, "wildlife", "area", "Wildlife Board", split_by="sanctuary"),
    ]
    drawn = drawn_layers(render(plan_map(_plan_with_layers(layers, row_layers))))
    expected = {
        "Forest (Forest Department)": ("Polygon", "<b>Forest</b><br>division: Bastar"),
        "National highways (NHAI / MoRTH)": (
            "LineString",
            "<b>National highways</b><br>ref: NH-30",
        ),
        "Railway (Railways)": ("LineString", "<b>Railway</b><br>zone: SECR<br>line_id: R1"),
        "Wildlife (Wildlife Board)": ("Polygon", "<b>Wildlife</b><br>sanctuary: Barnawapara"),
    }
    for name, (geometry, tip) in expected.items():
        (feature,) = drawn[name]["data"]["features"]
        assert feature["geometry"]["type"] == geometry
        assert feature["properties"]["t"].startswith(tip), feature["properties"]["t"]
    styles = {name: drawn[name]["styles"][0] for name in expected}
    assert styles["Forest (Forest Department)"]["fillColor"] == "#2e7d32"
    assert styles["National highways (NHAI / MoRTH)"]["color"] == "#8c564b"
    assert styles["Wildlife (Wildlife Board)"]["fillColor"] not in ("#2e7d32", "#8c564b")
    colors = [s.get("fillColor", s["color"]) for s in styles.values()]
    assert len(set(colors)) == 4
    # only the layers asked for: with layers=[] none is drawn
    drawn = drawn_layers(render(plan_map(_plan_with_layers(layers, row_layers), layers=[])))
    assert not set(expected) & set(drawn)


@pytest.fixture(scope="module")
def sample_plan(sample_paths) -> netplan.Plan:
    """The bundled sample planned with forest, NH and a railway right-of-way layer."""
    roads = gpd.read_parquet(sample_paths["roads"])
    minx, miny, maxx, maxy = roads.total_bounds
    y = (miny + maxy) / 2
    rail = gpd.GeoDataFrame(
        {"zone": ["ECoR"]}, geometry=[LineString([(minx, y), (maxx, y)])], crs=roads.crs
    )
    return netplan.plan(
        sample_paths["gps"],
        sample_paths["pops"],
        sample_paths["roads"],
        forest=sample_paths["forest"],
        row_layers=[RowLayer(rail, "railway", "line", "Railways", split_by="zone")],
        progress=False,
    )


def test_plan_explore_draws_all_its_row_layers_and_totals(sample_plan, tmp_path):
    assert [layer.name for layer in sample_plan.layers] == ["forest", "nh", "railway"]
    page = render(sample_plan.explore(tiles=None))
    drawn = drawn_layers(page)
    assert {"Forest (Forest Department)", "National highways (NHAI / MoRTH)"} <= set(drawn)
    assert len(drawn["Railway (Railways)"]["data"]["features"]) == 1
    total = sample_plan.summary.loc["TOTAL"]
    panel = control_html(page, "topleft")
    assert f"{total['routed']:,.0f} of {total['gps']:,.0f}" in panel
    assert f"{total['trench_km']:,.1f} km" in panel
    assert f"{total['railway_crossings']:,.0f}" in panel and "Railway crossings" in panel
    assert f'<td>Permit items</td><td class="netplan-num">{len(sample_plan.permits)}' in panel
    # routes coloured per PoP: PoPs whose networks touch differ (hulls computed here independently)
    colors = {}
    for tip, style in route_styles(page):
        colors.setdefault(re.search(r"PoP: (\S+)", tip).group(1), set()).add(style["color"])
    assert all(len(c) == 1 for c in colors.values()) and len(colors) == len(sample_plan.pops)
    hulls = sample_plan.routes.dissolve("pop_id").convex_hull.to_crs(32644).buffer(500)
    touching = [
        (a, b) for a in hulls.index for b in hulls.index if a < b and hulls[a].intersects(hulls[b])
    ]
    assert touching and all(colors[a] != colors[b] for a, b in touching)
    # to_html writes the same page
    path = sample_plan.to_html(tmp_path / "map.html", tiles=None)
    assert drawn_layers(path.read_text(encoding="utf-8")).keys() == drawn.keys()


def test_explore_draws_onto_a_given_map(sample_plan):
    m = folium.Map(location=[10.0, 77.0], zoom_start=6)
    folium.Marker([10.0, 77.0], tooltip="mine").add_to(m)
    folium.LayerControl().add_to(m)
    out = sample_plan.explore(m=m)
    assert out is m
    page = render(m)
    assert "mine" in page and "Routes" in drawn_layers(page)
    # the map's view is kept, its layer control moved after our layers, Leaflet inlined
    assert not FIT.search(page) and "center: [10.0, 77.0]" in page
    assert page.count("L.control.layers(") == 1
    assert page.index("L.control.layers(") > page.rindex("netplanMap.layer(")
    assert "cdn.jsdelivr.net/npm/leaflet@" not in page
    # the caller's map keeps folium's other resources (its own markers may need them)
    assert "jquery" in page
    # a second plan on the same map gets its own layer names
    plan_map(sample_plan, m=m, color_by="kind")
    assert {"Routes", "Routes (2)", "PoPs (2)"} <= set(drawn_layers(render(m)))


def test_legend_and_title(page):
    assert "netplan-legend" in page
    legend = control_html(page, "bottomright")
    assert "Routes: one colour per PoP (1)" in legend
    assert "Road route (3.3 km)" in legend
    assert "Bridge link (off-road, needs field survey) (400 m)" in legend
    assert "GP unroutable (1)" in legend and "GP routed (2)" in legend
    assert "Railway: &lt;i&gt;Railways&lt;/i&gt; &amp; co (1 lines)" in legend
    assert "Test &lt;plan&gt; &amp; co" in legend
    assert "<title>Test &lt;plan&gt; &amp; co</title>" in page


def test_unroutable_reason_and_permission_text(page):
    props = [f["properties"] for f in features(page)]
    popups = [p.get("p", "") for p in props]
    assert any("farther than 2000 m from any road &lt;/script&gt;" in p for p in popups)
    assert any(
        "NHAI / MoRTH permission: crossing of NH-30 at chainage 123.4 km" in p for p in popups
    )
    assert any(
        "Forest Department permission: 1.2 km in Bastar Forest Division" in p for p in popups
    )
    texts = tips(page)
    # route tooltip: PoP (id and name), length and class
    assert any(
        "Road route" in t and "PoP: P1 Block HQ" in t and "2.2 km" in t and "primary" in t
        for t in texts
    )
    assert any("in forest: 1.1 km" in t for t in texts)
    # forest tooltip with escaped attributes
    assert any("&quot;quotes&#x27; &amp; &lt;b&gt;html&lt;/b&gt;" in t for t in texts)


def test_fit_bounds_match_data(page):
    match = re.search(r"fitBounds\(\s*\[\[([^\]]+)\],\s*\[([^\]]+)\]\],\s*(\{[^}]*\})", page)
    assert match, "no fitBounds call"
    south, west = (float(v) for v in match.group(1).split(","))
    north, east = (float(v) for v in match.group(2).split(","))
    # plan data (not the context layers: the highway runs to 21.10 / 21.30)
    assert (south, west, north, east) == pytest.approx((21.19, 81.60, 21.30, 81.70))
    assert json.loads(match.group(3))["animate"] is False
    # the tiles come after the fit, so only the fitted view's tiles are fetched
    assert page.index("fitBounds(") < page.index("L.tileLayer(")


def test_hostile_text_only_escaped(page):
    for raw in RAW_FORBIDDEN:
        assert raw not in page, raw
    # tooltips and popups hold the values escaped once (decoded from the page's JSON)
    props = [f["properties"] for f in features(page)]
    text = " ".join(v for p in props for k, v in p.items() if k in "tp")
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in text
    assert "&lt;b&gt;html&lt;/b&gt;" in text
    # the search index holds the raw name (the page shows it only as text)
    gp = next(p for p in props if p.get("i") == "GP1")
    assert gp["n"] == HOSTILE_GP
    assert gp["t"] == "<b>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</b> (GP1)"


def test_coordinates_are_rounded_to_about_a_metre(layers):
    layers["sites"].geometry = [
        Point(81.6212345678, 21.2),
        Point(81.621, 21.211),
        Point(81.7, 21.3),
    ]
    page = render(plan_map(**layers))
    coords = re.findall(r"\[(-?\d+\.\d+),(-?\d+\.\d+)\]", page)
    assert coords and max(len(x.split(".")[1]) for pair in coords for x in pair) <= 5
    assert "[81.62123,21.2]" in page


# --------------------------------------------------------------------------------------------
# routes: colours, merging, the colouring table
# --------------------------------------------------------------------------------------------


def three_pops() -> gpd.GeoDataFrame:
    """PoPs A, B, C in a row: A's and B's networks touch, B's and C's touch, A's and C's
    are 20 km apart."""
    lines = {
        "A": [(81.00, 21.0), (81.10, 21.0)],
        "B": [(81.105, 21.0), (81.20, 21.0)],
        "C": [(81.205, 21.0), (81.30, 21.0)],
    }
    rows = [(pop, kind) for pop in lines for kind in ("road", "spur")]
    return gpd.GeoDataFrame(
        {
            "pop_id": [pop for pop, _ in rows],
            "segment_id": range(len(rows)),
            "kind": [kind for _, kind in rows],
            "length_m": 1000.0,
        },
        geometry=[
            LineString(lines[pop])
            if kind == "road"
            else LineString([lines[pop][1], (lines[pop][1][0], 21.01)])
            for pop, kind in rows
        ],
        crs="EPSG:4326",
    )


def route_styles(page: str) -> list[tuple[str, dict]]:
    """(tooltip, style) of every route feature."""
    spec = drawn_layers(page)["Routes"]
    return [
        (f["properties"]["t"], spec["styles"][f["properties"]["s"]])
        for f in spec["data"]["features"]
    ]


def test_routes_coloured_per_pop_neighbours_differ():
    routes = three_pops()
    styles = route_styles(render(plan_map(routes=routes)))
    color = {}
    for tip, style in styles:
        pop = re.search(r"PoP: (\w)", tip).group(1)
        assert color.setdefault(pop, style["color"]) == style["color"]  # one colour per PoP
        kind = "spur" if "spur" in tip else "road"
        assert style.get("dashArray") == ROUTE_STYLES[kind].get("dashArray")
    # by hand: B has two neighbours and is coloured first (colour 0, none used yet); then A
    # (tie with C, by id) takes the least used colour B does not have (1), C the next (2)
    assert color == {"A": PALETTE[1], "B": PALETTE[0], "C": PALETTE[2]}
    # the same with segments merged per PoP and kind
    merged = route_styles(render(plan_map(routes=routes, max_segments=1)))
    assert len(merged) == 6
    assert {re.search(r"PoP: (\w)", t).group(1): s["color"] for t, s in merged} == color


def test_color_by_kind(layers):
    styles = route_styles(render(plan_map(**layers, color_by="kind")))
    for tip, style in styles:
        kind = next(
            k
            for k, label in (("spur", "spur"), ("bridge", "Bridge"), ("road", "Road"))
            if label in tip
        )
        assert style == ROUTE_STYLES[kind]


def test_merged_routes_for_large_plans(layers):
    page = render(plan_map(**layers, max_segments=1))
    route_tips = [t for t, _ in route_styles(page)]
    # routes merged per (pop, kind, colour): road, spur, bridge
    assert len(route_tips) == 3
    road = next(t for t in route_tips if "Road route" in t)
    assert "3.3 km in 2 segments" in road
    assert "primary 2.2 km" in road and "track 1.1 km" in road
    # the two road segments join into one line
    spec = drawn_layers(page)["Routes"]
    road_feature = next(f for f in spec["data"]["features"] if "Road route" in f["properties"]["t"])
    assert road_feature["geometry"]["type"] == "LineString"


def test_a_new_coloring_takes_a_few_lines(layers, monkeypatch):
    """A colouring registered as the module docs show: legend rows, colours, tooltips."""
    monkeypatch.setattr(maps, "ROUTE_COLORINGS", dict(ROUTE_COLORINGS))

    @maps.register_route_coloring("owner")
    def _color_by_owner(routes):
        return coloring_from_column(
            routes,
            "owner",
            title="Cable owner",
            colors={"1": "#000000"},
            labels={"1": "Owner <1>"},
        )

    assert maps.ROUTE_COLORINGS["owner"] is _color_by_owner and "owner" not in ROUTE_COLORINGS
    layers["routes"]["owner"] = ["1", "2", "1", None]
    page = render(plan_map(**layers, color_by="owner"))
    colors = {t.split("<br>")[2]: s["color"] for t, s in route_styles(page)}
    assert colors == {
        "Cable owner: Owner &lt;1&gt;": "#000000",
        "Cable owner: 2": PALETTE[1],
        "Cable owner: none": PALETTE[2],
    }
    legend = control_html(page, "bottomright")
    # by hand: owner 1 is segments 0 and 2 (2200 + 150 m), owner 2 segment 1, none the bridge
    assert (
        "Owner &lt;1&gt; (2.4 km)" in legend and "2 (1.1 km)" in legend and "none (400 m)" in legend
    )
    with pytest.raises(MissingColumnError, match="'owner' column"):
        plan_map(**dict(layers, routes=layers["routes"].drop(columns="owner")), color_by="owner")


def test_unknown_color_by():
    with pytest.raises(
        InputError,
        match=r"unknown color_by 'owner'; choose one of \['kind', 'method', 'phase', 'pop'\]",
    ):
        plan_map(color_by="owner")


def test_color_by_method_with_cable_and_served_gps_in_tooltips(layers):
    layers["routes"]["method"] = ["underground", "aerial", "underground", "existing"]
    layers["routes"]["fibres"] = [24, 24, 24, 48]
    layers["routes"]["gp_ids"] = ["GP1;GP2", "GP2", "GP2", "<b>x</b>"]
    page = render(plan_map(**layers, color_by="method"))
    by_method = {}
    for tip, style in route_styles(page):
        method = re.search(r"method: (\w+)", tip).group(1).lower()
        assert by_method.setdefault(method, style["color"]) == style["color"]
    assert by_method == {
        "underground": maps.METHOD_COLORS["underground"],
        "aerial": maps.METHOD_COLORS["aerial"],
        "existing": maps.METHOD_COLORS["existing"],
    }
    texts = tips(page)
    assert any(
        "cable: 48 fibres" in t and "GPs served: 1: &lt;b&gt;x&lt;/b&gt;" in t for t in texts
    )
    assert any("GPs served: 2: GP1, GP2" in t for t in texts)
    legend = control_html(page, "bottomright")
    # by hand: underground = segments 0 and 2 (2200 + 150 m), aerial 1100 m, existing 400 m
    assert "Underground (new trench and duct) (2.4 km)" in legend
    assert "Aerial (new cable on power poles) (1.1 km)" in legend
    assert "Existing fibre (spare fibres reused) (400 m)" in legend


def test_gps_over_the_optical_budget_have_their_own_layer(layers):
    layers["sites"]["optical_ok"] = [False, True, False]
    layers["sites"]["optical_reason"] = ["fibre path of 22.0 km is longer than <20 km>", "", "x"]
    layers["sites"]["optical_loss_db"] = [28.4, 20.1, float("nan")]
    page = render(plan_map(**layers))
    drawn = drawn_layers(page)
    over = drawn["GPs over optical budget"]["data"]["features"]
    assert [f["properties"]["i"] for f in over] == ["GP1"]  # routed only; GP3 is unroutable
    popup = over[0]["properties"]["p"]
    assert "over budget: fibre path of 22.0 km is longer than &lt;20 km&gt;" in popup
    assert "optical loss: 28.4 dB" in popup
    assert [f["properties"]["i"] for f in drawn["GPs routed"]["data"]["features"]] == ["GP2"]
    assert "GP routed, over the optical budget (1)" in control_html(page, "bottomright")


# --------------------------------------------------------------------------------------------
# GPs and PoPs
# --------------------------------------------------------------------------------------------


def test_gps_clustered_above_the_threshold_unroutable_never(layers):
    drawn = drawn_layers(render(plan_map(**layers, cluster_above=1)))
    assert drawn["GPs routed"]["cluster"] is True and drawn["GPs routed"]["search"] is True
    assert drawn["GPs unroutable"]["cluster"] is False and drawn["GPs unroutable"]["search"] is True
    assert (
        drawn["GPs unroutable"]["styles"][0]["radius"] > drawn["GPs routed"]["styles"][0]["radius"]
    )
    drawn = drawn_layers(render(plan_map(**layers)))  # 2 routed GPs: far below 1000
    assert drawn["GPs routed"]["cluster"] is False
    assert (
        drawn_layers(render(plan_map(**layers, cluster_above=None)))["GPs routed"]["cluster"]
        is False
    )
    # searchable by name and id
    ids = [
        (f["properties"]["n"], f["properties"]["i"])
        for f in drawn["GPs routed"]["data"]["features"]
    ]
    assert ids == [(HOSTILE_GP, "GP1"), ("Amlidih", "GP2")]
    assert "icon" in drawn["PoPs"] and "search" not in drawn["PoPs"]


def test_plan_object_and_routed_from_reason(layers):
    sites = layers["sites"].drop(columns=["routed"])  # routed then follows "reason"
    plan = SimpleNamespace(
        routes=layers["routes"], sites=sites, pops=layers["pops"], crossings=None
    )
    page = render(plan_map(plan, crossings=layers["crossings"]))
    assert "GP routed (2)" in page and "GP unroutable (1)" in page
    drawn = drawn_layers(page)
    assert "Permissions" in drawn and not any(name.startswith("Forest") for name in drawn)


def test_reprojects_and_tolerates_missing_columns(layers):
    routes = layers["routes"][["geometry"]].to_crs(32644)
    sites = layers["sites"][["geometry"]]
    page = render(plan_map(routes=routes, sites=sites, pops=None))
    xs = [
        c[0]
        for f in features(page)
        if f["geometry"]["type"] == "LineString"
        for c in f["geometry"]["coordinates"]
    ]
    assert min(xs) == pytest.approx(81.60, abs=1e-5)
    assert set(drawn_layers(page)) == {"Routes", "GPs routed"}
    assert "Plan totals" not in page  # no summary, no panel


# --------------------------------------------------------------------------------------------
# totals panel
# --------------------------------------------------------------------------------------------


def test_totals_panel_from_the_summary_escaped(layers):
    summary = pd.DataFrame(
        {
            "gps": [3],
            "routed": [2],
            "unroutable": [1],
            "trench_km": [3.85],
            "road_km": [3.3],
            "spur_km": [0.15],
            "bridge_km": [0.4],
            "bridge_links": [1],
            "in_forest_km": [1.1],
            "forest_ha": [0.11],
            "nh_crossings": [1],
            "along_nh_km": [0.0],
            "cost": [1_022_500.0],
        },
        index=pd.Index(["TOTAL"], name="pop_id"),
    )
    permits = pd.DataFrame(
        {
            "authority": ["NHAI / MoRTH", HOSTILE_AUTHORITY, HOSTILE_AUTHORITY],
            "over_threshold": [False, True, False],
        }
    )
    page = render(plan_map(**layers, summary=summary, permits=permits))
    panel = control_html(page, "topleft")
    cells = dict(re.findall(r"<td>(.*?)</td><td class=\"netplan-num[^\"]*\">(.*?)</td>", panel))
    assert cells["GPs routed"] == "2 of 3"
    assert cells["GPs unroutable"] == "1"
    assert 'netplan-num netplan-alert">1<' in panel  # unroutable GPs stand out
    assert cells["Trench"] == "3.9 km" and cells["&nbsp; bridge links"] == "0.4 km"
    assert cells["In forest"] == "1.1 km, 0.1 ha"
    assert cells["National highways crossings"] == "1"
    assert cells["Permit items"] == "3"
    assert cells["&nbsp; &lt;i&gt;Railways&lt;/i&gt; &amp; co"] == "2"
    assert cells["&nbsp; over the area threshold"] == "1"
    assert cells["Cost"] == "1,022,500" and cells[""] == "0.10 crore"


# --------------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------------


def test_empty_inputs_give_india_view():
    m = plan_map()
    assert m.location == [22.0, 79.0]
    assert not FIT.search(render(m))


def test_bad_inputs(layers):
    with pytest.raises(GeometryTypeError, match="sites"):
        plan_map(sites=layers["forest"])
    utm = layers["sites"].to_crs(32644).set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match="no CRS"):
        plan_map(sites=utm)
    with pytest.raises(InputError, match="item 0 is a GeoDataFrame"):
        plan_map(layers=[layers["forest"]])
    with pytest.raises(InputError, match="m must be a folium.Map"):
        plan_map(m="map.html")
    with pytest.raises(GeometryTypeError, match="right-of-way layer 'nh'"):
        plan_map(layers=[RowLayer(layers["forest"], "nh", "line", "NHAI")])
    with pytest.raises(InputError, match="cluster_above must be a whole number >= 0, got -1"):
        plan_map(cluster_above=-1)
    with pytest.raises(InputError, match="max_segments must be a whole number >= 0, got 2.5"):
        plan_map(max_segments=2.5)
    with pytest.raises(InputError, match="simplify_m must be a distance in metres >= 0"):
        plan_map(simplify_m=float("nan"))
    with pytest.raises(InputError, match="context_margin_m must be a distance in metres >= 0"):
        plan_map(context_margin_m=-5)


def test_deterministic(layers):
    a = render(plan_map(**layers, layers=[railway_layer()]))
    b = render(plan_map(**layers, layers=[railway_layer()]))
    strip = lambda s: re.sub(r"_[0-9a-f]{32}", "_ID", s)  # noqa: E731
    assert strip(a) == strip(b)


def test_save_map(layers, tmp_path):
    path = save_map(plan_map(**layers), tmp_path / "sub" / "map.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "<script>alert" not in text


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
    page = render(plan_map(sites=sites, forest=forest, context_margin_m=5000))
    forest_feats = drawn_layers(page)["Forest (Forest Department)"]["data"]["features"]
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
    (feature,) = features(render(plan_map(forest=forest, simplify_m=20)))
    n = len(feature["geometry"]["coordinates"][0]) - 1
    assert 16 <= n <= 40
    (feature,) = features(render(plan_map(forest=forest, simplify_m=0)))
    # rounding to 1e-5 degrees may merge a few of the 2000 vertices (about 3 m apart), no more
    assert 1990 <= len(feature["geometry"]["coordinates"][0]) - 1 <= 2000
