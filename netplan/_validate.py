"""Validation shared by every loader.

Each check raises an :mod:`netplan._errors` class whose message names the file (or "the given
GeoDataFrame"), the rows or features concerned and the fix. Problems that can be fixed without
guessing (invalid polygons, road lines without geometry) are repaired or dropped with a warning
(``warnings.warn`` and, when logging is configured, the ``netplan`` log) that says how many
features were touched. Text cells lose the control characters XML cannot hold (:func:`clean_text`).

Row numbers in messages count features from 1 in file order (for CSV: data rows after the header).
The functions rely on the convention that a freshly read layer has a ``RangeIndex`` so that the
index label + 1 is the row number.
"""

from __future__ import annotations

import io as _io
import logging
import re
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

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
    NetplanWarning,
)

logger = logging.getLogger(__name__)

GeometryKind = Literal["point", "line", "polygon"]
MissingPolicy = Literal["raise", "drop"]

GIVEN = "the given GeoDataFrame"
"""Source label used in messages when a loader receives a (Geo)DataFrame instead of a path."""

_SOURCE_ATTR = "netplan_source"
_WHAT_ATTR = "netplan_what"
PATH_ATTR = "netplan_path"
"""``attrs`` key of a loaded layer holding the absolute path of the file it was read from."""

_ALLOWED_TYPES: dict[str, tuple[str, ...]] = {
    "point": ("Point", "MultiPoint"),
    "line": ("LineString", "MultiLineString", "LinearRing"),
    "polygon": ("Polygon", "MultiPolygon"),
}
_EXPECTED_TEXT = {
    "point": "points (Point)",
    "line": "lines (LineString or MultiLineString)",
    "polygon": "polygons (Polygon or MultiPolygon)",
}
_LIST_LIMIT = 10


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------
def _outside_stacklevel() -> int:
    """Stack level of the first caller outside the netplan package (for ``warnings.warn``)."""
    import sys

    pkg_dir = str(Path(__file__).resolve().parent)
    frame: FrameType | None = sys._getframe(2)  # the caller of warn()
    level = 2
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(pkg_dir):
        frame = frame.f_back
        level += 1
    return level


def warn(message: str) -> None:
    """Issue ``message`` as a :class:`~netplan.NetplanWarning` (a :class:`UserWarning`) at the
    user's call, and log it when logging is configured.

    Each warning is shown once: without logging handlers (a plain script or notebook) only the
    warning is displayed (logging's last-resort handler would repeat it); the command line logs
    it and ignores :class:`NetplanWarning`.
    """
    if logger.hasHandlers():
        logger.warning(message)
    warnings.warn(message, NetplanWarning, stacklevel=_outside_stacklevel())


def source_label(source: Any) -> str:
    """The name used for a source in messages: the file name, or "the given GeoDataFrame"."""
    if isinstance(source, (str, Path)):
        return Path(source).name or str(source)
    return GIVEN


def tag(gdf: pd.DataFrame, source: str, what: str) -> None:
    """Remember the source label and role of a layer in ``gdf.attrs`` for later messages."""
    gdf.attrs[_SOURCE_ATTR] = source
    gdf.attrs[_WHAT_ATTR] = what


def label_of(gdf: pd.DataFrame, default: str) -> str:
    """The source label stored by :func:`tag`, else ``default``."""
    return str(gdf.attrs.get(_SOURCE_ATTR, default))


def path_of(gdf: pd.DataFrame) -> Path | None:
    """The file a loaded layer was read from (absolute), or None for a layer built in Python."""
    path = gdf.attrs.get(PATH_ATTR)
    return Path(path) if path else None


def what_of(gdf: pd.DataFrame, default: str) -> str:
    """The role stored by :func:`tag` (e.g. "GPs", "roads"), else ``default``."""
    return str(gdf.attrs.get(_WHAT_ATTR, default))


def short_list(items: Iterable[Any], limit: int = _LIST_LIMIT, *, sep: str = ", ") -> str:
    """The first ``limit`` items as text, and how many more there are: ``"a, b and 3 more"``.

    Items that are already strings are shown as they are (quote them first where wanted).

    Examples
    --------
    >>> short_list(["'a'", "'b'", "'c'"], 2)
    "'a', 'b' and 1 more"
    """
    items = [str(x) for x in items]
    text = sep.join(items[:limit])
    return text + (f" and {len(items) - limit} more" if len(items) > limit else "")


