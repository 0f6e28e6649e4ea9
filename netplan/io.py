"""Read and validate input layers: sites (GPs, PoPs), roads, forest, highways.

Every loader accepts a path (CSV, GeoJSON, Shapefile, zipped Shapefile, GeoPackage, GeoParquet,
OpenStreetMap ``.osm.pbf``) or an already loaded (Geo)DataFrame, runs the checks of
:mod:`netplan._validate` and returns a GeoDataFrame **in the source CRS** with normalised
columns. Bad input raises a :class:`netplan._errors.InputError` subclass whose message names the
file, the rows and the fix.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from netplan import _validate as V
from netplan._errors import (
    CoordinateError,
    CRSError,
    EmptyLayerError,
    InputError,
    InputFileNotFoundError,
    MissingColumnError,
)

__all__ = [
    "read_layer",
    "load_sites",
    "load_pops",
    "load_facilities",
    "category_key",
    "load_roads",
    "load_forest",
    "load_highways",
    "load_existing",
    "load_power_lines",
    "highways_from_roads",
    "ID_COLUMNS",
    "NAME_COLUMNS",
    "LON_COLUMNS",
    "LAT_COLUMNS",
    "X_COLUMNS",
    "Y_COLUMNS",
    "ROAD_CLASS_COLUMNS",
    "ROAD_NAME_COLUMNS",
    "CATEGORY_COLUMNS",
    "REF_COLUMNS",
    "OSM_ROAD_CLASSES",
    "OSM_HIGHWAY_CLASSES",
]

logger = logging.getLogger(__name__)

PathOrFrame: TypeAlias = str | Path | pd.DataFrame
GeometryKind: TypeAlias = Literal["point", "line", "polygon"]

# Column names recognised automatically (lower case, in order of preference).
ID_COLUMNS: tuple[str, ...] = (
    "site_id",
    "id",
    "gp_id",
    "pop_id",
    "gp_code",
    "lgd_code",
    "gp_lgd_code",
    "lgd",
    "facility_i",
    "facility_id",
    "fac_id",
    "code",
    "objectid",
    "index",  # the index of a GeoDataFrame given directly (see _as_frame)
)
NAME_COLUMNS: tuple[str, ...] = (
    "name",
    "gp_name",
    "site_name",
    "pop_name",
    "hab_name",
    "village",
    "village_name",
    "facility_n",
    "loc_name",
    "name11",
)
LON_COLUMNS: tuple[str, ...] = ("lon", "lng", "long", "longitude", "lon_dd", "x")
LAT_COLUMNS: tuple[str, ...] = ("lat", "latitude", "lat_dd", "y")
X_COLUMNS: tuple[str, ...] = ("x", "easting", "east", "utm_x", "x_coord", "point_x")
Y_COLUMNS: tuple[str, ...] = ("y", "northing", "north", "utm_y", "y_coord", "point_y")
ROAD_CLASS_COLUMNS: tuple[str, ...] = (
    "road_class",
    "highway",
    "roadcatego",
    "roadcategory",
    "road_category",
    "road_cat",
    "fclass",
    "class",
    "road_type",
    "roadtype",
    "type",
    "category",
)
ROAD_NAME_COLUMNS: tuple[str, ...] = ("name", "roadname", "road_name", "rd_name")
CATEGORY_COLUMNS: tuple[str, ...] = (
    "category",
    "facility_category",
    "fac_category",
    "fac_catego",
    "facility_type",
    "fac_type",
    "type",
    "kind",
    "class",
    "service",
    "fac_desc",
    "description",
)
"""Facility category columns recognised by :func:`load_facilities` (lower case, in order)."""
REF_COLUMNS: tuple[str, ...] = ("ref", "road_ref", "nh_no", "nh_number", "route_no", "road_no")

OSM_ROAD_CLASSES: tuple[str, ...] = (
    "motorway",
    "trunk",
    "primary",
    "secondary",
    "tertiary",
    "unclassified",
    "residential",
    "service",
    "living_street",
    "road",
    "motorway_link",
    "trunk_link",
    "primary_link",
    "secondary_link",
    "tertiary_link",
    "track",
)
"""OSM ``highway=*`` values read as drivable roads (and tracks) by :func:`load_roads`."""
OSM_HIGHWAY_CLASSES: tuple[str, ...] = ("motorway", "trunk")
"""OSM ``highway=*`` values read as national highways by :func:`load_highways`."""

_CSV_SUFFIXES = (".csv", ".tsv", ".txt")
_PARQUET_SUFFIXES = (".parquet", ".geoparquet", ".pq")
_OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm")


def _kind_of_path(path: Path) -> Literal["csv", "parquet", "osm", "ogr"]:
    name = path.name.lower()
    if name.endswith(_CSV_SUFFIXES):
        return "csv"
    if name.endswith(_PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(_OSM_SUFFIXES):
        return "osm"
    return "ogr"


# --------------------------------------------------------------------------------------------
# raw readers (no validation)
# --------------------------------------------------------------------------------------------
def _table_to_points(
    df: pd.DataFrame,
    *,
    source: str,
    what: str,
    lon_col: str | None,
    lat_col: str | None,
    x_col: str | None,
    y_col: str | None,
    crs: Any,
) -> tuple[gpd.GeoDataFrame, Any, str | None]:
    """Build points from coordinate columns.

    Returns the layer, the CRS to declare (None: keep) and the fix for swapped axes.
    """
    xc, yc, named_xy = _coordinate_columns(
        list(df.columns),
        source=source,
        what=what,
        lon_col=lon_col,
        lat_col=lat_col,
        x_col=x_col,
        y_col=y_col,
    )
    xs, ys = _numeric_coordinates(df, xc, yc, source=source, what=what)
    declare = _declared_crs(xs, ys, xc, yc, named_xy=named_xy, crs=crs, source=source)
    geoms = shapely.points(xs.to_numpy(dtype=float), ys.to_numpy(dtype=float))
    gdf = gpd.GeoDataFrame(df.copy(), geometry=gpd.GeoSeries(geoms, index=df.index), crs=None)
    swap_hint = (
        f"swap the columns (pass lon_col={yc!r}, lat_col={xc!r}) or fix the file"
        if not named_xy
        else f"swap the columns (pass x_col={yc!r}, y_col={xc!r}) or fix the file"
    )
    return gdf, declare, swap_hint


def _coordinate_columns(
    cols: list[Any],
    *,
    source: str,
    what: str,
    lon_col: str | None,
    lat_col: str | None,
    x_col: str | None,
    y_col: str | None,
) -> tuple[str, str, bool]:
    """The x (longitude) and y (latitude) columns, and whether they are named as projected
    x/y; a clear error when there are none."""
    xc, yc, named_xy = _find_coordinate_columns(
        cols, source=source, lon_col=lon_col, lat_col=lat_col, x_col=x_col, y_col=y_col
    )
    if xc is None or yc is None:
        found = ", ".join(repr(c) for c in cols) or "none"
        missing = " and ".join(w for w, c in (("longitude", xc), ("latitude", yc)) if c is None)
        raise MissingColumnError(
            f"{source} has no {missing} column for its {what} (columns found: {found}). Name "
            "them lon/lat (or longitude/latitude), or pass lon_col= and lat_col=, or x_col= and "
            "y_col= with crs='EPSG:...' for projected coordinates"
        )
    return xc, yc, named_xy


def _find_coordinate_columns(
    cols: list[Any],
    *,
    source: str,
    lon_col: str | None,
    lat_col: str | None,
    x_col: str | None,
    y_col: str | None,
) -> tuple[str | None, str | None, bool]:
    """The coordinate columns named by the options, else detected (lon/lat names first, then
    x/y names); None where not found."""
    if x_col is not None or y_col is not None:
        if x_col is None or y_col is None:
            raise MissingColumnError(
                f"{source}: pass both x_col= and y_col= (got x_col={x_col!r}, y_col={y_col!r})"
            )
        xc = V.find_column(cols, (), explicit=x_col, source=source, option="x_col", what="x")
        yc = V.find_column(cols, (), explicit=y_col, source=source, option="y_col", what="y")
        return xc, yc, True
    if lon_col is not None or lat_col is not None:
        xc = V.find_column(
            cols, LON_COLUMNS, explicit=lon_col, source=source, option="lon_col", what="longitude"
        )
        yc = V.find_column(
            cols, LAT_COLUMNS, explicit=lat_col, source=source, option="lat_col", what="latitude"
        )
        return xc, yc, False
    xc = V.find_column(cols, LON_COLUMNS, source=source, option="lon_col", what="longitude")
    yc = V.find_column(cols, LAT_COLUMNS, source=source, option="lat_col", what="latitude")
    if xc is None or yc is None:
        xc2 = V.find_column(cols, X_COLUMNS, source=source, option="x_col", what="x")
        yc2 = V.find_column(cols, Y_COLUMNS, source=source, option="y_col", what="y")
        if xc2 is not None and yc2 is not None:
            return xc2, yc2, True
        return xc, yc, False
    return xc, yc, xc.lower() == "x" and yc.lower() == "y"


def _numeric_coordinates(
    df: pd.DataFrame, xc: str, yc: str, *, source: str, what: str
) -> tuple[pd.Series, pd.Series]:
    """The coordinate columns as numbers (missing values stay NaN); a clear error naming the
    rows whose coordinates are not numbers."""
    xs = pd.to_numeric(df[xc], errors="coerce")
    ys = pd.to_numeric(df[yc], errors="coerce")
    not_num = (xs.isna() & df[xc].notna()) | (ys.isna() & df[yc].notna())
    if not_num.any():
        first = df.index[not_num.to_numpy()][0]
        raise CoordinateError(
            f"{source}: {int(not_num.sum())} {what} have coordinates that are not numbers in "
            f"columns {xc!r}/{yc!r} ({V.rows_text(df.index[not_num.to_numpy()])}; first: "
            f"{df.at[first, xc]!r}, {df.at[first, yc]!r}); use plain decimal degrees "
            "(or metres with crs=) and '.' as decimal point"
        )
    return xs, ys


def _declared_crs(
    xs: pd.Series, ys: pd.Series, xc: str, yc: str, *, named_xy: bool, crs: Any, source: str
) -> Any:
    """The CRS to declare: ``crs`` when given; else EPSG:4326 for lon/lat columns, and for x/y
    columns whose values all lie within lon/lat range (else a clear error)."""
    if named_xy and crs is None:
        ok = xs.notna() & ys.notna()
        if ok.any() and xs[ok].abs().max() <= 180 and ys[ok].abs().max() <= 90:
            logger.info(
                "%s: columns %r/%r hold values within lon/lat range; reading them as EPSG:4326",
                source,
                xc,
                yc,
            )
            return "EPSG:4326"
        raise CRSError(
            f"{source} has no CRS for its coordinates in columns {xc!r}/{yc!r}; pass "
            "crs='EPSG:...' (e.g. crs='EPSG:32644' for UTM zone 44N metres)"
        )
    if crs is None:
        return "EPSG:4326"
    return crs


def _read_csv(path: Path, *, source: str, encoding: str | None, str_columns: Sequence[str]):
    text = V.decode_text(path, encoding=encoding)
    return V.read_csv_text(text, source=source, str_columns=str_columns)


_CLI_ROLES = {
    "GPs": "sites",
    "PoPs": "pops",
    "roads": "roads",
    "forest": "forest",
    "highways": "highways",
}


def _layer_hint(what: str, example: str) -> str:
    """How to choose a layer: the keyword, and the command-line option for the CLI's roles."""
    role = _CLI_ROLES.get(what)
    if role is None:
        return "pass layer= to choose one"
    return f"pass layer= to choose one (command line: --layer {role}:{example})"


