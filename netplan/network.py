"""Turn raw road lines into a routable network with GPs and PoPs snapped onto it.

:func:`build_network` runs five steps, all vectorised (numpy / shapely 2 / scipy):

1. **Explode and project.** MultiLineStrings become LineStrings; everything moves to a metric CRS
   (``crs``; else the roads' own CRS when it is projected in metres; else the UTM zone of the
   roads' centre). Lines are put in a canonical order (by
   their coordinates), so shuffled input rows give the same network.
2. **Node.** Lines are split wherever they meet: shared end points, a line ending on another
   line's interior (T-junction, overshoot), and proper crossings. Every crossing is noded;
   an over-bridge (a road passing over another without a junction) cannot be told apart from a
   crossing in plain line data, so it becomes a junction too.
3. **Heal.** A dangling end (a node of degree 1) within ``options.heal_tolerance_m`` of another
   road gets a short straight connector edge (``kind="road"``, the attributes of the dangling
   line, ``healed=True``). The target is the nearest point on any other line (that line is
   split there), or a nearby node when that is at most ~1.5 times as far (so gaps at junctions
   close onto the junction instead of creating a sliver). Lines through the dangling line's
   other node are not targets (an overshoot's stub must not heal back onto its own junction).
4. **Snap sites.** Every GP, PoP and facility (service point) is projected onto the nearest road
   *edge*, which is split at the projected point (points within 0.5 m of an existing vertex use
   that vertex). A site farther than 1 m from the road gets a straight ``kind="spur"`` edge to
   that point; a site farther than ``options.max_spur_m`` is unroutable. Sites at the same place
   share a node.
5. **Bridge.** Connected components holding GPs or facilities but no PoP are joined to other
   components by straight ``kind="bridge"`` edges of at most ``options.max_bridge_m``. Candidate
   links join the exact nearest points of two components (a line vertex of one and the nearest
   point on a line of the other, which is split there). All components holding a PoP count as
   one; a minimum spanning forest over the candidates (shortest link first, union-find) is
   pruned of branches ending in a component without GPs or facilities and of trees that reach no
   PoP, so a chain through an empty fragment is used when it is shorter. GPs and facilities left
   in a component without a PoP are unroutable. Bridges are not noded with roads they might
   cross.

Finally nodes are numbered by their (x, y) order, duplicate edges are dropped (the graph keeps the
shortest of parallel edges; ``edges`` and ``arrays()`` keep them all), zero-length
edges and self-loops are dropped, and edges are numbered by their (u, v) node pair.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from functools import cached_property
from typing import Any, NamedTuple

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from tqdm.auto import tqdm

from netplan import _noding as nd
from netplan import _validate as V
from netplan._errors import (
    CoordinateError,
    CRSError,
    DuplicateIdError,
    EmptyLayerError,
    GeometryTypeError,
)
from netplan._reuse import off_road_parts
from netplan.crs import metric_crs_for
from netplan.params import NetworkOptions

__all__ = ["RoadNetwork", "build_network"]

logger = logging.getLogger(__name__)

KINDS = ("road", "spur", "bridge", "existing")
_ROAD, _SPUR, _BRIDGE, _EXISTING = 0, 1, 2, 3
_POP = 1  # site roles: GPs 0, PoPs 1, facilities 2
_VERTEX_SNAP_M = 0.5
"""A snapped or healed point this close to an existing vertex uses that vertex."""
_ON_ROAD_M = 1.0
"""A site this close to a road is placed on it (no spur edge)."""
_AHEAD_COS = float(np.cos(np.radians(30.0)))
"""A node within 30 degrees of the direction in which a dangling line points is "ahead" of it."""
_NODE_PREFERENCE = 1.5
"""Healing prefers a node over the nearest line point when it is at most this many times as far
(plus one metre)."""


# --------------------------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------------------------
class RoadNetwork:
    """A routable road network with snapped sites (see ``docs/architecture.md``).

    Attributes
    ----------
    crs
        The metric CRS of ``edges`` and ``nodes``.
    edges
        GeoDataFrame indexed by ``edge_id`` (0..m-1): ``u``, ``v``, ``length`` (m), ``kind``
        ("road" | "spur" | "bridge"), ``road_class``, ``name``, ``ref``, ``healed`` (True for
        gap-healing connectors), ``source`` (row position in the input roads, -1 for spurs and
        bridges), ``geometry`` oriented from ``u`` to ``v``.
    nodes
        GeoDataFrame indexed by node id (0..n-1): ``x``, ``y``, ``degree``, ``component``,
        point geometry.
    gps, pops, facilities
        DataFrames indexed by site id: ``name``, ``node`` (Int64, <NA> when not snapped),
        ``spur_m`` (length of the spur edge, 0 when on the road, NaN when not snapped),
        ``snap_m`` (distance to the nearest road line), ``component`` (Int64), ``status``
        ("ok" | "unroutable"), ``reason`` ("" when ok). ``facilities`` (service points) is
        empty unless facilities were given; they are snapped and bridged like GPs.
    report
        Counts of the build (see :func:`build_network`).
    """

    def __init__(
        self,
        *,
        crs: pyproj.CRS,
        edges: gpd.GeoDataFrame,
        nodes: gpd.GeoDataFrame,
        gps: pd.DataFrame,
        pops: pd.DataFrame,
        report: dict[str, Any],
        facilities: pd.DataFrame | None = None,
    ) -> None:
        self.crs = crs
        self.edges = edges
        self.nodes = nodes
        self.gps = gps
        self.pops = pops
        self.facilities = gps.iloc[:0].copy() if facilities is None else facilities
        self.report = report

    @cached_property
    def graph(self) -> nx.Graph:
        """The network as a :class:`networkx.Graph` (built on first use, then cached).

        Where parallel roads join the same two nodes the graph holds the shortest; :attr:`edges`
        and :meth:`arrays` hold them all.
        """
        g = nx.Graph()
        g.graph["crs"] = self.crs
        xs = self.nodes["x"].to_numpy()
        ys = self.nodes["y"].to_numpy()
        g.add_nodes_from(
            (int(i), {"x": float(x), "y": float(y)})
            for i, x, y in zip(self.nodes.index, xs, ys, strict=True)
        )
        # longest first, so that the shortest of parallel edges is the one left in the graph
        e = self.edges.iloc[np.argsort(-self.edges["length"].to_numpy(), kind="stable")]
        g.add_edges_from(
            (
                int(u),
                int(v),
                {
                    "edge_id": int(i),
                    "length": float(length),
                    "kind": kind,
                    "road_class": rc,
                    "name": name,
                    "ref": ref,
                },
            )
            for i, u, v, length, kind, rc, name, ref in zip(
                e.index,
                e["u"].to_numpy(),
                e["v"].to_numpy(),
                e["length"].to_numpy(),
                e["kind"].to_numpy(),
                e["road_class"].to_numpy(),
                e["name"].to_numpy(),
                e["ref"].to_numpy(),
                strict=True,
            )
        )
        return g

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Edge end nodes and lengths aligned with :attr:`edges` (for CSR work).

        Returns
        -------
        u, v : numpy.ndarray
            int64 node ids.
        length : numpy.ndarray
            float64 metres.
        """
        return (
            self.edges["u"].to_numpy(dtype=np.int64),
            self.edges["v"].to_numpy(dtype=np.int64),
            self.edges["length"].to_numpy(dtype=np.float64),
        )

    def to_geodataframes(self) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
        """The ``(nodes, edges)`` GeoDataFrames (metric CRS)."""
        return self.nodes, self.edges

    def __repr__(self) -> str:
        r = self.report
        return (
            f"<RoadNetwork {r['nodes']:,} nodes, {r['edges']:,} edges, "
            f"{r['road_km']:,.1f} km of road, {r['components_final']:,} component(s); "
            f"healed {r['healed_gaps']:,} gaps, {r['bridges']:,} bridges "
            f"({r['bridge_km']:.2f} km), {r['spurs']:,} spurs; "
            f"GPs ok {r['gps'] - r['gps_unroutable']:,}/{r['gps']:,}, "
            f"PoPs ok {r['pops'] - r['pops_unroutable']:,}/{r['pops']:,}; "
            f"CRS {self.crs.to_string()}>"
        )


