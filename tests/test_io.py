"""Tests of netplan.io: every loader on tiny files in every format, and on the real data."""

from __future__ import annotations

import warnings
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Polygon

from netplan._errors import CRSError, EmptyLayerError, InputError, MissingColumnError
from netplan.io import (
    load_forest,
    load_highways,
    load_pops,
    load_roads,
    load_sites,
    read_layer,
)

# --------------------------------------------------------------------------------------------
# tiny layers (lon/lat around Raipur)
# --------------------------------------------------------------------------------------------
SITES = pd.DataFrame(
    {
        "GP_ID": ["0101", "0102", "0103"],
        "GP_Name": ["  Amlidih\t", "Bhatagaon", None],
        "population": [1200, 800, 450],
        "lon": [81.60, 81.65, 81.70],
        "lat": [21.20, 21.25, 21.30],
    }
)


def _sites_gdf() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        SITES.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(SITES.lon, SITES.lat),
        crs="EPSG:4326",
    )


def _roads_gdf() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "RoadCatego": ["NH", "RR(VR)", "MDR"],
            "RoadName": ["Raipur bypass", None, " Abhanpur road "],
            "ref": ["NH-30", None, ""],
        },
        geometry=[
            LineString([(81.55, 21.15), (81.75, 21.35)]),
            MultiLineString([[(81.6, 21.2), (81.6, 21.3)], [(81.7, 21.2), (81.7, 21.3)]]),
            LineString([(81.6, 21.25), (81.7, 21.25)]),
        ],
        crs="EPSG:4326",
    )


def _forest_gdf() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["Reserve A", "Reserve B"], "category": ["RF", "PF"]},
        geometry=[
            Polygon([(81.6, 21.2), (81.65, 21.2), (81.65, 21.25), (81.6, 21.25)]),
            MultiPolygon(
                [
                    Polygon([(81.7, 21.3), (81.72, 21.3), (81.72, 21.32)]),
                    Polygon([(81.74, 21.3), (81.76, 21.3), (81.76, 21.32)]),
                ]
            ),
        ],
        crs="EPSG:4326",
    )


def _write(gdf: gpd.GeoDataFrame, tmp_path, fmt: str):
    if fmt == "geojson":
        path = tmp_path / "layer.geojson"
        gdf.to_file(path, driver="GeoJSON")
    elif fmt == "shp":
        path = tmp_path / "layer.shp"
        gdf.to_file(path)
    elif fmt == "zip":
        shp = tmp_path / "shp"
        shp.mkdir()
        gdf.to_file(shp / "layer.shp")
        path = tmp_path / "layer.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for f in sorted(shp.iterdir()):
                zf.write(f, f.name)
    elif fmt == "gpkg":
        path = tmp_path / "layer.gpkg"
        gdf.to_file(path, layer="main", driver="GPKG")
    elif fmt == "parquet":
        path = tmp_path / "layer.parquet"
        gdf.to_parquet(path)
    else:  # pragma: no cover
        raise ValueError(fmt)
    return path


FORMATS = ["geojson", "shp", "zip", "gpkg", "parquet"]


# --------------------------------------------------------------------------------------------
# sites
# --------------------------------------------------------------------------------------------
def _check_sites(gdf: gpd.GeoDataFrame) -> None:
    assert gdf.index.name == "site_id"
    assert list(gdf.index) == ["0101", "0102", "0103"]  # leading zeros kept, strings
    assert all(isinstance(i, str) for i in gdf.index)
    assert list(gdf["name"]) == ["Amlidih", "Bhatagaon", ""]
    assert gdf.crs.to_epsg() == 4326
    assert (gdf.geom_type == "Point").all()
    assert gdf.geometry.iloc[1].x == pytest.approx(81.65)
    assert gdf.geometry.iloc[1].y == pytest.approx(21.25)
    assert "population" in gdf.columns  # other attributes kept


def test_load_sites_csv_lonlat(tmp_path):
    path = tmp_path / "gps.csv"
    SITES.to_csv(path, index=False)
    _check_sites(load_sites(path))


