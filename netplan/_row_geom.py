"""Vectorised geometry kernels of the right-of-way module (private).

Everything here works on numpy arrays of shapely 2 geometries in one metric CRS and never loops in
Python over edges or polygons: candidate pairs come from :class:`shapely.STRtree`, per-pair work is
one vectorised shapely call, and per-edge totals are summed with :func:`numpy.bincount`.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

logger = logging.getLogger(__name__)

MAX_PIECE_VERTICES = 256
"""Polygons with more vertices are cut into pieces; small pieces make intersection fast."""

NODE_TOL_M = 1e-3
"""Points closer than this (metres) are the same point (junctions, piece ends)."""

_POLYGON = 3
_LINESTRING = 1
_POINT = 0


def explode_polygons(geoms: np.ndarray) -> np.ndarray:
    """Flatten (Multi)Polygons and collections into an array of non-empty Polygons."""
    parts = np.asarray(geoms, dtype=object)
    for _ in range(8):
        types = shapely.get_type_id(parts)
        multi = types >= 4
        if not multi.any():
            break
        parts = np.concatenate([parts[~multi], shapely.get_parts(parts[multi])])
    types = shapely.get_type_id(parts)
    keep = (types == _POLYGON) & ~shapely.is_empty(parts)
    parts = parts[keep]
    return parts[shapely.area(parts) > 0]


def explode_lines(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flatten (Multi)LineStrings into LineStrings; also return the input index of each part."""
    parts, index = shapely.get_parts(np.asarray(geoms, dtype=object), return_index=True)
    keep = (shapely.get_type_id(parts) == _LINESTRING) & (shapely.length(parts) > 0)
    return parts[keep], index[keep]


def subdivide(
    polygons: np.ndarray, max_vertices: int = MAX_PIECE_VERTICES
) -> tuple[np.ndarray, np.ndarray]:
    """Cut polygons with many vertices into halves until every piece is small.

    Pieces of one polygon do not overlap (they only share cut lines), so summing the length of a
    line inside each piece gives its length inside the polygon.

    Parameters
    ----------
    polygons
        Array of Polygons.
    max_vertices
        Largest number of vertices a piece may keep.

    Returns
    -------
    pieces, source
        The pieces and, for each, the index of the polygon it came from.
    """
    polygons = np.asarray(polygons, dtype=object)
    out_geoms: list[np.ndarray] = []
    out_src: list[np.ndarray] = []
    todo, src = polygons, np.arange(len(polygons))
    for _depth in range(40):
        if not len(todo):
            break
        small = shapely.get_num_coordinates(todo) <= max_vertices
        out_geoms.append(todo[small])
        out_src.append(src[small])
        todo, src = todo[~small], src[~small]
        if not len(todo):
            break
        b = shapely.bounds(todo)
        # boxes grown slightly outwards so the outer ring is never clipped by rounding
        pad = 1e-6 * np.maximum(1.0, np.abs(b).max(axis=1))
        b = b + np.c_[-pad, -pad, pad, pad]
        wide = (b[:, 2] - b[:, 0]) >= (b[:, 3] - b[:, 1])
        # cut a little off the middle so hand-made lines on round coordinates never run along a cut
        mx = b[:, 0] + (b[:, 2] - b[:, 0]) * 0.5001237
        my = b[:, 1] + (b[:, 3] - b[:, 1]) * 0.5001237
        lo = np.where(wide[:, None], np.c_[b[:, 0], b[:, 1], mx, b[:, 3]], np.c_[b[:, :3], my])
        hi = np.where(wide[:, None], np.c_[mx, b[:, 1:]], np.c_[b[:, 0], my, b[:, 2:]])
        boxes = shapely.box(*np.concatenate([lo, hi]).T)
        halves = shapely.intersection(np.concatenate([todo, todo]), boxes)
        parts, idx = shapely.get_parts(halves, return_index=True)
        src2 = np.concatenate([src, src])[idx]
        for _ in range(4):
            multi = shapely.get_type_id(parts) >= 4
            if not multi.any():
                break
            sub, sub_idx = shapely.get_parts(parts[multi], return_index=True)
            parts = np.concatenate([parts[~multi], sub])
            src2 = np.concatenate([src2[~multi], src2[multi][sub_idx]])
        keep = (shapely.get_type_id(parts) == _POLYGON) & (shapely.area(parts) > 0)
        todo, src = parts[keep], src2[keep]
    else:  # pragma: no cover - depth guard
        out_geoms.append(todo)
        out_src.append(src)
    return np.concatenate(out_geoms), np.concatenate(out_src)