def _read_ogr(
    path: Path,
    *,
    source: str,
    what: str,
    layer: str | int | None,
    geometry: GeometryKind | None,
    **kw: Any,
) -> gpd.GeoDataFrame:
    """Read a GDAL vector file; geometries GEOS cannot parse become None (reported later)."""
    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        if path.exists() and path.is_file() and path.stat().st_size == 0:
            raise EmptyLayerError(f"{source} is an empty file (0 bytes); fill it in") from exc
        raise InputError(
            f"{source} cannot be read as a vector file ({exc}); check the file and its format "
            "(CSV, GeoJSON, Shapefile or .zip, GeoPackage, GeoParquet, .osm.pbf)"
        ) from exc
    if layer is None and len(layers) > 1:
        wanted = {
            "point": ("Point", "MultiPoint"),
            "line": ("LineString", "MultiLineString"),
            "polygon": ("Polygon", "MultiPolygon"),
        }.get(geometry or "", ())
        fits = [str(n) for n, t in layers if any(str(t).startswith(w) for w in wanted)]
        if len(fits) == 1:
            layer = fits[0]
            logger.info("%s: reading layer %r (the only %s layer)", source, layer, geometry)
        else:
            listing = ", ".join(f"{n!r} ({t})" for n, t in layers)
            raise InputError(
                f"{source} holds {len(layers)} layers: {listing}; "
                + _layer_hint(what, str((fits or [str(n) for n, _ in layers])[0]))
            )
    elif len(layers) == 0:
        raise EmptyLayerError(f"{source} holds no layers; check the file")
    try:
        gdf = pyogrio.read_dataframe(path, layer=layer, on_invalid="ignore", **kw)
    except pyogrio.errors.DataLayerError as exc:
        listing = ", ".join(repr(str(n)) for n, _ in layers)
        raise InputError(
            f"{source} has no layer {layer!r} (layers: {listing}); "
            + _layer_hint(what, str(layers[0][0]))
        ) from exc
    except Exception as exc:
        raise InputError(f"{source} cannot be read ({exc}); check the file") from exc
    return gdf