# --------------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------------
def _label(gdf: Any, default: str) -> str:
    return V.label_of(gdf, default) if isinstance(gdf, pd.DataFrame) else default


def _text(frame: pd.DataFrame, column: str) -> np.ndarray:
    return V.text_column(frame.get(column), frame.index).to_numpy(dtype=object)


def _rows(labels: Any) -> str:
    return V.short_list([repr(x) if isinstance(x, str) else str(x) for x in labels], 5)


def _is_metric(crs: Any) -> bool:
    c = pyproj.CRS.from_user_input(crs)
    return bool(c.is_projected) and c.axis_info[0].unit_name in ("metre", "meter")


def _as_gdf(data: Any, what: str) -> gpd.GeoDataFrame:
    if isinstance(data, gpd.GeoSeries):
        data = data.to_frame("geometry")
    if not isinstance(data, gpd.GeoDataFrame):
        raise TypeError(
            f"{what} must be a GeoDataFrame (e.g. from netplan.io), got {type(data).__name__}"
        )
    return data


def _road_geometries(roads: gpd.GeoDataFrame, label: str) -> tuple[np.ndarray, np.ndarray]:
    """The road geometries and which are missing; anything but lines is an error."""
    if roads.crs is None:
        raise CRSError(
            f"{label} has no CRS, so its coordinates cannot be turned into metres; set it with "
            "roads.set_crs('EPSG:4326') (or the CRS the data was made in)"
        )
    if len(roads) == 0:
        raise EmptyLayerError(f"{label} holds no road lines; give a layer with LineStrings")
    geoms = np.asarray(roads.geometry.array, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    type_id = shapely.get_type_id(geoms)
    bad = ~missing & ~np.isin(type_id, (1, 2, 5))
    if bad.any():
        where = np.flatnonzero(bad)
        kinds = sorted(set(shapely.get_type_id(geoms[where]).tolist()))
        names = {0: "Point", 3: "Polygon", 4: "MultiPoint", 6: "MultiPolygon", 7: "Collection"}
        raise GeometryTypeError(
            f"{label}: rows {_rows(roads.index[where])} are not lines "
            f"({', '.join(names.get(k, str(k)) for k in kinds)}); keep only LineString / "
            "MultiLineString features, e.g. roads[roads.geom_type.str.contains('LineString')]"
        )
    if missing.all():
        raise EmptyLayerError(f"{label}: every geometry is empty or missing; no roads to use")
    if missing.any():
        logger.warning(
            "%s: %d road rows without geometry ignored (rows %s)",
            label,
            int(missing.sum()),
            _rows(roads.index[missing]),
        )
    return geoms, missing


def _working_crs(roads: gpd.GeoDataFrame, crs: Any) -> pyproj.CRS:
    """``crs``, else the roads' own CRS when it is in metres, else their UTM zone."""
    try:
        if crs is not None:
            metric = pyproj.CRS.from_user_input(crs)
        elif _is_metric(roads.crs):
            metric = pyproj.CRS.from_user_input(roads.crs)
        else:
            metric = metric_crs_for(roads)
    except pyproj.exceptions.CRSError as exc:
        raise CRSError(f"crs={crs!r} is not a CRS pyproj understands ({exc})") from exc
    if metric.is_geographic:
        raise CRSError(
            f"crs={metric.to_string()} measures in degrees; give a projected (metric) CRS such as "
            "a UTM zone, or leave crs=None to pick one"
        )
    return metric


def _canonical_order(
    xy: np.ndarray, offsets: np.ndarray, keys: list[np.ndarray], ok: np.ndarray
) -> np.ndarray:
    """The usable parts (``ok``) in an order that does not depend on the input's row order: by
    first and last coordinate, vertex count, length, coordinate sums, then the ``keys``."""
    idx = np.flatnonzero(ok)
    counts = np.diff(offsets)
    first = xy[offsets[idx]]
    last = xy[offsets[idx + 1] - 1]
    lengths = nd.LineSet(xy, offsets).lengths()[idx]
    sums = np.add.reduceat(xy, np.minimum(offsets[:-1], len(xy) - 1), axis=0)[idx]
    order = np.lexsort(
        (
            *[k[idx] for k in keys[::-1]],
            sums[:, 1],
            sums[:, 0],
            lengths,
            counts[idx],
            last[:, 1],
            last[:, 0],
            first[:, 1],
            first[:, 0],
        )
    )
    return idx[order]


def _prepare_roads(
    roads: Any, crs: Any
) -> tuple[pyproj.CRS, np.ndarray, np.ndarray, np.ndarray, pd.DataFrame, dict[str, int]]:
    """Validate, project, explode and canonically order the road lines.

    Returns the metric CRS, vertex coordinates, the line of every vertex (lines numbered in
    canonical order), each line's source row position, the attribute table (per source row)
    and counts.
    """
    roads = _as_gdf(roads, "roads")
    label = _label(roads, "the roads layer")
    geoms, missing = _road_geometries(roads, label)
    metric = _working_crs(roads, crs)
    valid_pos = np.flatnonzero(~missing)
    series = gpd.GeoSeries(geoms[valid_pos], crs=roads.crs)
    if not series.crs.equals(metric):
        series = series.to_crs(metric)
    parts, part_row = shapely.get_parts(np.asarray(series.array, dtype=object), return_index=True)
    part_row = valid_pos[part_row]
    xy, vline = shapely.get_coordinates(parts, return_index=True)
    finite = np.isfinite(xy).all(axis=1)
    if not finite.all():
        rows = np.unique(part_row[vline[~finite]])
        raise CoordinateError(
            f"{label}: rows {_rows(roads.index[rows])} have coordinates that are not finite in "
            f"{metric.to_string()}; check that the layer's CRS ({roads.crs.to_string()}) is right "
            "and drop or fix those rows"
        )
    attrs = pd.DataFrame(
        {c: _text(roads, c) for c in ("road_class", "name", "ref")}, index=np.arange(len(roads))
    )
    xy, vline = nd.drop_repeated_vertices(xy, vline)
    counts = np.bincount(vline, minlength=len(parts))
    ok = counts >= 2
    degenerate = int((~ok).sum())
    if degenerate:
        logger.warning("%s: %d lines of a single point ignored", label, degenerate)
    offsets = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    # ties broken by the attributes, then the source row
    keys = [pd.factorize(attrs[c].to_numpy()[part_row], sort=True)[0] for c in attrs]
    idx = _canonical_order(xy, offsets, [*keys, part_row], ok)
    ls = nd.LineSet(xy, offsets).subset(idx)
    counts_out = {
        "input_lines": len(roads),
        "input_parts": len(parts),
        "dropped_lines": int(missing.sum()) + degenerate,
    }
    return metric, ls.xy, ls.line_of_vertex, part_row[idx], attrs, counts_out


def _prepare_sites(sites: Any, what: str, metric: pyproj.CRS) -> tuple[pd.DataFrame, np.ndarray]:
    """Site table (index site ids, column name) and metric coordinates (NaN when missing)."""
    if sites is None:
        empty = pd.DataFrame({"name": pd.Series([], dtype=object)})
        empty.index = pd.Index([], dtype=object, name="site_id")
        return empty, np.zeros((0, 2))
    sites = _as_gdf(sites, what)
    label = _label(sites, f"the {what} layer")
    if len(sites) and sites.crs is None:
        raise CRSError(
            f"{label} has no CRS; set it with .set_crs('EPSG:4326') (or the CRS of the points)"
        )
    ids = pd.Index([str(i) for i in sites.index], dtype=object, name="site_id")
    dup = ids.duplicated(keep=False)
    if dup.any():
        raise DuplicateIdError(
            f"{label}: site ids {_rows(sorted(set(ids[dup])))} occur more than once; "
            "give every site a unique id (the GeoDataFrame index)"
        )
    geoms = np.asarray(sites.geometry.array, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    type_id = shapely.get_type_id(geoms)
    single_multi = (type_id == 4) & (shapely.get_num_geometries(geoms) == 1)
    bad = ~missing & (type_id != 0) & ~single_multi
    if bad.any():
        raise GeometryTypeError(
            f"{label}: sites {_rows(ids[bad])} are not points; give one Point per site "
            "(e.g. use .representative_point() for polygons)"
        )
    geoms = np.where(single_multi, shapely.get_geometry(geoms, 0), geoms)
    xy = np.full((len(sites), 2), np.nan)
    if (~missing).any():
        series = gpd.GeoSeries(geoms[~missing], crs=sites.crs)
        if not series.crs.equals(metric):
            series = series.to_crs(metric)
        xy[~missing] = shapely.get_coordinates(np.asarray(series.array, dtype=object))
    table = pd.DataFrame({"name": _text(sites, "name")}, index=ids)
    return table, xy


# --------------------------------------------------------------------------------------------
# steps
# --------------------------------------------------------------------------------------------
def _components(n: int, u: np.ndarray, v: np.ndarray) -> tuple[int, np.ndarray]:
    if n == 0:
        return 0, np.zeros(0, dtype=np.int64)
    g = sparse.coo_matrix((np.ones(len(u), dtype=np.int8), (u, v)), shape=(n, n))
    k, lab = csgraph.connected_components(g, directed=False)
    return int(k), lab.astype(np.int64)


def _heal(
    ls: nd.LineSet,
    u: np.ndarray,
    v: np.ndarray,
    node_xy: np.ndarray,
    tol: float,
) -> tuple[nd.Events, np.ndarray, np.ndarray, np.ndarray]:
    """Choose connectors for dangling ends.

    Returns the split events on target lines, and for each connector the dangling node, its own
    line and the target coordinates.
    """
    empty = (nd.Events.empty(), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 2)))
    if tol <= 0 or ls.n_lines == 0:
        return empty
    deg = np.bincount(u, minlength=len(node_xy)) + np.bincount(v, minlength=len(node_xy))
    ends = _dangling_ends(deg, u, v)
    if len(ends.node) == 0:
        return empty
    ip, cand, dist = _line_points_near_ends(ls, u, v, node_xy, ends, tol)
    if len(ip) == 0:
        return empty
    cand, interior = nd.normalise_events(ls, cand, snap=_VERTEX_SNAP_M)
    best = _nearest_line_point(ip, cand, dist)
    point = _LinePoint(ip[best], dist[best], interior[best], cand.take(best))
    near = _nodes_near_ends(ls, u, v, node_xy, ends, ip, cand.line, tol)
    tgt_node, tgt_dist = _choose_targets(u, v, node_xy, node_xy[ends.node], point, near)
    acc = _accept_shortest_first(deg, ends.node[point.end], tgt_node, tgt_dist)
    tgt_xy = np.where(
        (tgt_node[acc] >= 0)[:, None],
        node_xy[np.maximum(tgt_node[acc], 0)],
        np.column_stack([point.ev.x[acc], point.ev.y[acc]]),
    )
    split_ev = point.ev.take(acc[tgt_node[acc] < 0])
    return split_ev, ends.node[point.end[acc]], ends.own[point.end[acc]], tgt_xy