def dissolved_pieces(
    polygons: np.ndarray,
    groups: np.ndarray | None = None,
    *,
    max_vertices: int = MAX_PIECE_VERTICES,
) -> tuple[np.ndarray, np.ndarray]:
    """Union polygons per group (overlaps counted once), then subdivide.

    Returns
    -------
    pieces, group
        Small Polygons and the group code (index into the sorted unique groups) of each.
    """
    polygons = np.asarray(polygons, dtype=object)
    if groups is None:
        groups = np.zeros(len(polygons), dtype=np.int64)
    if not len(polygons):
        return np.empty(0, dtype=object), np.empty(0, dtype=np.int64)
    merged = []
    codes = []
    for g in np.unique(groups):  # one union per group (a handful: divisions, refs)
        u = shapely.union_all(polygons[groups == g])
        parts = explode_polygons(np.array([u], dtype=object))
        merged.append(parts)
        codes.append(np.full(len(parts), g, dtype=np.int64))
    polys = np.concatenate(merged)
    code = np.concatenate(codes)
    pieces, src = subdivide(polys, max_vertices)
    return pieces, code[src]


def clip_pairs(
    lines: np.ndarray,
    pieces: np.ndarray,
    tree: shapely.STRtree | None = None,
    *,
    geometry: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Length (and optionally geometry) of each line inside each polygon piece it meets.

    Lines fully covered by a piece (the common case) take their own length without an
    intersection; only lines crossing a piece boundary are intersected.

    Returns
    -------
    line_idx, piece_idx, length, parts
        One entry per (line, piece) pair with positive length; ``parts`` (when asked) holds the
        clipped geometry of each pair.
    """
    lines = np.asarray(lines, dtype=object)
    if not len(lines) or not len(pieces):
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0), (np.empty(0, dtype=object) if geometry else None)
    tree = tree if tree is not None else shapely.STRtree(pieces)
    ii, jj = tree.query(lines, predicate="intersects")
    shapely.prepare(pieces)
    covered = shapely.covers(pieces[jj], lines[ii])
    length = np.empty(len(ii))
    length[covered] = shapely.length(lines[ii[covered]])
    cut = ~covered
    clipped = shapely.intersection(lines[ii[cut]], pieces[jj[cut]])
    length[cut] = shapely.length(clipped)
    parts = None
    if geometry:
        parts = np.empty(len(ii), dtype=object)
        parts[covered] = lines[ii[covered]]
        parts[cut] = clipped
    keep = length > 0
    return ii[keep], jj[keep], length[keep], (parts[keep] if parts is not None else None)


def length_inside(lines: np.ndarray, pieces: np.ndarray) -> np.ndarray:
    """Length of each line inside the union of the (non-overlapping) pieces."""
    ii, _, length, _ = clip_pairs(lines, pieces)
    return np.bincount(ii, weights=length, minlength=len(lines)).astype(float)


def merge_lines(lines: np.ndarray, gap_m: float = 0.0) -> np.ndarray:
    """Dissolve overlaps and merge lines into as few LineStrings as possible.

    The digitised direction is kept when that gives as few lines as ignoring it (so a highway
    drawn from its start has chainage from its start). Ends closer than ``gap_m`` are joined
    (:func:`join_gaps`).
    """
    lines = np.asarray(lines, dtype=object)
    if not len(lines):
        return np.empty(0, dtype=object)
    multi = shapely.multilinestrings(lines)
    if len(lines) > 1:
        multi = shapely.union_all(lines)
    directed = shapely.get_parts(shapely.line_merge(multi, directed=True))
    undirected = shapely.get_parts(shapely.line_merge(multi))
    merged = directed if len(directed) <= len(undirected) else undirected
    merged, _ = explode_lines(merged)
    if gap_m > 0 and len(merged) > 1:
        merged = join_gaps(merged, gap_m)
    # deterministic order: longest first, then by first vertex
    first = shapely.get_coordinates(shapely.get_point(merged, 0))
    order = np.lexsort((first[:, 1], first[:, 0], -np.round(shapely.length(merged), 6)))
    return merged[order]


def join_gaps(lines: np.ndarray, gap_m: float) -> np.ndarray:
    """Join line ends closer than ``gap_m`` into longer lines (greedy, longest pairs first).

    Highway layers arrive in pieces: branches stop :func:`shapely.line_merge` at junctions and
    digitising gaps leave ends a few metres apart. Joining the pieces end to end (through the
    gap) gives one line per highway where possible, so chainage runs from the highway's start.
    The loop runs over the few pieces of one highway, not over features.
    """
    coords = [shapely.get_coordinates(g) for g in lines]
    while len(coords) > 1:
        ends = np.array([[c[0], c[-1]] for c in coords])  # (k, 2 ends, 2)
        lengths = np.array([shapely.length(shapely.linestrings(c)) for c in coords])
        pts = ends.reshape(-1, 2)
        d = np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))
        piece = np.repeat(np.arange(len(coords)), 2)
        d[piece[:, None] == piece[None, :]] = np.inf
        a, b = np.nonzero(d <= gap_m)
        keep = a < b
        a, b = a[keep], b[keep]
        if not len(a):
            break
        score = np.lexsort((b, a, -(lengths[piece[a]] + lengths[piece[b]]), np.round(d[a, b], 3)))
        a, b = a[score[0]], b[score[0]]
        pa, pb = piece[a], piece[b]
        ca = coords[pa] if a % 2 == 1 else coords[pa][::-1]  # joined end last
        cb = coords[pb] if b % 2 == 0 else coords[pb][::-1]  # joined end first
        if np.allclose(ca[-1], cb[0]):
            cb = cb[1:]
        joined = np.concatenate([ca, cb])
        if a % 2 == 0 and b % 2 == 1:  # keep the digitised direction when both allow it
            joined = joined[::-1]
        coords = [c for k, c in enumerate(coords) if k not in (pa, pb)] + [joined]
    out = np.empty(len(coords), dtype=object)
    out[:] = [shapely.linestrings(c) for c in coords]
    return out


def line_segments(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split LineStrings into their two-point segments; also return the line of each segment."""
    coords, idx = shapely.get_coordinates(np.asarray(lines, dtype=object), return_index=True)
    same = idx[1:] == idx[:-1]
    start = coords[:-1][same]
    end = coords[1:][same]
    segs = shapely.linestrings(np.stack([start, end], axis=1))
    return segs, idx[:-1][same]


def point_keys(group: np.ndarray, xy: np.ndarray, tol: float = NODE_TOL_M) -> np.ndarray:
    """Integer labels that are equal for points of one group closer than ``tol`` (cKDTree)."""
    n = len(xy)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    tree = cKDTree(xy)
    pairs = tree.query_pairs(tol, output_type="ndarray")
    if len(pairs):
        pairs = pairs[group[pairs[:, 0]] == group[pairs[:, 1]]]
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels


def side_of(xy: np.ndarray, lines: np.ndarray, at: np.ndarray, eps: float = 0.5) -> np.ndarray:
    """Side (+1 left, -1 right, 0 beyond an end or on the line) of points from their nearest line.

    Parameters
    ----------
    xy
        (n, 2) point coordinates.
    lines
        Array of LineStrings, one per point (the line to measure against).
    at
        Distance along each line of the point's projection (``line_locate_point``).
    eps
        Half length (metres) of the chord that gives the line's local direction.
    """
    length = shapely.length(lines)
    h1 = shapely.get_coordinates(shapely.line_interpolate_point(lines, np.maximum(at - eps, 0)))
    h2 = shapely.get_coordinates(
        shapely.line_interpolate_point(lines, np.minimum(at + eps, length))
    )
    base = shapely.get_coordinates(shapely.line_interpolate_point(lines, at))
    d = h2 - h1
    r = xy - base
    cross = d[:, 0] * r[:, 1] - d[:, 1] * r[:, 0]
    side = np.sign(cross).astype(np.int64)
    closed = shapely.is_closed(lines)
    beyond = ((at <= 1e-9) | (at >= length - 1e-9)) & ~closed
    side[beyond] = 0
    return side


def _in_ccw_arc(theta: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    two_pi = 2 * np.pi
    return np.mod(theta - start, two_pi) < np.mod(end - start, two_pi)


def crosses_at(
    edges: np.ndarray, hw: np.ndarray, xy: np.ndarray, at_hw: np.ndarray, delta: float = 0.05
) -> np.ndarray:
    """Whether each edge passes from one side of its highway line to the other at a point.

    The point lies on both lines. The edge just before and just after the point (``delta``
    metres along it) must lie in different wedges of the highway around the point, which also
    handles a highway bending at the point.
    """
    s = shapely.line_locate_point(edges, shapely.points(xy))
    le = shapely.length(edges)
    a = shapely.get_coordinates(shapely.line_interpolate_point(edges, np.maximum(s - delta, 0)))
    b = shapely.get_coordinates(shapely.line_interpolate_point(edges, np.minimum(s + delta, le)))
    lh = shapely.length(hw)
    h1 = shapely.get_coordinates(shapely.line_interpolate_point(hw, np.maximum(at_hw - delta, 0)))
    h2 = shapely.get_coordinates(shapely.line_interpolate_point(hw, np.minimum(at_hw + delta, lh)))

    def ang(q: np.ndarray) -> np.ndarray:
        return np.arctan2(q[:, 1] - xy[:, 1], q[:, 0] - xy[:, 0])

    alpha1, alpha2, ta, tb = ang(h1), ang(h2), ang(a), ang(b)
    in_a = _in_ccw_arc(ta, alpha2, alpha1)
    in_b = _in_ccw_arc(tb, alpha2, alpha1)
    # a or b on the highway itself (tangent run): not a crossing
    on_line = (
        (np.abs(np.sin(ta - alpha1)) < 1e-6)
        | (np.abs(np.sin(ta - alpha2)) < 1e-6)
        | (np.abs(np.sin(tb - alpha1)) < 1e-6)
        | (np.abs(np.sin(tb - alpha2)) < 1e-6)
    )
    at_end = ((at_hw <= delta) | (at_hw >= lh - delta)) & ~shapely.is_closed(hw)
    interior = (s > delta) & (s < le - delta)
    return (in_a != in_b) & ~on_line & ~at_end & interior


def line_crossings(
    edges: np.ndarray,
    hw_lines: np.ndarray,
    in_corridor: np.ndarray,
    *,
    tol: float = 0.01,
) -> np.ndarray:
    """Crossing value of each edge with a set of highway lines (the annotate rule).

    A proper crossing in an edge's interior counts 1. An edge that ends on a highway line and
    leaves the corridor counts 0.5 (so a route through a junction across the highway pays 1). An
    edge running on the highway (overlap) gets nothing for the points where it joins or leaves
    it; touching a highway at the highway's own end is not a crossing.

    Parameters
    ----------
    edges
        LineStrings (metric).
    hw_lines
        Merged highway LineStrings.
    in_corridor
        Length of each edge inside the highway corridor (to tell edges that leave it).
    tol
        Distance (metres) within which a point is an edge's end.
    """
    n = len(edges)
    value = np.zeros(n)
    if not n or not len(hw_lines):
        return value
    segs, seg_line = line_segments(hw_lines)
    ii, jj = shapely.STRtree(segs).query(edges, predicate="intersects")
    if not len(ii):
        return value
    p_edge, p_line, p_xy, ov_edge, ov_ends = _contact_parts(edges, segs, seg_line, ii, jj)
    if not len(p_xy):
        return value
    contacts = _one_contact_per_place(hw_lines, p_edge, p_line, p_xy, ov_edge, ov_ends, tol)
    if not len(contacts.edge):
        return value
    weight = _crossing_weights(edges, hw_lines, in_corridor, contacts, tol)
    value += np.bincount(contacts.edge, weights=weight, minlength=n)
    return value


class _Contacts(NamedTuple):
    """Points where an edge meets a highway line: the edge, the line, the point, its distance
    along the line and whether it is an end of the line."""

    edge: np.ndarray
    line: np.ndarray
    xy: np.ndarray
    at_hw: np.ndarray
    hw_end: np.ndarray


def _contact_parts(
    edges: np.ndarray, segs: np.ndarray, seg_line: np.ndarray, ii: np.ndarray, jj: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The intersections of edges ``ii`` with highway segments ``jj``: point contacts (edge,
    highway line, xy), and the ends of overlap runs (edge, xy), which are joins or departures,
    not crossings."""
    inter = shapely.intersection(edges[ii], segs[jj])
    parts, pidx = shapely.get_parts(inter, return_index=True)
    types = shapely.get_type_id(parts)
    lines_mask = types == _LINESTRING
    ov_edge = ii[pidx[lines_mask]]
    ov_ends = np.concatenate(
        [
            shapely.get_coordinates(shapely.get_point(parts[lines_mask], 0)),
            shapely.get_coordinates(shapely.get_point(parts[lines_mask], -1)),
        ]
    )
    ov_edge = np.concatenate([ov_edge, ov_edge])
    pts_mask = types == _POINT
    p_edge = ii[pidx[pts_mask]]
    p_line = seg_line[jj[pidx[pts_mask]]]
    p_xy = shapely.get_coordinates(parts[pts_mask])
    return p_edge, p_line, p_xy, ov_edge, ov_ends


def _one_contact_per_place(
    hw_lines: np.ndarray,
    p_edge: np.ndarray,
    p_line: np.ndarray,
    p_xy: np.ndarray,
    ov_edge: np.ndarray,
    ov_ends: np.ndarray,
    tol: float,
) -> _Contacts:
    """One contact per (edge, place), preferring a highway on which the place is not an end;
    places that are ends of overlap runs are dropped."""
    hw = hw_lines[p_line]
    at_hw = shapely.line_locate_point(hw, shapely.points(p_xy))
    lh = shapely.length(hw)
    hw_end = ((at_hw <= tol) | (at_hw >= lh - tol)) & ~shapely.is_closed(hw)
    all_edge = np.concatenate([p_edge, ov_edge])
    all_xy = np.concatenate([p_xy, ov_ends])
    labels = point_keys(all_edge, all_xy, tol)
    p_lab, ov_lab = labels[: len(p_xy)], labels[len(p_xy) :]
    drop = np.isin(p_lab, ov_lab)
    order = np.lexsort((p_line, hw_end, p_lab))
    first = np.zeros(len(order), dtype=bool)
    first[order] = np.r_[True, p_lab[order][1:] != p_lab[order][:-1]]
    keep = first & ~drop
    return _Contacts(p_edge[keep], p_line[keep], p_xy[keep], at_hw[keep], hw_end[keep])


def _crossing_weights(
    edges: np.ndarray,
    hw_lines: np.ndarray,
    in_corridor: np.ndarray,
    contacts: _Contacts,
    tol: float,
) -> np.ndarray:
    """The crossing value of each contact: 1 for a proper crossing in the edge's interior,
    0.5 at an edge's end (not a highway end) when the edge leaves the corridor, else 0."""
    p_edge, p_xy = contacts.edge, contacts.xy
    e = edges[p_edge]
    start = shapely.get_coordinates(shapely.get_point(e, 0))
    end = shapely.get_coordinates(shapely.get_point(e, -1))
    at_end = (np.hypot(*(p_xy - start).T) <= tol) | (np.hypot(*(p_xy - end).T) <= tol)
    length = shapely.length(e)
    leaves = in_corridor[p_edge] < length - tol
    half = at_end & ~contacts.hw_end & leaves
    full = np.zeros(len(p_edge), dtype=bool)
    inner = ~at_end & ~contacts.hw_end
    if inner.any():
        full[inner] = crosses_at(
            e[inner], hw_lines[contacts.line[inner]], p_xy[inner], contacts.at_hw[inner]
        )
    return 0.5 * half + 1.0 * full