def _read_parquet(path: Path, *, source: str) -> gpd.GeoDataFrame | pd.DataFrame:
    try:
        return gpd.read_parquet(path)
    except ValueError:
        # a plain Parquet table without geometry metadata: maybe lon/lat columns
        try:
            return pd.read_parquet(path)
        except Exception as exc:
            raise InputError(f"{source} cannot be read as Parquet ({exc})") from exc
    except Exception as exc:
        raise InputError(f"{source} cannot be read as (Geo)Parquet ({exc})") from exc


_REF_RE = r'(?:^|,)"ref"=>"((?:[^"\\]|\\.)*)"'


def _osm_tag(df: pd.DataFrame, key: str) -> pd.Series:
    """An OSM tag as a column: the driver's own column, else parsed from ``other_tags``."""
    if key in df.columns:
        return df[key]
    if "other_tags" not in df.columns:
        return pd.Series(pd.NA, index=df.index, dtype=object)
    pattern = r'(?:^|,)"' + re.escape(key) + r'"=>"((?:[^"\\]|\\.)*)"'
    return df["other_tags"].astype("string").str.extract(pattern, expand=False)


def _read_osm(path: Path, *, source: str, layer: str, where: str | None = None) -> gpd.GeoDataFrame:
    """Read one layer of an OSM file (lines, multipolygons, points...).

    GDAL's OSM driver builds multipolygons itself; in clipped extracts some rings are broken and
    cannot be turned into shapely geometries. Those features get no geometry here and are
    dropped (with a warning) by the validation that follows.
    """
    try:
        info = pyogrio.read_info(path, layer=layer)
    except Exception as exc:
        raise InputError(
            f"{source} cannot be read as OpenStreetMap data (layer {layer!r}): {exc}"
        ) from exc
    if where is not None:
        fields = {str(f) for f in info["fields"]}
        needed = set(re.findall(r'"(\w+)"', re.sub(r"'[^']*'", "", where)))
        if not needed <= fields:
            logger.info("%s: OSM layer lacks %s; filtering after reading", source, needed - fields)
            where = None
    try:
        gdf = pyogrio.read_dataframe(path, layer=layer, where=where, on_invalid="ignore")
    except Exception as exc:
        raise InputError(f"{source}: cannot read OSM layer {layer!r} ({exc})") from exc
    gdf.attrs[V.PATH_ATTR] = str(path.resolve())
    return V.clean_text(gdf, source=source, what=f"OSM {layer}")


def _feature_ids(gdf: pd.DataFrame) -> pd.Series | None:
    """OSM ids (``osm_id`` or, for areas from ways, ``osm_way_id``) to name features in messages."""
    cols = [c for c in ("osm_id", "osm_way_id") if c in gdf.columns]
    if not cols:
        return None
    ids = gdf[cols[0]].astype(object)
    for c in cols[1:]:
        ids = ids.where(ids.notna(), gdf[c].astype(object))
    return ids.where(ids.notna(), "?")


def _as_frame(
    source: pd.DataFrame,
) -> tuple[pd.DataFrame, str]:
    """A copy of a user-given (Geo)DataFrame with a RangeIndex.

    A named index, or an unnamed unique one (the user's ids, e.g. after filtering), becomes a
    column (``index`` when unnamed); a default or repeated index is dropped.
    """
    df = source.copy()
    idx = df.index
    if not (isinstance(idx, pd.RangeIndex) and idx.start == 0 and idx.step == 1):
        if idx.name is not None or idx.is_unique:
            name = idx.name if idx.name is not None else "index"
            if name in df.columns:
                df = df.reset_index(drop=True)
            else:
                df.index.name = name
                df = df.reset_index()
        else:
            df = df.reset_index(drop=True)
    return df, V.GIVEN