def rows_text(
    labels: Iterable[Any], *, ids: pd.Series | None = None, limit: int = _LIST_LIMIT
) -> str:
    """Describe rows for a message: ``"rows 3, 7 (ids 'A', 'B')"``.

    Parameters
    ----------
    labels
        Index labels of a layer read with a RangeIndex (row number = label + 1), or any labels
        (shown as they are) when they are not integers.
    ids
        Optional ids aligned with the layer's index, added in brackets.
    limit
        At most this many rows are listed; the rest are counted.
    """
    labels = list(labels)
    shown = labels[:limit]
    nums = [
        str(int(lab) + 1) if isinstance(lab, (int, np.integer)) else repr(str(lab))
        for lab in labels
    ]
    word = "row" if len(labels) == 1 else "rows"
    text = f"{word} {short_list(nums, limit)}"
    if ids is not None:
        id_vals = [repr(str(ids.loc[lab])) for lab in shown]
        text += f" ({'id' if len(shown) == 1 else 'ids'} {', '.join(id_vals)})"
    return text


def ids_to_str(values: pd.Series) -> pd.Series:
    """Convert an id column to strings; integral floats lose their ``.0``; missing stays None."""
    notna = values.notna().to_numpy()
    if pd.api.types.is_float_dtype(values.dtype):
        conv = [
            str(int(v)) if np.isfinite(v) and float(v).is_integer() else str(v)
            for v in values.to_numpy(dtype=float)
        ]
    else:
        conv = [str(v).strip() for v in values.to_numpy(dtype=object)]
    out = np.array(conv, dtype=object)
    out[~notna] = None
    return pd.Series(out, index=values.index, dtype=object)


def text_column(values: pd.Series | None, index: pd.Index) -> pd.Series:
    """A clean string column: surrounding whitespace stripped, missing values as ""."""
    if values is None:
        return pd.Series("", index=index, dtype=str)
    out = values.astype("string").str.strip().fillna("")
    return out.astype(str)


_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff"
_XML_INVALID = re.compile(f"[{_CONTROL}\ud800-\udfff]")
"""Characters XML 1.0 does not allow (NUL and other control characters but tab, LF and CR; lone
surrogates; U+FFFE/U+FFFF). KML cannot hold them and GeoPackage cuts text at a NUL."""
_XML_INVALID_UTF8 = f"[{_CONTROL}]"  # for Arrow-backed strings, which cannot hold surrogates


def strip_invalid_chars(text: str) -> str:
    r"""``text`` without the characters XML cannot hold (NUL and other control characters).

    Examples
    --------
    >>> strip_invalid_chars("Bade\x00pal\x07 & <Co>")
    'Badepal & <Co>'
    """
    return _XML_INVALID.sub("", text)


def clean_text(frame: pd.DataFrame, *, source: str, what: str) -> pd.DataFrame:
    """Remove the characters XML cannot hold from every text cell, with one warning.

    Names from other people's files may hold NUL and other control characters; KML (XML) cannot
    hold them and GeoPackage cuts text at a NUL, so they are removed where text enters (the
    loaders) and again by every writer. Tab, line feed and carriage return are kept.

    Parameters
    ----------
    frame
        A table; text columns (str, string or object dtype) are cleaned.
    source, what
        File label and role for the warning, which names each column and its rows.

    Returns
    -------
    pandas.DataFrame
        ``frame`` itself when nothing was found, else a cleaned copy (same index and attrs).
    """
    found: list[str] = []
    out = frame
    for column in frame.columns:
        values = frame[column]
        if not (values.dtype == object or pd.api.types.is_string_dtype(values.dtype)):
            continue
        if isinstance(values, gpd.GeoSeries):
            continue
        pattern = _XML_INVALID if values.dtype == object else _XML_INVALID_UTF8
        hit = values.str.contains(pattern, na=False).to_numpy(dtype=bool)
        if not hit.any():
            continue
        if out is frame:
            out = frame.copy()
        out.loc[hit, column] = values[hit].map(strip_invalid_chars)
        found.append(f"column {str(column)!r} {rows_text(frame.index[hit])}")
    if found:
        warn(
            f"{source}: removed NUL and other control characters (which KML cannot hold and "
            f"GeoPackage cuts text at) from the {what}: {'; '.join(found)}"
        )
    return out


