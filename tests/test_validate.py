"""Bad inputs: each raises the right class with a message naming the file, the rows and the fix."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, Polygon

from netplan import _validate as V
from netplan._errors import (
    CoordinateError,
    CRSError,
    DuplicateIdError,
    EmptyLayerError,
    EncodingError,
    ExtentError,
    GeometryTypeError,
    InputError,
    InvalidGeometryError,
    MissingColumnError,
    NetplanError,
)
from netplan.io import load_forest, load_pops, load_roads, load_sites

GOOD_CSV = (
    "gp_id,name,lon,lat\nG1,Amlidih,81.60,21.20\nG2,Bhatagaon,81.65,21.25\nG3,Chura,81.70,21.30\n"
)


def _csv(tmp_path, text: str, name: str = "gps.csv", *, encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _roads() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"road_class": ["VR", "ODR"]},
        geometry=[
            LineString([(81.55, 21.15), (81.75, 21.35)]),
            LineString([(81.60, 21.30), (81.70, 21.20)]),
        ],
        crs="EPSG:4326",
    )


def test_all_errors_are_netplan_and_value_errors():
    for cls in (CoordinateError, CRSError, DuplicateIdError, EmptyLayerError, ExtentError):
        assert issubclass(cls, NetplanError) and issubclass(cls, ValueError)


# --------------------------------------------------------------------------------------------
# empty
# --------------------------------------------------------------------------------------------
def test_empty_csv_file(tmp_path):
    with pytest.raises(EmptyLayerError, match=r"gps\.csv is empty"):
        load_sites(_csv(tmp_path, ""))


def test_header_only_csv(tmp_path):
    with pytest.raises(EmptyLayerError, match=r"gps\.csv holds no features.*GPs"):
        load_sites(_csv(tmp_path, "gp_id,name,lon,lat\n"))


def test_empty_geojson_collection(tmp_path):
    path = tmp_path / "roads.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(EmptyLayerError, match=r"roads\.geojson holds no features.*roads"):
        load_roads(path)


def test_zero_byte_geojson(tmp_path):
    path = tmp_path / "forest.geojson"
    path.write_bytes(b"")
    with pytest.raises(EmptyLayerError, match=r"forest\.geojson is an empty file"):
        load_forest(path)


def test_garbage_file(tmp_path):
    path = tmp_path / "roads.geojson"
    path.write_text("this is not json")
    with pytest.raises(InputError, match=r"roads\.geojson cannot be read"):
        load_roads(path)


# --------------------------------------------------------------------------------------------
# geometry type
# --------------------------------------------------------------------------------------------
def test_polygons_given_as_sites(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"gp_id": ["A", "B"]},
        geometry=[Point(81.6, 21.2).buffer(0.01), Point(81.7, 21.3).buffer(0.01)],
        crs="EPSG:4326",
    )
    path = tmp_path / "gps.geojson"
    gdf.to_file(path)
    with pytest.raises(GeometryTypeError) as err:
        load_sites(path)
    msg = str(err.value)
    assert "gps.geojson" in msg and "2 Polygon" in msg and "points" in msg
    assert "rows 1, 2 (ids 'A', 'B')" in msg and "representative_point" in msg


def test_points_given_as_roads():
    gdf = gpd.GeoDataFrame(
        geometry=[LineString([(0, 0), (1, 1)]), Point(0, 0), Point(1, 1)], crs="EPSG:4326"
    )
    with pytest.raises(GeometryTypeError, match=r"the given GeoDataFrame.*1 LineString, 2 Point"):
        load_roads(gdf)


def test_lines_given_as_forest():
    with pytest.raises(GeometryTypeError, match=r"polygons \(Polygon or MultiPolygon\)"):
        load_forest(_roads())


def test_multipoint_with_several_points_is_rejected():
    gdf = gpd.GeoDataFrame(
        {"id": ["x"]}, geometry=gpd.GeoSeries.from_wkt(["MULTIPOINT (1 1, 2 2)"]), crs=4326
    )
    with pytest.raises(GeometryTypeError, match="MultiPoint"):
        load_sites(gdf)


# --------------------------------------------------------------------------------------------
# CRS
# --------------------------------------------------------------------------------------------
def test_shapefile_without_prj(tmp_path):
    path = tmp_path / "roads.shp"
    _roads().to_file(path)
    (tmp_path / "roads.prj").unlink()
    with pytest.raises(CRSError) as err:
        load_roads(path)
    msg = str(err.value)
    assert "roads.shp has no CRS" in msg and "crs='EPSG:" in msg and ".prj" in msg
    # the fix works
    assert load_roads(path, crs="EPSG:4326").crs.to_epsg() == 4326


def test_geodataframe_without_crs():
    with pytest.raises(CRSError, match=r"the given GeoDataFrame has no CRS.*set_crs"):
        load_roads(_roads().set_crs(None, allow_override=True))


def test_csv_projected_xy_without_crs(tmp_path):
    path = _csv(tmp_path, "id,x,y\n1,468000,2350000\n2,469000,2351000\n", "pops.csv")
    with pytest.raises(CRSError, match=r"pops\.csv has no CRS.*'x'/'y'.*crs='EPSG:"):
        load_pops(path)
    assert load_pops(path, crs="EPSG:32644").crs.to_epsg() == 32644


def test_csv_xy_within_lonlat_range_is_read_as_wgs84(tmp_path):
    path = _csv(tmp_path, "id,x,y\n1,81.6,21.2\n2,81.7,21.3\n", "pops.csv")
    assert load_pops(path).crs.to_epsg() == 4326


# --------------------------------------------------------------------------------------------
# coordinates
# --------------------------------------------------------------------------------------------
def test_lat_lon_swapped(tmp_path):
    # Arunachal Pradesh: lon ~94.9, lat ~27.1; swapped, the "latitude" is beyond 90
    text = "gp_id,name,lon,lat\nG1,Along,27.10,94.90\nG2,Pasighat,28.07,95.33\n"
    with pytest.raises(CoordinateError) as err:
        load_sites(_csv(tmp_path, text))
    msg = str(err.value)
    assert "gps.csv" in msg and "swapped" in msg
    assert "rows 1, 2 (ids 'G1', 'G2')" in msg
    assert "lon_col='lat', lat_col='lon'" in msg
    # the suggested fix works
    fixed = load_sites(tmp_path / "gps.csv", lon_col="lat", lat_col="lon")
    assert fixed.geometry.iloc[0].x == pytest.approx(94.90)


def test_lat_lon_swapped_found_against_roads(tmp_path):
    # Chhattisgarh swapped gives valid lon/lat (in the Arctic): the road layer reveals it
    roads = load_roads(_roads())
    text = "gp_id,lon,lat\nG1,21.20,81.60\nG2,21.25,81.65\nG3,21.30,81.70\n"
    gps = load_sites(_csv(tmp_path, text))
    with pytest.raises(CoordinateError) as err:
        V.check_within_extent(gps, roads)
    msg = str(err.value)
    assert "gps.csv" in msg and "look swapped" in msg and "3 of 3" in msg
    assert "lon_col='lat', lat_col='lon'" in msg


def test_coordinates_out_of_range(tmp_path):
    text = "gp_id,lon,lat\nG1,81.6,21.2\nG2,181.5,95.0\nG3,-200,10\n"
    with pytest.raises(CoordinateError) as err:
        load_sites(_csv(tmp_path, text))
    msg = str(err.value)
    assert "gps.csv" in msg and "out of range" in msg
    assert "rows 2, 3 (ids 'G2', 'G3')" in msg and "[-180, 180]" in msg


def test_projected_coordinates_declared_as_lonlat(tmp_path):
    text = "gp_id,lon,lat\nG1,468000,2350000\nG2,469000,2351000\n"
    with pytest.raises(CoordinateError, match=r"look like projected metres.*crs='EPSG:"):
        load_sites(_csv(tmp_path, text))


def test_non_numeric_coordinates(tmp_path):
    text = "gp_id,lon,lat\nG1,81.6,21.2\nG2,81°39',21.25\n"
    with pytest.raises(CoordinateError, match=r"gps\.csv.*not numbers.*row 2.*decimal"):
        load_sites(_csv(tmp_path, text))


# --------------------------------------------------------------------------------------------
# missing and invalid geometries
# --------------------------------------------------------------------------------------------
def test_sites_with_missing_coordinates(tmp_path):
    text = "gp_id,lon,lat\nG1,81.6,21.2\nG2,,\nG3,81.7,\n"
    with pytest.raises(InvalidGeometryError) as err:
        load_sites(_csv(tmp_path, text))
    msg = str(err.value)
    assert "gps.csv" in msg and "2 of 3 GPs" in msg
    assert "rows 2, 3 (ids 'G2', 'G3')" in msg and "remove these rows" in msg


def test_sites_with_null_geometry_in_vector_file(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"gp_id": ["A", "B"]}, geometry=[Point(81.6, 21.2), None], crs="EPSG:4326"
    )
    path = tmp_path / "gps.gpkg"
    gdf.to_file(path)
    with pytest.raises(InvalidGeometryError, match=r"gps\.gpkg.*row 2 \(id 'B'\)"):
        load_sites(path)


def test_roads_with_missing_geometry_are_dropped_with_warning(tmp_path):
    gdf = _roads()
    gdf.loc[2] = ["MDR", None]
    gdf = gdf.set_crs("EPSG:4326", allow_override=True)
    path = tmp_path / "roads.gpkg"
    gdf.to_file(path)
    with pytest.warns(UserWarning, match=r"roads\.gpkg: dropped 1 of 3 roads.*row 3"):
        roads = load_roads(path)
    assert len(roads) == 2 and list(roads["road_class"]) == ["VR", "ODR"]


def test_all_geometries_missing(tmp_path):
    gdf = gpd.GeoDataFrame({"a": [1, 2]}, geometry=[None, None], crs="EPSG:4326")
    with pytest.raises(EmptyLayerError, match="none of its 2 features has a usable geometry"):
        load_forest(gdf)


def test_self_intersecting_polygon_is_repaired(tmp_path):
    bowtie = Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])  # two triangles of area 1
    square = Polygon([(3, 0), (4, 0), (4, 1), (3, 1)])
    assert not bowtie.is_valid
    gdf = gpd.GeoDataFrame({"name": ["bow", "sq"]}, geometry=[bowtie, square], crs=32644)
    path = tmp_path / "forest.shp"
    gdf.to_file(path)
    with pytest.warns(UserWarning, match=r"forest\.shp: repaired 1 invalid forest.*row 1"):
        forest = load_forest(path)
    assert len(forest) == 2 and forest.is_valid.all()
    assert forest.geometry.iloc[0].area == pytest.approx(2.0)
    assert forest.geometry.iloc[1].area == pytest.approx(1.0)


def test_collapsed_polygon_is_dropped_with_warning():
    flat = Polygon([(0, 0), (1, 1), (2, 2), (0, 0)])  # zero area
    square = Polygon([(3, 0), (4, 0), (4, 1), (3, 1)])
    gdf = gpd.GeoDataFrame({"name": ["flat", "sq"]}, geometry=[flat, square], crs=32644)
    with pytest.warns(UserWarning, match=r"dropped 1 forest features that are empty.*row 1"):
        forest = load_forest(gdf)
    assert list(forest["name"]) == ["sq"]


def test_degenerate_line_is_dropped():
    gdf = gpd.GeoDataFrame(
        geometry=[LineString([(1, 1), (1, 1)]), LineString([(0, 0), (1, 0)])], crs=32644
    )
    with pytest.warns(UserWarning, match="dropped 1 roads features"):
        roads = load_roads(gdf)
    assert len(roads) == 1 and roads.geometry.iloc[0].length == pytest.approx(1.0)


# --------------------------------------------------------------------------------------------
# ids
# --------------------------------------------------------------------------------------------
def test_duplicate_gp_ids(tmp_path):
    text = GOOD_CSV + "G2,Again,81.66,21.26\nG4,Dhamtari,81.5,20.7\nG1,Twice,81.61,21.21\n"
    with pytest.raises(DuplicateIdError) as err:
        load_sites(_csv(tmp_path, text))
    msg = str(err.value)
    assert "gps.csv" in msg and "2 ids occur more than once in column 'gp_id'" in msg
    assert "'G1' (rows 1, 6)" in msg and "'G2' (rows 2, 4)" in msg
    assert "id_col=" in msg


def test_missing_ids(tmp_path):
    text = "gp_id,lon,lat\nG1,81.6,21.2\n,81.7,21.3\n"
    with pytest.raises(InputError, match=r"gps\.csv: 1 GPs have no id in column 'gp_id'.*row 2"):
        load_sites(_csv(tmp_path, text))


def test_numeric_ids_become_clean_strings():
    ids = V.ids_to_str(pd.Series([648848.0, 12.5, np.nan]))
    assert list(ids[:2]) == ["648848", "12.5"] and ids.iloc[2] is None
    assert list(V.ids_to_str(pd.Series([1, 2]))) == ["1", "2"]


# --------------------------------------------------------------------------------------------
# encoding and columns
# --------------------------------------------------------------------------------------------
def test_latin1_csv(tmp_path):
    text = "gp_id,name,lon,lat\nG1,Amlidih,81.6,21.2\nG2,Bélgaon,81.7,21.3\n"
    path = _csv(tmp_path, text, encoding="latin-1")
    with pytest.raises(EncodingError) as err:
        load_sites(path)
    msg = str(err.value)
    assert "gps.csv" in msg and "line 3" in msg and "0xe9" in msg
    assert "encoding='latin-1'" in msg
    assert isinstance(err.value, UnicodeError)
    gps = load_sites(path, encoding="latin-1")
    assert gps.loc["G2", "name"] == "Bélgaon"


def test_csv_missing_lonlat_columns(tmp_path):
    text = "gp_id,name,east_deg,north_deg\nG1,A,81.6,21.2\n"
    with pytest.raises(MissingColumnError) as err:
        load_sites(_csv(tmp_path, text))
    msg = str(err.value)
    assert "gps.csv has no longitude and latitude column" in msg
    assert "'east_deg'" in msg and "'north_deg'" in msg
    assert "lon_col=" in msg and "lat_col=" in msg and "x_col=" in msg
    assert isinstance(err.value, KeyError) and not msg.startswith('"')


def test_csv_explicit_column_not_found(tmp_path):
    with pytest.raises(MissingColumnError, match=r"gps\.csv has no column 'GPCODE'.*'gp_id'"):
        load_sites(_csv(tmp_path, GOOD_CSV), id_col="GPCODE")


# --------------------------------------------------------------------------------------------
# extents
# --------------------------------------------------------------------------------------------
def test_pops_outside_road_extent(tmp_path):
    roads = load_roads(_roads())
    far = "pop_id,lon,lat\nP1,85.3,23.3\nP2,85.4,23.4\n"  # Ranchi: ~450 km away
    pops = load_pops(_csv(tmp_path, far, "pops.csv"))
    with pytest.raises(ExtentError) as err:
        V.check_within_extent(pops, roads)
    msg = str(err.value)
    assert "none of the 2 PoPs in pops.csv lies within 2 km of the road layer's extent" in msg
    assert "same area" in msg and "CRS" in msg


def test_some_sites_outside_road_extent_warn(tmp_path):
    roads = load_roads(_roads())
    text = "gp_id,lon,lat\nG1,81.6,21.2\nG2,81.76,21.2\nG3,82.5,21.2\n"
    gps = load_sites(_csv(tmp_path, text))
    with pytest.warns(UserWarning, match=r"1 of 3 GPs in gps\.csv lie more than 2 km.*'G3'"):
        dist = V.check_within_extent(gps, roads)
    assert dist["G1"] == 0.0
    # 0.01 degree east of the box at 21.2N: about 1.04 km (a bit more as the box is in UTM),
    # inside the 2 km margin
    assert 1000 < dist["G2"] < 1200
    assert dist["G3"] > 70_000


def test_sites_in_other_crs_than_roads_are_fine():
    roads = load_roads(_roads())
    gps = load_sites(
        gpd.GeoDataFrame({"id": ["a"]}, geometry=[Point(81.6, 21.2)], crs=4326).to_crs(32644)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert V.check_within_extent(gps, roads).iloc[0] == pytest.approx(0.0)


def test_forest_in_another_crs_is_fine():
    roads = load_roads(_roads())
    forest = gpd.GeoDataFrame(geometry=[Point(81.65, 21.25).buffer(0.02)], crs="EPSG:4326").to_crs(
        "EPSG:32644"
    )
    forest = load_forest(forest)
    assert forest.crs.to_epsg() == 32644
    V.check_same_area(forest, roads)  # no error: it is reprojected


def test_forest_with_wrong_declared_crs(tmp_path):
    roads = load_roads(_roads())
    utm = gpd.GeoDataFrame(
        {"name": ["RF 12"]}, geometry=[Point(81.65, 21.25).buffer(0.02)], crs="EPSG:4326"
    ).to_crs("EPSG:32644")
    path = tmp_path / "forest.gpkg"
    utm.set_crs("EPSG:32643", allow_override=True).to_file(path)  # wrong zone in the file
    forest = load_forest(path)
    with pytest.raises(ExtentError) as err:
        V.check_same_area(forest, roads, what_a="forest", what_b="roads")
    msg = str(err.value)
    assert "forest.gpkg" in msg and "EPSG:32643" in msg and "does not overlap" in msg
    assert "crs='EPSG:" in msg
    # declaring the right CRS fixes it
    with pytest.warns(UserWarning, match="declares CRS EPSG:32643"):
        right = load_forest(path, crs="EPSG:32644")
    V.check_same_area(right, roads)


def test_rows_text_limits_and_ids():
    ids = pd.Series([f"g{i}" for i in range(15)])
    text = V.rows_text(range(15), ids=ids, limit=3)
    assert text == "rows 1, 2, 3 and 12 more (ids 'g0', 'g1', 'g2')"
    assert V.rows_text([4]) == "row 5"