def _read_any(
    source: PathOrFrame,
    *,
    what: str,
    layer: str | int | None,
    geometry: GeometryKind | None,
    crs: Any,
    encoding: str | None,
    lon_col: str | None = None,
    lat_col: str | None = None,
    x_col: str | None = None,
    y_col: str | None = None,
    str_columns: Sequence[str] = (),
    osm_layer: str | None = None,
    osm_where: str | None = None,
) -> tuple[gpd.GeoDataFrame, str, Any, str | None]:
    """Read any supported source into a GeoDataFrame with a RangeIndex (not yet validated).

    Returns the layer, its label for messages, the CRS to declare and the swap hint.
    """
    swap_hint: str | None = None
    if isinstance(source, pd.DataFrame):
        df, label = _as_frame(source)
    else:
        path = Path(source)
        label = V.source_label(path)
        if not path.exists():
            raise InputFileNotFoundError(
                f"{path} does not exist; check the path (relative paths start at {Path.cwd()})"
            )
        kind = _kind_of_path(path)
        if kind == "csv":
            df = _read_csv(path, source=label, encoding=encoding, str_columns=str_columns)
        elif kind == "parquet":
            df = _read_parquet(path, source=label)
        elif kind == "osm":
            df = _read_osm(
                path,
                source=label,
                layer=str(layer) if layer is not None else (osm_layer or "lines"),
                where=osm_where if layer is None else None,
            )
        else:
            kw = {"encoding": encoding} if encoding else {}
            df = _read_ogr(path, source=label, what=what, layer=layer, geometry=geometry, **kw)
        df = df.reset_index(drop=True)
        df.attrs[V.PATH_ATTR] = str(path.resolve())
    df = V.clean_text(df, source=label, what=what)
    if isinstance(df, gpd.GeoDataFrame) and df._geometry_column_name in df.columns:
        return df, label, crs, swap_hint
    # a plain table: points from coordinate columns
    if len(df) == 0 and len(df.columns) == 0:
        raise EmptyLayerError(f"{label} is empty: it has no header and no rows")
    if geometry not in (None, "point"):
        raise V.GeometryTypeError(
            f"{label} is a table without geometry, which can only give points, but {what} "
            f"need {'lines' if geometry == 'line' else 'polygons'}; pass a vector file "
            "(GeoJSON, Shapefile, GeoPackage, GeoParquet)"
        )
    gdf, declare, swap_hint = _table_to_points(
        df,
        source=label,
        what=what,
        lon_col=lon_col,
        lat_col=lat_col,
        x_col=x_col,
        y_col=y_col,
        crs=crs,
    )
    return gdf, label, declare, swap_hint


def read_layer(
    path: PathOrFrame,
    *,
    layer: str | int | None = None,
    geometry: GeometryKind | None = None,
    what: str = "features",
    crs: Any = None,
    encoding: str | None = None,
    missing: Literal["raise", "drop"] = "drop",
    lon_col: str | None = None,
    lat_col: str | None = None,
    x_col: str | None = None,
    y_col: str | None = None,
) -> gpd.GeoDataFrame:
    """Read and validate one layer of any supported format.

    Parameters
    ----------
    path
        CSV (points from lon/lat or x/y columns), GeoJSON, Shapefile (also ``.zip``),
        GeoPackage, GeoParquet, ``.osm.pbf`` (GDAL OSM driver; layer "lines" by default), or a
        (Geo)DataFrame.
    layer
        Layer name or index for multi-layer sources (GeoPackage, zip with several shapefiles,
        OSM: "points", "lines", "multipolygons", ...).
    geometry
        Expected geometry kind; None accepts any.
    what
        What the features are, for messages ("roads", "GPs", ...).
    crs
        CRS of the data when the file declares none (or to override a wrong one).
    encoding
        Text encoding of a CSV (default UTF-8) or of a Shapefile's attributes.
    missing
        Features without geometry: ``"raise"`` an error naming them, or ``"drop"`` them with a
        warning.
    lon_col, lat_col, x_col, y_col
        Coordinate columns of a table (auto-detected by default).

    Returns
    -------
    GeoDataFrame
        The validated layer in its source CRS, index 0..n-1 in file order (rows dropped by
        validation leave gaps). ``attrs["netplan_source"]`` holds the file name.
    """
    gdf, label, declare, swap_hint = _read_any(
        path,
        what=what,
        layer=layer,
        geometry=geometry,
        crs=crs,
        encoding=encoding,
        lon_col=lon_col,
        lat_col=lat_col,
        x_col=x_col,
        y_col=y_col,
        osm_layer="multipolygons" if geometry == "polygon" else "lines",
    )
    return V.validate_layer(
        gdf,
        source=label,
        what=what,
        geometry=geometry,
        crs=declare,
        missing=missing,
        swap_hint=swap_hint,
        ids=_feature_ids(gdf),
    )


# --------------------------------------------------------------------------------------------
# sites
# --------------------------------------------------------------------------------------------
def load_sites(
    path: PathOrFrame,
    *,
    id_col: str | None = None,
    name_col: str | None = None,
    lon_col: str | None = None,
    lat_col: str | None = None,
    x_col: str | None = None,
    y_col: str | None = None,
    crs: Any = None,
    layer: str | int | None = None,
    role: str = "GP",
    encoding: str | None = None,
    str_columns: Sequence[str] = (),
) -> gpd.GeoDataFrame:
    """Load point sites (GPs, PoPs) with unique string ids.

    Parameters
    ----------
    path
        CSV, any vector format, or a (Geo)DataFrame.
    id_col
        Id column; auto-detected (case-insensitive) from :data:`ID_COLUMNS` (``site_id``,
        ``id``, ``gp_id``/``pop_id``, ``lgd_code``, ``facility_i``, ``code``...). Without one the
        1-based row number is the id.
    name_col
        Name column; auto-detected from :data:`NAME_COLUMNS`.
    lon_col, lat_col
        Longitude/latitude columns of a table (auto-detected; EPSG:4326 unless ``crs``).
    x_col, y_col
        Projected coordinate columns of a table; need ``crs``.
    crs
        CRS of the coordinates when the source declares none (or to override a wrong one).
    layer
        Layer of a multi-layer source.
    role
        "GP" or "PoP" (or any label): used in messages and to prefer ``gp_id`` or ``pop_id``.
    encoding
        Text encoding of a CSV (default UTF-8; e.g. "latin-1", "cp1252").
    str_columns
        Further columns to read as text from a CSV (codes with leading zeros, such as a block
        code used to assign GPs to PoPs).

    Returns
    -------
    GeoDataFrame
        Points in the source CRS, index ``site_id`` (str, unique), column ``name`` (str, ""
        when unknown) and every original attribute.

    Raises
    ------
    InputError
        A subclass naming the file, rows and fix: missing columns, no CRS, wrong geometry,
        missing or out-of-range coordinates, swapped lon/lat, duplicate ids, bad encoding.

    Examples
    --------
    >>> from netplan import datasets, io
    >>> gps = io.load_sites(datasets.sample_paths()["gps"])
    >>> len(gps), gps.index.name, gps.crs.to_epsg()
    (92, 'site_id', 4326)
    """
    what = f"{role}s"
    read = _read_points(
        path,
        what=what,
        role=role,
        id_col=id_col,
        lon_col=lon_col,
        lat_col=lat_col,
        x_col=x_col,
        y_col=y_col,
        crs=crs,
        layer=layer,
        encoding=encoding,
        str_columns=str_columns,
    )
    # ids first: a duplicate or missing id is reported before geometry problems
    V.check_unique_ids(read.ids, source=read.label, what=what, column=read.id_column)
    return _finish_points(read, read.ids, what=what, name_col=name_col, index_name="site_id")