def find_column(
    columns: Iterable[str],
    candidates: Sequence[str],
    *,
    explicit: str | None = None,
    source: str,
    option: str,
    what: str,
) -> str | None:
    """Find a column by an explicit name or by case-insensitive candidate names.

    Parameters
    ----------
    columns
        The columns of the table.
    candidates
        Lower-case names to try, in order of preference.
    explicit
        A name given by the user; it must exist (exactly or ignoring case).
    source, option, what
        For the message: the file label, the keyword that names the column (e.g. ``"id_col"``)
        and what the column holds.

    Returns
    -------
    str or None
        The actual column name, or None when no candidate matches and none was given.

    Raises
    ------
    MissingColumnError
        When ``explicit`` names a column that does not exist.
    """
    cols = [c for c in columns if isinstance(c, str) and c != "geometry"]
    lower: dict[str, str] = {}
    for c in cols:
        lower.setdefault(c.lower(), c)
    if explicit is not None:
        if explicit in cols:
            return explicit
        if explicit.lower() in lower:
            return lower[explicit.lower()]
        raise MissingColumnError(
            f"{source} has no column {explicit!r} ({option}={explicit!r}, the {what}); "
            f"columns found: {short_list([repr(c) for c in cols], 40)}. "
            f"Pass {option}= with one of these."
        )
    for cand in candidates:
        if cand in lower:
            return lower[cand]
    return None


# --------------------------------------------------------------------------------------------
# text tables
# --------------------------------------------------------------------------------------------
def decode_text(path: str | Path, *, encoding: str | None = None) -> str:
    """Read a text file, failing with :class:`EncodingError` that points at the bad byte.

    Parameters
    ----------
    path
        The file.
    encoding
        Codec to use; by default UTF-8 (a byte-order mark is accepted).
    """
    path = Path(path)
    raw = path.read_bytes()
    codec = encoding or "utf-8-sig"
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        start = raw.rfind(b"\n", 0, exc.start) + 1
        end = raw.find(b"\n", exc.start)
        snippet = raw[start : end if end >= 0 else len(raw)][:120]
        shown = snippet.decode(codec, errors="replace").strip()
        bad = raw[exc.start : exc.start + 1].hex()
        hint = (
            "pass encoding='latin-1' or encoding='cp1252' (files saved by Excel on Windows) "
            "or re-save the file as UTF-8"
            if encoding is None or codec.lower().replace("_", "-").startswith("utf")
            else "pass the file's real encoding with encoding=..."
        )
        raise EncodingError(
            f"{path.name} is not valid {codec} text: byte 0x{bad} at line {line} "
            f"({shown!r}); {hint}"
        ) from exc
    except LookupError as exc:
        raise EncodingError(f"unknown encoding {encoding!r} given for {path.name}") from exc


def read_csv_text(text: str, *, source: str, str_columns: Iterable[str] = ()) -> pd.DataFrame:
    """Parse CSV text (comma, semicolon or tab separated) into a DataFrame.

    Parameters
    ----------
    text
        The decoded file content.
    source
        File label for messages.
    str_columns
        Lower-case column names read as text (ids keep leading zeros and stay strings); ``"*"``
        reads every column as text.
    """
    first = text.lstrip().split("\n", 1)[0] if text.strip() else ""
    if not first:
        raise EmptyLayerError(f"{source} is empty: it has no header and no rows; fill it in")
    sep = ","
    if "," not in first:
        sep = ";" if ";" in first else ("\t" if "\t" in first else ",")
    try:
        header = pd.read_csv(_io.StringIO(text), sep=sep, nrows=0)
        wanted = {c.lower() for c in str_columns}
        dtype = {c: str for c in header.columns if "*" in wanted or str(c).lower() in wanted}
        df = pd.read_csv(_io.StringIO(text), sep=sep, dtype=dtype)
    except pd.errors.EmptyDataError as exc:
        raise EmptyLayerError(f"{source} is empty: it has no header and no rows") from exc
    except pd.errors.ParserError as exc:
        raise InputError(
            f"{source} cannot be parsed as CSV ({exc}); check the separator and quoting"
        ) from exc
    df.columns = [str(c).strip() for c in df.columns]
    return df


# --------------------------------------------------------------------------------------------
# layer checks
# --------------------------------------------------------------------------------------------
def check_not_empty(gdf: pd.DataFrame, *, source: str, what: str) -> None:
    """Raise :class:`EmptyLayerError` when the layer has no rows."""
    if len(gdf) == 0:
        raise EmptyLayerError(
            f"{source} holds no features, so it gives no {what}; "
            "check that it is the right file (and layer=) and that it is not empty"
        )


