"""Partitioned plans: split the work by a column that GPs and PoPs share, plan each partition on
its own (one after another in this process, or on a Dask cluster) and merge the designs into one
:class:`~netplan.result.Plan`.

Rules (the contract of ``Planner(..., partition_by=...)``):

* **Membership.** A GP or PoP belongs to the partition named by its value of the column, compared
  as text with case, surrounding and repeated white space ignored (``" Bastar"`` = ``"BASTAR"``).
  Partitions are the PoPs' values, planned and merged in sorted order.
* **PoPs without a value** are an error (:class:`~netplan.InputError` naming them): a PoP that
  silently sat out would change the plan of every GP around it.
* **GPs whose value no PoP carries** (or without a value): with ``unmatched="nearest"`` (the
  default) they join the partition of their nearest PoP (straight line) and a warning lists the
  values; with ``unmatched="unrouted"`` they are listed in ``plan.sites`` with ``routed=False``
  and a reason. ``plan.sites["partition"]`` says which partition planned each GP.
* **Extent.** A partition's roads are the road lines that intersect the convex hull of its sites
  grown by ``buffer_m`` (default 10 km, in the partition's UTM zone); lines are kept whole, never
  cut. Area right-of-way layers (forest) keep every feature that intersects the extent of those
  roads; line layers (highways) keep every feature of each ``split_by`` value (highway ref) that
  intersects it, so chainage runs along the whole highway as in an unpartitioned plan.
* **Merge.** One :class:`~netplan._assemble.Designed` per partition, concatenated in partition
  order, then one ``assemble``: segment ids are renumbered (``segment_id`` and ``segment_ids``
  columns of every table); ``edge_id`` is an id of the partition's own network, so routes carry a
  ``partition`` column; the permit register merges the items of one authority and sub-authority
  across partitions; the summary has one row per PoP and ``TOTAL``.
* **Engines.** Without a client the partitions are planned one after another and each
  partition's network is freed before the next is built (peak memory: the largest partition,
  not the state). With a ``dask.distributed.Client`` the loaded layers are scattered to the
  cluster once (to one worker; another fetches them from a peer once, when its first partition
  needs them), each partition's planner is built on a worker and stays there (as a future), and
  every later :meth:`~netplan.Planner.plan` designs on those planners; only the designs come
  back. ``benchmarks/partition_transfer.py`` measures this against per-task reads of the road
  file and against scattering the roads as tiles. The plan is the same whatever the engine and
  the number of workers.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy.spatial import cKDTree
from tqdm.auto import tqdm

from netplan._assemble import Designed
from netplan._checks import bounded, bounds_of, check_number
from netplan._errors import InputError, MissingColumnError
from netplan._validate import ids_to_str
from netplan.crs import WGS84, metric_crs_for
from netplan.params import CostModel, DesignOptions, NetworkOptions
from netplan.result import Plan
from netplan.row import RowLayer, _split_values

__all__ = [
    "Partitioning",
    "Partitions",
    "Membership",
    "PartitionData",
    "Unmatched",
    "membership",
    "partition_data",
    "partition_region",
    "Loaded",
    "concat_designed",
    "reach_beyond_sites",
    "DEFAULT_BUFFER_M",
]

log = logging.getLogger(__name__)

Unmatched = Literal["nearest", "unrouted"]
DEFAULT_BUFFER_M = 10_000.0
"""Default reach of a partition's roads beyond the convex hull of its sites (metres)."""
REACH_WARNING = 0.5
"""Routes that run farther than this share of the buffer beyond their sites raise a warning."""


@dataclass(frozen=True)
class Partitioning:
    """How a plan is split.

    Parameters
    ----------
    column
        The column of both the GP and the PoP layer whose value names a site's partition.
    buffer_m
        A partition's roads are those within this distance of the convex hull of its sites.
    unmatched
        GPs whose value no PoP carries: ``"nearest"`` plans them in the partition of their
        nearest PoP; ``"unrouted"`` lists them as unroutable with a reason.

    Examples
    --------
    >>> Partitioning("district").buffer_m
    10000.0
    >>> Partitioning("district", buffer_m=-1)
    Traceback (most recent call last):
    ...
    netplan._errors.ParameterError: partition_buffer_m must be a value from 0 to 200000 m, got -1 m
    """

    column: str
    buffer_m: float = bounded(
        DEFAULT_BUFFER_M,
        maximum=200_000.0,
        unit="m",
        why="a buffer that wide gives every partition most of the state's roads; partition "
        "by a smaller unit instead",
    )
    unmatched: Unmatched = "nearest"

    def __post_init__(self) -> None:
        if not (isinstance(self.column, str) and self.column.strip()):
            raise InputError(f"partition_by must be a column name, got {self.column!r}")
        bounds = bounds_of(Partitioning, "buffer_m")  # named as the plan's keyword
        buffer_m = check_number(self.buffer_m, bounds, name="partition_buffer_m")
        object.__setattr__(self, "buffer_m", float(buffer_m))
        if self.unmatched not in ("nearest", "unrouted"):
            raise InputError(
                f"partition_unmatched must be 'nearest' or 'unrouted', got {self.unmatched!r}"
            )


