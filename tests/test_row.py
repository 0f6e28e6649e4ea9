"""Right-of-way layers: exact lengths, areas and crossing counts on hand-made geometry, the real
Kerala forest polygons, and the permit register's files."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely
from shapely import LineString, box

from netplan._errors import CRSError, GeometryTypeError, InputError, MissingColumnError
from netplan.export import write_register_csv, write_register_xlsx
from netplan.row import (
    CROSSING_COLUMNS,
    PERMIT_COLUMNS,
    RowLayer,
    annotate_edges,
    flag_routes,
    permit_register,
    permit_summary,
)

CRS = "EPSG:32644"
X0, Y0 = 500_000.0, 2_000_000.0  # a point in Chhattisgarh, UTM 44N


def P(x: float, y: float) -> tuple[float, float]:
    return (X0 + x, Y0 + y)


def square(x: float, y: float, size: float) -> shapely.Polygon:
    return box(X0 + x, Y0 + y, X0 + x + size, Y0 + y + size)


def forest_layer(*polygons: shapely.Geometry, divisions=None, **kwargs) -> RowLayer:
    divisions = divisions or ["Bastar Forest Division"] * len(polygons)
    data = gpd.GeoDataFrame({"division": divisions}, geometry=list(polygons), crs=CRS)
    return RowLayer.forest(data, **kwargs)


def nh_layer(*lines: LineString, refs=None) -> RowLayer:
    refs = refs or ["NH-30"] * len(lines)
    data = gpd.GeoDataFrame({"ref": refs}, geometry=list(lines), crs=CRS)
    return RowLayer.national_highway(data)


# the highway of most tests: y = 3000 from x = -5000 to x = 5000, digitised west to east,
# so chainage at x is (x + 5000) / 1000 km
NH = LineString([P(-5000, 3000), P(5000, 3000)])


def routes(*rows) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(rows, columns=["pop_id", "segment_id", "gp_ids", "geometry"])
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=CRS)


def edges(*lines: LineString) -> gpd.GeoSeries:
    return gpd.GeoSeries(list(lines), crs=CRS)


# ------------------------------------------------------------------------------ area layers
def test_straight_route_across_square_forest():
    layer = forest_layer(square(0, 0, 1000), corridor_width_m=3.0)
    line = LineString([P(-250, 400), P(1250, 400)])
    notes = annotate_edges(edges(line), [layer], progress=False)
    assert notes["in_forest_m"].iloc[0] == pytest.approx(1000, abs=1e-6)
    r, c = flag_routes(routes(("P1", 0, "g1;g2", line)), [layer])
    assert r["in_forest_m"].iloc[0] == pytest.approx(1000, abs=1e-6)
    assert r["forest_ref"].iloc[0] == "Bastar Forest Division"
    assert list(c["kind"]) == ["entry"]
    assert c["length_m"].iloc[0] == pytest.approx(1000, abs=1e-6)
    assert shapely.equals_exact(c.geometry.iloc[0], shapely.Point(P(0, 400)), 1e-6)
    permits = permit_register(c, [layer])
    assert len(permits) == 1
    row = permits.iloc[0]
    assert row["area_ha"] == pytest.approx(1000 * 3.0 / 1e4)
    assert row["length_km"] == pytest.approx(1.0)
    assert row["gp_ids"] == "g1;g2" and row["n_gps"] == 2
    assert row["sub_authority"] == "Bastar Forest Division"


def test_hole_in_forest_is_not_forest():
    ring = square(0, 0, 1000)
    holey = shapely.Polygon(ring.exterior, [square(400, 400, 200).exterior])
    layer = forest_layer(holey)
    line = LineString([P(-100, 500), P(1100, 500)])  # through the middle of the hole
    notes = annotate_edges(edges(line), [layer], progress=False)
    assert notes["in_forest_m"].iloc[0] == pytest.approx(800, abs=1e-6)
    r, c = flag_routes(routes(("P1", 0, "g1", line)), [layer])
    assert r["in_forest_m"].iloc[0] == pytest.approx(800, abs=1e-6)
    # two contiguous pieces: 0..400 and 600..1000, entered at x=0 and x=600
    assert sorted(c["length_m"]) == pytest.approx([400, 400])
    assert sorted(c.geometry.x - X0) == pytest.approx([0, 600])


def test_overlapping_polygons_count_once_and_divisions_split():
    a = square(0, 0, 1000)
    b = square(500, 0, 1000)  # overlaps a over x in 500..1000
    c2 = square(2000, 0, 1000)
    layer = forest_layer(a, b, c2, divisions=["North", "North", "South"])
    line = LineString([P(-100, 500), P(3100, 500)])
    notes = annotate_edges(edges(line), [layer], progress=False)
    assert notes["in_forest_m"].iloc[0] == pytest.approx(2500, abs=1e-6)
    r, c = flag_routes(routes(("P1", 0, "g1", line)), [layer])
    assert r["in_forest_m"].iloc[0] == pytest.approx(2500, abs=1e-6)
    assert r["forest_ref"].iloc[0] == "North;South"
    permits = permit_register(c, [layer])
    assert list(permits["sub_authority"]) == ["North", "South"]
    assert list(permits["length_km"]) == pytest.approx([1.5, 1.0])


def test_route_network_inside_forest_is_one_entry():
    layer = forest_layer(square(0, 0, 1000))
    r, c = flag_routes(
        routes(
            ("P1", 0, "g1;g2", LineString([P(-200, 500), P(500, 500)])),
            ("P1", 1, "g1", LineString([P(500, 500), P(500, 900)])),
            ("P1", 2, "g2", LineString([P(500, 500), P(500, 1200)])),
        ),
        [layer],
    )
    assert list(r["in_forest_m"]) == pytest.approx([500, 400, 500])
    assert len(c) == 1
    entry = c.iloc[0]
    assert entry["length_m"] == pytest.approx(1400)
    assert entry["segment_id"] == 0  # entered by the upstream segment
    assert entry["segment_ids"] == "0;1;2"
    assert entry["gp_ids"] == "g1;g2"
    assert shapely.equals_exact(c.geometry.iloc[0], shapely.Point(P(0, 500)), 1e-6)


def test_threshold_flag():
    layer = forest_layer(square(0, 0, 20_000), divisions=["Kanker"])
    long = LineString([P(-10, 100), P(12_000, 100)])  # 12 km inside: 1.2 ha at 1 m
    short = LineString([P(-10, 500), P(5_000, 500)])  # 5 km: 0.5 ha, another PoP
    r, c = flag_routes(routes(("A", 0, "g1", long), ("B", 1, "g2", short)), [layer])
    permits = permit_register(c, [layer])
    assert len(permits) == 1  # one row per division, both PoPs
    assert permits["area_ha"].iloc[0] == pytest.approx(1.7)
    assert permits["pop_ids"].iloc[0] == "A;B"
    assert bool(permits["over_threshold"].iloc[0])
    assert not permit_register(c, [layer], threshold_ha=2.0)["over_threshold"].iloc[0]


# ------------------------------------------------------------------------------ line layers
def test_single_crossing_point_and_chainage():
    layer = nh_layer(NH)
    line = LineString([P(-2000, 2000), P(-2000, 4000)])
    r, c = flag_routes(routes(("P1", 7, "g1", line)), [layer])
    assert r["nh_crossings"].tolist() == [1]
    assert r["nh_ref"].tolist() == ["NH-30"]
    assert r["along_nh_m"].iloc[0] == pytest.approx(0, abs=1e-6)
    assert list(c["kind"]) == ["crossing"]
    item = c.iloc[0]
    assert item["sub_authority"] == "NH-30" and item["authority"] == "NHAI / MoRTH"
    assert item["segment_id"] == 7
    assert shapely.equals_exact(c.geometry.iloc[0], shapely.Point(P(-2000, 3000)), 1e-6)
    assert item["chainage_km"] == pytest.approx(3.0, abs=1e-9)
    assert item["chainage_note"] == ""
    lonlat = gpd.GeoSeries([c.geometry.iloc[0]], crs=CRS).to_crs(4326).iloc[0]
    assert (item["lon"], item["lat"]) == pytest.approx((lonlat.x, lonlat.y), abs=1e-6)
    notes = annotate_edges(edges(line), [layer], progress=False)
    assert notes["nh_crossings"].iloc[0] == 1.0
    assert notes["along_nh_m"].iloc[0] == pytest.approx(0, abs=1e-6)


def test_junction_crossing_counted_once():
    layer = nh_layer(NH)
    south = LineString([P(0, 2000), P(0, 3000)])
    north = LineString([P(0, 3000), P(0, 4000)])
    r, c = flag_routes(routes(("P1", 0, "g1;g2", south), ("P1", 1, "g2", north)), [layer])
    assert int(r["nh_crossings"].sum()) == 1
    assert r["nh_crossings"].tolist() == [0, 1]  # counted on the downstream branch
    assert list(c["kind"]) == ["crossing"]
    assert c["chainage_km"].iloc[0] == pytest.approx(5.0)
    assert c["gp_ids"].iloc[0] == "g2"
    # annotate: half a crossing on each side, one for a route through the junction
    notes = annotate_edges(edges(south, north), [layer], progress=False)
    assert notes["nh_crossings"].tolist() == [0.5, 0.5]
    assert notes["along_nh_m"].tolist() == pytest.approx([0, 0], abs=1e-6)


def test_two_pops_crossing_at_the_same_junction_count_each():
    layer = nh_layer(NH)
    south = LineString([P(0, 2000), P(0, 3000)])
    north = LineString([P(0, 3000), P(0, 4000)])
    rows = [
        ("A", 0, "a1", south),
        ("A", 1, "a1", north),
        ("B", 2, "b1", south),
        ("B", 3, "b1", north),
    ]
    r, c = flag_routes(routes(*rows), [layer])
    assert c["pop_id"].tolist() == ["A", "B"]


def test_along_then_cross():
    layer = nh_layer(NH)
    r, c = flag_routes(
        routes(
            ("P1", 0, "g1;g2", LineString([P(1000, 2000), P(1000, 3000)])),  # from the south
            ("P1", 1, "g1;g2", LineString([P(1000, 3000), P(1500, 3000)])),  # 500 m on the NH
            ("P1", 2, "g2", LineString([P(1500, 3000), P(1500, 4000)])),  # off to the north
        ),
        [layer],
    )
    kinds = c["kind"].tolist()
    assert sorted(kinds) == ["along", "crossing"]
    along = c[c["kind"] == "along"].iloc[0]
    crossing = c[c["kind"] == "crossing"].iloc[0]
    assert along["length_m"] == pytest.approx(500, abs=1e-6)
    assert along["chainage_km"] == pytest.approx(6.0)
    assert along["segment_ids"] == "1"
    assert crossing["chainage_km"] == pytest.approx(6.5)
    assert crossing["segment_id"] == 2
    assert r["nh_crossings"].tolist() == [0, 0, 1]
    assert r["along_nh_m"].tolist() == pytest.approx([0, 500, 0], abs=1e-6)


def test_come_to_highway_and_turn_along_is_not_a_crossing():
    layer = nh_layer(NH)
    r, c = flag_routes(
        routes(
            ("P1", 0, "g1", LineString([P(2000, 2000), P(2000, 3000)])),
            ("P1", 1, "g1", LineString([P(2000, 3000), P(2500, 3000)])),
            ("P1", 2, "g1", LineString([P(2500, 3000), P(2500, 3800), P(2200, 3800)])),
        )[:2],
        [layer],
    )
    assert c["kind"].tolist() == ["along"]
    assert c["length_m"].iloc[0] == pytest.approx(500, abs=1e-6)
    assert int(r["nh_crossings"].sum()) == 0
    # turning back off to the same (south) side afterwards is still no crossing
    r, c = flag_routes(
        routes(
            ("P1", 0, "g1", LineString([P(2000, 2000), P(2000, 3000)])),
            ("P1", 1, "g1", LineString([P(2000, 3000), P(2500, 3000)])),
            ("P1", 2, "g1", LineString([P(2500, 3000), P(2500, 2000)])),
        ),
        [layer],
    )
    assert c["kind"].tolist() == ["along"]


def test_parallel_road_inside_corridor_is_along():
    layer = nh_layer(NH)
    # a service road 10 m north of the NH, reached and left on the north side
    line = LineString([P(0, 3500), P(0, 3010), P(800, 3010), P(800, 3500)])
    r, c = flag_routes(routes(("P1", 0, "g1", line)), [layer])
    assert c["kind"].tolist() == ["along"]
    # inside: 5 + 800 + 5 m; two exits each cost half the width (15 m)
    assert c["length_m"].iloc[0] == pytest.approx(810 - 30, abs=1e-6)
    assert r["nh_crossings"].iloc[0] == 0


def test_short_oblique_run_is_applied_for_with_its_crossing():
    layer = nh_layer(NH)
    r, c = flag_routes(
        routes(
            ("P1", 0, "g1;g2", LineString([P(0, 2000), P(1000, 3000)])),  # 45 degrees, to the NH
            ("P1", 1, "g2", LineString([P(1000, 3000), P(2000, 4000)])),  # on across it
            ("P1", 2, "g1", LineString([P(1000, 3000), P(1000, 2000)])),  # back south
        ),
        [layer],
    )
    # 15 * sqrt(2) m inside the corridor on each oblique segment, less half the width per exit
    oblique = 15 * np.sqrt(2) - 15
    assert r["along_nh_m"].tolist() == pytest.approx([oblique, oblique, 0], abs=1e-6)
    assert r["nh_crossings"].tolist() == [0, 1, 0]
    # 12.4 m along is less than min_along_m (30 m): no along item; the crossing covers it, so
    # g1, whose path runs those metres inside the corridor, waits on the crossing too
    assert c["kind"].tolist() == ["crossing"]
    assert (c["segment_id"].iloc[0], c["segment_ids"].iloc[0]) == (1, "0;1")
    assert c["gp_ids"].iloc[0] == "g1;g2"


def test_short_run_that_does_not_cross_is_an_item():
    layer = nh_layer(NH)
    # a service road 10 m north of the NH for 40 m, reached and left on the north side
    line = LineString([P(0, 3500), P(0, 3010), P(40, 3010), P(40, 3500)])
    r, c = flag_routes(routes(("P1", 0, "g1", line)), [layer])
    assert r["along_nh_m"].iloc[0] == pytest.approx(50 - 30, abs=1e-6)
    assert c["kind"].tolist() == ["along"]
    assert c["length_m"].iloc[0] == pytest.approx(20, abs=1e-6)
    permits = permit_register(c, [layer])
    assert permits["permit_id"].tolist() == ["nh-1"]


def test_annotate_half_crossing_rule():
    bent = LineString([P(-5000, 3000), P(0, 3000), P(5000, 3500)])  # bends at x=0
    layer = nh_layer(bent)
    notes = annotate_edges(
        edges(
            LineString([P(0, 2000), P(0, 4000)]),  # crosses at the bend vertex: 1
            LineString([P(-1000, 2000), P(-1000, 3000)]),  # ends on it: 0.5
            LineString([P(-3000, 3000), P(-2000, 3000)]),  # is the highway: along only
            LineString([P(-800, 3500), P(-600, 3000), P(-400, 3500)]),  # touches, bounces: 0
            LineString([P(-7000, 2000), P(-5000, 3000)]),  # ends at the highway's end: 0
            LineString([P(-6000, 2000), P(-6000, 4000)]),  # misses it: 0
        ),
        [layer],
        progress=False,
    )
    assert notes["nh_crossings"].tolist() == [1.0, 0.5, 0.0, 0.0, 0.0, 0.0]
    assert notes["along_nh_m"].iloc[2] == pytest.approx(1000, abs=1e-6)
    assert notes["along_nh_m"].iloc[1] == pytest.approx(0, abs=1e-6)


def test_highway_in_pieces_is_merged():
    # the NH digitised as three lines meeting end to end (as in a road network)
    pieces = [
        LineString([P(-5000, 3000), P(-1000, 3000)]),
        LineString([P(-1000, 3000), P(2000, 3000)]),
        LineString([P(2000, 3000), P(5000, 3000)]),
    ]
    layer = nh_layer(*pieces)
    line = LineString([P(-1000, 2000), P(-1000, 4000)])  # crosses where two pieces meet
    notes = annotate_edges(edges(line), [layer], progress=False)
    assert notes["nh_crossings"].iloc[0] == 1.0
    r, c = flag_routes(routes(("P1", 0, "g1", line)), [layer])
    assert c["chainage_km"].tolist() == pytest.approx([4.0])
    assert c["chainage_note"].iloc[0] == ""


def test_small_digitising_gap_is_joined_for_chainage():
    pieces = [
        LineString([P(-5000, 3000), P(-1000, 3000)]),
        LineString([P(-980, 3000), P(5000, 3000)]),
    ]
    layer = nh_layer(*pieces)
    r, c = flag_routes(routes(("P1", 0, "g1", LineString([P(1000, 2000), P(1000, 4000)]))), [layer])
    assert c["chainage_km"].tolist() == pytest.approx([6.0])
    assert c["chainage_note"].tolist() == [""]


def test_chainage_note_when_ref_does_not_merge():
    gap = [LineString([P(-5000, 3000), P(-1000, 3000)]), LineString([P(0, 3000), P(5000, 3000)])]
    layer = nh_layer(*gap)
    r, c = flag_routes(routes(("P1", 0, "g1", LineString([P(1000, 2000), P(1000, 4000)]))), [layer])
    assert c["chainage_km"].tolist() == pytest.approx([1.0])  # along the second piece
    assert "2 pieces" in c["chainage_note"].iloc[0]


# ------------------------------------------------------------------------------ real data
@pytest.fixture(scope="module")
def kerala(shared_data):
    path = shared_data / "forest" / "kerala_osm_forests.shp"
    if not path.exists():
        pytest.skip(f"{path} not found")
    return gpd.read_file(path).to_crs("EPSG:32643")


def test_kerala_polygon_with_hole(kerala):
    geoms = kerala.geometry.to_numpy()
    holes = np.array([sum(shapely.get_num_interior_rings(shapely.get_parts(g))) for g in geoms])
    assert (holes > 0).any(), "the Kerala layer should hold a polygon with a hole"
    poly = geoms[np.flatnonzero(holes > 0)[0]]
    part = next(p for p in shapely.get_parts(poly) if len(p.interiors))
    hole_centre = shapely.Polygon(part.interiors[0]).representative_point()
    xmin, _, xmax, _ = poly.bounds
    line = LineString([(xmin - 50, hole_centre.y), (xmax + 50, hole_centre.y)])
    union = shapely.union_all(geoms)
    expected = shapely.intersection(line, union).length
    without_hole = shapely.intersection(line, shapely.Polygon(part.exterior)).length
    assert expected > 0 and expected < without_hole - 1  # the hole really is crossed
    # a second line across two overlapping polygons (overlaps must count once)
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="overlaps")
    i, j = next((i, j) for i, j in zip(a, b, strict=True) if i < j)
    overlap = shapely.intersection(geoms[i], geoms[j]).representative_point()
    x0 = min(geoms[i].bounds[0], geoms[j].bounds[0]) - 50
    x1 = max(geoms[i].bounds[2], geoms[j].bounds[2]) + 50
    line2 = LineString([(x0, overlap.y), (x1, overlap.y)])
    expected2 = shapely.intersection(line2, union).length
    assert expected2 < line2.intersection(geoms[i]).length + line2.intersection(geoms[j]).length

    layer = RowLayer.forest(kerala)
    assert layer.split_by is None  # no division column: one item for the layer
    lines = gpd.GeoSeries([line, line2], crs="EPSG:32643")
    notes = annotate_edges(lines, [layer], progress=False)
    assert notes["in_forest_m"].tolist() == pytest.approx([expected, expected2], abs=1e-6)
    r, c = flag_routes(
        routes(("A", 0, "g1", line), ("B", 1, "g2", line2)).set_crs(
            "EPSG:32643", allow_override=True
        ),
        [layer],
    )
    assert r["in_forest_m"].to_numpy() == pytest.approx(notes["in_forest_m"].to_numpy(), abs=1e-6)
    assert c.groupby("pop_id")["length_m"].sum().tolist() == pytest.approx([expected, expected2])


# ------------------------------------------------------------------------------ register files
@pytest.fixture
def flagged():
    forest = forest_layer(square(0, 0, 1000), square(2000, 0, 1000), divisions=["Bastar", "Kanker"])
    nh = nh_layer(NH)
    rows = (
        ("P1", 0, "g1", LineString([P(-100, 500), P(3100, 500)])),
        ("P1", 1, "g2;g3", LineString([P(0, 2000), P(0, 3000)])),
        ("P1", 2, "g3", LineString([P(0, 3000), P(0, 4000)])),
        ("P2", 3, "g4", LineString([P(3000, 2000), P(3000, 4000)])),
    )
    layers = [forest, nh]
    r, c = flag_routes(routes(*rows), layers)
    return r, c, layers


def test_register_rows_and_files(flagged, tmp_path):
    r, c, layers = flagged
    assert list(c.columns) == [*CROSSING_COLUMNS, "geometry"]
    permits = permit_register(c, layers)
    assert list(permits.columns) == PERMIT_COLUMNS
    assert permits[["authority", "sub_authority", "kind"]].values.tolist() == [
        ["Forest Department", "Bastar", "area"],
        ["Forest Department", "Kanker", "area"],
        ["NHAI / MoRTH", "NH-30", "crossing"],
        ["NHAI / MoRTH", "NH-30", "crossing"],
    ]
    assert permits["chainage_km"].iloc[2:].tolist() == pytest.approx([5.0, 8.0])
    assert permits["crossings"].sum() == 2
    summary = permit_summary(permits)
    assert summary["crossings"].tolist() == [0, 0, 2]
    assert summary["area_ha"].iloc[:2].tolist() == pytest.approx([0.1, 0.1])

    xlsx = write_register_xlsx(permits, tmp_path / "permits.xlsx")
    book = openpyxl.load_workbook(xlsx)
    assert book.sheetnames == ["Summary", "Forest Department", "NHAI - MoRTH"]
    nh_sheet = book["NHAI - MoRTH"]
    header = [cell.value for cell in nh_sheet[1]]
    assert header == PERMIT_COLUMNS
    assert nh_sheet.max_row == 1 + 2
    assert book["Forest Department"].max_row == 1 + 2
    assert book["Summary"].max_row == 1 + 3

    csv = write_register_csv(permits, tmp_path / "permits.csv")
    back = pd.read_csv(csv)
    assert len(back) == 4 and back["crossings"].sum() == 2


def test_results_are_deterministic(flagged):
    r, c, layers = flagged
    r2, c2 = flag_routes(r[["pop_id", "segment_id", "gp_ids", "geometry"]].iloc[::-1], layers)
    pd.testing.assert_frame_equal(
        c.drop(columns="geometry"), c2.drop(columns="geometry"), check_exact=False
    )


# ------------------------------------------------------------------------------ layer specs
def test_from_spec_and_validation(tmp_path):
    folder = tmp_path / "d:ata"  # a ':' inside the path must not confuse the parser
    folder.mkdir()
    rail = gpd.GeoDataFrame(
        {"zone": ["SECR"], "name": ["main line"]},
        geometry=[LineString([(81.0, 21.0), (81.2, 21.1)])],
        crs="EPSG:4326",
    )
    path = folder / "Rail-Lines.gpkg"
    rail.to_file(path, driver="GPKG")
    layer = RowLayer.from_spec(f"{path}:line:Railways:zone")
    assert (layer.name, layer.kind, layer.authority, layer.split_by) == (
        "rail_lines",
        "line",
        "Railways",
        "zone",
    )
    assert layer.corridor_width_m == 30.0
    assert RowLayer.from_spec(f"{path}:line:Railways").split_by is None
    with pytest.raises(MissingColumnError, match=r"rail_lines.*'division'.*'zone'"):
        RowLayer.from_spec(f"{path}:line:Railways:division")
    with pytest.raises(InputError, match="area' or 'line"):
        RowLayer.from_spec(f"{path}:river:Water Board:basin")
    with pytest.raises(GeometryTypeError):
        annotate_edges(
            edges(LineString([P(0, 0), P(1, 1)])),
            [RowLayer(rail, "rail", "area", "Railways")],
            progress=False,
        )


def test_presets_and_errors():
    data = gpd.GeoDataFrame({"name": ["x"]}, geometry=[square(0, 0, 10)], crs=CRS)
    assert RowLayer.forest(data).split_by is None
    assert RowLayer.forest(data).corridor_width_m == 1.0
    with pytest.raises(MissingColumnError, match="available: 'name'"):
        RowLayer.forest(data, split_by="division")
    with pytest.raises(InputError, match="column names"):
        RowLayer(data, "my forest", "area", "Forest Department")
    with pytest.raises(CRSError):
        RowLayer(data.set_crs(None, allow_override=True), "f", "area", "FD")
    lonlat = gpd.GeoSeries([LineString([(81, 21), (81.1, 21)])], crs="EPSG:4326")
    with pytest.raises(CRSError, match="metres"):
        annotate_edges(lonlat, [RowLayer.forest(data)], progress=False)
    with pytest.raises(MissingColumnError, match="gp_ids"):
        flag_routes(gpd.GeoDataFrame({"pop_id": ["a"], "segment_id": [0]}, geometry=[
            LineString([P(0, 0), P(1, 0)])], crs=CRS), [RowLayer.forest(data)])  # fmt: skip


def test_no_layers_and_no_hits():
    layer = forest_layer(square(0, 0, 100))
    far = LineString([P(5000, 5000), P(6000, 5000)])
    r, c = flag_routes(routes(("P1", 0, "g1", far)), [layer, nh_layer(NH)])
    assert len(c) == 0 and list(c.columns) == [*CROSSING_COLUMNS, "geometry"]
    assert r["in_forest_m"].iloc[0] == 0 and r["nh_crossings"].iloc[0] == 0
    permits = permit_register(c, [layer])
    assert len(permits) == 0 and list(permits.columns) == PERMIT_COLUMNS
    assert annotate_edges(edges(far), [], progress=False).shape == (1, 0)