def check_crs(
    gdf: gpd.GeoDataFrame, *, source: str, what: str, crs: Any = None
) -> gpd.GeoDataFrame:
    """Make sure the layer has a CRS, setting ``crs`` when given.

    A ``crs`` given for a layer that declares another one overrides it (with a warning): that is
    how a wrong ``.prj`` is fixed.

    Raises
    ------
    CRSError
        When the layer has no CRS and none is given, or ``crs`` is not a CRS.
    """
    if crs is not None:
        try:
            target = pyproj.CRS.from_user_input(crs)
        except pyproj.exceptions.CRSError as exc:
            raise CRSError(
                f"crs={crs!r} given for {source} is not a coordinate reference system; "
                "pass e.g. crs='EPSG:4326' or crs='EPSG:32644'"
            ) from exc
        if gdf.crs is not None and not gdf.crs.equals(target):
            warn(
                f"{source} declares CRS {gdf.crs.to_string()} but crs={crs!r} was given; "
                f"using {target.to_string()} (coordinates are not transformed)"
            )
        return gdf.set_crs(target, allow_override=True)
    if gdf.crs is None:
        fix = (
            "or fix the .prj file next to it"
            if source != GIVEN
            else "or call gdf.set_crs('EPSG:...') first"
        )
        raise CRSError(
            f"{source} has no CRS, so its {what} cannot be placed on the map; "
            f"pass crs='EPSG:...' (e.g. crs='EPSG:4326' for lon/lat degrees) {fix}"
        )
    return gdf


def _missing_mask(geoms: np.ndarray) -> np.ndarray:
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    bounds = shapely.bounds(geoms)
    missing |= ~np.isfinite(bounds).all(axis=1)
    return missing


def handle_missing_geometries(
    gdf: gpd.GeoDataFrame,
    *,
    source: str,
    what: str,
    policy: MissingPolicy,
    ids: pd.Series | None = None,
) -> gpd.GeoDataFrame:
    """Deal with features whose geometry is missing, empty, unreadable or has NaN coordinates.

    Parameters
    ----------
    policy
        ``"raise"``: :class:`InvalidGeometryError` naming the rows (sites: a site without a
        location cannot be planned). ``"drop"``: drop them with a warning giving the count.
    ids
        Ids aligned with the index, named in messages.
    """
    missing = _missing_mask(np.asarray(gdf.geometry.array, dtype=object))
    if not missing.any():
        return gdf
    labels = gdf.index[missing]
    n = int(missing.sum())
    if policy == "raise":
        raise InvalidGeometryError(
            f"{source}: {n} of {len(gdf)} {what} have no usable location (missing, empty or "
            f"non-numeric coordinates): {rows_text(labels, ids=ids)}; give them coordinates "
            "or remove these rows"
        )
    out = gdf.loc[~missing]
    if len(out) == 0:
        raise EmptyLayerError(
            f"{source}: none of its {len(gdf)} features has a usable geometry (all missing, "
            "empty or unreadable); check the file"
        )
    warn(
        f"{source}: dropped {n} of {len(gdf)} {what} features without a usable geometry "
        f"(missing, empty or unreadable, e.g. broken rings): {rows_text(labels, ids=ids)}"
    )
    return out


