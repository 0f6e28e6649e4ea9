"""Right of way: forest, highway and other layers that need a permission to lay fibre.

A :class:`RowLayer` is either an **area** layer (forest, protected area, railway land: a route
inside it needs a permission for the length inside and the area ``length x corridor width``) or a
**line** layer (national highway, railway, river, canal: a route needs a permission for each
crossing and for each run laid along the line inside its corridor). Each layer names the authority
that grants the permission and the attribute that splits applications (forest division, highway
``ref``, railway zone).

* :func:`annotate_edges` measures every road edge of a network (vectorised, state scale in seconds)
  for permission-aware routing.
* :func:`flag_routes` measures the designed routes exactly and lists every crossing, parallel run
  and forest entry as a point.
* :func:`permit_register` turns those into application items and :func:`permit_summary` totals
  them per authority; :mod:`netplan.export` writes them (CSV, and XLSX with one sheet per
  authority).

Rules (hand-checkable):

* Length inside an area layer is the length of the route inside the union of its polygons: a hole
  (a clearing) is not inside, overlapping polygons count once. Hectares are
  ``length x corridor_width_m / 10 000``.
* The corridor of a line layer is the band ``corridor_width_m`` wide centred on the line
  (``corridor_width_m / 2`` on each side).
* A route crosses a line where its network passes from one side of the line to the other. Per PoP
  network the route is taken as one network, so a route through a road junction that lies on the
  highway is one crossing, not two. Where a connected piece of route inside the corridor leaves it
  on both sides, the fibre is assumed to stay on one side inside the corridor (the side most of
  the piece's exits are on; on a tie, the side of its most upstream exit, the one serving most
  GPs) and every exit on the other side is one crossing, located where that exit's branch meets
  the line.
* The length run *along* a line is the route length inside the corridor minus half the corridor
  width for every place the route leaves the corridor (the width a transverse crossing spends in
  it); below :data:`ALONG_TOLERANCE_M` (1 cm) it is rounding noise and counts as 0.
* Any length along a line needs its authority's permission (the work is inside the right of
  way), so every run is in some register item: a run of at least ``min_along_m`` (default: the
  corridor width) is an ``along`` item of its own; a shorter run on a piece of route that also
  crosses the line (an oblique crossing, a junction on the highway) is applied for with that
  crossing (the crossing item lists the run's segments and GPs too); a shorter run on a piece
  that does not cross is still an ``along`` item.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from tqdm.auto import tqdm

from netplan import _row_geom as geom
from netplan._checks import bounded, check_fields
from netplan._errors import (
    CRSError,
    GeometryTypeError,
    InputError,
    MissingColumnError,
)
from netplan._validate import clean_text, strip_invalid_chars
from netplan.io import read_layer
from netplan.params import LEAD_MONTHS

__all__ = [
    "RowLayer",
    "annotate_edges",
    "flag_routes",
    "permit_register",
    "permit_summary",
    "CROSSING_COLUMNS",
    "PERMIT_COLUMNS",
]

logger = logging.getLogger(__name__)

LayerKind = Literal["area", "line"]

DEFAULT_AREA_WIDTH_M = 1.0
"""Working-strip width (m) for hectares in area layers: a fibre trench plus its spoil is ~1 m."""

DEFAULT_LINE_WIDTH_M = 30.0
"""Corridor width (m) of line layers: the right of way of a two-lane national highway."""

FOREST_LEAD_MONTHS = 12
"""Default lead time of a forest permission (months): Forest Conservation Act diversions."""

NH_LEAD_MONTHS = 6
"""Default lead time of a national-highway permission (months): NHAI right-of-way permits."""

DEFAULT_LEAD_MONTHS = 6
"""Lead time (months) of any other right-of-way layer that does not set its own."""

ALONG_TOLERANCE_M = 0.01
"""Lengths along a line layer below this (m) are rounding noise of the geometry, not a run."""

_AUTO = "auto"
NO_SPLIT_LABEL = "all"
"""Sub-authority of the items of a layer that is not split (``split_by=None``)."""
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FOREST_SPLITS = ("division", "forest_division", "DIVISION", "Division", "range", "RANGE")
_NH_SPLITS = ("ref", "REF", "Ref", "nh_ref", "nh_no", "NH_NO")
_ID_COLUMNS = (
    "forest_id",
    "feature_id",
    "id",
    "ID",
    "fid",
    "FID",
    "osm_id",
    "OBJECTID",
    "objectid",
)

CROSSING_COLUMNS = [
    "layer",
    "authority",
    "sub_authority",
    "kind",
    "pop_id",
    "segment_id",
    "segment_ids",
    "gp_ids",
    "feature_ids",
    "length_m",
    "chainage_km",
    "chainage_note",
    "lon",
    "lat",
]
"""Columns of the ``crossings`` layer returned by :func:`flag_routes` (plus ``geometry``)."""

PERMIT_COLUMNS = [
    "permit_id",
    "authority",
    "layer",
    "sub_authority",
    "kind",
    "pop_ids",
    "segment_ids",
    "gp_ids",
    "n_gps",
    "feature_ids",
    "length_km",
    "area_ha",
    "crossings",
    "chainage_km",
    "chainage_note",
    "lon",
    "lat",
    "over_threshold",
]
"""Columns of the permit register returned by :func:`permit_register`."""


# --------------------------------------------------------------------------------------- layer
@dataclass(frozen=True, eq=False)
class RowLayer:
    """A right-of-way layer: where a route needs a permission, and from whom.

    Parameters
    ----------
    data
        Polygons (``kind="area"``) or lines (``kind="line"``) in any CRS (it must be set).
    name
        Short identifier used in column names (``in_{name}_m``, ``{name}_crossings``, ...):
        letters, digits and ``_``, e.g. ``"forest"``, ``"nh"``, ``"railway"``.
    kind
        ``"area"``: length inside and hectares count; ``"line"``: crossings and parallel runs
        inside the corridor count.
    authority
        Who grants the permission ("Forest Department", "NHAI / MoRTH", "Railways").
    split_by
        Attribute whose values split applications (forest division, highway ref, railway zone);
        None makes the whole layer one application item (area) or one sub-authority (line).
    id_column
        Attribute identifying features (polygon or line ids) in the routes (``L_ids``), the
        crossings and the register (``feature_ids``); None uses the layer's index labels.
    corridor_width_m
        Area layers: width of the working strip for hectares (``length x width``), default
        :data:`DEFAULT_AREA_WIDTH_M` (1 m). Line layers: full width of the corridor centred on the
        line inside which a route counts as running along it, default
        :data:`DEFAULT_LINE_WIDTH_M` (30 m).
    min_along_m
        Line layers: shortest parallel run that is an application item of its own where its
        piece of route also crosses the line; shorter runs there are applied for with the
        crossing (default: the corridor width). See the module docstring.
    join_gap_m
        Line layers: line ends of one split value (one highway ref) closer than this are joined
        into one line (digitising gaps, pieces meeting at junctions), so chainage runs along the
        whole highway. 0 joins only ends that touch.
    lead_time_months
        Months from applying to the expected permission, for the roll-out
        (:mod:`netplan.rollout`); None: :data:`DEFAULT_LEAD_MONTHS` (the presets set
        :data:`FOREST_LEAD_MONTHS` and :data:`NH_LEAD_MONTHS`). A plan's ``lead_times=``
        overrides it.
    """

    data: gpd.GeoDataFrame
    name: str
    kind: LayerKind
    authority: str
    split_by: str | None = None
    id_column: str | None = None
    corridor_width_m: float | None = bounded(
        None,
        positive=True,
        maximum=1000.0,
        unit="m",
        why="a right-of-way corridor or working strip is metres to tens of metres wide; check "
        "that the width is in metres",
    )
    min_along_m: float | None = bounded(None, unit="m")
    join_gap_m: float = bounded(
        50.0,
        maximum=10_000.0,
        unit="m",
        why="pieces of one highway that far apart are different roads; joining them makes "
        "chainage meaningless",
    )
    lead_time_months: int | None = bounded(None, **dataclasses.asdict(LEAD_MONTHS))
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.data, gpd.GeoDataFrame):
            raise InputError(
                f"right-of-way layer {self.name!r}: data must be a GeoDataFrame, got "
                f"{type(self.data).__name__}; load it with netplan.io.read_layer or geopandas"
            )
        if not isinstance(self.name, str) or not _NAME_RE.match(self.name):
            raise InputError(
                f"right-of-way layer name {self.name!r} cannot be used in column names; use "
                "letters, digits and '_' (e.g. 'forest', 'nh', 'railway')"
            )
        if self.kind not in ("area", "line"):
            raise InputError(
                f"right-of-way layer {self.name!r}: kind must be 'area' or 'line', got {self.kind!r}"
            )
        if self.data.crs is None:
            raise CRSError(
                f"right-of-way layer {self.name!r} has no CRS; set it (gdf.set_crs('EPSG:4326'))"
            )
        for what, column in (("split_by", self.split_by), ("id_column", self.id_column)):
            if column is not None and column not in self.data.columns:
                available = ", ".join(repr(c) for c in self.data.columns if c != "geometry")
                raise MissingColumnError(
                    f"right-of-way layer {self.name!r} ({self.authority}) has no attribute "
                    f"{column!r} for {what}; available: {available or '(none)'}. Pass one of "
                    f"them, or {what}=None"
                )
        check_fields(self)
        source = f"right-of-way layer {self.name!r}"
        object.__setattr__(self, "data", clean_text(self.data, source=source, what="features"))
        object.__setattr__(self, "authority", strip_invalid_chars(str(self.authority)))
        width = self.corridor_width_m
        if width is None:
            width = DEFAULT_AREA_WIDTH_M if self.kind == "area" else DEFAULT_LINE_WIDTH_M
        object.__setattr__(self, "corridor_width_m", float(width))
        min_along = self.min_along_m if self.min_along_m is not None else float(width)
        object.__setattr__(self, "min_along_m", float(min_along))

    @property
    def _width_m(self) -> float:
        """``corridor_width_m`` with its default applied (set in ``__post_init__``)."""
        assert self.corridor_width_m is not None
        return self.corridor_width_m

    @property
    def _min_along(self) -> float:
        """``min_along_m`` with its default applied (set in ``__post_init__``)."""
        assert self.min_along_m is not None
        return self.min_along_m

    @property
    def lead_months(self) -> int:
        """The layer's lead time in months (its own, else :data:`DEFAULT_LEAD_MONTHS`)."""
        return DEFAULT_LEAD_MONTHS if self.lead_time_months is None else self.lead_time_months

    @classmethod
    def forest(
        cls,
        data: gpd.GeoDataFrame,
        *,
        split_by: str | None = _AUTO,
        authority: str = "Forest Department",
        name: str = "forest",
        corridor_width_m: float = DEFAULT_AREA_WIDTH_M,
        id_column: str | None = _AUTO,
        lead_time_months: int = FOREST_LEAD_MONTHS,
    ) -> RowLayer:
        """Forest polygons (an area layer), applications split by forest division.

        Parameters
        ----------
        data
            Forest (Multi)Polygons, any CRS.
        split_by
            ``"auto"`` (default) uses the first of ``division``, ``forest_division``, ``range``
            present, else one item for the whole layer; a column name requires that column.
        id_column
            ``"auto"`` (default) uses the first of ``forest_id``, ``id``, ``fid``, ``osm_id``, ...
            present, else the index labels.
        authority, name, corridor_width_m, lead_time_months
            As in :class:`RowLayer` (default lead time :data:`FOREST_LEAD_MONTHS`).
        """
        split = _auto_split(data, split_by, _FOREST_SPLITS)
        ids = _auto_split(data, id_column, _ID_COLUMNS)
        return cls(
            data,
            name,
            "area",
            authority,
            split,
            ids,
            corridor_width_m,
            lead_time_months=lead_time_months,
        )

    @classmethod
    def national_highway(
        cls,
        data: gpd.GeoDataFrame,
        *,
        split_by: str | None = _AUTO,
        authority: str = "NHAI / MoRTH",
        name: str = "nh",
        corridor_width_m: float = DEFAULT_LINE_WIDTH_M,
        min_along_m: float | None = None,
        id_column: str | None = _AUTO,
        lead_time_months: int = NH_LEAD_MONTHS,
    ) -> RowLayer:
        """National highway lines (a line layer), applications split by highway ``ref``.

        Parameters
        ----------
        data
            Highway (Multi)LineStrings, any CRS.
        split_by
            ``"auto"`` (default) uses ``ref`` if present, else one sub-authority for all.
        id_column
            As in :meth:`forest`.
        authority, name, corridor_width_m, min_along_m, lead_time_months
            As in :class:`RowLayer` (default lead time :data:`NH_LEAD_MONTHS`).
        """
        split = _auto_split(data, split_by, _NH_SPLITS)
        ids = _auto_split(data, id_column, _ID_COLUMNS)
        return cls(
            data,
            name,
            "line",
            authority,
            split,
            ids,
            corridor_width_m,
            min_along_m,
            lead_time_months=lead_time_months,
        )

    @classmethod
    def from_spec(cls, spec: str, *, name: str | None = None, **options: Any) -> RowLayer:
        """Build a layer from a command-line spec ``FILE:kind:authority:attribute``.

        ``kind`` is ``area`` or ``line``; ``attribute`` (the split attribute) may be empty or left
        out (``FILE:kind:authority``). The spec is parsed from the right, so ``FILE`` may contain
        ``:`` (``C:\\data\\rail.gpkg:line:Railways:zone``).

        Parameters
        ----------
        spec
            The spec string.
        name
            Column-name id of the layer; default: the file name without suffix, lower case,
            other characters replaced by ``_`` (``railway_lines.gpkg`` -> ``railway_lines``).
        **options
            Further :class:`RowLayer` fields (``corridor_width_m``, ``min_along_m``, ...).
        """
        tokens = spec.split(":")
        if len(tokens) >= 4 and tokens[-3].strip().lower() in ("area", "line"):
            path, kind, authority, attribute = ":".join(tokens[:-3]), *tokens[-3:]
        elif len(tokens) >= 3 and tokens[-2].strip().lower() in ("area", "line"):
            path, kind, authority, attribute = ":".join(tokens[:-2]), *tokens[-2:], ""
        else:
            raise InputError(
                f"right-of-way layer spec {spec!r} is not FILE:kind:authority:attribute with kind "
                "'area' or 'line' (e.g. 'railways.gpkg:line:Railways:zone')"
            )
        layer_kind: LayerKind = "area" if kind.strip().lower() == "area" else "line"
        authority = authority.strip()
        if not authority:
            raise InputError(f"right-of-way layer spec {spec!r} names no authority")
        split_by = attribute.strip() or None
        if name is None:
            name = cls.layer_name(spec)
        data = _read(path, layer_kind, name)
        return cls(data, name, layer_kind, authority, split_by, **options)

    @staticmethod
    def layer_name(spec: str) -> str:
        """The name :meth:`from_spec` gives a layer by default: its file name without suffix,
        lower case, other characters replaced by ``_``.

        Examples
        --------
        >>> RowLayer.layer_name("data/Railway lines.gpkg:line:Railways:zone")
        'railway_lines'
        """
        tokens = spec.split(":")
        cut = 3 if len(tokens) >= 4 and tokens[-3].strip().lower() in ("area", "line") else 2
        stem = Path(":".join(tokens[:-cut]) if len(tokens) > cut else spec).name.split(".")[0]
        name = re.sub(r"[^0-9a-zA-Z_]", "_", stem or "layer").lower()
        return name if _NAME_RE.match(name) else f"layer_{name}"

    def __repr__(self) -> str:
        return (
            f"RowLayer(name={self.name!r}, kind={self.kind!r}, authority={self.authority!r}, "
            f"split_by={self.split_by!r}, corridor_width_m={self.corridor_width_m}, "
            f"features={len(self.data)})"
        )