def test_load_sites_csv_semicolon_and_bom(tmp_path):
    path = tmp_path / "gps.csv"
    path.write_bytes(b"\xef\xbb\xbf" + SITES.to_csv(index=False, sep=";").encode())
    _check_sites(load_sites(path))


def test_load_sites_csv_xy_with_crs(tmp_path):
    utm = _sites_gdf().to_crs("EPSG:32644")
    df = pd.DataFrame(
        {"site_id": ["a", "b", "c"], "x": utm.geometry.x, "y": utm.geometry.y, "Village": "v"}
    )
    path = tmp_path / "sites.csv"
    df.to_csv(path, index=False)
    gdf = load_sites(path, crs="EPSG:32644")
    assert gdf.crs.to_epsg() == 32644  # source CRS kept
    assert list(gdf.index) == ["a", "b", "c"]
    assert list(gdf["name"]) == ["v", "v", "v"]
    assert gdf.geometry.iloc[0].x == pytest.approx(utm.geometry.iloc[0].x)
    # easting/northing names are found too
    df.rename(columns={"x": "Easting", "y": "Northing"}).to_csv(path, index=False)
    assert load_sites(path, crs=32644).geometry.iloc[2].y == pytest.approx(utm.geometry.iloc[2].y)


def test_load_sites_csv_explicit_columns(tmp_path):
    df = SITES.rename(columns={"lon": "E_deg", "lat": "N_deg", "GP_ID": "lgd", "GP_Name": "nm"})
    path = tmp_path / "gps.csv"
    df.to_csv(path, index=False)
    gdf = load_sites(path, lon_col="E_deg", lat_col="n_deg", id_col="lgd", name_col="NM")
    _check_sites(gdf)