def check_geometry_type(
    gdf: gpd.GeoDataFrame,
    expected: GeometryKind,
    *,
    source: str,
    what: str,
    ids: pd.Series | None = None,
) -> gpd.GeoDataFrame:
    """Check that every geometry has the expected kind.

    Single-part MultiPoints become Points; LinearRings become LineStrings.

    Raises
    ------
    GeometryTypeError
        Naming the types found (with counts), the expected ones and the first offending rows.
    """
    geoms = np.asarray(gdf.geometry.array, dtype=object)
    types = pd.Series(shapely.get_type_id(geoms), index=gdf.index)
    names = types.map(
        {
            0: "Point",
            1: "LineString",
            2: "LinearRing",
            3: "Polygon",
            4: "MultiPoint",
            5: "MultiLineString",
            6: "MultiPolygon",
            7: "GeometryCollection",
        }
    )
    bad = ~names.isin(_ALLOWED_TYPES[expected])
    if expected == "point":
        multi = (names == "MultiPoint").to_numpy()
        if multi.any():
            nparts = shapely.get_num_geometries(geoms[multi])
            many = np.zeros(len(geoms), dtype=bool)
            many[np.flatnonzero(multi)[nparts != 1]] = True
            bad |= many
    if bad.any():
        found = names.value_counts().sort_index()
        found_text = ", ".join(f"{cnt} {name}" for name, cnt in found.items())
        hint = {
            "point": "pass point locations (e.g. gdf.representative_point() of polygons)",
            "line": "pass the road/highway centre-line layer (use layer= for multi-layer files)",
            "polygon": "pass the area layer (use layer= for multi-layer files)",
        }[expected]
        raise GeometryTypeError(
            f"{source} should hold {_EXPECTED_TEXT[expected]} for its {what}, but holds "
            f"{found_text}; wrong features at {rows_text(gdf.index[bad.to_numpy()], ids=ids)}; "
            f"{hint}"
        )
    fix_points = (names == "MultiPoint").to_numpy()
    fix_rings = (names == "LinearRing").to_numpy()
    if fix_points.any() or fix_rings.any():
        geoms = geoms.copy()
        geoms[fix_points] = shapely.get_geometry(geoms[fix_points], 0)
        geoms[fix_rings] = shapely.linestrings(
            shapely.get_coordinates(geoms[fix_rings]),
            indices=np.repeat(
                np.arange(int(fix_rings.sum())), shapely.get_num_coordinates(geoms[fix_rings])
            ),
        )
        gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))
    return gdf


def check_coordinates(
    gdf: gpd.GeoDataFrame,
    *,
    source: str,
    what: str,
    ids: pd.Series | None = None,
    swap_hint: str | None = None,
) -> None:
    """In a geographic CRS, check that longitudes lie in [-180, 180] and latitudes in [-90, 90].

    Detects swapped axes: rows whose "latitude" is beyond ±90 while the "longitude" would be a
    valid latitude.

    Parameters
    ----------
    swap_hint
        The fix suggested for swapped axes (CSV: which lon_col=/lat_col= to pass).

    Raises
    ------
    CoordinateError
        Naming the rows, what is wrong and the fix.
    """
    if gdf.crs is None or not gdf.crs.is_geographic:
        return
    b = shapely.bounds(np.asarray(gdf.geometry.array, dtype=object))
    tol = 1e-9
    with np.errstate(invalid="ignore"):
        lon_bad = (b[:, 0] < -180 - tol) | (b[:, 2] > 180 + tol)
        lat_bad = (b[:, 1] < -90 - tol) | (b[:, 3] > 90 + tol)
    bad = lon_bad | lat_bad
    if not bad.any():
        return
    labels = gdf.index[bad]
    bb = b[bad]
    fits_swapped = (
        (bb[:, 0] >= -90 - tol)
        & (bb[:, 2] <= 90 + tol)
        & (bb[:, 1] >= -180 - tol)
        & (bb[:, 3] <= 180 + tol)
    )
    x0, y0 = bb[0, 0], bb[0, 1]
    example = f"first: x={x0:.6g}, y={y0:.6g}"
    n = int(bad.sum())
    if fits_swapped.all():
        hint = swap_hint or "swap the longitude and latitude values in the file"
        raise CoordinateError(
            f"{source}: longitude and latitude look swapped in {n} of {len(gdf)} {what} "
            f"({rows_text(labels, ids=ids)}; {example}): the latitude is beyond ±90 while the "
            f"longitude would be a valid latitude; {hint}"
        )
    if np.nanmin(np.abs(bb[:, [0, 1]])) > 1000:
        raise CoordinateError(
            f"{source}: {n} of {len(gdf)} {what} have coordinates far outside lon/lat range "
            f"({rows_text(labels, ids=ids)}; {example}) although the layer's CRS "
            f"{gdf.crs.to_string()} is in degrees; these look like projected metres: pass the "
            "real CRS, e.g. crs='EPSG:32644' (UTM 44N) or fix the .prj"
        )
    raise CoordinateError(
        f"{source}: {n} of {len(gdf)} {what} have coordinates out of range "
        f"({rows_text(labels, ids=ids)}; {example}); longitude must lie in [-180, 180] and "
        "latitude in [-90, 90]: fix or remove these rows"
    )