@dataclass
class _Points:
    """A point layer as read, before validation: the layer, its label for messages, the CRS to
    declare, the fix for swapped axes, the id column found and the ids (str, None if missing)."""

    gdf: gpd.GeoDataFrame
    label: str
    declare: Any
    swap_hint: str | None
    id_column: str | None
    ids: pd.Series


def _read_points(
    path: PathOrFrame,
    *,
    what: str,
    role: str,
    id_col: str | None,
    lon_col: str | None,
    lat_col: str | None,
    x_col: str | None,
    y_col: str | None,
    crs: Any,
    layer: str | int | None,
    encoding: str | None,
    str_columns: Sequence[str],
) -> _Points:
    """Read a point layer and find its ids (the id column, else row numbers 1..n)."""
    role_l = role.lower()
    id_candidates = tuple(
        sorted(ID_COLUMNS, key=lambda c: 0 if c == "site_id" else 1 if c == f"{role_l}_id" else 2)
    )
    str_cols = list(id_candidates) + ([id_col] if id_col else []) + list(str_columns)
    gdf, label, declare, swap_hint = _read_any(
        path,
        what=what,
        layer=layer,
        geometry="point",
        crs=crs,
        encoding=encoding,
        lon_col=lon_col,
        lat_col=lat_col,
        x_col=x_col,
        y_col=y_col,
        str_columns=str_cols,
    )
    V.check_not_empty(gdf, source=label, what=what)
    icol = V.find_column(
        gdf.columns, id_candidates, explicit=id_col, source=label, option="id_col", what="id"
    )
    if icol is not None:
        ids = V.ids_to_str(gdf[icol])
    else:
        ids = pd.Series([str(i + 1) for i in range(len(gdf))], index=gdf.index, dtype=object)
        logger.info("%s: no id column found; using row numbers 1..%d as ids", label, len(gdf))
    return _Points(gdf, label, declare, swap_hint, icol, ids)


def _finish_points(
    read: _Points,
    ids: pd.Series,
    *,
    what: str,
    name_col: str | None,
    index_name: str,
    name_candidates: Sequence[str] = NAME_COLUMNS,
) -> gpd.GeoDataFrame:
    """Validate a point layer read by :func:`_read_points`, add ``name`` and index it by ``ids``."""
    gdf = V.validate_layer(
        read.gdf,
        source=read.label,
        what=what,
        geometry="point",
        crs=read.declare,
        missing="raise",
        ids=ids,
        swap_hint=read.swap_hint,
    )
    ncol = V.find_column(
        gdf.columns,
        name_candidates,
        explicit=name_col,
        source=read.label,
        option="name_col",
        what="name",
    )
    names = V.text_column(gdf[ncol] if ncol is not None else None, gdf.index)
    gdf = gdf.copy()
    gdf["name"] = names
    gdf.index = pd.Index(ids.loc[gdf.index].astype(str).to_numpy(), name=index_name, dtype=str)
    if index_name in gdf.columns:
        gdf = gdf.drop(columns=index_name)
    V.tag(gdf, read.label, what)
    if read.swap_hint:
        gdf.attrs["netplan_swap_hint"] = read.swap_hint
    logger.info(
        "%s: loaded %d %s (id column %r, name column %r)",
        read.label,
        len(gdf),
        what,
        read.id_column,
        ncol,
    )
    return gdf


def load_pops(
    path: PathOrFrame,
    *,
    id_col: str | None = None,
    name_col: str | None = None,
    lon_col: str | None = None,
    lat_col: str | None = None,
    x_col: str | None = None,
    y_col: str | None = None,
    crs: Any = None,
    layer: str | int | None = None,
    role: str = "PoP",
    encoding: str | None = None,
    str_columns: Sequence[str] = (),
) -> gpd.GeoDataFrame:
    """Load points of presence; :func:`load_sites` with ``role="PoP"``."""
    return load_sites(
        path,
        id_col=id_col,
        name_col=name_col,
        lon_col=lon_col,
        lat_col=lat_col,
        x_col=x_col,
        y_col=y_col,
        crs=crs,
        layer=layer,
        role=role,
        encoding=encoding,
        str_columns=str_columns,
    )


def category_key(text: str) -> str:
    """The form facility categories are compared in: lower case, runs of spaces and punctuation
    as one space.

    Examples
    --------
    >>> category_key("  Primary Health-Centre ") == category_key("primary health centre")
    True
    """
    return re.sub(r"[\W_]+", " ", str(text)).strip().lower()


def _categories(values: pd.Series) -> pd.Series:
    """Category text with spaces collapsed; spellings that differ only in case, spaces or
    punctuation become the most common of them (the first in file order on a tie)."""
    text = V.text_column(values, values.index).str.replace(r"\s+", " ", regex=True)
    keys = text.map(category_key)
    counts = pd.DataFrame({"key": keys, "text": text, "order": range(len(text))})
    ranked = counts.groupby(["key", "text"], sort=False).agg(
        n=("order", "size"), first=("order", "min")
    )
    ranked = ranked.reset_index().sort_values(["key", "n", "first"], ascending=[True, False, True])
    spelling = ranked.drop_duplicates("key").set_index("key")["text"]
    return keys.map(spelling).where(keys != "", "")


