"""Coordinate reference systems: pick a metric CRS for a layer and move layers between CRSs.

Every length netplan computes is measured in a metric CRS: the WGS 84 / UTM zone (north or
south) of the centre of the layer. Inputs may be in any CRS; they keep it until a step needs
metres.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from netplan._errors import CRSError, EmptyLayerError

__all__ = [
    "metric_crs_for",
    "utm_crs",
    "to_metric",
    "to_wgs84",
    "is_geographic",
    "WGS84",
]

logger = logging.getLogger(__name__)

WGS84 = pyproj.CRS.from_epsg(4326)
"""The lon/lat CRS (EPSG:4326) in which :class:`netplan.result.Plan` layers are returned."""


def is_geographic(crs: Any) -> bool:
    """Tell whether a CRS measures in degrees (longitude/latitude) rather than metres.

    Parameters
    ----------
    crs
        Anything :meth:`pyproj.CRS.from_user_input` accepts ("EPSG:4326", 32644, a CRS object).

    Returns
    -------
    bool
        True for geographic CRSs such as EPSG:4326.
    """
    return bool(pyproj.CRS.from_user_input(crs).is_geographic)


def utm_crs(lon: float, lat: float) -> pyproj.CRS:
    """The WGS 84 / UTM CRS of the zone holding a lon/lat point.

    Parameters
    ----------
    lon, lat
        Degrees (WGS 84). Points on the equator count as northern.

    Returns
    -------
    pyproj.CRS
        EPSG:326zz in the northern hemisphere, EPSG:327zz in the southern one.
    """
    if not (math.isfinite(lon) and math.isfinite(lat)) or abs(lat) > 90:
        raise CRSError(
            f"cannot choose a UTM zone for lon={lon!r}, lat={lat!r}: not a lon/lat point"
        )
    lon = ((lon + 180.0) % 360.0) - 180.0  # wrap into [-180, 180)
    zone = min(int(math.floor((lon + 180.0) / 6.0)) + 1, 60)
    base = 32600 if lat >= 0 else 32700
    return pyproj.CRS.from_epsg(base + zone)


def _layer_crs(data: Any, crs: Any) -> pyproj.CRS:
    layer_crs = crs if crs is not None else getattr(data, "crs", None)
    if layer_crs is None:
        raise CRSError(
            "the layer has no CRS, so no metric CRS can be chosen for it; "
            "set one first (gdf.set_crs('EPSG:...')) or pass crs='EPSG:...'"
        )
    return pyproj.CRS.from_user_input(layer_crs)


def metric_crs_for(data: Any, *, crs: Any = None) -> pyproj.CRS:
    """The WGS 84 / UTM CRS of the zone that holds the centre of a layer.

    Parameters
    ----------
    data
        A GeoDataFrame or GeoSeries (its own CRS is used), or an array of shapely geometries
        together with ``crs``.
    crs
        The CRS of ``data`` when it carries none (or to override it).

    Returns
    -------
    pyproj.CRS
        EPSG:326zz (north) or EPSG:327zz (south) for the zone of the centre of the layer's
        bounding box, computed in lon/lat.

    Raises
    ------
    CRSError
        When no CRS is known for the layer.
    EmptyLayerError
        When the layer holds no non-empty geometry.
    """
    src = _layer_crs(data, crs)
    geoms = np.asarray(getattr(data, "geometry", data), dtype=object)
    bounds = shapely.bounds(geoms)  # NaN rows for missing/empty geometries
    ok = np.isfinite(bounds).all(axis=1)
    if not ok.any():
        raise EmptyLayerError("the layer holds no geometry, so no metric CRS can be chosen for it")
    minx, miny = bounds[ok, 0].min(), bounds[ok, 1].min()
    maxx, maxy = bounds[ok, 2].max(), bounds[ok, 3].max()
    if src.is_geographic and src.equals(WGS84, ignore_axis_order=True):
        lon, lat = (minx + maxx) / 2.0, (miny + maxy) / 2.0
    else:
        to_ll = pyproj.Transformer.from_crs(src, WGS84, always_xy=True)
        try:
            w, s, e, n = to_ll.transform_bounds(minx, miny, maxx, maxy, densify_pts=21)
        except pyproj.exceptions.ProjError as exc:
            raise CRSError(
                f"the layer's bounds ({minx:.6g}, {miny:.6g}, {maxx:.6g}, {maxy:.6g}) cannot be "
                f"converted from {src.to_string()} to lon/lat ({exc}); is its CRS right?"
            ) from exc
        if e < w:  # crosses the antimeridian
            e += 360.0
        lon, lat = (w + e) / 2.0, (s + n) / 2.0
    out = utm_crs(lon, lat)
    logger.debug("metric CRS for layer centred at (%.4f, %.4f): %s", lon, lat, out.to_string())
    return out


def to_metric(gdf: gpd.GeoDataFrame, crs: Any = None) -> gpd.GeoDataFrame:
    """Reproject a layer to a metric CRS.

    Parameters
    ----------
    gdf
        Layer with a CRS.
    crs
        Target CRS; by default :func:`metric_crs_for` of the layer.

    Returns
    -------
    GeoDataFrame
        A reprojected copy (the same object when it is already in ``crs``).
    """
    if gdf.crs is None:
        raise CRSError(
            "the layer has no CRS and cannot be reprojected; set one with gdf.set_crs('EPSG:...')"
        )
    target = metric_crs_for(gdf) if crs is None else pyproj.CRS.from_user_input(crs)
    if target.is_geographic:
        raise CRSError(f"{target.to_string()} is geographic (degrees), not a metric CRS")
    if gdf.crs.equals(target):
        return gdf
    return gdf.to_crs(target)


def to_wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Reproject a layer to lon/lat (EPSG:4326).

    Parameters
    ----------
    gdf
        Layer with a CRS.

    Returns
    -------
    GeoDataFrame
        A reprojected copy (the same object when it is already EPSG:4326).
    """
    if gdf.crs is None:
        raise CRSError(
            "the layer has no CRS and cannot be reprojected; set one with gdf.set_crs('EPSG:...')"
        )
    if gdf.crs.equals(WGS84):
        return gdf
    return gdf.to_crs(WGS84)