def _extract_kind(geom: Any, kind: GeometryKind) -> Any:
    """Keep the parts of ``geom`` of the wanted kind; None when none is left."""
    if geom is None or geom.is_empty:
        return None
    allowed = {
        "point": ("Point",),
        "line": ("LineString",),
        "polygon": ("Polygon",),
    }[kind]
    parts = list(shapely.get_parts(geom))
    while any(p.geom_type.startswith(("Multi", "GeometryCollection")) for p in parts):
        parts = list(shapely.get_parts(np.array(parts, dtype=object)))
    parts = [p for p in parts if p.geom_type in allowed]
    if not parts:
        return None
    if kind == "line":
        parts = [p for p in parts if p.length > 0]
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else shapely.multilinestrings(parts)
    if kind == "polygon":
        parts = [p for p in parts if p.area > 0]
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else shapely.multipolygons(parts)
    return parts[0]


def repair_geometries(
    gdf: gpd.GeoDataFrame,
    kind: GeometryKind,
    *,
    source: str,
    what: str,
    ids: pd.Series | None = None,
) -> gpd.GeoDataFrame:
    """Repair invalid lines and polygons with :func:`shapely.make_valid`.

    Self-intersecting polygons become valid (Multi)Polygons; parts of another dimension that
    the repair produces are dropped. Features left empty (e.g. a polygon collapsed to a line, a
    line of one repeated point) are removed. Both cases are reported in one warning with counts.
    """
    if kind == "point" or len(gdf) == 0:
        return gdf
    geoms = np.asarray(gdf.geometry.array, dtype=object)
    invalid = ~shapely.is_valid(geoms)
    if not invalid.any():
        return gdf
    idx = np.flatnonzero(invalid)
    reasons = shapely.is_valid_reason(geoms[idx])
    if kind == "polygon":
        fixed = shapely.make_valid(geoms[idx], method="structure", keep_collapsed=False)
    else:
        fixed = shapely.make_valid(geoms[idx])
    fixed = np.array([_extract_kind(g, kind) for g in fixed], dtype=object)
    gone = np.array([g is None for g in fixed], dtype=bool)
    geoms = geoms.copy()
    geoms[idx] = fixed
    labels = gdf.index[idx]
    n_fixed = int((~gone).sum())
    parts = []
    if n_fixed:
        parts.append(
            f"repaired {n_fixed} invalid {what} geometries with shapely.make_valid "
            f"({rows_text(labels[~gone], ids=ids)}; first problem: {reasons[0]})"
        )
    if gone.any():
        parts.append(
            f"dropped {int(gone.sum())} {what} features that are empty once repaired "
            f"(degenerate, e.g. zero-area polygons or zero-length lines: "
            f"{rows_text(labels[gone], ids=ids)})"
        )
    warn(f"{source}: " + "; ".join(parts) + "; check these features in the source data")
    keep = np.ones(len(gdf), dtype=bool)
    keep[idx[gone]] = False
    out = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs)).loc[keep]
    if len(out) == 0:
        raise EmptyLayerError(
            f"{source}: none of its {len(gdf)} {what} features has a valid geometry, even after "
            "repair; check the file"
        )
    return out


def check_unique_ids(ids: pd.Series, *, source: str, what: str, column: str | None) -> None:
    """Raise :class:`DuplicateIdError` (naming ids and rows) when ids repeat.

    Also raises :class:`InputError` when some ids are missing.
    """
    col_text = f"column {column!r}" if column else "the ids"
    missing = ids.isna() | (ids.astype(str).str.strip() == "")
    if missing.any():
        raise InputError(
            f"{source}: {int(missing.sum())} {what} have no id in {col_text} "
            f"({rows_text(ids.index[missing.to_numpy()])}); fill them in, or pass id_col= "
            "naming a complete id column"
        )
    dup = ids.duplicated(keep=False)
    if not dup.any():
        return
    groups = ids[dup].groupby(ids[dup], sort=True)
    shown = [f"{str(value)!r} ({rows_text(grp.index)})" for value, grp in groups]
    n_ids = groups.ngroups
    raise DuplicateIdError(
        f"{source}: {n_ids} {'id occurs' if n_ids == 1 else 'ids occur'} more than once in "
        f"{col_text}: {short_list(shown, sep='; ')}. Ids of {what} must be unique: fix the "
        "duplicates in the file or pass id_col= naming a unique column"
    )


