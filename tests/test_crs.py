"""Tests of netplan.crs: UTM zone choice and reprojection helpers."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import pytest
from shapely.geometry import LineString, Point

from netplan._errors import CRSError, EmptyLayerError
from netplan.crs import is_geographic, metric_crs_for, to_metric, to_wgs84, utm_crs


def _points(lonlat, crs="EPSG:4326"):
    return gpd.GeoDataFrame(geometry=[Point(x, y) for x, y in lonlat], crs="EPSG:4326").to_crs(crs)


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [
        (81.6, 21.25, 32644),  # Raipur, Chhattisgarh
        (26.7, 60.9, 32635),  # Kouvola, Finland
        (-47.9, -15.8, 32723),  # Brasilia: southern hemisphere
        (151.2, -33.9, 32756),  # Sydney
        (0.0, 0.0, 32631),  # equator counts as north
        (-180.0, 10.0, 32601),
        (179.99, -10.0, 32760),
        (180.0, 10.0, 32601),  # wraps to -180
    ],
)
def test_utm_crs_known_zones(lon, lat, epsg):
    assert utm_crs(lon, lat).to_epsg() == epsg


def test_utm_crs_rejects_non_lonlat():
    with pytest.raises(CRSError, match="not a lon/lat point"):
        utm_crs(500000.0, 2300000.0)


def test_metric_crs_for_raipur_and_kouvola():
    assert metric_crs_for(_points([(81.6, 21.25)])).to_epsg() == 32644
    assert metric_crs_for(_points([(26.7, 60.9)])).to_epsg() == 32635


def test_metric_crs_for_southern_hemisphere():
    crs = metric_crs_for(_points([(-47.9, -15.8), (-47.7, -15.6)]))
    assert 32701 <= crs.to_epsg() <= 32760
    assert crs.to_epsg() == 32723


def test_metric_crs_uses_centre_of_bounds():
    # from 78E to 86E: centre 82E is in zone 44 (78..84), not 45
    lines = gpd.GeoDataFrame(
        geometry=[LineString([(78.0, 20.0), (79.0, 20.5)]), LineString([(85.0, 22.0), (86.0, 22)])],
        crs="EPSG:4326",
    )
    assert metric_crs_for(lines).to_epsg() == 32644


@pytest.mark.parametrize("src", ["EPSG:32644", "EPSG:3857", "EPSG:7755", "EPSG:24378"])
def test_metric_crs_for_any_input_crs(src):
    # the answer does not depend on the CRS the layer is stored in
    assert metric_crs_for(_points([(81.6, 21.25), (81.7, 21.3)], crs=src)).to_epsg() == 32644


def test_metric_crs_for_geoseries_and_array():
    gs = _points([(26.7, 60.9)]).geometry
    assert metric_crs_for(gs).to_epsg() == 32635
    arr = np.array([Point(81.6, 21.25)], dtype=object)
    assert metric_crs_for(arr, crs="EPSG:4326").to_epsg() == 32644


def test_metric_crs_for_errors():
    with pytest.raises(CRSError, match="no CRS"):
        metric_crs_for(gpd.GeoDataFrame(geometry=[Point(1, 2)]))
    with pytest.raises(EmptyLayerError):
        metric_crs_for(gpd.GeoDataFrame(geometry=[None], crs="EPSG:4326"))


def test_is_geographic():
    assert is_geographic("EPSG:4326")
    assert is_geographic(pyproj.CRS.from_epsg(4269))
    assert not is_geographic(32644)
    assert not is_geographic("EPSG:3857")


def test_to_metric_and_back_round_trip():
    gdf = _points([(81.6, 21.25), (81.61, 21.25)])
    m = to_metric(gdf)
    assert m.crs.to_epsg() == 32644
    # 0.01 degree of longitude at 21.25N is about 1037 m
    d = m.geometry.iloc[0].distance(m.geometry.iloc[1])
    assert d == pytest.approx(111320 * 0.01 * np.cos(np.radians(21.25)), rel=3e-3)
    back = to_wgs84(m)
    assert back.crs.to_epsg() == 4326
    assert back.geometry.iloc[0].x == pytest.approx(81.6, abs=1e-9)
    assert back.geometry.iloc[0].y == pytest.approx(21.25, abs=1e-9)
    # already in the target: no copy needed
    assert to_wgs84(gdf) is gdf
    assert to_metric(m, m.crs) is m


def test_to_metric_explicit_crs_and_errors():
    gdf = _points([(81.6, 21.25)])
    assert to_metric(gdf, "EPSG:32645").crs.to_epsg() == 32645
    with pytest.raises(CRSError, match="not a metric CRS"):
        to_metric(gdf, "EPSG:4326")
    with pytest.raises(CRSError, match="no CRS"):
        to_metric(gpd.GeoDataFrame(geometry=[Point(1, 2)]))
    with pytest.raises(CRSError, match="no CRS"):
        to_wgs84(gpd.GeoDataFrame(geometry=[Point(1, 2)]))