# ------------------------------------------------------------------------------- membership
@dataclass(frozen=True)
class Membership:
    """Which partition each site belongs to.

    Attributes
    ----------
    keys
        The partitions (the PoPs' values as first spelt, in sorted order).
    gps
        Each GP's partition (index: GP id); None for a GP left out.
    pops
        Each PoP's partition (index: PoP id).
    left_out
        GPs in no partition (``unmatched="unrouted"``) and why (index: GP id).
    """

    keys: tuple[str, ...]
    gps: pd.Series
    pops: pd.Series
    left_out: pd.Series

    def gp_ids(self, key: str) -> pd.Index:
        """The GPs of partition ``key``."""
        return self.gps.index[(self.gps == key).to_numpy()]

    def pop_ids(self, key: str) -> pd.Index:
        """The PoPs of partition ``key``."""
        return self.pops.index[(self.pops == key).to_numpy()]


def _normalised(values: pd.Series) -> pd.Series:
    """Values as comparable text: case and repeated or surrounding white space ignored; blank
    and missing values are None."""
    text = ids_to_str(values)
    out = [None if t is None else re.sub(r"\s+", " ", t).strip().casefold() or None for t in text]
    return pd.Series(out, index=values.index, dtype=object)


def _check_column(gps: pd.DataFrame, pops: pd.DataFrame, column: str) -> None:
    missing = [
        f"the {what} layer (columns: {[c for c in frame.columns if c != 'geometry']})"
        for what, frame in (("GP", gps), ("PoP", pops))
        if column not in frame.columns
    ]
    if missing:
        raise MissingColumnError(
            f"partition_by={column!r}: no such column in {' and '.join(missing)}; pass a column "
            "that both the GPs and the PoPs carry (e.g. district)"
        )


def _unit_vectors(points: gpd.GeoSeries) -> np.ndarray:
    """Points as unit vectors on the sphere (chord distance orders as great-circle distance)."""
    ll = points.to_crs(WGS84)
    lon, lat = np.radians(ll.x.to_numpy()), np.radians(ll.y.to_numpy())
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def _nearest_partition(gps: gpd.GeoDataFrame, pops: gpd.GeoDataFrame, labels: pd.Series) -> Any:
    """The partition of each GP's nearest PoP (PoPs taken in id order, so ties are stable)."""
    order = np.argsort(pops.index.astype(str).to_numpy(), kind="stable")
    tree = cKDTree(_unit_vectors(pops.geometry.iloc[order]))
    _, nearest = tree.query(_unit_vectors(gps.geometry), k=1)
    return labels.to_numpy()[order][nearest]


def membership(gps: gpd.GeoDataFrame, pops: gpd.GeoDataFrame, scheme: Partitioning) -> Membership:
    """Put every GP and PoP into its partition (see the module's rules).

    Raises
    ------
    MissingColumnError
        A layer lacks the column.
    InputError
        PoPs without a value.
    """
    column = scheme.column
    _check_column(gps, pops, column)
    pop_norm = _normalised(pops[column])
    blank = pop_norm.isna().to_numpy()
    if blank.any():
        ids = [str(i) for i in pops.index[blank][:10]]
        raise InputError(
            f"partition_by={column!r}: {int(blank.sum())} PoP(s) have no {column} value "
            f"({', '.join(ids)}{' ...' if blank.sum() > 10 else ''}), so they belong to no "
            f"partition; fill in their {column} or plan without partition_by"
        )
    spelt = pops[column].astype(str).str.strip()
    label_of = spelt.groupby(pop_norm.to_numpy()).min().to_dict()  # one spelling per value
    pop_labels = pop_norm.map(label_of)
    gp_norm = _normalised(gps[column])
    gp_labels = gp_norm.map(label_of).astype(object)
    unmatched = gp_labels.isna().to_numpy()
    left_out = pd.Series(dtype=object)
    if unmatched.any():
        values = sorted({str(v) for v in gps.loc[unmatched, column].dropna()})
        if scheme.unmatched == "nearest":
            gp_labels[unmatched] = _nearest_partition(gps.loc[unmatched], pops, pop_labels)
            log.warning(
                "partition_by=%r: %d GPs have a %s that no PoP carries (%s) or none; each is "
                "planned in the partition of its nearest PoP (see sites['partition'])",
                column, int(unmatched.sum()), column, ", ".join(values) or "blank",
            )  # fmt: skip
        else:
            left_out = _left_out_reasons(gps.loc[unmatched, column], column, label_of.values())
            gp_labels[unmatched] = None
    keys = tuple(label_of[k] for k in sorted(label_of))
    return Membership(keys=keys, gps=gp_labels, pops=pop_labels, left_out=left_out)