def validate_layer(
    gdf: gpd.GeoDataFrame,
    *,
    source: str,
    what: str,
    geometry: GeometryKind | None,
    crs: Any = None,
    missing: MissingPolicy = "drop",
    ids: pd.Series | None = None,
    swap_hint: str | None = None,
) -> gpd.GeoDataFrame:
    """Run every layer check in order and return the cleaned layer.

    Order: not empty → CRS → missing geometries → geometry type → coordinate ranges →
    repair of invalid geometries.

    Parameters
    ----------
    gdf
        A layer as read, with a RangeIndex (row number = label + 1).
    source, what
        File label and role ("GPs", "roads", ...) for messages.
    geometry
        Expected kind, or None to accept any.
    crs
        CRS to set when the layer has none (or to override a wrong one).
    missing
        What to do with features without geometry (see :func:`handle_missing_geometries`).
    ids
        Ids aligned with the index, named in messages.
    swap_hint
        Fix suggested when lon/lat look swapped.
    """
    check_not_empty(gdf, source=source, what=what)
    gdf = check_crs(gdf, source=source, what=what, crs=crs)
    gdf = handle_missing_geometries(gdf, source=source, what=what, policy=missing, ids=ids)
    if geometry is not None:
        gdf = check_geometry_type(gdf, geometry, source=source, what=what, ids=ids)
    check_coordinates(gdf, source=source, what=what, ids=ids, swap_hint=swap_hint)
    if geometry is not None:
        gdf = repair_geometries(gdf, geometry, source=source, what=what, ids=ids)
    tag(gdf, source, what)
    return gdf


# --------------------------------------------------------------------------------------------
# cross-layer checks
# --------------------------------------------------------------------------------------------
def _bounds_wgs84(gdf: gpd.GeoDataFrame, label: str) -> tuple[float, float, float, float] | None:
    """Layer bounds in lon/lat, or None when they cannot be transformed (a wrong CRS)."""
    if gdf.crs is None:
        raise CRSError(f"{label} has no CRS; pass crs='EPSG:...' when loading it")
    minx, miny, maxx, maxy = gdf.total_bounds
    if not np.isfinite([minx, miny, maxx, maxy]).all():
        return None
    try:
        tr = pyproj.Transformer.from_crs(gdf.crs, 4326, always_xy=True)
        w, s, e, n = tr.transform_bounds(minx, miny, maxx, maxy, densify_pts=21)
    except (pyproj.exceptions.ProjError, ValueError):
        return None
    if not np.isfinite([w, s, e, n]).all():
        return None
    return (w, s, e, n)


def _fmt_box(box: tuple[float, float, float, float] | None) -> str:
    if box is None:
        return "bounds not convertible to lon/lat"
    w, s, e, n = box
    return f"lon {w:.4f}..{e:.4f}, lat {s:.4f}..{n:.4f}"