def _auto_split(data: Any, split_by: str | None, candidates: Sequence[str]) -> str | None:
    if split_by != _AUTO:
        return split_by
    columns = getattr(data, "columns", ())
    for column in candidates:
        if column in columns:
            return column
    return None


def _read(path: str, kind: str, name: str) -> gpd.GeoDataFrame:
    geometry: Literal["polygon", "line"] = "polygon" if kind == "area" else "line"
    return read_layer(path, geometry=geometry, what=f"right-of-way layer {name!r}")


# ------------------------------------------------------------------------------ prepared layer
@dataclass
class _Prepared:
    labels: np.ndarray  # split values (str), indexed by code
    pieces: np.ndarray  # area: layer union; line: corridor union (subdivided)
    split_pieces: np.ndarray
    split_code: np.ndarray


@dataclass
class _PreparedLines(_Prepared):
    lines: np.ndarray  # merged lines (all codes)
    line_code: np.ndarray
    line_rank: np.ndarray  # index of the line among those of its code
    code_lines: np.ndarray  # MultiLineString per code
    code_nlines: np.ndarray


def _split_values(layer: RowLayer, index: pd.Index) -> pd.Series:
    """The sub-authority of each feature: its split value, "all" for an unsplit layer, and
    "(no <attribute>)" where a feature lacks the value, so no register row is left blank."""
    if layer.split_by is None:
        return pd.Series(NO_SPLIT_LABEL, index=index, dtype=object)
    values = layer.data.loc[index, layer.split_by]
    text = values.where(values.notna(), "").astype(str).str.strip()
    return text.where(text != "", f"(no {layer.split_by})")