class _Ends(NamedTuple):
    """Dangling ends (ordered by node): the dangling node, its own line and that line's other
    node."""

    node: np.ndarray
    own: np.ndarray
    far: np.ndarray


class _LinePoint(NamedTuple):
    """The nearest line point of every end that has one: the end (position in :class:`_Ends`),
    its distance, whether it is interior to its line, and the point as a split event."""

    end: np.ndarray
    dist: np.ndarray
    interior: np.ndarray
    ev: nd.Events


class _NearNodes(NamedTuple):
    """Per end: the nearest node of a candidate line, and the nearest one ahead of the end
    (-1 / inf where none)."""

    node: np.ndarray
    node_d: np.ndarray
    ahead: np.ndarray
    ahead_d: np.ndarray


def _dangling_ends(deg: np.ndarray, u: np.ndarray, v: np.ndarray) -> _Ends:
    """The nodes of degree 1 with the line they end and its other node, ordered by node."""
    lines = np.arange(len(u))
    m1 = deg[u] == 1
    m2 = (deg[v] == 1) & (u != v)
    end = np.concatenate([u[m1], v[m2]])
    own = np.concatenate([lines[m1], lines[m2]])
    far = np.concatenate([v[m1], u[m2]])
    order = np.argsort(end, kind="stable")
    return _Ends(end[order], own[order], far[order])


def _line_points_near_ends(
    ls: nd.LineSet,
    u: np.ndarray,
    v: np.ndarray,
    node_xy: np.ndarray,
    ends: _Ends,
    tol: float,
) -> tuple[np.ndarray, nd.Events, np.ndarray]:
    """Points on other lines within ``tol`` of each end: the end, the point (as an event) and
    the distance. Lines through the end's other node are not candidates (an overshoot's stub
    must not heal back onto its own junction)."""
    tree, rows = nd.segment_tree(ls)
    ip, cand, dist = nd.within_on_segments(ls, tree, rows, node_xy[ends.node], tol)
    cl = cand.line
    keep = (u[cl] != ends.far[ip]) & (v[cl] != ends.far[ip]) & (cl != ends.own[ip])
    return ip[keep], cand.take(np.flatnonzero(keep)), dist[keep]


def _nearest_line_point(ip: np.ndarray, cand: nd.Events, dist: np.ndarray) -> np.ndarray:
    """Index of the nearest candidate point of every end that has one, in end order."""
    o = np.lexsort((cand.k, cand.line, dist, ip))
    first = np.ones(len(o), dtype=bool)
    first[1:] = ip[o][1:] != ip[o][:-1]
    return o[first]