def test_load_sites_without_id_column_uses_row_numbers(tmp_path):
    path = tmp_path / "gps.csv"
    SITES.drop(columns="GP_ID").to_csv(path, index=False)
    gdf = load_sites(path)
    assert list(gdf.index) == ["1", "2", "3"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_load_sites_vector_formats(tmp_path, fmt):
    _check_sites(load_sites(_write(_sites_gdf(), tmp_path, fmt)))


def test_load_sites_from_geodataframe_and_dataframe():
    _check_sites(load_sites(_sites_gdf()))
    _check_sites(load_sites(SITES))
    # a loaded layer can be loaded again (index site_id becomes the id)
    again = load_sites(load_sites(_sites_gdf()))
    _check_sites(again)


def test_load_pops_prefers_pop_id(tmp_path):
    df = pd.DataFrame(
        {"gp_id": ["g1", "g1"], "pop_id": ["P1", "P2"], "lon": [81.6, 81.7], "lat": [21.2, 21.3]}
    )
    path = tmp_path / "pops.csv"
    df.to_csv(path, index=False)
    pops = load_pops(path)
    assert list(pops.index) == ["P1", "P2"]
    assert pops.attrs["netplan_what"] == "PoPs"


def test_load_sites_multipoint_single_part():
    gdf = _sites_gdf()
    wkt = [f"MULTIPOINT ({g.x} {g.y})" for g in gdf.geometry]
    gdf = gdf.set_geometry(gpd.GeoSeries.from_wkt(wkt, index=gdf.index, crs="EPSG:4326"))
    assert (gdf.geom_type == "MultiPoint").all()
    out = load_sites(gdf)
    assert (out.geom_type == "Point").all()
    _check_sites(out)


# --------------------------------------------------------------------------------------------
# roads, highways, forest
# --------------------------------------------------------------------------------------------
def _check_roads(roads: gpd.GeoDataFrame) -> None:
    assert len(roads) == 4  # the MultiLineString is exploded into two lines
    assert (roads.geom_type == "LineString").all()
    assert list(roads["road_class"]) == ["NH", "RR(VR)", "RR(VR)", "MDR"]
    assert list(roads["name"]) == ["Raipur bypass", "", "", "Abhanpur road"]
    assert list(roads["ref"]) == ["NH-30", "", "", ""]
    assert "RoadCatego" in roads.columns  # originals kept
    assert roads.crs.to_epsg() == 4326
    assert list(roads.index) == [0, 1, 2, 3]


@pytest.mark.parametrize("fmt", FORMATS)
def test_load_roads_formats(tmp_path, fmt):
    _check_roads(load_roads(_write(_roads_gdf(), tmp_path, fmt)))


def test_load_roads_geodataframe_and_overrides():
    roads = _roads_gdf().rename(columns={"RoadCatego": "kind", "RoadName": "label"})
    out = load_roads(roads, class_col="KIND", name_col="label", ref_col="ref")
    assert list(out["road_class"]) == ["NH", "RR(VR)", "RR(VR)", "MDR"]
    assert out["name"].iloc[0] == "Raipur bypass"
    # no class column at all: road_class is ""
    bare = load_roads(_roads_gdf()[["geometry"]])
    assert (bare["road_class"] == "").all() and (bare["ref"] == "").all()
    with pytest.raises(MissingColumnError, match=r"class_col='nope'.*RoadCatego"):
        load_roads(_roads_gdf(), class_col="nope")


def test_load_roads_keeps_projected_crs(tmp_path):
    roads = _roads_gdf().to_crs("EPSG:32644")
    out = load_roads(_write(roads, tmp_path, "gpkg"))
    assert out.crs.to_epsg() == 32644
    assert out.geometry.iloc[0].length == pytest.approx(roads.geometry.iloc[0].length)


def test_load_highways_filter_by_class():
    hw = load_highways(_roads_gdf(), classes=["NH"])
    assert len(hw) == 1 and hw["ref"].iloc[0] == "NH-30"
    with pytest.raises(EmptyLayerError, match="classes found"):
        load_highways(_roads_gdf(), classes=["Expressway"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_load_forest_formats(tmp_path, fmt):
    forest = load_forest(_write(_forest_gdf(), tmp_path, fmt))
    assert len(forest) == 2
    assert set(forest.geom_type) <= {"Polygon", "MultiPolygon"}
    assert list(forest["name"]) == ["Reserve A", "Reserve B"]
    assert forest.crs.to_epsg() == 4326
    assert forest.geometry.iloc[0].area == pytest.approx(0.05 * 0.05)


def test_gpkg_layer_choice(tmp_path):
    path = tmp_path / "all.gpkg"
    _roads_gdf().to_file(path, layer="roads")
    _forest_gdf().to_file(path, layer="forest")
    _sites_gdf().to_file(path, layer="gps")
    # the only layer with the right geometry is picked
    assert len(load_roads(path)) == 4
    assert len(load_forest(path)) == 2
    assert len(load_sites(path)) == 3
    assert len(load_roads(path, layer="roads")) == 4
    _roads_gdf().to_file(path, layer="more_roads")
    with pytest.raises(InputError, match=r"4 layers.*'roads'.*pass layer="):
        load_roads(path)


def test_read_layer_generic(tmp_path):
    path = _write(_forest_gdf(), tmp_path, "geojson")
    gdf = read_layer(path, geometry="polygon", what="forest")
    assert len(gdf) == 2 and gdf.attrs["netplan_source"] == "layer.geojson"
    anything = read_layer(path)
    assert len(anything) == 2
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_layer(tmp_path / "nope.geojson")


def test_table_cannot_give_lines(tmp_path):
    path = tmp_path / "roads.csv"
    SITES.to_csv(path, index=False)
    with pytest.raises(InputError, match="table without geometry"):
        load_roads(path)


def test_crs_override_warns(tmp_path):
    path = _write(_sites_gdf(), tmp_path, "geojson")
    with pytest.warns(UserWarning, match="declares CRS EPSG:4326"):
        gdf = load_sites(path, crs="EPSG:4269")
    assert gdf.crs.to_epsg() == 4269
    with pytest.raises(CRSError, match="not a coordinate reference system"):
        load_sites(path, crs="EPSG:nonsense")


# --------------------------------------------------------------------------------------------
# real data
# --------------------------------------------------------------------------------------------
def test_real_gp_offices_csv(shared_data):
    gps = load_sites(shared_data / "chhattisgarh" / "gp_offices.csv")
    assert len(gps) == 9356
    assert gps.index.is_unique and gps.index[0] == "648848"  # FACILITY_I auto-detected
    assert gps.loc["648848", "name"] == "JAMUA TAND"  # HAB_NAME
    names = gps["name"]
    assert (names == names.str.strip()).all()  # whitespace (tabs) stripped at the ends only
    assert names.str.contains("\t").any()  # inner tabs are text and kept as they are
    assert gps.crs.to_epsg() == 4326
    b = gps.total_bounds
    assert 80 < b[0] < b[2] < 85 and 17 < b[1] < b[3] < 25


def test_real_tehsil_hq_geojson(shared_data):
    pops = load_pops(shared_data / "chhattisgarh" / "tehsil_hq.geojson")
    assert len(pops) == 149 and pops.index.is_unique
    assert (pops["name"] != "").all()
    pops2 = load_pops(shared_data / "chhattisgarh" / "tehsil_hq.geojson", id_col="SDTCODE11")
    assert pops2.index.is_unique and len(pops2) == 149


def test_real_ladakh_roads_zip(shared_data):
    roads = load_roads(shared_data / "ladakh" / "Road_DRRP_Ladakh.zip")
    assert len(roads) == 1015
    counts = roads["road_class"].value_counts()
    assert counts["RR(VR)"] == 703 and counts["NH"] == 36
    assert (roads["name"] != "").sum() > 900
    hw = load_highways(shared_data / "ladakh" / "Road_DRRP_Ladakh.zip", classes=["NH"])
    assert len(hw) == 36 and "ref" in hw.columns


def test_real_kerala_forest(shared_data):
    forest = load_forest(shared_data / "forest" / "kerala_osm_forests.shp")
    assert len(forest) == 382
    assert set(forest.geom_type) <= {"Polygon", "MultiPolygon"}
    assert forest.is_valid.all()
    assert "protect_cl" in forest.columns


def test_real_cg_state_parquet(shared_data):
    d = shared_data / "cg_state"
    gps = load_sites(d / "gps.parquet")
    pops = load_pops(d / "pops.parquet")
    forest = load_forest(d / "forest.parquet")
    assert len(gps) == 9356 and gps.index[0] == "648848"
    assert len(pops) == 149 and pops.index.is_unique
    assert all(len(i) == 5 for i in pops.index)  # Census codes keep their leading zeros
    assert len(forest) == 1848


def test_real_kouvola_osm(shared_data):
    path = shared_data / "osm" / "kouvola.osm.pbf"
    roads = load_roads(path)
    assert 150 < len(roads) < 339  # cycleways, footways and paths are left out
    assert not roads["road_class"].isin(["cycleway", "footway", "path"]).any()
    assert roads["road_class"].isin(["residential", "track", "motorway_link"]).any()
    assert (roads["ref"] == "170").any()  # parsed from other_tags
    assert roads.crs.to_epsg() == 4326
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # repaired self-intersections
        forest = load_forest(path)
    assert len(forest) == 10
    assert forest.is_valid.all()
    highways = load_highways(path)
    assert len(highways) >= 1
    assert set(highways["road_class"]) <= {"motorway", "trunk"}
    assert (highways["ref"] == "7;15").all()


def test_real_kouvola_broken_ring_warns(shared_data):
    path = shared_data / "osm" / "kouvola.osm.pbf"
    with pytest.warns(UserWarning, match=r"dropped 8 of \d+ areas features without a usable"):
        areas = read_layer(path, layer="multipolygons", geometry="polygon", what="areas")
    assert len(areas) > 2000
    assert areas.is_valid.all()
    assert not np.any(areas.geometry.is_empty)