def _box_distance(geoms: np.ndarray, crs: Any, metric: Any, box: np.ndarray) -> np.ndarray:
    """Metres from each geometry's centroid (reprojected to ``metric``) to the box; inf if none."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        pts = gpd.GeoSeries(shapely.centroid(geoms), crs=crs).to_crs(metric)
        xy = np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])
    minx, miny, maxx, maxy = box
    zeros = np.zeros(len(xy))
    with np.errstate(invalid="ignore"):
        dx = np.maximum.reduce([minx - xy[:, 0], zeros, xy[:, 0] - maxx])
        dy = np.maximum.reduce([miny - xy[:, 1], zeros, xy[:, 1] - maxy])
        dist = np.hypot(dx, dy)
    return np.where(np.isfinite(dist), dist, np.inf)


def check_within_extent(
    sites: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame,
    *,
    what: str | None = None,
    max_distance_m: float = 2000.0,
) -> pd.Series:
    """Check that sites lie within (or near) the bounding box of the road layer.

    Parameters
    ----------
    sites
        Point layer (any CRS).
    roads
        Road layer (any CRS).
    what
        Role of the sites for messages ("GPs", "PoPs"); by default the role stored by the loader.
    max_distance_m
        Sites farther than this from the roads' bounding box count as outside.

    Returns
    -------
    Series
        Distance in metres from each site to the roads' bounding box (0 inside), same index.

    Raises
    ------
    ExtentError
        When every site is outside. When only some are, a warning names them.
    """
    from netplan.crs import metric_crs_for

    what = what or what_of(sites, "sites")
    s_label = label_of(sites, f"the {what} layer")
    r_label = label_of(roads, "the road layer")
    if len(sites) == 0:
        return pd.Series(dtype=float, index=sites.index)
    if sites.crs is None or roads.crs is None:
        raise CRSError(
            f"{s_label if sites.crs is None else r_label} has no CRS; "
            "pass crs='EPSG:...' when loading it"
        )
    metric = metric_crs_for(roads)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        # the box's densified outline, not every road vertex, is reprojected (seconds at state
        # scale); the result holds every road
        to_metric = pyproj.Transformer.from_crs(roads.crs, metric, always_xy=True)
        left, bottom, right, top = roads.total_bounds
        box = np.array(to_metric.transform_bounds(left, bottom, right, top, densify_pts=101))
    site_geoms = np.asarray(sites.geometry.array, dtype=object)
    dist = _box_distance(site_geoms, sites.crs, metric, box)
    out = pd.Series(dist, index=sites.index, name="outside_roads_m")
    outside = dist > max_distance_m
    km = max_distance_m / 1000.0
    if outside.all():
        if sites.crs.is_geographic:
            xy = shapely.get_coordinates(shapely.centroid(site_geoms))
            if len(xy) == len(sites):
                swapped = shapely.points(xy[:, 1], xy[:, 0])
                d_sw = _box_distance(swapped, sites.crs, metric, box)
                n_in = int((d_sw <= max_distance_m).sum())
                if n_in * 2 >= len(sites):
                    hint = sites.attrs.get(
                        "netplan_swap_hint", "swap the longitude and latitude values"
                    )
                    raise CoordinateError(
                        f"none of the {len(sites)} {what} in {s_label} lies within {km:g} km of "
                        f"the road layer's extent ({r_label}), but with longitude and latitude "
                        f"exchanged {n_in} of {len(sites)} do: their coordinates look swapped; "
                        f"{hint}"
                    )
        nearest = float(dist.min())
        near_text = f"{nearest / 1000:.1f} km" if np.isfinite(nearest) else "unreachable"
        raise ExtentError(
            f"none of the {len(sites)} {what} in {s_label} lies within {km:g} km of the road "
            f"layer's extent ({r_label}: {_fmt_box(_bounds_wgs84(roads, r_label))}; {what}: "
            f"{_fmt_box(_bounds_wgs84(sites, s_label))}; nearest is {near_text} away). Are they "
            "in the same area, and is each layer's CRS right?"
        )
    if outside.any():
        labels = sites.index[outside]
        warn(
            f"{int(outside.sum())} of {len(sites)} {what} in {s_label} lie more than {km:g} km "
            f"outside the extent of the road layer ({r_label}): "
            f"{short_list([repr(str(x)) for x in labels])}; they will be unroutable unless the "
            "road layer covers them"
        )
    return out


_SAME_AREA_PAD_DEG = 0.01
"""Bounding boxes (lon/lat) closer than this count as overlapping in :func:`check_same_area`."""


def check_same_area(
    layer_a: gpd.GeoDataFrame,
    layer_b: gpd.GeoDataFrame,
    *,
    what_a: str | None = None,
    what_b: str | None = None,
) -> None:
    """Check that two layers overlap once both are in lon/lat.

    Layers in different (declared) CRSs are fine: they are reprojected. A layer whose declared
    CRS is wrong ends up somewhere else; that raises :class:`ExtentError`.

    Raises
    ------
    ExtentError
        When the bounding boxes of the layers do not intersect (or one cannot be converted).
    """
    what_a = what_a or what_of(layer_a, "layer")
    what_b = what_b or what_of(layer_b, "roads")
    la = label_of(layer_a, f"the {what_a} layer")
    lb = label_of(layer_b, f"the {what_b} layer")
    if len(layer_a) == 0 or len(layer_b) == 0:
        return
    ba = _bounds_wgs84(layer_a, la)
    bb = _bounds_wgs84(layer_b, lb)
    pad = _SAME_AREA_PAD_DEG  # boxes of straight lines are flat: touching within ~1 km is enough
    overlap = (
        ba is not None
        and bb is not None
        and ba[0] <= bb[2] + pad
        and bb[0] <= ba[2] + pad
        and ba[1] <= bb[3] + pad
        and bb[1] <= ba[3] + pad
    )
    if overlap:
        return
    crs_a = layer_a.crs.to_string() if layer_a.crs is not None else "none"
    crs_b = layer_b.crs.to_string() if layer_b.crs is not None else "none"
    raise ExtentError(
        f"the {what_a} layer ({la}; declared CRS {crs_a}: {_fmt_box(ba)}) does not overlap the "
        f"{what_b} layer ({lb}; declared CRS {crs_b}: {_fmt_box(bb)}) after reprojection. "
        "Layers in different CRSs are fine when each CRS is declared correctly; check the CRS "
        f"of {la} (pass crs='EPSG:...' when loading it, or fix its .prj) and that both cover "
        "the same area"
    )