def _unique_ids(ids: pd.Series, *, source: str, what: str) -> pd.Series:
    """Ids made unique without dropping a row: a missing id becomes ``row N``, a repeated one
    gets ``#2``, ``#3``... (with a warning naming them)."""
    out = ids.copy()
    missing = out.isna() | (out.astype(str).str.strip() == "")
    out[missing] = [f"row {i + 1}" for i in np.flatnonzero(missing.to_numpy())]
    repeat = out.groupby(out, sort=False).cumcount().to_numpy()
    taken = set(out[repeat == 0])
    for position in np.flatnonzero(repeat):
        base, k = out.iloc[position], repeat[position] + 1
        while f"{base}#{k}" in taken:
            k += 1
        out.iloc[position] = f"{base}#{k}"
        taken.add(out.iloc[position])
    if missing.any() or (repeat > 0).any():
        V.warn(
            f"{source}: {int(missing.sum())} {what} without an id and {int((repeat > 0).sum())} "
            f"repeated ids ({V.short_list(sorted(set(ids[repeat > 0].astype(str))))}); they are "
            "kept as 'row N' and 'ID#2', 'ID#3'... so every row is listed"
        )
    return out


def load_facilities(
    path: PathOrFrame,
    *,
    category_col: str | None = None,
    id_col: str | None = None,
    name_col: str | None = None,
    lon_col: str | None = None,
    lat_col: str | None = None,
    x_col: str | None = None,
    y_col: str | None = None,
    crs: Any = None,
    layer: str | int | None = None,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Load public service points (hospitals, health centres, schools, service centres).

    Parameters
    ----------
    path
        CSV, any vector format, or a (Geo)DataFrame of points.
    category_col
        The category column (e.g. LSK, district hospital, PHC, school); auto-detected
        (case-insensitive) from :data:`CATEGORY_COLUMNS` (``category``, ``fac_catego``,
        ``facility_type``, ``type``, ..., ``fac_desc``).
    id_col, name_col
        As in :func:`load_sites` (names also from ``fac_desc`` or ``description``).
    lon_col, lat_col, x_col, y_col, crs, layer, encoding
        As in :func:`load_sites`.

    Returns
    -------
    GeoDataFrame
        Points in the source CRS, index ``facility_id`` (str, unique: nothing is dropped, a
        missing id becomes ``row N`` and a repeated one ``ID#2``, ``ID#3``..., with a warning),
        columns ``name``, ``category`` (text, spaces collapsed, spellings that differ only in case
        or punctuation unified; "" where blank) and every original attribute.

    Raises
    ------
    MissingColumnError
        No category column: the message lists the columns found and the fix.
    InputError
        The other problems :func:`load_sites` reports (coordinates, CRS, geometry).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> points = gpd.GeoDataFrame({"type": ["PHC", "phc ", "School"]},
    ...                           geometry=[shapely.Point(81.3, 18.9)] * 3, crs=4326)
    >>> load_facilities(points)["category"].tolist()
    ['PHC', 'PHC', 'School']
    """
    what = "facilities"
    read = _read_points(
        path,
        what=what,
        role="facility",
        id_col=id_col,
        lon_col=lon_col,
        lat_col=lat_col,
        x_col=x_col,
        y_col=y_col,
        crs=crs,
        layer=layer,
        encoding=encoding,
        str_columns=(category_col,) if category_col else CATEGORY_COLUMNS,
    )
    ccol = V.find_column(
        read.gdf.columns,
        CATEGORY_COLUMNS,
        explicit=category_col,
        source=read.label,
        option="category_col",
        what="category",
    )
    if ccol is None:
        found = [repr(c) for c in read.gdf.columns if c != "geometry"]
        raise MissingColumnError(
            f"{read.label} has no category column for its facilities (columns found: "
            f"{V.short_list(found, 40) or 'none'}); name one 'category' or pass category_col= "
            "(CLI: --category facilities:COLUMN)"
        )
    ids = _unique_ids(read.ids, source=read.label, what=what)
    gdf = _finish_points(
        read,
        ids,
        what=what,
        name_col=name_col,
        index_name="facility_id",
        name_candidates=(*NAME_COLUMNS, "fac_desc", "description"),
    )
    gdf["category"] = _categories(gdf[ccol])
    logger.info(
        "%s: categories from column %r: %s",
        read.label,
        ccol,
        V.short_list(sorted(set(gdf["category"])), 20),
    )
    return gdf


# --------------------------------------------------------------------------------------------
# lines and areas
# --------------------------------------------------------------------------------------------
def _normalise_lines(
    gdf: gpd.GeoDataFrame,
    *,
    label: str,
    what: str,
    class_col: str | None,
    name_col: str | None,
    ref_col: str | None,
) -> gpd.GeoDataFrame:
    cols = list(gdf.columns)
    ccol = V.find_column(
        cols, ROAD_CLASS_COLUMNS, explicit=class_col, source=label, option="class_col",
        what="road class",
    )  # fmt: skip
    ncol = V.find_column(
        cols, ROAD_NAME_COLUMNS, explicit=name_col, source=label, option="name_col", what="name"
    )
    rcol = V.find_column(
        cols, REF_COLUMNS, explicit=ref_col, source=label, option="ref_col", what="road number"
    )
    new = {
        "road_class": V.text_column(gdf[ccol] if ccol else None, gdf.index),
        "name": V.text_column(gdf[ncol] if ncol else None, gdf.index),
        "ref": V.text_column(gdf[rcol] if rcol else None, gdf.index),
    }
    gdf = gdf.copy()
    for key, values in new.items():
        gdf[key] = values
    logger.info(
        "%s: %d %s; class from %r, name from %r, ref from %r", label, len(gdf), what, ccol, ncol,
        rcol,
    )  # fmt: skip
    return gdf


def _explode_lines(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    attrs = dict(gdf.attrs)
    out = gdf.explode(index_parts=False, ignore_index=True)
    out.attrs.update(attrs)
    return out


def _osm_lines(
    path: Path, *, label: str, classes: Sequence[str], ref_prefix: str | None, what: str
) -> gpd.GeoDataFrame:
    quoted = ", ".join(f"'{c}'" for c in classes)
    where = f'"highway" IN ({quoted})'
    if ref_prefix:
        where += f' OR other_tags LIKE \'%"ref"=>"{ref_prefix}%\''
    gdf = _read_osm(path, source=label, layer="lines", where=where)
    gdf = gdf.reset_index(drop=True)
    hw = _osm_tag(gdf, "highway").astype("string").fillna("")
    ref = _osm_tag(gdf, "ref").astype("string").fillna("").str.strip()
    keep = hw.isin(list(classes))
    if ref_prefix:
        keep |= (
            ref.str.upper()
            .str.replace(r"[\s\-]", "", regex=True)
            .str.startswith(ref_prefix.upper())
        )
    gdf = gdf.loc[keep.to_numpy()].copy()
    gdf["highway"] = hw[keep.to_numpy()].to_numpy()
    gdf["ref"] = ref[keep.to_numpy()].to_numpy()
    if len(gdf) == 0:
        raise EmptyLayerError(
            f"{label} holds no OSM ways with highway={'|'.join(classes)}"
            f"{' or ref=' + ref_prefix + '*' if ref_prefix else ''}, so it gives no {what}; "
            "check that the extract covers the area"
        )
    return gdf.reset_index(drop=True)


def _osm_source(path: PathOrFrame, layer: str | int | None) -> tuple[Path, str] | None:
    """``(path, label)`` when ``path`` is an OSM extract read with its default layer, else None."""
    if isinstance(path, pd.DataFrame) or layer is not None or _kind_of_path(Path(path)) != "osm":
        return None
    p = Path(path)
    if not p.exists():
        raise InputFileNotFoundError(f"{p} does not exist; check the path")
    return p, V.source_label(p)


def _load_lines(
    path: PathOrFrame,
    *,
    what: str,
    osm_classes: Sequence[str],
    osm_ref_prefix: str | None,
    layer: str | int | None,
    class_col: str | None,
    name_col: str | None,
    ref_col: str | None,
    crs: Any,
    encoding: str | None,
) -> tuple[gpd.GeoDataFrame, str]:
    """Read, validate and normalise a line layer (roads or highways); returns it and its label."""
    osm = _osm_source(path, layer)
    if osm is not None:
        p, label = osm
        gdf = _osm_lines(p, label=label, classes=osm_classes, ref_prefix=osm_ref_prefix, what=what)
        declare: Any = crs
        class_col = class_col or "highway"
    else:
        gdf, label, declare, _ = _read_any(
            path, what=what, layer=layer, geometry="line", crs=crs, encoding=encoding
        )
    gdf = V.validate_layer(
        gdf,
        source=label,
        what=what,
        geometry="line",
        crs=declare,
        missing="drop",
        ids=_feature_ids(gdf),
    )
    gdf = _normalise_lines(
        gdf, label=label, what=what, class_col=class_col, name_col=name_col, ref_col=ref_col
    )
    return gdf, label


def load_roads(
    path: PathOrFrame,
    *,
    layer: str | int | None = None,
    class_col: str | None = None,
    name_col: str | None = None,
    ref_col: str | None = None,
    crs: Any = None,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Load road centre-lines.

    Parameters
    ----------
    path
        Any supported vector format or a GeoDataFrame. For ``.osm.pbf``: the ways of the
        "lines" layer whose ``highway`` is one of :data:`OSM_ROAD_CLASSES` (drivable roads and
        tracks).
    layer
        Layer of a multi-layer source.
    class_col, name_col, ref_col
        Columns of the road class, name and number; auto-detected (case-insensitive) from
        :data:`ROAD_CLASS_COLUMNS` (``road_class``, ``highway``, ``RoadCatego``, ``fclass``,
        ...), :data:`ROAD_NAME_COLUMNS` and :data:`REF_COLUMNS`.
    crs
        CRS when the source declares none (or to override a wrong one).
    encoding
        Encoding of the attribute table.

    Returns
    -------
    GeoDataFrame
        LineStrings (MultiLineStrings exploded) in the source CRS, index 0..n-1, columns
        ``road_class``, ``name``, ``ref`` (str, "" where missing) and the original attributes.
        Features without geometry are dropped and invalid ones repaired, with a warning.
    """
    what = "roads"
    gdf, label = _load_lines(
        path,
        what=what,
        osm_classes=OSM_ROAD_CLASSES,
        osm_ref_prefix=None,
        layer=layer,
        class_col=class_col,
        name_col=name_col,
        ref_col=ref_col,
        crs=crs,
        encoding=encoding,
    )
    gdf = _explode_lines(gdf)
    V.tag(gdf, label, what)
    return gdf


def load_highways(
    path: PathOrFrame,
    *,
    layer: str | int | None = None,
    ref_col: str | None = None,
    class_col: str | None = None,
    name_col: str | None = None,
    classes: Sequence[str] | None = None,
    crs: Any = None,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Load national-highway centre-lines (lines whose crossing or use needs NHAI permission).

    Parameters
    ----------
    path
        Any supported vector format or a GeoDataFrame. For ``.osm.pbf``: ways with
        ``highway=motorway|trunk`` or a ``ref`` starting with "NH".
    layer
        Layer of a multi-layer source.
    ref_col, class_col, name_col
        As in :func:`load_roads`.
    classes
        Keep only lines whose road class is one of these (e.g. ``("NH",)`` to take the national
        highways out of a full road layer such as PMGSY DRRP).
    crs, encoding
        As in :func:`load_roads`.

    Returns
    -------
    GeoDataFrame
        LineStrings in the source CRS with columns ``ref``, ``road_class``, ``name`` (str).
    """
    what = "highways"
    gdf, label = _load_lines(
        path,
        what=what,
        osm_classes=OSM_HIGHWAY_CLASSES,
        osm_ref_prefix="NH",
        layer=layer,
        class_col=class_col,
        name_col=name_col,
        ref_col=ref_col,
        crs=crs,
        encoding=encoding,
    )
    if classes is not None:
        wanted = {str(c).strip() for c in classes}
        keep = gdf["road_class"].isin(wanted)
        if not keep.any():
            found = sorted(gdf["road_class"].unique())[:20]
            raise EmptyLayerError(
                f"{label}: no line has road class in {sorted(wanted)} (classes found: {found}); "
                "pass classes= with the highway class(es) or class_col= naming the class column"
            )
        gdf = gdf.loc[keep.to_numpy()]
    gdf = _explode_lines(gdf)
    V.tag(gdf, label, what)
    return gdf


def load_forest(
    path: PathOrFrame,
    *,
    layer: str | int | None = None,
    crs: Any = None,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Load forest areas (routes inside them need Forest Department permission).

    Parameters
    ----------
    path
        Any supported vector format or a GeoDataFrame. For ``.osm.pbf``: ``landuse=forest`` or
        ``natural=wood`` areas of the "multipolygons" layer; features GDAL cannot assemble
        (broken rings in clipped extracts) are skipped with a warning.
    layer
        Layer of a multi-layer source.
    crs
        CRS when the source declares none (or to override a wrong one).
    encoding
        Encoding of the attribute table.

    Returns
    -------
    GeoDataFrame
        Polygons and MultiPolygons in the source CRS, index 0..n-1, with the original
        attributes. Invalid polygons are repaired (warning with a count).
    """
    what = "forest"
    osm = _osm_source(path, layer)
    if osm is not None:
        p, label = osm
        gdf = _read_osm(
            p,
            source=label,
            layer="multipolygons",
            where="\"landuse\" = 'forest' OR \"natural\" = 'wood'",
        ).reset_index(drop=True)
        keep = (_osm_tag(gdf, "landuse") == "forest").fillna(False) | (
            _osm_tag(gdf, "natural") == "wood"
        ).fillna(False)
        gdf = gdf.loc[keep.to_numpy()].reset_index(drop=True)
        if len(gdf) == 0:
            raise EmptyLayerError(
                f"{label} holds no OSM areas with landuse=forest or natural=wood; "
                "check that the extract covers the area"
            )
        declare: Any = crs
    else:
        gdf, label, declare, _ = _read_any(
            path, what=what, layer=layer, geometry="polygon", crs=crs, encoding=encoding
        )
    gdf = V.validate_layer(
        gdf,
        source=label,
        what=what,
        geometry="polygon",
        crs=declare,
        missing="drop",
        ids=_feature_ids(gdf),
    )
    attrs = dict(gdf.attrs)
    gdf = gdf.reset_index(drop=True)
    gdf.attrs.update(attrs)
    return gdf


def _load_utility_lines(
    path: PathOrFrame,
    *,
    what: str,
    osm_where: str,
    layer: str | int | None,
    crs: Any,
    encoding: str | None,
) -> gpd.GeoDataFrame:
    """Read and validate a utility line layer (existing fibre, power lines)."""
    gdf, label, declare, _ = _read_any(
        path,
        what=what,
        layer=layer,
        geometry="line",
        crs=crs,
        encoding=encoding,
        osm_layer="lines",
        osm_where=osm_where,
    )
    gdf = V.validate_layer(
        gdf,
        source=label,
        what=what,
        geometry="line",
        crs=declare,
        missing="drop",
        ids=_feature_ids(gdf),
    )
    gdf = _explode_lines(gdf.reset_index(drop=True))
    V.tag(gdf, label, what)
    return gdf


def load_existing(
    path: PathOrFrame,
    *,
    layer: str | int | None = None,
    crs: Any = None,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Load existing optical fibre with spare fibres (BSNL, RailTel, PowerGrid ... routes).

    Parameters
    ----------
    path
        Any supported vector format or a GeoDataFrame of (Multi)LineStrings. For ``.osm.pbf``:
        ways tagged ``telecom=line`` or ``communication=line``.
    layer, crs, encoding
        As in :func:`load_roads`.

    Returns
    -------
    GeoDataFrame
        LineStrings in the source CRS with the original attributes. Every line is taken to
        have spare fibres for the GPs routed along it.
    """
    return _load_utility_lines(
        path,
        what="existing fibre",
        osm_where='other_tags LIKE \'%"telecom"=>"line"%\' OR '
        'other_tags LIKE \'%"communication"=>"line"%\'',
        layer=layer,
        crs=crs,
        encoding=encoding,
    )


def load_power_lines(
    path: PathOrFrame,
    *,
    layer: str | int | None = None,
    crs: Any = None,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Load electricity distribution lines (11 kV / LT) whose poles may carry aerial cable.

    Parameters
    ----------
    path
        Any supported vector format or a GeoDataFrame of (Multi)LineStrings. For ``.osm.pbf``:
        ways tagged ``power=minor_line`` (distribution) or ``power=line``.
    layer, crs, encoding
        As in :func:`load_roads`.

    Returns
    -------
    GeoDataFrame
        LineStrings in the source CRS with the original attributes.
    """
    return _load_utility_lines(
        path,
        what="power lines",
        osm_where='other_tags LIKE \'%"power"=>"minor_line"%\' OR '
        'other_tags LIKE \'%"power"=>"line"%\'',
        layer=layer,
        crs=crs,
        encoding=encoding,
    )


def highways_from_roads(roads: gpd.GeoDataFrame) -> gpd.GeoDataFrame | None:
    """The national highways of a loaded road layer, or None if it has none.

    A road is a national highway when its class is ``NH`` (PMGSY, state data), ``motorway`` or
    ``trunk`` (OpenStreetMap), or its ``ref`` starts with "NH" and a number. The ``ref`` column
    of the result falls back to the road class where a line has no ref.

    Examples
    --------
    >>> from netplan import datasets, io
    >>> nh = io.highways_from_roads(io.load_roads(datasets.sample_paths()["roads"]))
    >>> sorted(nh["ref"].unique())
    ['NH-30', 'NH-63']
    """
    n = len(roads)
    road_class = (
        roads["road_class"].astype(str)
        if "road_class" in roads
        else pd.Series([""] * n, index=roads.index)
    )
    ref = (
        roads["ref"].fillna("").astype(str)
        if "ref" in roads
        else pd.Series([""] * n, index=roads.index)
    )
    upper_class = road_class.str.upper()
    is_nh = upper_class.isin(
        ["NH", *(c.upper() for c in OSM_HIGHWAY_CLASSES)]
    ) | ref.str.upper().str.match(r"^NH[-\s]?\d")
    if not is_nh.any():
        return None
    nh = roads.loc[is_nh, ["geometry"]].copy()
    nh["ref"] = ref[is_nh].where(ref[is_nh] != "", road_class[is_nh])
    return nh
