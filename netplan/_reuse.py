"""Existing fibre and power lines against the road network (private, vectorised).

Two questions, both in one metric CRS and without Python loops over features:

* :func:`off_road_parts`: which stretches of existing fibre run away from every road? Those
  become network edges of their own (``kind="existing"``), joined to the nearest road where they
  come back to one; stretches along a road are represented by the road's edges.
* :func:`runs_along`: which edges run along a set of lines (within a corridor for most of their
  length)? Those edges may reuse the existing fibre or carry aerial cable on the poles.
"""

from __future__ import annotations

import numpy as np
import shapely

from netplan import _row_geom as geom

__all__ = ["off_road_parts", "runs_along"]


def _segments(lines: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start and end points of the segments of ``lines`` densified to ``step`` metres, and the
    line of each segment."""
    dense = shapely.segmentize(lines, step)
    xy, line = shapely.get_coordinates(dense, return_index=True)
    same = line[1:] == line[:-1]
    return xy[:-1][same], xy[1:][same], line[:-1][same]


def off_road_parts(lines: np.ndarray, roads: np.ndarray, corridor_m: float) -> np.ndarray:
    """The stretches of ``lines`` farther than ``corridor_m`` from every road, joined to roads.

    Each line is cut into pieces of at most ``corridor_m / 2``; a piece whose middle lies within
    ``corridor_m`` of a road is *along* the road. A run of pieces away from the roads becomes a
    LineString; where it comes back to a road (rather than ending in the field) it is extended
    by a straight connector to the nearest point of the nearest road, so noding joins the two.
    Runs shorter than ``2 * corridor_m`` that come back to roads at both ends are road-side
    wiggles and dropped.

    Parameters
    ----------
    lines
        Existing-fibre LineStrings (metric CRS).
    roads
        Road LineStrings (same CRS).
    corridor_m
        The corridor half-width (``NetworkOptions.reuse_corridor_m``).

    Returns
    -------
    numpy.ndarray
        LineStrings, in a canonical order (by first vertex, then length).
    """
    lines = np.asarray(lines, dtype=object)
    if not len(lines):
        return np.empty(0, dtype=object)
    a, b, line = _segments(lines, max(corridor_m / 2, 1.0))
    tree = shapely.STRtree(roads)
    mid = shapely.points((a + b) / 2)
    hit, _ = tree.query(mid, predicate="dwithin", distance=corridor_m)
    away = np.ones(len(a), dtype=bool)
    away[hit] = False
    # runs of consecutive segments away from roads, within one line
    start = away & np.r_[True, ~away[:-1] | (line[1:] != line[:-1])]
    stop = away & np.r_[~away[1:] | (line[1:] != line[:-1]), True]
    first, last = np.flatnonzero(start), np.flatnonzero(stop)
    if not len(first):
        return np.empty(0, dtype=object)
    open_start = (first > 0) & (line[np.maximum(first - 1, 0)] == line[first])
    open_end = (last < len(a) - 1) & (line[np.minimum(last + 1, len(a) - 1)] == line[last])
    seg_len = np.hypot(*(b - a).T)
    cum = np.r_[0.0, np.cumsum(seg_len)]
    run_len = cum[last + 1] - cum[first]
    keep = ~(open_start & open_end & (run_len < 2 * corridor_m))
    first, last, open_start, open_end = first[keep], last[keep], open_start[keep], open_end[keep]
    head = _nearest_on(tree, roads, a[first])
    tail = _nearest_on(tree, roads, b[last])
    parts = []
    for i, j, s, e, h, t in zip(
        first.tolist(), last.tolist(), open_start, open_end, head, tail, strict=True
    ):
        coords = np.vstack([a[i : j + 1], b[j : j + 1]])
        if s:
            coords = np.vstack([h, coords])
        if e:
            coords = np.vstack([coords, t])
        parts.append(coords)
    out = np.empty(len(parts), dtype=object)
    out[:] = [shapely.linestrings(c) for c in parts]
    starts = np.asarray([c[0] for c in parts])
    order = np.lexsort((shapely.length(out), starts[:, 1], starts[:, 0]))
    return out[order]


def _nearest_on(tree: shapely.STRtree, roads: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """The nearest point on the nearest road to each point."""
    if not len(xy):
        return np.zeros((0, 2))
    points = shapely.points(xy)
    ip, ir = tree.query_nearest(points, all_matches=False)
    near = np.zeros_like(xy)
    at = shapely.line_locate_point(roads[ir], points[ip])
    near[ip] = shapely.get_coordinates(shapely.line_interpolate_point(roads[ir], at))
    return near


def runs_along(
    edges: np.ndarray, lines: np.ndarray, *, corridor_m: float, share: float
) -> np.ndarray:
    """Whether each edge lies within ``corridor_m`` of ``lines`` for more than ``share`` of its
    length.

    Examples
    --------
    >>> from shapely import LineString
    >>> edges = np.array([LineString([(0, 10), (100, 10)]), LineString([(0, 10), (0, 300)])])
    >>> runs_along(edges, np.array([LineString([(0, 0), (100, 0)])]), corridor_m=30, share=0.5)
    array([ True, False])
    """
    edges = np.asarray(edges, dtype=object)
    if not len(edges) or not len(lines):
        return np.zeros(len(edges), dtype=bool)
    buffers = shapely.buffer(np.asarray(lines, dtype=object), corridor_m, quad_segs=4)
    pieces, _ = geom.dissolved_pieces(buffers)
    inside = geom.length_inside(edges, pieces)
    return inside > share * shapely.length(edges)