def _prepare(layer: RowLayer, crs: pyproj.CRS) -> _Prepared:
    """The layer in ``crs`` dissolved into pieces, overall and per split value (cached per
    CRS)."""
    key = crs.to_wkt()
    cached = layer._cache.get(key)
    if cached is not None:
        return cached
    data = _valid_features(layer, crs)
    geoms = np.asarray(data.geometry.values, dtype=object)
    labels, codes = _split_codes(layer, data.index)
    if layer.kind == "area":
        prepared = _prepare_areas(layer, data.index, geoms, labels, codes)
    else:
        prepared = _prepare_lines(layer, data.index, geoms, labels, codes)
    layer._cache.clear()
    layer._cache[key] = prepared
    return prepared


def _valid_features(layer: RowLayer, crs: pyproj.CRS) -> gpd.GeoDataFrame:
    """The layer's features that have a geometry (a warning counts the others), in ``crs``."""
    data = layer.data
    valid = data.geometry.notna() & ~data.geometry.is_empty
    if not valid.all():
        logger.warning(
            "right-of-way layer %r: %d features without geometry ignored",
            layer.name,
            int((~valid).sum()),
        )
    data = data.loc[valid]
    if data.crs is None:  # pragma: no cover - checked in RowLayer
        raise CRSError(f"right-of-way layer {layer.name!r} has no CRS")
    if not pyproj.CRS.from_user_input(data.crs).equals(crs):
        data = data.to_crs(crs)
    return data