def _end_directions(ls: nd.LineSet, u: np.ndarray, ends: _Ends) -> np.ndarray:
    """Unit vector in which each dangling line points at its dangling end."""
    own = ends.own
    at_start = ends.node == u[own]
    r_end = np.where(at_start, ls.offsets[own], ls.offsets[own + 1] - 1)
    r_nb = np.where(at_start, ls.offsets[own] + 1, ls.offsets[own + 1] - 2)
    direction = ls.xy[r_end] - ls.xy[r_nb]
    direction /= np.maximum(np.hypot(*direction.T), 1e-12)[:, None]
    return direction


def _nodes_near_ends(
    ls: nd.LineSet,
    u: np.ndarray,
    v: np.ndarray,
    node_xy: np.ndarray,
    ends: _Ends,
    ip: np.ndarray,
    cand_line: np.ndarray,
    tol: float,
) -> _NearNodes:
    """Nodes of the candidate lines within ``tol`` of each end, nearest overall and nearest
    ahead (a gap left by a line that stops short of a junction: the junction is straight
    ahead)."""
    direction = _end_directions(ls, u, ends)
    a_xy = node_xy[ends.node]
    n_ip = np.concatenate([ip, ip])
    n_node = np.concatenate([u[cand_line], v[cand_line]])
    off = node_xy[n_node] - a_xy[n_ip]
    n_d = np.hypot(*off.T)
    ok = (n_d <= tol) & (n_node != ends.node[n_ip])
    n_ip, n_node, n_d, off = n_ip[ok], n_node[ok], n_d[ok], off[ok]
    cos = np.einsum("ij,ij->i", off, direction[n_ip]) / np.maximum(n_d, 1e-12)
    n_ends = len(ends.node)
    node_of_end, node_d = _nearest_node_per_end(n_ends, n_ip, n_node, n_d)
    ahead_of_end, ahead_d = _nearest_node_per_end(
        n_ends, *(x[cos >= _AHEAD_COS] for x in (n_ip, n_node, n_d))
    )
    return _NearNodes(node_of_end, node_d, ahead_of_end, ahead_d)


def _choose_targets(
    u: np.ndarray,
    v: np.ndarray,
    node_xy: np.ndarray,
    a_xy: np.ndarray,
    point: _LinePoint,
    near: _NearNodes,
) -> tuple[np.ndarray, np.ndarray]:
    """Per nearest line point: the target node (-1: the line point itself) and the gap length.

    The line point when it falls on a line end (that node); else a node ahead unless the
    connector would run through the nearest line point; else a node that is not much farther
    than the nearest line point; else the line point itself.
    """
    b_end, b_dist, b_ev = point.end, point.dist, point.ev
    tgt_node = np.full(len(b_end), -1, dtype=np.int64)
    at_end_node = ~point.interior
    ln = b_ev.line[at_end_node]
    tgt_node[at_end_node] = np.where(b_ev.k[at_end_node] == 0, u[ln], v[ln])
    ahead = near.ahead[b_end]
    ahead_xy = node_xy[np.maximum(ahead, 0)]
    a_b = a_xy[b_end]
    _, q_off, _, _ = nd.point_segment(
        b_ev.x, b_ev.y, a_b[:, 0], a_b[:, 1], ahead_xy[:, 0], ahead_xy[:, 1]
    )
    through = (q_off <= _VERTEX_SNAP_M) & (b_dist < near.ahead_d[b_end] - _VERTEX_SNAP_M)
    use_ahead = (tgt_node < 0) & (ahead >= 0) & ~through
    tgt_node[use_ahead] = ahead[use_ahead]
    prefer = (
        (tgt_node < 0)
        & (near.node[b_end] >= 0)
        & (near.node_d[b_end] <= _NODE_PREFERENCE * b_dist + 1.0)
    )
    tgt_node[prefer] = near.node[b_end[prefer]]
    node_gap = np.hypot(*(node_xy[np.maximum(tgt_node, 0)] - a_b).T)
    return tgt_node, np.where(tgt_node >= 0, node_gap, b_dist)


def _accept_shortest_first(
    deg: np.ndarray, end_node: np.ndarray, tgt_node: np.ndarray, tgt_dist: np.ndarray
) -> np.ndarray:
    """The connectors accepted shortest first (ordered by dangling node); an end that became
    connected as someone's target stays as it is."""
    deg_now = deg.copy()
    accepted: list[int] = []
    for i in np.lexsort((end_node, tgt_dist)).tolist():
        a = end_node[i]
        t = tgt_node[i]
        if deg_now[a] > 1 or t == a:
            continue
        deg_now[a] += 1
        if t >= 0:
            deg_now[t] += 1
        accepted.append(i)
    acc = np.asarray(accepted, dtype=np.int64)
    return acc[np.argsort(end_node[acc], kind="stable")]