def _left_out_reasons(values: pd.Series, column: str, labels: Any) -> pd.Series:
    known = ", ".join(sorted(labels)[:10]) + (" ..." if len(labels) > 10 else "")
    reasons = [
        f"no {column} value, so it is in no partition (fill it in, or plan with "
        "partition_unmatched='nearest')"
        if pd.isna(v) or not str(v).strip()
        else f"no PoP has its {column} {str(v).strip()!r}, so no partition plans it (PoPs' "
        f"{column} values: {known})"
        for v in values
    ]
    return pd.Series(reasons, index=values.index, dtype=object)


# ------------------------------------------------------------------------------ extents
@dataclass(frozen=True)
class Loaded:
    """The loaded, validated layers of a whole planner (what the cluster receives once)."""

    gps: gpd.GeoDataFrame
    pops: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame
    layers: tuple[RowLayer, ...]


@dataclass(frozen=True)
class PartitionData:
    """What one partition is planned from: its sites, its roads and right-of-way layers."""

    key: str
    gps: gpd.GeoDataFrame
    pops: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame
    layers: tuple[RowLayer, ...]


def _hull(points: gpd.GeoSeries) -> gpd.GeoSeries:
    """The convex hull of ``points`` in their UTM zone (one geometry)."""
    metric = metric_crs_for(points)
    xy = shapely.get_coordinates(points.to_crs(metric).to_numpy())
    return gpd.GeoSeries([shapely.convex_hull(shapely.multipoints(xy))], crs=metric)


def partition_region(
    gps: gpd.GeoDataFrame, pops: gpd.GeoDataFrame, buffer_m: float
) -> gpd.GeoSeries:
    """The convex hull of the sites grown by ``buffer_m``, in their UTM zone (one polygon): a
    partition's roads are those that intersect it."""
    hull = _hull(_site_points(gps, pops))
    region = shapely.buffer(hull.iloc[0], max(buffer_m, 1.0), quad_segs=8)
    return gpd.GeoSeries([shapely.segmentize(region, 2_000.0)], crs=hull.crs)


def _intersecting(layer: gpd.GeoDataFrame, region: gpd.GeoSeries) -> np.ndarray:
    """Positions (sorted) of the features of ``layer`` that intersect ``region``."""
    if not len(layer):
        return np.zeros(0, dtype=np.int64)
    shape = region.to_crs(layer.crs).iloc[0]
    return np.sort(layer.sindex.query(shape, predicate="intersects"))


def _reach(roads: gpd.GeoDataFrame, region: gpd.GeoSeries) -> gpd.GeoSeries:
    """Where a partition's routes can run: the convex hull of ``region`` and of the bounding
    boxes of its road lines (spurs end at sites, bridge links join points of these roads), in
    ``region``'s CRS."""
    corners = shapely.get_coordinates(region.to_numpy())
    if len(roads):
        b = shapely.bounds(roads.geometry.to_numpy())
        xy = np.vstack([b[:, [0, 1]], b[:, [0, 3]], b[:, [2, 1]], b[:, [2, 3]]])
        to_region = pyproj.Transformer.from_crs(roads.crs, region.crs, always_xy=True)
        corners = np.vstack([corners, np.column_stack(to_region.transform(xy[:, 0], xy[:, 1]))])
    hull = shapely.convex_hull(shapely.linestrings(corners))  # one line: no Point per corner
    return gpd.GeoSeries([shapely.segmentize(hull, 2_000.0)], crs=region.crs)