def _split_codes(layer: RowLayer, index: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """The sorted split labels, and the code (label position) of every feature."""
    split = _split_values(layer, index).to_numpy()
    if not len(split):
        return np.array([""], dtype=object), np.empty(0, dtype=np.int64)
    return np.unique(split.astype(str), return_inverse=True)


def _prepare_areas(
    layer: RowLayer, index: pd.Index, geoms: np.ndarray, labels: np.ndarray, codes: np.ndarray
) -> _Prepared:
    """Polygons (repaired where invalid) dissolved into pieces, overall and per split value."""
    bad = ~np.isin(shapely.get_type_id(geoms), (3, 6, 7))
    if bad.any():
        raise GeometryTypeError(
            f"right-of-way layer {layer.name!r} is an area layer but feature "
            f"{index[np.argmax(bad)]!r} is a {geoms[bad][0].geom_type} "
            "(not a polygon); use kind='line' for lines"
        )
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        logger.warning(
            "right-of-way layer %r: %d invalid polygons repaired with make_valid",
            layer.name,
            int(invalid.sum()),
        )
        geoms = geoms.copy()
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    polys, pcode = _polygons_per_code(geoms, codes)
    pieces, _ = geom.dissolved_pieces(polys)
    split_pieces, split_code = geom.dissolved_pieces(polys, pcode)
    return _Prepared(labels, pieces, split_pieces, split_code)


def _polygons_per_code(geoms: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The polygons of the features, exploded split value by split value, with their code."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    part_code = codes[idx] if len(idx) else np.empty(0, dtype=np.int64)
    poly_list, code_list = [], []
    for c in np.unique(part_code):
        p = geom.explode_polygons(parts[part_code == c])
        poly_list.append(p)
        code_list.append(np.full(len(p), c))
    polys = np.concatenate(poly_list) if poly_list else np.empty(0, dtype=object)
    pcode = np.concatenate(code_list) if code_list else np.empty(0, dtype=np.int64)
    return polys, pcode


def _prepare_lines(
    layer: RowLayer, index: pd.Index, geoms: np.ndarray, labels: np.ndarray, codes: np.ndarray
) -> _PreparedLines:
    """Lines merged per split value, and their corridors dissolved into pieces, overall and
    per split value."""
    bad = ~np.isin(shapely.get_type_id(geoms), (1, 5))
    if bad.any():
        raise GeometryTypeError(
            f"right-of-way layer {layer.name!r} is a line layer but feature "
            f"{index[np.argmax(bad)]!r} is not a (Multi)LineString; use kind='area' for "
            "polygons"
        )
    lines, line_code, line_rank, nlines = _merged_lines_per_code(layer, geoms, codes, len(labels))
    half = layer._width_m / 2
    buffers = shapely.buffer(lines, half, quad_segs=8, cap_style="flat")
    pieces, _ = geom.dissolved_pieces(buffers)
    split_pieces, split_code = geom.dissolved_pieces(buffers, line_code)
    code_lines = np.empty(len(labels), dtype=object)
    for c in range(len(labels)):
        code_lines[c] = shapely.multilinestrings(lines[line_code == c])
    return _PreparedLines(
        labels,
        pieces,
        split_pieces,
        split_code,
        lines,
        line_code,
        line_rank,
        code_lines,
        nlines,
    )


def _merged_lines_per_code(
    layer: RowLayer, geoms: np.ndarray, codes: np.ndarray, n_codes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The features' lines merged split value by split value (across gaps up to
    ``join_gap_m``): the merged lines, their code, their rank within the code and the number
    of lines per code."""
    parts, idx = geom.explode_lines(geoms)
    part_code = codes[idx] if len(idx) else np.empty(0, dtype=np.int64)
    lines_list, code_list, rank_list = [], [], []
    nlines = np.zeros(n_codes, dtype=np.int64)
    for c in range(n_codes):
        merged = geom.merge_lines(parts[part_code == c], layer.join_gap_m)
        lines_list.append(merged)
        code_list.append(np.full(len(merged), c, dtype=np.int64))
        rank_list.append(np.arange(len(merged)))
        nlines[c] = len(merged)
    lines = np.concatenate(lines_list) if lines_list else np.empty(0, dtype=object)
    line_code = np.concatenate(code_list) if code_list else np.empty(0, dtype=np.int64)
    line_rank = np.concatenate(rank_list) if rank_list else np.empty(0, dtype=np.int64)
    return lines, line_code, line_rank, nlines


# ---------------------------------------------------------------------------- input checks
def _metric_lines(data: Any, what: str) -> tuple[np.ndarray, pyproj.CRS, pd.Index]:
    crs = getattr(data, "crs", None)
    if crs is None:
        raise CRSError(f"{what} have no CRS; set their metric CRS (e.g. gdf.set_crs('EPSG:32644'))")
    crs = pyproj.CRS.from_user_input(crs)
    if crs.is_geographic:
        raise CRSError(
            f"{what} are in a geographic CRS ({crs.to_string()}); lengths need metres: project "
            "them first (netplan.crs.to_metric or gdf.to_crs(netplan.crs.metric_crs_for(gdf)))"
        )
    series = data.geometry if isinstance(data, gpd.GeoDataFrame) else data
    geoms = np.asarray(series.values, dtype=object)
    types = shapely.get_type_id(geoms)
    bad = ~np.isin(types, (1, 5)) & ~shapely.is_missing(geoms)
    if bad.any():
        raise GeometryTypeError(
            f"{what} must be LineStrings; row {series.index[np.argmax(bad)]!r} is a "
            f"{geoms[bad][0].geom_type}. Pass the route lines"
        )
    geoms = np.where(shapely.is_missing(geoms), shapely.linestrings([[0, 0], [0, 0]]), geoms)
    return geoms, crs, series.index


# ------------------------------------------------------------------------------ annotate
def annotate_edges(
    edges: gpd.GeoDataFrame | gpd.GeoSeries,
    layers: Sequence[RowLayer],
    *,
    progress: bool = True,
) -> pd.DataFrame:
    """Measure every network edge against right-of-way layers (for routing penalties).

    Parameters
    ----------
    edges
        LineStrings in a metric CRS (a network's ``edges``); layers are reprojected to it.
    layers
        Right-of-way layers.
    progress
        Show a progress bar over the layers.

    Returns
    -------
    pandas.DataFrame
        Same index as ``edges``. Area layer ``L``: ``in_L_m`` (length inside its polygons, holes
        excluded, overlaps once). Line layer ``L``: ``L_crossings`` (float: a proper crossing in
        the edge's interior counts 1, an edge that ends on the line and leaves the corridor
        counts 0.5, so a route through a junction on the line pays 1) and ``along_L_m`` (length
        inside the corridor less ``corridor_width_m`` per crossing, not below 0; an edge that
        is the highway counts its full length).
    """
    geoms, crs, index = _metric_lines(edges, "edges")
    out = pd.DataFrame(index=index)
    for layer in tqdm(list(layers), desc="right-of-way layers", unit="layer", disable=not progress):
        prep = _prepare(layer, crs)
        name = layer.name
        if isinstance(prep, _PreparedLines):
            in_corr = geom.length_inside(geoms, prep.pieces)
            crossings = geom.line_crossings(geoms, prep.lines, in_corr)
            along = np.maximum(in_corr - crossings * layer._width_m, 0.0)
            out[f"{name}_crossings"] = crossings
            out[f"along_{name}_m"] = along
        else:
            out[f"in_{name}_m"] = geom.length_inside(geoms, prep.pieces)
        logger.debug("annotated %d edges with layer %r", len(geoms), name)
    return out


# ------------------------------------------------------------------------------ flag routes
@dataclass
class _Routes:
    geoms: np.ndarray
    pop: np.ndarray  # pop_id as str
    pop_code: np.ndarray
    seg_id: np.ndarray
    gp_ids: np.ndarray  # str
    n_gps: np.ndarray
    start: np.ndarray  # (n, 2)
    end: np.ndarray


def _route_info(routes: gpd.GeoDataFrame) -> tuple[_Routes, pyproj.CRS]:
    missing = [c for c in ("pop_id", "segment_id", "gp_ids") if c not in routes.columns]
    if missing:
        raise MissingColumnError(
            f"routes lack column(s) {missing}; flag_routes needs pop_id, segment_id, gp_ids "
            f"(';'-joined GP ids) and geometry; available: {list(routes.columns)}"
        )
    geoms, crs, _ = _metric_lines(routes, "routes")
    pop = routes["pop_id"].astype(str).to_numpy()
    _, pop_code = np.unique(pop, return_inverse=True) if len(pop) else (None, np.empty(0, int))
    gp = routes["gp_ids"].fillna("").astype(str).to_numpy()
    n_gps = np.array([len([g for g in s.split(";") if g]) for s in gp], dtype=np.int64)
    info = _Routes(
        geoms=geoms,
        pop=pop,
        pop_code=np.asarray(pop_code, dtype=np.int64),
        seg_id=routes["segment_id"].to_numpy(),
        gp_ids=gp,
        n_gps=n_gps,
        start=shapely.get_coordinates(shapely.get_point(geoms, 0)).reshape(-1, 2),
        end=shapely.get_coordinates(shapely.get_point(geoms, -1)).reshape(-1, 2),
    )
    return info, crs


@dataclass
class _Parts:
    """Clipped route pieces with their connected components (per PoP and split value)."""

    geoms: np.ndarray
    seg: np.ndarray
    code: np.ndarray
    length: np.ndarray
    comp: np.ndarray  # component of each part (0..K-1)
    n_comp: int
    end_xy: np.ndarray  # (2m, 2): all starts then all ends
    end_part: np.ndarray  # (2m,)
    end_leaf: np.ndarray  # (2m,) bool
    end_at_seg_end: np.ndarray  # (2m,) bool: the point is an end of its route segment


def _clip_components(
    info: _Routes, pieces: np.ndarray, piece_code: np.ndarray, n_codes: int
) -> _Parts:
    ii, jj, _, clipped = geom.clip_pairs(info.geoms, pieces, geometry=True)
    assert clipped is not None  # asked for with geometry=True
    sub, k = geom.explode_lines(clipped)
    seg = ii[k]
    code = piece_code[jj[k]]
    order = np.lexsort((code, seg))
    sub, seg, code = sub[order], seg[order], code[order]
    length = shapely.length(sub)
    m = len(sub)
    xy = np.concatenate(
        [
            shapely.get_coordinates(shapely.get_point(sub, 0)).reshape(-1, 2),
            shapely.get_coordinates(shapely.get_point(sub, -1)).reshape(-1, 2),
        ]
    )
    end_part = np.concatenate([np.arange(m), np.arange(m)])
    group = info.pop_code[seg[end_part]] * max(n_codes, 1) + code[end_part]
    node = geom.point_keys(group, xy)
    if m:
        n_nodes = int(node.max()) + 1
        graph = coo_matrix((np.ones(m), (node[:m], node[m:])), shape=(n_nodes, n_nodes))
        n_comp_nodes, node_comp = connected_components(graph, directed=False)
        comp_raw = node_comp[node[:m]]
        # renumber components in order of first part (deterministic, contiguous)
        _, first = np.unique(comp_raw, return_index=True)
        rank = np.empty(n_comp_nodes, dtype=np.int64)
        rank[comp_raw[np.sort(first)]] = np.arange(len(first))
        comp = rank[comp_raw]
        n_comp = len(first)
        degree = np.bincount(node, minlength=n_nodes)
        leaf = degree[node] == 1
    else:
        comp = np.empty(0, dtype=np.int64)
        n_comp = 0
        leaf = np.empty(0, dtype=bool)
    s = seg[end_part]
    tol = geom.NODE_TOL_M
    at_end = (np.hypot(*(xy - info.start[s]).T) <= tol) | (np.hypot(*(xy - info.end[s]).T) <= tol)
    return _Parts(sub, seg, code, length, comp, n_comp, xy, end_part, leaf, at_end)


def _join_ids(values: Sequence[Any]) -> str:
    unique = sorted(set(values), key=_natural_key)
    return ";".join(str(v) for v in unique)


def _natural_key(value: Any) -> tuple:
    text = str(value)
    return tuple(
        (0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", text) if t
    )


def _item(
    layer: RowLayer,
    info: _Routes,
    kind: str,
    label: Any,
    seg: int,
    segs: Sequence[int],
    length_m: float,
    at: np.ndarray,
    *,
    chainage_km: float = np.nan,
    chainage_note: str = "",
) -> dict[str, Any]:
    """One permit item of ``layer`` for its split value ``label``: placed at point ``at`` on
    segment ``seg``, covering segments ``segs`` and the GPs they serve."""
    return {
        "layer": layer.name,
        "authority": layer.authority,
        "sub_authority": str(label),
        "kind": kind,
        "pop_id": info.pop[seg],
        "segment_id": info.seg_id[seg],
        "segment_ids": _join_ids(info.seg_id[list(segs)].tolist()),
        "gp_ids": _gp_union(info, segs),
        "length_m": length_m,
        "chainage_km": chainage_km,
        "chainage_note": chainage_note,
        "geometry": shapely.Point(at),
    }


def _gp_union(info: _Routes, segs: Sequence[int]) -> str:
    ids: set[str] = set()
    for s in segs:
        ids.update(g for g in info.gp_ids[s].split(";") if g)
    return ";".join(sorted(ids, key=_natural_key))


def _refs_per_segment(n: int, parts: _Parts, labels: np.ndarray) -> np.ndarray:
    text = labels[parts.code].astype(str) if len(parts.seg) else np.empty(0, dtype=str)
    keep = text != ""
    return _joined_per_segment(n, parts.seg[keep], text[keep])


def _joined_per_segment(n: int, seg: np.ndarray, values: np.ndarray) -> np.ndarray:
    """For each of ``n`` segments, the distinct ``values`` paired with it (``seg``), as text in
    natural order ("NH-9" before "NH-30") joined by ";"; "" where none."""
    out = np.full(n, "", dtype=object)
    if not len(seg):
        return out
    text, code = np.unique(np.asarray(values).astype(str), return_inverse=True)
    rank = np.empty(len(text), dtype=np.int64)
    rank[sorted(range(len(text)), key=lambda i: _natural_key(text[i]))] = np.arange(len(text))
    pairs = np.unique(np.c_[np.asarray(seg, dtype=np.int64), rank[code.ravel()]], axis=0)
    by_rank = np.empty(len(text), dtype=object)
    by_rank[rank] = [t + ";" for t in text.tolist()]
    starts = np.flatnonzero(np.r_[True, pairs[1:, 0] != pairs[:-1, 0]])
    joined = np.add.reduceat(by_rank[pairs[:, 1]], starts)  # object arrays: text concatenated
    out[pairs[starts, 0]] = [j[:-1] for j in joined.tolist()]
    return out


def _flag_area(layer: RowLayer, prep: _Prepared, info: _Routes) -> tuple[dict, list[dict]]:
    n = len(info.geoms)
    name = layer.name
    columns = {f"in_{name}_m": geom.length_inside(info.geoms, prep.pieces)}
    parts = _clip_components(info, prep.split_pieces, prep.split_code, len(prep.labels))
    columns[f"{name}_ref"] = _refs_per_segment(n, parts, prep.labels)
    items: list[dict] = []
    if not parts.n_comp:
        return columns, items
    comp_len = np.bincount(parts.comp, weights=parts.length, minlength=parts.n_comp)
    # entry point per component: a leaf on the polygon boundary of the most upstream segment
    e_comp = parts.comp[parts.end_part]
    e_seg = parts.seg[parts.end_part]
    prio = np.where(parts.end_leaf & ~parts.end_at_seg_end, 0, np.where(parts.end_leaf, 1, 2))
    order = np.lexsort(
        (parts.end_xy[:, 1], parts.end_xy[:, 0], e_seg, -info.n_gps[e_seg], prio, e_comp)
    )
    first = order[np.r_[True, e_comp[order][1:] != e_comp[order][:-1]]]
    segs_of = pd.Series(parts.seg).groupby(parts.comp).agg(lambda v: sorted(set(v)))
    for c, e in zip(e_comp[first], first, strict=True):
        segs = segs_of[c]
        seg = e_seg[e]
        label = prep.labels[parts.code[parts.comp == c][0]]
        items.append(
            _item(layer, info, "entry", label, seg, segs, float(comp_len[c]), parts.end_xy[e])
        )
    return columns, items


def _locate(
    prep: _PreparedLines, code: np.ndarray, xy: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest merged line (global index) of the given code for each point, and the chainage."""
    line = np.zeros(len(xy), dtype=np.int64)
    at = np.zeros(len(xy))
    if not len(xy):
        return line, at
    pts = shapely.points(xy)
    for c in np.unique(code):
        mask = code == c
        candidates = np.flatnonzero(prep.line_code == c)
        if len(candidates) == 1:
            nearest = np.zeros(mask.sum(), dtype=np.int64)
        else:
            tree = shapely.STRtree(prep.lines[candidates])
            q, t = tree.query_nearest(pts[mask], all_matches=False)
            nearest = np.empty(mask.sum(), dtype=np.int64)
            nearest[q] = t
        line[mask] = candidates[nearest]
    at = shapely.line_locate_point(prep.lines[line], pts)
    return line, at


def _chainage_note(layer: RowLayer, prep: _PreparedLines, line: int) -> str:
    c = prep.line_code[line]
    if prep.code_nlines[c] <= 1:
        return ""
    label = prep.labels[c] or layer.name
    return (
        f"{label} does not merge into one line ({prep.code_nlines[c]} pieces); chainage is "
        f"along piece {prep.line_rank[line] + 1} from its start"
    )


def _flag_line(layer: RowLayer, prep: _PreparedLines, info: _Routes) -> tuple[dict, list[dict]]:
    """Measure the routes against a line layer: per-segment columns (refs, crossings, length
    along) and the crossing and parallel-run items."""
    n = len(info.geoms)
    name = layer.name
    half = layer._width_m / 2
    parts = _clip_components(info, prep.split_pieces, prep.split_code, len(prep.labels))
    columns: dict[str, Any] = {f"{name}_ref": _refs_per_segment(n, parts, prep.labels)}
    crossings = np.zeros(n, dtype=np.int64)
    along_seg = np.zeros(n)
    items: list[dict] = []
    if parts.n_comp:
        exits = _corridor_exits(parts, prep, half)
        runs = _corridor_runs(parts, exits, half)
        np.add.at(along_seg, runs.pair_seg, runs.pair_along)
        ex = exits[_crossing_exits(parts, prep, info, exits)]
        comp_code = np.zeros(parts.n_comp, dtype=np.int64)
        comp_code[parts.comp] = parts.code
        # a short run on a piece that crosses the line is applied for with its crossing(s)
        with_crossing = np.zeros(parts.n_comp, dtype=bool)
        with_crossing[parts.comp[parts.end_part[ex]]] = True
        short = (runs.run > 0) & (runs.run < layer._min_along) & with_crossing
        np.add.at(crossings, parts.seg[parts.end_part[ex]], 1)
        items += _crossing_items(layer, prep, info, parts, runs, ex, comp_code, short)
        long_runs = np.flatnonzero((runs.run > 0) & ~short)
        items += _along_items(layer, prep, info, parts, runs, long_runs, comp_code)
    columns[f"{name}_crossings"] = crossings
    columns[f"along_{name}_m"] = along_seg
    return columns, items


@dataclass
class _CorridorRuns:
    """Length along a line layer per (component, segment) pair of clipped route parts."""

    pair_comp: np.ndarray
    pair_seg: np.ndarray
    part_pair: np.ndarray  # the pair of each part
    pair_along: np.ndarray  # inside length less half a width per exit (0 below tolerance)
    run: np.ndarray  # along length per component


def _corridor_exits(parts: _Parts, prep: _PreparedLines, half: float) -> np.ndarray:
    """Part ends (positions in ``parts.end_*``) where a route leaves the corridor: leaves on
    the corridor boundary (or inside it, where the route itself does not end)."""
    cand = np.flatnonzero(parts.end_leaf)
    e_code = parts.code[parts.end_part]
    dist = shapely.distance(shapely.points(parts.end_xy[cand]), prep.code_lines[e_code[cand]])
    on_edge = dist >= half - 0.1
    return cand[~parts.end_at_seg_end[cand] | on_edge]


def _corridor_runs(parts: _Parts, exits: np.ndarray, half: float) -> _CorridorRuns:
    """Along length per (component, segment): inside length less half a width per exit."""
    exit_count = np.bincount(parts.end_part[exits], minlength=len(parts.seg))
    key = np.c_[parts.comp, parts.seg]
    pairs, inv = np.unique(key, axis=0, return_inverse=True)
    inv = inv.ravel()
    pair_len = np.bincount(inv, weights=parts.length)
    pair_exits = np.bincount(inv, weights=exit_count)
    pair_along = np.maximum(pair_len - pair_exits * half, 0.0)
    pair_along[pair_along < ALONG_TOLERANCE_M] = 0.0
    run = np.bincount(pairs[:, 0], weights=pair_along, minlength=parts.n_comp)
    return _CorridorRuns(pairs[:, 0], pairs[:, 1], inv, pair_along, run)


def _run_segments(runs: _CorridorRuns, c: int) -> list[int]:
    """The segments with length along the line in component ``c``."""
    return sorted(set(runs.pair_seg[(runs.pair_comp == c) & (runs.pair_along > 0)].tolist()))


def _crossing_exits(
    parts: _Parts, prep: _PreparedLines, info: _Routes, exits: np.ndarray
) -> np.ndarray:
    """Which exits cross the line: those of a component with exits on both sides that lie
    on the side opposite its trench side."""
    x_comp = parts.comp[parts.end_part[exits]]
    x_line, x_at = _locate(prep, parts.code[parts.end_part[exits]], parts.end_xy[exits])
    side = geom.side_of(parts.end_xy[exits], prep.lines[x_line], x_at)
    n_left = np.bincount(x_comp[side > 0], minlength=parts.n_comp)
    n_right = np.bincount(x_comp[side < 0], minlength=parts.n_comp)
    both = (n_left > 0) & (n_right > 0)
    trench = np.where(n_left > n_right, 1, -1)
    tie = both & (n_left == n_right)
    if tie.any():
        _break_side_ties(trench, tie, parts, info, exits, side)
    return both[x_comp] & (side == -trench[x_comp]) & (side != 0)


def _break_side_ties(
    trench: np.ndarray,
    tie: np.ndarray,
    parts: _Parts,
    info: _Routes,
    exits: np.ndarray,
    side: np.ndarray,
) -> None:
    """Set the trench side of components with as many exits on each side (``tie``) to the
    side of their most upstream exit (in place)."""
    x_comp = parts.comp[parts.end_part[exits]]
    x_seg = parts.seg[parts.end_part[exits]]
    order = np.lexsort(
        (
            parts.end_xy[exits][:, 1],
            parts.end_xy[exits][:, 0],
            x_seg,
            -info.n_gps[x_seg],
            side == 0,
            x_comp,
        )
    )
    first = order[np.r_[True, x_comp[order][1:] != x_comp[order][:-1]]]
    trench[x_comp[first]] = np.where(tie[x_comp[first]], side[first], trench[x_comp[first]])


def _crossing_items(
    layer: RowLayer,
    prep: _PreparedLines,
    info: _Routes,
    parts: _Parts,
    runs: _CorridorRuns,
    ex: np.ndarray,
    comp_code: np.ndarray,
    short: np.ndarray,
) -> list[dict]:
    """One ``crossing`` item per crossing exit ``ex``, placed where its branch meets the line
    (a short run of its component is applied for with it)."""
    if not len(ex):
        return []
    order_parts = np.argsort(parts.comp, kind="stable")
    comp_geom = shapely.multilinestrings(parts.geoms[order_parts], indices=parts.comp[order_parts])
    xc = parts.comp[parts.end_part[ex]]
    contact = shapely.intersection(comp_geom[xc], prep.code_lines[comp_code[xc]])
    target = np.where(shapely.is_empty(contact), prep.code_lines[comp_code[xc]], contact)
    pts = shapely.points(parts.end_xy[ex])
    where = shapely.get_coordinates(shapely.get_point(shapely.shortest_line(target, pts), 0))
    c_line, c_at = _locate(prep, comp_code[xc], where)
    items = []
    for k in range(len(ex)):
        seg = parts.seg[parts.end_part[ex[k]]]
        segs = sorted({int(seg), *(_run_segments(runs, xc[k]) if short[xc[k]] else ())})
        label = prep.labels[comp_code[xc[k]]]
        items.append(
            _item(layer, info, "crossing", label, seg, segs, 0.0, where[k],
                  chainage_km=float(c_at[k]) / 1000,
                  chainage_note=_chainage_note(layer, prep, int(c_line[k])))
        )  # fmt: skip
    return items


def _along_items(
    layer: RowLayer,
    prep: _PreparedLines,
    info: _Routes,
    parts: _Parts,
    runs: _CorridorRuns,
    long_runs: np.ndarray,
    comp_code: np.ndarray,
) -> list[dict]:
    """One ``along`` item per parallel run (component) ``long_runs``, placed at its first
    vertex along the line (outer vertices and runs along rather than across first)."""
    if not len(long_runs):
        return []
    half = layer._width_m / 2
    coords, v_part = shapely.get_coordinates(parts.geoms, return_index=True)
    v_comp = parts.comp[v_part]
    keep = np.isin(v_comp, long_runs)
    coords, v_part, v_comp = coords[keep], v_part[keep], v_comp[keep]
    v_line, v_at = _locate(prep, parts.code[v_part], coords)
    v_dist = shapely.distance(shapely.points(coords), prep.lines[v_line])
    outer = v_dist >= half - 0.1
    transverse = runs.pair_along[runs.part_pair[v_part]] <= 0
    order = np.lexsort(
        (coords[:, 1], coords[:, 0], transverse, v_at, prep.line_rank[v_line], outer, v_comp)
    )
    first = order[np.r_[True, v_comp[order][1:] != v_comp[order][:-1]]]
    items = []
    for v in first:
        c = v_comp[v]
        segs = _run_segments(runs, c)
        seg = parts.seg[v_part[v]]
        label = prep.labels[comp_code[c]]
        items.append(
            _item(layer, info, "along", label, seg, segs, float(runs.run[c]), coords[v],
                  chainage_km=float(v_at[v]) / 1000,
                  chainage_note=_chainage_note(layer, prep, int(v_line[v])))
        )  # fmt: skip
    return items


_KIND_ORDER = {"entry": 0, "crossing": 1, "along": 2}


def _segment_features(layer: RowLayer, geoms: np.ndarray, crs: pyproj.CRS) -> pd.DataFrame:
    """Pairs (segment position, feature id, split label) of segments that run inside an area
    feature (by more than a centimetre) or inside a line feature's corridor."""
    data = layer.data[layer.data.geometry.notna() & ~layer.data.geometry.is_empty]
    if not pyproj.CRS.from_user_input(data.crs).equals(crs):
        data = data.to_crs(crs)
    feats = np.asarray(data.geometry.values, dtype=object)
    if layer.kind == "area":
        feats = shapely.make_valid(feats)
        seg, feat = shapely.STRtree(feats).query(geoms, predicate="intersects")
        inside = shapely.length(shapely.intersection(geoms[seg], feats[feat])) > 0.01
    else:
        half = layer._width_m / 2
        seg, feat = shapely.STRtree(feats).query(geoms, predicate="dwithin", distance=half)
        inside = np.ones(len(seg), dtype=bool)
    ids = data[layer.id_column] if layer.id_column else pd.Series(data.index, index=data.index)
    labels = _split_values(layer, data.index).to_numpy()
    return pd.DataFrame(
        {
            "seg": seg[inside],
            "feature": ids.astype(str).to_numpy()[feat[inside]],
            "label": labels[feat[inside]].astype(str),
        }
    )


def _item_feature_ids(pairs: pd.DataFrame, info: _Routes, items: list[dict]) -> list[str]:
    """For each item, the ids of the features of its sub-authority that its segments run in."""
    if not items:
        return []
    position = pd.Series(np.arange(len(info.seg_id)), index=info.seg_id)
    wanted = pd.DataFrame(
        [
            (k, int(t), item["sub_authority"])
            for k, item in enumerate(items)
            for t in str(item["segment_ids"]).split(";")
            if t
        ],
        columns=["item", "segment", "label"],
    )
    wanted["seg"] = position.reindex(wanted["segment"]).to_numpy(dtype=np.int64)
    hits = wanted.merge(pairs, on=["seg", "label"])
    joined = hits.groupby("item")["feature"].agg(_join_ids)
    return [joined.get(k, "") for k in range(len(items))]


def flag_routes(
    routes: gpd.GeoDataFrame,
    layers: Sequence[RowLayer],
    *,
    progress: bool = False,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Measure designed routes against right-of-way layers and list every permission point.

    Parameters
    ----------
    routes
        Route segments in a metric CRS with columns ``pop_id``, ``segment_id``, ``gp_ids``
        (';'-joined ids of the GPs served through the segment) and LineString geometry.
    layers
        Right-of-way layers.
    progress
        Show a progress bar over the layers.

    Returns
    -------
    routes
        A copy with, per layer ``L``: ``L_ids`` (';'-joined ids of the features it runs in or
        along); per area layer: ``in_L_m`` (float), ``L_ref`` (';'-joined split values
        it has length in); per line layer ``L``: ``L_ref`` (split values whose corridor it
        enters), ``L_crossings`` (int, each crossing counted on one segment), ``along_L_m``.
    crossings
        Points in the routes' CRS, one row per item, columns :data:`CROSSING_COLUMNS`:
        ``kind`` is ``"crossing"`` (where a branch crosses a line layer), ``"along"`` (start of a
        parallel run, ``length_m`` = run length) or ``"entry"`` (where a route enters an area
        layer, ``length_m`` = length of that connected piece inside). ``chainage_km`` is the
        distance along the merged line of the item's ``sub_authority`` (ref) from its start;
        ``chainage_note`` says when the ref's lines do not merge into one line. ``lon``/``lat``
        are WGS 84.

    Notes
    -----
    See the module docstring for the crossing and parallel-run rules.
    """
    info, crs = _route_info(routes)
    out = routes.copy()
    items: list[dict] = []
    for layer in tqdm(list(layers), desc="flagging routes", unit="layer", disable=not progress):
        prep = _prepare(layer, crs)
        if isinstance(prep, _PreparedLines):
            columns, found = _flag_line(layer, prep, info)
        else:
            columns, found = _flag_area(layer, prep, info)
        for column, values in columns.items():
            out[column] = values
        pairs = _segment_features(layer, info.geoms, crs)
        ids = _joined_per_segment(
            len(info.geoms), pairs["seg"].to_numpy(), pairs["feature"].to_numpy()
        )
        out[f"{layer.name}_ids"] = ids
        for item, feature_ids in zip(found, _item_feature_ids(pairs, info, found), strict=True):
            item["feature_ids"] = feature_ids
        items.extend(found)
    crossings = _crossings_frame(items, crs, [layer.name for layer in layers])
    return out, crossings


def _crossings_frame(items: list[dict], crs: pyproj.CRS, order: list[str]) -> gpd.GeoDataFrame:
    if not items:
        frame = pd.DataFrame({c: pd.Series(dtype=object) for c in CROSSING_COLUMNS})
        for c in ("length_m", "chainage_km", "lon", "lat"):
            frame[c] = frame[c].astype(float)
        return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    frame = gpd.GeoDataFrame(items, geometry="geometry", crs=crs)
    ll = frame.geometry.to_crs(4326)
    frame["lon"] = ll.x.round(7)
    frame["lat"] = ll.y.round(7)
    frame["_layer"] = frame["layer"].map({n: i for i, n in enumerate(order)})
    frame["_kind"] = frame["kind"].map(_KIND_ORDER)
    frame["_sub"] = frame["sub_authority"].map(_natural_key)
    frame["_pop"] = frame["pop_id"].map(_natural_key)
    frame["_x"] = frame.geometry.x
    frame["_y"] = frame.geometry.y
    frame = frame.sort_values(
        ["_layer", "_sub", "_pop", "_kind", "chainage_km", "_x", "_y", "length_m"],
        na_position="last",
        kind="mergesort",
    )
    frame = frame[[*CROSSING_COLUMNS, "geometry"]].reset_index(drop=True)
    return frame


# ------------------------------------------------------------------------------ register
def permit_register(
    crossings: pd.DataFrame,
    layers: Sequence[RowLayer],
    *,
    threshold_ha: float = 1.0,
) -> pd.DataFrame:
    """The permit register: one row per application item.

    Parameters
    ----------
    crossings
        Items as returned by :func:`flag_routes`.
    layers
        The layers used to flag the routes (authority, kind and width of each).
    threshold_ha
        Area per (area layer, sub-authority) above which an item needs more than a general
        approval (the Forest Conservation Act general approval covers up to 1 ha per division).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`PERMIT_COLUMNS`. ``permit_id`` names each item by its layer and its rank
        in this order (``forest-1``, ``nh-3``): the same routes give the same ids. Area layers:
        one row per (layer, sub-authority) with the
        total ``length_km``, ``area_ha`` = length x corridor width, the PoPs, segments and GPs
        involved and the location of its longest entry; ``over_threshold`` when ``area_ha >
        threshold_ha``. Line layers: one row per crossing (``crossings`` = 1, ``chainage_km``,
        ``lon``/``lat``) and one per parallel run (``length_km``, chainage of its start).
        Sorted by authority, layer, sub-authority, kind, chainage, PoP.
    """
    if not threshold_ha >= 0:
        raise InputError(f"threshold_ha must be >= 0 hectares, got {threshold_ha!r}")
    frame = _register_input(crossings, layers)
    rows: list[dict] = []
    for layer_index, layer in enumerate(layers):
        mine = frame[frame["layer"] == layer.name] if len(frame) else frame
        if not len(mine):
            continue
        if layer.kind == "area":
            rows.extend(_area_items(mine, layer, layer_index, threshold_ha))
        else:
            rows.extend(_line_items(mine, layer, layer_index))
    if not rows:
        return _empty_register()
    return _sorted_register(pd.DataFrame(rows))


def _register_input(crossings: pd.DataFrame, layers: Sequence[RowLayer]) -> pd.DataFrame:
    """A copy of ``crossings`` with the id columns present, checked against ``layers``."""
    names = {layer.name for layer in layers}
    if len(crossings):
        unknown = sorted(set(crossings["layer"]) - names)
        if unknown:
            raise InputError(
                f"crossings name layers {unknown} that are not among the layers given "
                f"({sorted(names)}); pass the same layers as to flag_routes"
            )
    frame = pd.DataFrame(crossings).copy()
    for column in ("gp_ids", "feature_ids"):
        if len(frame) and column not in frame.columns:
            frame[column] = ""
    return frame


def _area_items(
    mine: pd.DataFrame, layer: RowLayer, layer_index: int, threshold_ha: float
) -> list[dict]:
    """One register row per sub-authority of an area layer: totals of its pieces."""
    rows = []
    for sub, group in mine.groupby("sub_authority", sort=True):
        longest = group.sort_values(
            ["length_m", "pop_id", "segment_id"],
            ascending=[False, True, True],
            kind="mergesort",
        ).iloc[0]
        length = float(group["length_m"].sum())
        area = length * layer._width_m / 10_000
        gp_ids = _join_tokens(group["gp_ids"])
        rows.append(
            {
                "_layer": layer_index,
                "authority": layer.authority,
                "layer": layer.name,
                "sub_authority": sub,
                "kind": "area",
                "pop_ids": _join_tokens(group["pop_id"]),
                "segment_ids": _join_tokens(group["segment_ids"]),
                "gp_ids": gp_ids,
                "n_gps": _count_tokens(gp_ids),
                "feature_ids": _join_tokens(group["feature_ids"]),
                "length_km": length / 1000,
                "area_ha": area,
                "crossings": 0,
                "chainage_km": np.nan,
                "chainage_note": "",
                "lon": float(longest["lon"]),
                "lat": float(longest["lat"]),
                "over_threshold": bool(area > threshold_ha),
            }
        )
    return rows


def _line_items(mine: pd.DataFrame, layer: RowLayer, layer_index: int) -> list[dict]:
    """One register row per crossing and per parallel run of a line layer."""
    rows = []
    for item in mine.itertuples(index=False):
        kind = item.kind
        rows.append(
            {
                "_layer": layer_index,
                "authority": layer.authority,
                "layer": layer.name,
                "sub_authority": item.sub_authority,
                "kind": kind,
                "pop_ids": str(item.pop_id),
                "segment_ids": str(item.segment_ids),
                "gp_ids": str(item.gp_ids),
                "n_gps": _count_tokens(str(item.gp_ids)),
                "feature_ids": str(item.feature_ids),
                "length_km": float(item.length_m) / 1000 if kind == "along" else 0.0,
                "area_ha": np.nan,
                "crossings": 1 if kind == "crossing" else 0,
                "chainage_km": float(item.chainage_km),
                "chainage_note": str(getattr(item, "chainage_note", "") or ""),
                "lon": float(item.lon),
                "lat": float(item.lat),
                "over_threshold": False,
            }
        )
    return rows


def _empty_register() -> pd.DataFrame:
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in PERMIT_COLUMNS})
    for c in ("length_km", "area_ha", "chainage_km", "lon", "lat"):
        empty[c] = empty[c].astype(float)
    empty["crossings"] = empty["crossings"].astype(np.int64)
    empty["n_gps"] = empty["n_gps"].astype(np.int64)
    empty["over_threshold"] = empty["over_threshold"].astype(bool)
    return empty


def _sorted_register(table: pd.DataFrame) -> pd.DataFrame:
    """The register rows in their order, numbered per layer, with the public columns."""
    table["_sub"] = table["sub_authority"].map(_natural_key)
    table["_kind"] = table["kind"].map({"area": 0, "crossing": 1, "along": 2})
    table["_pop"] = table["pop_ids"].map(_natural_key)
    table = table.sort_values(
        ["authority", "_layer", "_sub", "_kind", "chainage_km", "_pop", "lon", "lat"],
        na_position="last",
        kind="mergesort",
    )
    table["permit_id"] = table["layer"] + "-" + (table.groupby("layer").cumcount() + 1).astype(str)
    table = table[PERMIT_COLUMNS].reset_index(drop=True)
    table["crossings"] = table["crossings"].astype(np.int64)
    table["n_gps"] = table["n_gps"].astype(np.int64)
    return table


def _join_tokens(values: pd.Series) -> str:
    tokens: set[str] = set()
    for value in values.astype(str):
        tokens.update(t for t in value.split(";") if t)
    return ";".join(sorted(tokens, key=_natural_key))


def _count_tokens(value: str) -> int:
    return len([t for t in value.split(";") if t])


def permit_summary(permits: pd.DataFrame) -> pd.DataFrame:
    """Totals of the register per authority and sub-authority.

    Returns
    -------
    pandas.DataFrame
        Columns ``authority``, ``layer``, ``sub_authority``, ``items``, ``length_km``,
        ``area_ha``, ``crossings``, ``along_km``, ``over_threshold`` (any item over the
        threshold), sorted like the register.
    """
    columns = ["authority", "layer", "sub_authority", "items", "length_km", "area_ha",
               "crossings", "along_km", "over_threshold"]  # fmt: skip
    if not len(permits):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    p = permits.copy()
    p["_along"] = np.where(p["kind"] == "along", p["length_km"], 0.0)
    grouped = p.groupby(["authority", "layer", "sub_authority"], sort=False)
    summary = grouped.agg(
        items=("kind", "size"),
        length_km=("length_km", "sum"),
        area_ha=("area_ha", lambda v: float(v.sum(min_count=1)) if v.notna().any() else np.nan),
        crossings=("crossings", "sum"),
        along_km=("_along", "sum"),
        over_threshold=("over_threshold", "any"),
    ).reset_index()
    return summary[columns]