def _nearest_node_per_end(
    n_ends: int, ip: np.ndarray, node: np.ndarray, dist: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The nearest candidate node of every end (-1 / inf where none)."""
    best_node = np.full(n_ends, -1, dtype=np.int64)
    best_d = np.full(n_ends, np.inf)
    if len(ip):
        o = np.lexsort((node, dist, ip))
        first = np.ones(len(o), dtype=bool)
        first[1:] = ip[o][1:] != ip[o][:-1]
        nb = o[first]
        best_node[ip[nb]] = node[nb]
        best_d[ip[nb]] = dist[nb]
    return best_node, best_d


class _Fragments:
    """The road components (fragments) of a line set: their unique vertices, segments and
    bounding boxes, and the nearest points between two of them."""

    def __init__(self, ls: nd.LineSet, lab_of_line: np.ndarray, ncomp: int) -> None:
        self.ls = ls
        vline = ls.line_of_vertex
        o = np.lexsort((np.arange(len(ls.xy)), ls.xy[:, 1], ls.xy[:, 0]))
        sxy = ls.xy[o]
        first = np.ones(len(o), dtype=bool)
        first[1:] = np.any(sxy[1:] != sxy[:-1], axis=1)
        self.vrow = o[first]  # a vertex row of every distinct position
        self.vxy = ls.xy[self.vrow]
        vl = lab_of_line[vline[self.vrow]]
        self.v_members = _group(vl, ncomp)
        seg_rows = ls.segment_rows()
        self.s_members = [seg_rows[m] for m in _group(lab_of_line[vline[seg_rows]], ncomp)]
        self.lo = np.full((ncomp, 2), np.inf)
        self.hi = np.full((ncomp, 2), -np.inf)
        np.minimum.at(self.lo, vl, self.vxy)
        np.maximum.at(self.hi, vl, self.vxy)
        self._trees: dict[int, shapely.STRtree] = {}

    def boxes(self) -> np.ndarray:
        return shapely.box(self.lo[:, 0], self.lo[:, 1], self.hi[:, 0], self.hi[:, 1])

    def _segment_tree(self, c: int) -> shapely.STRtree:
        if c not in self._trees:
            r = self.s_members[c]
            self._trees[c] = shapely.STRtree(
                shapely.linestrings(np.stack([self.ls.xy[r], self.ls.xy[r + 1]], axis=1))
            )
        return self._trees[c]

    def nearest(self, a: int, b: int, max_m: float) -> tuple[float, int, int]:
        """Nearest (distance, vertex of ``a``, segment row of ``b``) within ``max_m``."""
        pts = self.v_members[a]
        p = self.vxy[pts]
        near = np.all((p >= self.lo[b] - max_m) & (p <= self.hi[b] + max_m), axis=1)
        if not near.any():
            return np.inf, -1, -1
        pts = pts[near]
        (ip, iseg), d = self._segment_tree(b).query_nearest(
            shapely.points(self.vxy[pts]), max_distance=max_m, return_distance=True
        )
        if len(ip) == 0:
            return np.inf, -1, -1
        rows_b = self.s_members[b][iseg]
        best = np.lexsort((rows_b, pts[ip], d))[0]
        return float(d[best]), int(pts[ip[best]]), int(rows_b[best])

    def gap_to(self, targets: np.ndarray, components: Iterable[int]) -> dict[int, float]:
        """Distance from each of ``components`` to the nearest road of the ``targets``."""
        rows = np.concatenate([self.s_members[c] for c in targets])
        tree = shapely.STRtree(
            shapely.linestrings(np.stack([self.ls.xy[rows], self.ls.xy[rows + 1]], axis=1))
        )
        gap: dict[int, float] = {}
        for c in components:
            _, d = tree.query_nearest(
                shapely.points(self.vxy[self.v_members[c]]),
                return_distance=True,
                all_matches=False,
            )
            gap[c] = float(d.min()) if len(d) else np.inf
        return gap


_Link = tuple[float, int, int, int, int]  # distance, vertex, segment row, from comp, to comp


def _candidate_links(frags: _Fragments, has_pop: np.ndarray, max_bridge: float) -> list[_Link]:
    """The shortest link between every two nearby components (not both holding a PoP), tried
    both ways (which finds the exact nearest points of two polylines), shortest first."""
    ca, cb = shapely.STRtree(frags.boxes()).query(
        frags.boxes(), predicate="dwithin", distance=max_bridge
    )
    keep = (ca < cb) & ~(has_pop[ca] & has_pop[cb])
    cand: list[_Link] = []
    for a, b in zip(ca[keep].tolist(), cb[keep].tolist(), strict=True):
        d1, p1, r1 = frags.nearest(a, b, max_bridge)
        d2, p2, r2 = frags.nearest(b, a, max_bridge)
        if min(d1, d2) > max_bridge:
            continue
        if (d1, p1, r1) <= (d2, p2, r2):
            cand.append((d1, p1, r1, a, b))
        else:
            cand.append((d2, p2, r2, b, a))
    return sorted(cand)


def _union_pops(ncomp: int, has_pop: np.ndarray) -> _UnionFind:
    """A union-find with every component that holds a PoP already joined."""
    uf = _UnionFind(ncomp)
    good = int(np.flatnonzero(has_pop)[0])
    for c in np.flatnonzero(has_pop).tolist():
        uf.union(c, good)
    return uf


def _spanning_links(
    cand: list[_Link], ncomp: int, has_gp: np.ndarray, has_pop: np.ndarray
) -> tuple[list[_Link], np.ndarray]:
    """A minimum spanning forest over the candidates (all PoP components being one), pruned of
    branches that end in a component with no GP and of trees without a PoP; and which
    components then reach a PoP."""
    good = int(np.flatnonzero(has_pop)[0])
    group = np.where(has_pop, good, np.arange(ncomp))
    uf = _union_pops(ncomp, has_pop)
    links = [link for link in cand if uf.union(link[3], link[4])]
    while True:
        deg: dict[int, int] = {}
        for link in links:
            for c in (group[link[3]], group[link[4]]):
                deg[c] = deg.get(c, 0) + 1
        dead = {c for c, k in deg.items() if k == 1 and c != good and not has_gp[c]}
        if not dead:
            break
        links = [lk for lk in links if group[lk[3]] not in dead and group[lk[4]] not in dead]
    uf = _union_pops(ncomp, has_pop)
    for link in links:
        uf.union(link[3], link[4])
    root = np.array([uf.find(c) for c in range(ncomp)])
    reaches = root == root[good]
    return [lk for lk in links if reaches[lk[3]]], reaches


def _bridge(
    ls: nd.LineSet,
    u: np.ndarray,
    v: np.ndarray,
    node_xy: np.ndarray,
    gp_nodes: np.ndarray,
    pop_nodes: np.ndarray,
    max_bridge: float,
) -> tuple[nd.Events, np.ndarray, np.ndarray, np.ndarray, dict[int, float]]:
    """Choose bridge links between components.

    Candidate links join the nearest points of every two components within ``max_bridge`` (a
    vertex of one and the nearest point on a segment of the other, tried both ways, which finds
    the exact nearest points of two polylines). All components holding a PoP count as one; a
    minimum spanning forest over the candidates (shortest link first, union-find) is pruned of
    branches that end in a component with no GP, and of trees without a PoP.

    Returns split events at both ends of every bridge, the bridge end coordinates (a, b), the
    component label of every node (before bridging) and, for every GP-holding component still
    without a PoP, the distance to the nearest road leading to one (``inf`` if none).
    """
    ncomp, lab = _components(len(node_xy), u, v)
    has_gp = np.zeros(ncomp, dtype=bool)
    has_pop = np.zeros(ncomp, dtype=bool)
    has_gp[lab[gp_nodes]] = True
    has_pop[lab[pop_nodes]] = True
    nothing = (nd.Events.empty(), np.zeros((0, 2)), np.zeros((0, 2)), lab)
    if not (has_gp & ~has_pop).any():
        return (*nothing, {})
    frags = _Fragments(ls, lab[u], ncomp)  # a line's component is its first node's
    cand = _candidate_links(frags, has_pop, max_bridge)
    links, reaches = _spanning_links(cand, ncomp, has_gp, has_pop)
    left_bad = np.flatnonzero(has_gp & ~reaches)
    gap = frags.gap_to(np.flatnonzero(reaches), left_bad.tolist()) if len(left_bad) else {}
    if not links:
        return (*nothing, gap)
    vert = np.array([lk[1] for lk in links])
    seg = np.array([lk[2] for lk in links])
    rows = frags.vrow[vert]
    line = ls.line_of_vertex[rows]
    vxy = frags.vxy
    ev_a = nd.Events(line, rows - ls.offsets[line], np.zeros(len(rows)), vxy[vert, 0], vxy[vert, 1])
    ev_b, _ = nd.project_on_segments(ls, seg, vxy[vert, 0], vxy[vert, 1])
    ev_b, _ = nd.normalise_events(ls, ev_b, snap=_VERTEX_SNAP_M)
    return (
        nd.Events.concat([ev_a, ev_b]),
        vxy[vert],
        np.column_stack([ev_b.x, ev_b.y]),
        lab,
        gap,
    )


def _group(labels: np.ndarray, n: int) -> list[np.ndarray]:
    """Indices of ``labels`` per label 0..n-1."""
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(n + 1))
    return [order[bounds[c] : bounds[c + 1]] for c in range(n)]


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        self.parent[max(ra, rb)] = min(ra, rb)
        return True


# --------------------------------------------------------------------------------------------
# public
# --------------------------------------------------------------------------------------------
def build_network(
    roads: gpd.GeoDataFrame,
    *,
    gps: gpd.GeoDataFrame | None = None,
    pops: gpd.GeoDataFrame | None = None,
    facilities: gpd.GeoDataFrame | None = None,
    options: NetworkOptions = NetworkOptions(),  # noqa: B008 - frozen, immutable
    crs: Any = None,
    progress: bool = True,
    existing: gpd.GeoDataFrame | None = None,
) -> RoadNetwork:
    """Node, heal and bridge road lines and snap GPs, PoPs and service points onto them.

    Parameters
    ----------
    roads
        Road lines (LineString / MultiLineString) in any CRS (the CRS must be set). Optional
        columns ``road_class``, ``name``, ``ref`` are carried to the edges ("" when missing).
    gps, pops
        Site points in any CRS, indexed by site id (ids are turned into strings), optional column
        ``name``. Sites without geometry are kept as unroutable.
    facilities
        Service points (hospitals, schools, ...), snapped and bridged like GPs.
    options
        Healing tolerance, maximum spur and bridge lengths.
    crs
        Metric CRS to work in. By default the roads' own CRS when it is projected in metres,
        else the UTM zone of the roads' centre (:func:`netplan.crs.metric_crs_for`).
    progress
        Show a progress bar over the build steps.
    existing
        Existing fibre lines (any CRS). Their stretches away from every road (farther than
        ``options.reuse_corridor_m``) join the network as ``kind="existing"`` edges, noded where
        they meet roads and extended to the nearest road where they come back to one
        (:func:`netplan._reuse.off_road_parts`); sites snap onto them as onto roads.

    Returns
    -------
    RoadNetwork
        The network. ``report`` holds: ``input_lines``, ``input_parts``, ``dropped_lines``,
        ``input_km``, ``noded_edges``, ``components_noded``, ``healed_gaps``, ``healed_m``,
        ``components_healed``, ``spurs``, ``spur_km``, ``components_snapped``, ``bridges``,
        ``bridge_km``, ``components_final``, ``nodes``, ``edges``, ``road_km``,
        ``duplicates_dropped``, ``self_loops_dropped``, ``gps``, ``gps_unroutable``, ``pops``,
        ``pops_unroutable``, ``facilities``, ``facilities_unroutable``, ``existing_km``
        (off-road existing fibre added), ``seconds``.

    Raises
    ------
    CRSError
        A layer has no CRS, or ``crs`` is not metric.
    EmptyLayerError
        The roads hold no usable line.
    GeometryTypeError
        Roads that are not lines, or sites that are not points.
    DuplicateIdError
        Two sites of one layer share an id.

    Examples
    --------
    >>> import netplan
    >>> sample = netplan.datasets.load_sample()
    >>> net = netplan.build_network(
    ...     sample["roads"], gps=sample["gps"], pops=sample["pops"], progress=False
    ... )
    >>> bool((net.gps["status"] == "ok").all()), net.crs.to_epsg()
    (True, 32644)
    """
    t_start = time.perf_counter()
    bar = tqdm(total=6, desc="road network", disable=not progress, leave=False)
    bar.set_postfix_str("reading")
    metric, xy, vline, line_src, attrs, counts = _prepare_roads(roads, crs)
    gp_table, gp_xy = _prepare_sites(gps, "gps", metric)
    pop_table, pop_xy = _prepare_sites(pops, "pops", metric)
    fac_table, fac_xy = _prepare_sites(facilities, "facilities", metric)
    ls = nd.LineSet.from_parts(xy, vline, int(vline.max()) + 1 if len(vline) else 0)
    if ls.n_lines == 0:
        raise EmptyLayerError(
            f"{_label(roads, 'the roads layer')}: no road line has two distinct points"
        )
    report: dict[str, Any] = dict(counts)
    report["input_km"] = float(ls.lengths().sum() / 1000.0)
    ls, line_src, line_kind = _with_existing(ls, line_src, existing, metric, options, report)
    bar.update()
    work = _Work(ls, line_src, line_kind)
    bar.set_postfix_str("noding")
    _node(work, report)
    bar.update()
    bar.set_postfix_str("healing")
    _heal_gaps(work, options.heal_tolerance_m, report)
    bar.update()
    bar.set_postfix_str("snapping sites")
    sites = _Sites(np.concatenate([gp_xy, pop_xy, fac_xy]), counts=(len(gp_xy), len(pop_xy)))
    _snap_sites(work, sites, options.max_spur_m, report)
    bar.update()
    bar.set_postfix_str("bridging")
    _bridge_fragments(work, sites, options.max_bridge_m, report)
    bar.update()
    bar.set_postfix_str("numbering")
    edges, nodes, site_node = _finalise(work, sites.node_pt[sites.snapped], attrs, metric, report)
    gp_out, pop_out, fac_out = _site_tables(
        (gp_table, pop_table, fac_table), sites, site_node, nodes["component"].to_numpy(), options
    )
    _count_sites(report, gp_out, pop_out, fac_out)
    report["seconds"] = round(time.perf_counter() - t_start, 2)
    bar.update()
    bar.close()
    _log_build(report)
    return RoadNetwork(
        crs=metric,
        edges=edges,
        nodes=nodes,
        gps=gp_out,
        pops=pop_out,
        facilities=fac_out,
        report=report,
    )


class _Sites:
    """Every site (GPs first, then PoPs, then facilities) while the network is built: metric
    coordinates, where it sits on the network, and the distances measured on the way."""

    def __init__(self, xy: np.ndarray, *, counts: tuple[int, int]) -> None:
        self.xy = xy
        n_gp, n_pop = counts
        self.role = np.repeat(np.arange(3, dtype=np.int8), [n_gp, n_pop, len(xy) - n_gp - n_pop])
        self.has_xy = np.isfinite(xy).all(axis=1)
        self.snap_m = np.full(len(xy), np.nan)  # distance to the nearest road line
        self.spur_m = np.full(len(xy), np.nan)  # length of the spur edge (0 on the road)
        self.node_pt = np.full((len(xy), 2), np.nan)  # where its network node is
        self.snapped = np.zeros(len(xy), dtype=bool)
        self.gap_m = np.full(len(xy), np.inf)  # left on a fragment: gap to a PoP's network

    @property
    def snapped_pop(self) -> np.ndarray:
        """Among the snapped sites (in order), which are PoPs."""
        return self.role[self.snapped] == _POP


def _node(work: _Work, report: dict[str, Any]) -> None:
    """Split lines wherever they meet: shared ends, T-junctions, overshoots, crossings."""
    ls = work.ls
    ev = nd.intersection_events(ls)
    ev, interior = nd.normalise_events(ls, ev)
    ls, parent = nd.split_lines(ls, ev.take(np.flatnonzero(interior)))
    work.reset(ls, work.src[parent], work.kind[parent])
    u, v, _, node_xy = nd.assign_nodes(ls)
    report["noded_edges"] = ls.n_lines
    report["components_noded"] = _components(len(node_xy), u, v)[0]


def _heal_gaps(work: _Work, tolerance_m: float, report: dict[str, Any]) -> None:
    """Join dangling ends to a nearby road by short connector edges (see module docs)."""
    u, v, _, node_xy = nd.assign_nodes(work.ls)
    split_ev, h_end, h_own, h_tgt = _heal(work.ls, u, v, node_xy, tolerance_m)
    report["healed_m"] = 0.0
    if len(h_end):
        conn_src, conn_cid = work.src[h_own], work.cid[h_own]
        work.split(split_ev, snap=_VERTEX_SNAP_M)
        conn = nd.LineSet.straight(node_xy[h_end], h_tgt)
        work.add(conn, _ROAD, src=conn_src, cid=conn_cid, healed=True)
        report["healed_m"] = float(np.hypot(*(node_xy[h_end] - h_tgt).T).sum())
    report["healed_gaps"] = len(h_end)
    u, v, _, node_xy = nd.assign_nodes(work.ls)
    report["components_healed"] = _components(len(node_xy), u, v)[0]


def _snap_sites(work: _Work, sites: _Sites, max_spur_m: float, report: dict[str, Any]) -> None:
    """Put every site within ``max_spur_m`` of a road onto its nearest edge (split there), with
    a spur edge when it is off the road."""
    idx = np.flatnonzero(sites.has_xy)
    report["spurs"], report["spur_km"] = 0, 0.0
    if not len(idx):
        return
    tree, rows = nd.segment_tree(work.ls)
    sev, sd = nd.nearest_on_segments(work.ls, tree, rows, sites.xy[idx])
    del tree
    sites.snap_m[idx] = sd
    ok = sd <= max_spur_m
    sev, _ = nd.normalise_events(work.ls, sev, snap=_VERTEX_SNAP_M)
    q = np.column_stack([sev.x, sev.y])
    on_road = sd <= _ON_ROAD_M
    sites.snapped[idx[ok]] = True
    sites.node_pt[idx] = np.where(on_road[:, None], q, sites.xy[idx])
    sites.spur_m[idx[ok]] = np.where(on_road[ok], 0.0, np.hypot(*(sites.xy[idx] - q)[ok].T))
    work.split(sev.take(np.flatnonzero(ok)), snap=_VERTEX_SNAP_M)
    spur = ok & ~on_road
    if spur.any():
        pairs = np.unique(np.column_stack([sites.xy[idx[spur]], q[spur]]), axis=0)
        spurs = nd.LineSet.straight(pairs[:, :2], pairs[:, 2:])
        report["spurs"] = spurs.n_lines
        report["spur_km"] = float(spurs.lengths().sum() / 1000.0)
        work.add(spurs, _SPUR)


def _bridge_fragments(
    work: _Work, sites: _Sites, max_bridge_m: float, report: dict[str, Any]
) -> None:
    """Join road fragments holding GPs or facilities but no PoP to the network of a PoP (see
    module docs)."""
    u, v, sn_node, node_xy = nd.assign_nodes(work.ls, sites.node_pt[sites.snapped])
    report["bridges"], report["bridge_km"] = 0, 0.0
    report["components_snapped"] = _components(len(node_xy), u, v)[0]
    gp_nodes = sn_node[~sites.snapped_pop]  # GPs and facilities
    pop_nodes = sn_node[sites.snapped_pop]
    if not (len(gp_nodes) and len(pop_nodes)):
        return
    bev, ba, bb, lab0, gap = _bridge(work.ls, u, v, node_xy, gp_nodes, pop_nodes, max_bridge_m)
    if gap:
        gp_pos = np.flatnonzero(sites.snapped)[~sites.snapped_pop]
        sites.gap_m[gp_pos] = [gap.get(int(c), np.inf) for c in lab0[gp_nodes]]
    if len(ba):
        work.split(bev, snap=nd.EPS_M)
        bridges = nd.LineSet.straight(ba, bb)
        report["bridges"] = bridges.n_lines
        report["bridge_km"] = float(bridges.lengths().sum() / 1000.0)
        work.add(bridges, _BRIDGE)


def _site_status(
    sites: _Sites, node_all: np.ndarray, comp_all: np.ndarray, options: NetworkOptions
) -> tuple[np.ndarray, np.ndarray]:
    """Each site's status ("ok" | "unroutable") and the reason when it is unroutable."""
    status = np.where(sites.snapped, "ok", "unroutable").astype(object)
    reason = np.full(len(sites.xy), "", dtype=object)
    reason[~sites.has_xy] = "has no location (missing or empty geometry)"
    for i in np.flatnonzero(sites.has_xy & ~sites.snapped).tolist():
        reason[i] = (
            f"farther than {options.max_spur_m:g} m from any road "
            f"(nearest road {sites.snap_m[i]:.0f} m)"
        )
    is_pop = sites.role == _POP
    if not is_pop.any() or is_pop.all():
        return status, reason
    pop_comps = np.unique(comp_all[is_pop & sites.snapped])
    lost = sites.snapped & ~is_pop & ~np.isin(comp_all, pop_comps)
    for i in np.flatnonzero(lost).tolist():
        status[i] = "unroutable"
        if len(pop_comps) == 0:
            reason[i] = "no PoP could be placed on the road network (all PoPs are unroutable)"
        else:
            near = sites.gap_m[i]
            where = f"{near:.0f} m away" if np.isfinite(near) else "none found"
            reason[i] = (
                f"its road fragment does not reach any PoP within a {options.max_bridge_m:g} m "
                f"bridge (nearest road network with a PoP: {where})"
            )
    return status, reason


def _site_tables(
    tables: tuple[pd.DataFrame, ...],
    sites: _Sites,
    site_node: np.ndarray,
    component: np.ndarray,
    options: NetworkOptions,
) -> list[pd.DataFrame]:
    """The GP, PoP and facility tables of the network: node, spur, snap distance, component,
    status."""
    node_all = np.full(len(sites.xy), -1, dtype=np.int64)
    node_all[sites.snapped] = site_node
    comp_all = np.where(node_all >= 0, component[np.maximum(node_all, 0)], -1)
    status, reason = _site_status(sites, node_all, comp_all, options)
    out = []
    for role, table in enumerate(tables):
        sl = sites.role == role
        frame = table.copy()
        frame["node"] = pd.array(np.where(node_all[sl] >= 0, node_all[sl], 0), dtype="Int64")
        frame.loc[node_all[sl] < 0, "node"] = pd.NA
        frame["spur_m"] = sites.spur_m[sl]
        frame["snap_m"] = sites.snap_m[sl]
        comp = pd.array(np.maximum(comp_all[sl], 0), dtype="Int64")
        comp[comp_all[sl] < 0] = pd.NA
        frame["component"] = comp
        frame["status"] = status[sl].astype(str)
        frame["reason"] = reason[sl].astype(str)
        out.append(frame)
    return out


def _count_sites(report: dict[str, Any], *tables: pd.DataFrame) -> None:
    for name, table in zip(("gps", "pops", "facilities"), tables, strict=True):
        report[name] = len(table)
        report[f"{name}_unroutable"] = int((table["status"] != "ok").sum())


def _log_build(report: dict[str, Any]) -> None:
    logger.info(
        "road network: %d lines -> %d nodes, %d edges (%.1f km road); healed %d gaps; "
        "%d bridges (%.2f km); %d spurs; components %d -> %d; unroutable GPs %d/%d, PoPs %d/%d "
        "(%.1f s)",
        *(
            report[k]
            for k in (
                "input_lines",
                "nodes",
                "edges",
                "road_km",
                "healed_gaps",
                "bridges",
                "bridge_km",
                "spurs",
                "components_noded",
                "components_final",
                "gps_unroutable",
                "gps",
                "pops_unroutable",
                "pops",
                "seconds",
            )
        ),
    )


def _with_existing(
    ls: nd.LineSet,
    line_src: np.ndarray,
    existing: gpd.GeoDataFrame | None,
    metric: pyproj.CRS,
    options: NetworkOptions,
    report: dict[str, Any],
) -> tuple[nd.LineSet, np.ndarray, np.ndarray]:
    """The road lines plus the off-road stretches of existing fibre, with each line's source row
    (-1 for existing fibre) and kind."""
    kind = np.full(ls.n_lines, _ROAD, dtype=np.int8)
    report["existing_km"] = 0.0
    if existing is None or not len(existing):
        return ls, line_src, kind
    existing = _as_gdf(existing, "existing")
    if existing.crs is None:
        raise CRSError(
            f"{_label(existing, 'the existing fibre layer')} has no CRS; set it with "
            ".set_crs('EPSG:4326') (or the CRS the lines were drawn in)"
        )
    series = existing.geometry[~(existing.geometry.isna() | existing.geometry.is_empty)]
    lines = np.asarray(series.to_crs(metric).explode(index_parts=False).array, dtype=object)
    parts = off_road_parts(lines, ls.geometries(), options.reuse_corridor_m)
    if not len(parts):
        return ls, line_src, kind
    xy, vline = shapely.get_coordinates(parts, return_index=True)
    xy, vline = nd.drop_repeated_vertices(xy, vline)
    extra = nd.LineSet.from_parts(xy, vline, len(parts))
    extra = extra.subset(np.flatnonzero(extra.counts >= 2))
    report["existing_km"] = float(extra.lengths().sum() / 1000.0)
    return (
        nd.LineSet.concat(ls, extra),
        np.concatenate([line_src, np.full(extra.n_lines, -1, dtype=line_src.dtype)]),
        np.concatenate([kind, np.full(extra.n_lines, _EXISTING, dtype=np.int8)]),
    )


class _Work:
    """The line set being built, with per-line source row, kind and healed flag."""

    def __init__(self, ls: nd.LineSet, src: np.ndarray, kind: np.ndarray) -> None:
        self.reset(ls, src, kind)  # cid: the canonical line order, used for tie-breaks

    def reset(self, ls: nd.LineSet, src: np.ndarray, kind: np.ndarray) -> None:
        """Start again from lines ``ls`` (from source rows ``src``, in canonical order, of kinds
        ``kind``: roads, and existing fibre away from the roads)."""
        self.ls = ls
        self.src = src.astype(np.int64)
        self.cid = np.arange(ls.n_lines, dtype=np.int64)
        self.kind = kind.astype(np.int8)
        self.healed = np.zeros(ls.n_lines, dtype=bool)

    def split(self, ev: nd.Events, *, snap: float) -> None:
        ev, inner = nd.normalise_events(self.ls, ev, snap=snap)
        self.ls, parent = nd.split_lines(self.ls, ev.take(np.flatnonzero(inner)))
        self.src, self.cid = self.src[parent], self.cid[parent]
        self.kind, self.healed = self.kind[parent], self.healed[parent]

    def add(
        self,
        lines: nd.LineSet,
        kind: int,
        *,
        src: np.ndarray | int = -1,
        cid: np.ndarray | int = -1,
        healed: bool = False,
    ) -> None:
        n = lines.n_lines
        self.ls = nd.LineSet.concat(self.ls, lines)
        self.src = np.concatenate([self.src, np.broadcast_to(np.asarray(src, np.int64), (n,))])
        self.cid = np.concatenate([self.cid, np.broadcast_to(np.asarray(cid, np.int64), (n,))])
        self.kind = np.concatenate([self.kind, np.full(n, kind, dtype=np.int8)])
        self.healed = np.concatenate([self.healed, np.full(n, healed, dtype=bool)])


def _finalise(
    work: _Work,
    site_pts: np.ndarray,
    attrs: pd.DataFrame,
    metric: pyproj.CRS,
    report: dict[str, Any],
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, np.ndarray]:
    """Number nodes and edges, drop loops and duplicate edges, build the GeoDataFrames."""
    ls = work.ls
    u, v, site_node, node_xy = nd.assign_nodes(ls, site_pts)
    length = ls.lengths()
    keep, n_loops = _kept_edges(work, u, v, length)
    report["self_loops_dropped"] = n_loops
    report["duplicates_dropped"] = int(len(u) - n_loops - len(keep))
    node_xy, eu, ev, site_node = _renumber_nodes(node_xy, u[keep], v[keep], site_node)
    edges = _edge_frame(work, keep, eu, ev, length[keep], attrs, metric)
    nodes, ncomp = _node_frame(node_xy, eu, ev, metric)
    report["components_final"] = ncomp
    report["nodes"] = len(node_xy)
    report["edges"] = len(edges)
    report["road_km"] = float(length[keep][work.kind[keep] == _ROAD].sum() / 1000.0)
    return edges, nodes, site_node


def _kept_edges(
    work: _Work, u: np.ndarray, v: np.ndarray, length: np.ndarray
) -> tuple[np.ndarray, int]:
    """The lines kept as edges, in edge order (by node pair), and the number of self-loops.

    Parallel roads between the same two nodes are kept (a longer one may avoid a forest or a
    highway); only duplicates (same ends, same length to the millimetre) are dropped.
    """
    loop = u == v
    a, b = np.minimum(u, v), np.maximum(u, v)
    order = np.lexsort((np.arange(len(u)), work.cid, work.kind, length, b, a))
    order = order[~loop[order]]
    first = np.ones(len(order), dtype=bool)
    same_ends = (a[order][1:] == a[order][:-1]) & (b[order][1:] == b[order][:-1])
    first[1:] = ~(same_ends & (np.abs(np.diff(length[order])) < 1e-3))
    return order[first], int(loop.sum())


def _renumber_nodes(
    node_xy: np.ndarray, u: np.ndarray, v: np.ndarray, site_node: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Drop nodes left without an edge or a site; the kept coordinates and renumbered ends."""
    used = np.zeros(len(node_xy), dtype=bool)
    used[u] = True
    used[v] = True
    used[site_node] = True
    new_id = np.cumsum(used) - 1
    return node_xy[used], new_id[u], new_id[v], new_id[site_node]


def _edge_frame(
    work: _Work,
    keep: np.ndarray,
    eu: np.ndarray,
    ev: np.ndarray,
    length: np.ndarray,
    attrs: pd.DataFrame,
    metric: pyproj.CRS,
) -> gpd.GeoDataFrame:
    """The ``edges`` table of the kept lines, with the attributes of their source roads."""
    esrc = work.src[keep]
    has_src = esrc >= 0
    cols = {}
    for c in ("road_class", "name", "ref"):
        vals = np.full(len(keep), "", dtype=object)
        vals[has_src] = attrs[c].to_numpy()[esrc[has_src]]
        cols[c] = vals
    edges = gpd.GeoDataFrame(
        {
            "u": eu,
            "v": ev,
            "length": length,
            "kind": np.asarray(KINDS, dtype=object)[work.kind[keep]],
            **cols,
            "healed": work.healed[keep],
            "source": esrc,
        },
        geometry=work.ls.subset(keep).geometries(),
        crs=metric,
    )
    edges.index.name = "edge_id"
    return edges


def _node_frame(
    node_xy: np.ndarray, eu: np.ndarray, ev: np.ndarray, metric: pyproj.CRS
) -> tuple[gpd.GeoDataFrame, int]:
    """The ``nodes`` table (coordinates, degree, component) and the number of components."""
    n = len(node_xy)
    ncomp, lab = _components(n, eu, ev)
    nodes = gpd.GeoDataFrame(
        {
            "x": node_xy[:, 0],
            "y": node_xy[:, 1],
            "degree": np.bincount(eu, minlength=n) + np.bincount(ev, minlength=n),
            "component": lab,
        },
        geometry=shapely.points(node_xy),
        crs=metric,
    )
    nodes.index.name = "node"
    return nodes, ncomp