def _layer_part(layer: RowLayer, region: gpd.GeoSeries) -> RowLayer:
    """``layer`` reduced to what ``region`` needs: area features that intersect it; line
    features of every split value (highway ref) that intersects it."""
    hits = _intersecting(layer.data, region)
    if layer.kind == "line" and len(hits):
        if layer.data.index.is_unique:
            split = _split_values(layer, layer.data.index).to_numpy()
            hits = np.flatnonzero(np.isin(split, np.unique(split[hits])))
        else:  # cannot tell features apart by label: keep the whole layer
            hits = np.arange(len(layer.data))
    return dataclasses.replace(layer, data=layer.data.iloc[hits])


def _site_points(gps: gpd.GeoDataFrame, pops: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """The GP and PoP points together, in lon/lat."""
    points = pd.concat([gps.geometry.to_crs(WGS84), pops.geometry.to_crs(WGS84)])
    return gpd.GeoSeries(points.to_numpy(), crs=WGS84)


def reach_beyond_sites(
    routes: gpd.GeoDataFrame, gps: gpd.GeoDataFrame, pops: gpd.GeoDataFrame
) -> float:
    """How far (metres) ``routes`` run beyond the convex hull of the sites (0 when inside)."""
    if not len(routes):
        return 0.0
    hull = _hull(_site_points(gps, pops))
    return float(routes.geometry.to_crs(hull.crs).distance(hull.iloc[0]).max())


def partition_data(
    loaded: Loaded, key: str, gp_ids: Sequence[str], pop_ids: Sequence[str], buffer_m: float
) -> PartitionData:
    """The sites of partition ``key`` and the roads and right-of-way features near them."""
    gps = loaded.gps.loc[list(gp_ids)]
    pops = loaded.pops.loc[list(pop_ids)]
    region = partition_region(gps, pops, buffer_m)
    hits = _intersecting(loaded.roads, region)
    if not len(hits) and len(loaded.roads):  # the sites are far from every road: their nearest
        points = _site_points(gps, pops).to_crs(loaded.roads.crs)  # ones say how far
        hits = np.unique(loaded.roads.sindex.nearest(points.to_numpy())[1])
    roads = loaded.roads.iloc[hits]
    around = _reach(roads, region)
    layers = tuple(_layer_part(layer, around) for layer in loaded.layers)
    return PartitionData(key=key, gps=gps, pops=pops, roads=roads, layers=layers)


# ------------------------------------------------------------------------- one partition
def build_partition(data: PartitionData, *, options: NetworkOptions, crs: Any) -> Any:
    """The :class:`~netplan.Planner` of one partition (its network built, no progress bars)."""
    from netplan.planner import Planner

    log.info(
        "partition %r: %d GPs, %d PoPs, %d road lines",
        data.key, len(data.gps), len(data.pops), len(data.roads),
    )  # fmt: skip
    return Planner._on_loaded(
        data.gps, data.pops, data.roads, data.layers, options=options, crs=crs, progress=False
    )


def design_partition(
    planner: Any,
    design: DesignOptions,
    costs: Sequence[CostModel],
    selected: tuple[str, ...] | None,
) -> list[Designed]:
    """One partition's designed variants, one per cost model."""
    return [planner._design(design, c, selected) for c in costs]


def _build_from_loaded(
    loaded: Loaded,
    key: str,
    gp_ids: Sequence[str],
    pop_ids: Sequence[str],
    buffer_m: float,
    options: NetworkOptions,
    crs: Any,
) -> Any:
    """A cluster task: select partition ``key`` from the scattered layers and build it."""
    data = partition_data(loaded, key, gp_ids, pop_ids, buffer_m)
    return build_partition(data, options=options, crs=crs)


# ------------------------------------------------------------------------------- merge
def _rebase_segments(frame: pd.DataFrame, offset: int) -> pd.DataFrame:
    """``segment_id`` and ``segment_ids`` (";"-joined) columns moved up by ``offset``."""
    if not offset or not ({"segment_id", "segment_ids"} & set(frame.columns)):
        return frame
    frame = frame.copy()
    if "segment_id" in frame.columns:
        frame["segment_id"] = frame["segment_id"] + offset
    if "segment_ids" in frame.columns:
        frame["segment_ids"] = [
            ";".join(str(int(t) + offset) for t in str(v).split(";") if t)
            for v in frame["segment_ids"]
        ]
    return frame


def _concat_tables(name: str, tables: list[Any]) -> Any:
    """Tables of one field of every partition as one (ids checked unique)."""
    present = [t for t in tables if t is not None]
    if not present:
        return None
    bad = [type(t).__name__ for t in present if not isinstance(t, pd.DataFrame | pd.Series)]
    if bad:
        raise TypeError(
            f"Designed.{name} is a {bad[0]}, which netplan.partition cannot merge across "
            "partitions; make it a table (DataFrame or Series) or teach concat_designed to merge it"
        )
    rows = [t for t in present if len(t)] or present[:1]
    positional = all(isinstance(t.index, pd.RangeIndex) for t in rows)
    out = pd.concat(rows, ignore_index=positional) if len(rows) > 1 else rows[0].copy()
    if isinstance(present[0], gpd.GeoDataFrame) and not isinstance(out, gpd.GeoDataFrame):
        out = gpd.GeoDataFrame(out, geometry=present[0].geometry.name, crs=present[0].crs)
    if not positional and not out.index.is_unique:
        repeated = out.index[out.index.duplicated()].unique()[:5].tolist()
        raise ValueError(f"partitions overlap: Designed.{name} repeats ids {repeated}")
    return out


def concat_designed(parts: Sequence[tuple[str, Designed]]) -> Designed:
    """The designed variants of several partitions as one.

    Every field is merged the same way: tables are concatenated in partition order (tables
    indexed by ids must not repeat one); ``segment_id``/``segment_ids`` columns are renumbered
    so they stay unique; routes gain a ``partition`` column (their ``edge_id`` is an id of the
    partition's own network). A field that is not a table raises ``TypeError``.

    Parameters
    ----------
    parts
        ``(partition, designed)`` pairs, in partition order.
    """
    if not parts:
        raise ValueError("concat_designed needs at least one partition")
    offsets = np.concatenate([[0], np.cumsum([len(d.routes) for _, d in parts])[:-1]])
    rebased = [
        {
            f.name: (
                _rebase_segments(v, int(off)) if isinstance(v := getattr(d, f.name), pd.DataFrame)
                else v
            )
            for f in dataclasses.fields(d)
        }
        for (_, d), off in zip(parts, offsets, strict=True)
    ]  # fmt: skip
    for (key, _), fields in zip(parts, rebased, strict=True):
        routes = fields["routes"].copy()
        routes.insert(int(routes.columns.get_loc("segment_id")) + 1, "partition", key)
        fields["routes"] = routes
    names = [f.name for f in dataclasses.fields(parts[0][1])]
    merged = {n: _concat_tables(n, [fields[n] for fields in rebased]) for n in names}
    return type(parts[0][1])(**merged)


def _with_left_out(made: Designed, left_out: pd.Series) -> Designed:
    """``made`` with the GPs that no partition planned, as unassigned with their reasons."""
    if not len(left_out):
        return made
    rows = pd.DataFrame(
        {
            "pop_id": pd.Series([None] * len(left_out), index=left_out.index, dtype=object),
            "network_m": np.nan,
            "reason": left_out.astype(str),
            "spur_m": np.nan,
        }
    )
    assignment = pd.concat([made.assignment, rows.reindex(columns=made.assignment.columns)])
    route_m = pd.concat([made.route_m, pd.Series(np.nan, index=left_out.index)])
    return dataclasses.replace(made, assignment=assignment, route_m=route_m)


# ------------------------------------------------------------------------------- driver
class Partitions:
    """The partitions of a planner and the engine that plans them.

    Built by :class:`~netplan.Planner` with ``partition_by=``; see the module docs for the rules.

    Parameters
    ----------
    gps, pops, roads, layers
        The whole planner's loaded, validated layers.
    scheme
        How the work is split.
    options, crs
        How each partition's network is built.
    client
        A ``dask.distributed.Client``, or None to plan in this process.
    progress
        Show a progress bar over the partitions.

    Attributes
    ----------
    scheme, members, keys, client
        The split, each site's partition, the partitions in order, and the Dask client.
    """

    def __init__(
        self,
        gps: gpd.GeoDataFrame,
        pops: gpd.GeoDataFrame,
        roads: gpd.GeoDataFrame,
        layers: tuple[RowLayer, ...],
        *,
        scheme: Partitioning,
        options: NetworkOptions,
        crs: Any,
        client: Any = None,
        progress: bool = True,
    ) -> None:
        self.scheme = scheme
        self.members = membership(gps, pops, scheme)
        self.keys = self.members.keys
        self.client = client
        self._loaded = Loaded(gps, pops, roads, tuple(layers))
        self._options, self._crs, self._progress = options, crs, progress
        self._planners: dict[str, Any] = {} if client is None else self._submit_planners()

    def __repr__(self) -> str:
        engine = "in-process" if self.client is None else f"on {self.client!r}"
        return f"<Partitions by {self.scheme.column!r}: {len(self.keys)} partitions, {engine}>"

    def _size(self, key: str) -> int:
        return len(self.members.gp_ids(key))

    def data(self, key: str) -> PartitionData:
        """The sites, roads and right-of-way features partition ``key`` is planned from."""
        m = self.members
        return partition_data(
            self._loaded, key, m.gp_ids(key), m.pop_ids(key), self.scheme.buffer_m
        )

    def _submit_planners(self) -> dict[str, Any]:
        """Scatter the layers once and build every partition's planner on the cluster."""
        shared = self.client.scatter(self._loaded, broadcast=False, hash=False)
        m = self.members
        return {
            key: self.client.submit(
                _build_from_loaded,
                shared,
                key,
                list(m.gp_ids(key)),
                list(m.pop_ids(key)),
                self.scheme.buffer_m,
                self._options,
                self._crs,
                pure=False,
                priority=self._size(key),  # largest first: the last task to finish is small
            )
            for key in self.keys
        }

    def _selected(self, key: str, selected: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if selected is None:
            return None
        mine = set(self.members.pop_ids(key))
        return tuple(p for p in selected if p in mine)

    def design(
        self,
        design: DesignOptions,
        costs: Sequence[CostModel],
        selected: tuple[str, ...] | None = None,
    ) -> list[Designed]:
        """One merged :class:`~netplan._assemble.Designed` per cost model, for the PoPs
        ``selected`` (default all) and their GPs."""
        keys = [k for k in self.keys if self._selected(k, selected) != ()]
        if self.client is None:
            per = self._design_here(keys, design, costs, selected)
        else:
            per = self._design_on_cluster(keys, design, costs, selected)
        for key in keys:
            self._check_reach(key, per[key][0].routes)
        merged = [concat_designed([(k, per[k][i]) for k in keys]) for i in range(len(costs))]
        if selected is None:
            merged = [_with_left_out(m, self.members.left_out) for m in merged]
        return merged

    def _check_reach(self, key: str, routes: gpd.GeoDataFrame) -> None:
        """Warn when a partition's routes come near the edge of the roads it was given."""
        gps = self._loaded.gps.loc[self.members.gp_ids(key)]
        pops = self._loaded.pops.loc[self.members.pop_ids(key)]
        reach = reach_beyond_sites(routes, gps, pops)
        if reach > REACH_WARNING * self.scheme.buffer_m:
            log.warning(
                "partition %r: routes run %.1f km beyond its sites, near the edge of its roads "
                "(partition_buffer_m=%.0f); roads farther out were left out and might give "
                "shorter routes: plan with a larger partition_buffer_m",
                key, reach / 1000, self.scheme.buffer_m,
            )  # fmt: skip

    def _design_here(
        self,
        keys: list[str],
        design: DesignOptions,
        costs: Sequence[CostModel],
        selected: tuple[str, ...] | None,
    ) -> dict[str, list[Designed]]:
        """Each partition in turn: build, design, free its network before the next."""
        out = {}
        for key in tqdm(keys, desc="partitions", unit="partition", disable=not self._progress):
            planner = build_partition(self.data(key), options=self._options, crs=self._crs)
            out[key] = design_partition(planner, design, costs, self._selected(key, selected))
            del planner
        return out

    def _design_on_cluster(
        self,
        keys: list[str],
        design: DesignOptions,
        costs: Sequence[CostModel],
        selected: tuple[str, ...] | None,
    ) -> dict[str, list[Designed]]:
        """Design on the planners kept on the workers; only the designs come back."""
        from distributed import as_completed

        futures = {
            self.client.submit(
                design_partition,
                self._planners[key],
                design,
                list(costs),
                self._selected(key, selected),
                pure=False,
                priority=self._size(key),
            ): key
            for key in keys
        }
        out = {}
        done = tqdm(
            as_completed(futures, with_results=True),
            total=len(futures),
            desc="partitions",
            unit="partition",
            disable=not self._progress,
        )
        for future, result in done:
            out[futures[future]] = result
        return out

    def label(self, plan: Plan) -> Plan:
        """``plan`` with a ``partition`` column in its sites and PoPs."""
        sites = plan.sites.copy()
        sites.insert(1, "partition", self.members.gps.reindex(sites.index).fillna(""))
        pops = plan.pops.copy()
        pops.insert(1, "partition", self.members.pops.reindex(pops.index).fillna(""))
        return dataclasses.replace(plan, sites=sites, pops=pops)
