"""Array plumbing for :mod:`netplan.network`: line sets, segment intersection, splitting, nodes.

Lines are kept as one coordinate array ``xy`` (N x 2, metres) plus ``offsets`` (line ``i`` owns
rows ``offsets[i]:offsets[i + 1]``). Everything here is vectorised numpy / shapely / scipy; the
only Python loops run over chunks of queries.

A *split event* names a place on a line: ``(line, k, t, x, y)`` is the point at fraction ``t`` of
segment ``k`` (from vertex ``k`` to ``k + 1``); ``t == 0`` means vertex ``k`` itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

__all__ = [
    "LineSet",
    "Events",
    "assign_nodes",
    "intersection_events",
    "nearest_on_segments",
    "normalise_events",
    "split_lines",
]

EPS_M = 1e-3
"""Points closer than this (metres) are the same point (noding and node merging)."""


@dataclass
class LineSet:
    """Lines as a flat coordinate array plus offsets."""

    xy: np.ndarray  # (N, 2) float64
    offsets: np.ndarray  # (m + 1,) int64

    @classmethod
    def from_parts(cls, xy: np.ndarray, line_of_vertex: np.ndarray, n_lines: int) -> LineSet:
        """Build from coordinates sorted by line and the line of each coordinate."""
        counts = np.bincount(line_of_vertex, minlength=n_lines)
        offsets = np.zeros(n_lines + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return cls(np.ascontiguousarray(xy, dtype=np.float64), offsets)

    @classmethod
    def concat(cls, *parts: LineSet) -> LineSet:
        xy = np.concatenate([p.xy for p in parts])
        counts = np.concatenate([np.diff(p.offsets) for p in parts])
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return cls(xy, offsets)

    @classmethod
    def straight(cls, a: np.ndarray, b: np.ndarray) -> LineSet:
        """Two-point lines from ``a[i]`` to ``b[i]``."""
        n = len(a)
        xy = np.empty((2 * n, 2), dtype=np.float64)
        xy[0::2] = a
        xy[1::2] = b
        return cls(xy, np.arange(0, 2 * n + 1, 2, dtype=np.int64))

    @property
    def n_lines(self) -> int:
        return len(self.offsets) - 1

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def line_of_vertex(self) -> np.ndarray:
        return np.repeat(np.arange(self.n_lines, dtype=np.int64), self.counts)

    @property
    def starts(self) -> np.ndarray:
        return self.xy[self.offsets[:-1]]

    @property
    def ends(self) -> np.ndarray:
        return self.xy[self.offsets[1:] - 1]

    def subset(self, keep: np.ndarray) -> LineSet:
        keep_idx = np.flatnonzero(keep) if keep.dtype == bool else np.asarray(keep)
        counts = self.counts[keep_idx]
        rows = np.repeat(self.offsets[keep_idx], counts) + _ranges(counts)
        offsets = np.zeros(len(keep_idx) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return LineSet(self.xy[rows], offsets)

    def segment_rows(self) -> np.ndarray:
        """Row of the first vertex of every segment (all rows but each line's last)."""
        last = np.zeros(len(self.xy), dtype=bool)
        last[self.offsets[1:] - 1] = True
        return np.flatnonzero(~last)

    def lengths(self) -> np.ndarray:
        d = np.hypot(*np.diff(self.xy, axis=0).T)
        rows = self.segment_rows()
        return np.bincount(
            self.line_of_vertex[rows], weights=d[rows], minlength=self.n_lines
        ).astype(np.float64)

    def geometries(self) -> np.ndarray:
        return shapely.linestrings(self.xy, indices=self.line_of_vertex)


def _ranges(counts: np.ndarray) -> np.ndarray:
    """``concat(arange(c) for c in counts)`` without a loop."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    return np.arange(total, dtype=np.int64) - np.repeat(starts, counts)


def drop_repeated_vertices(xy: np.ndarray, line: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Remove consecutive duplicate vertices inside each line."""
    if len(xy) == 0:
        return xy, line
    keep = np.ones(len(xy), dtype=bool)
    keep[1:] = (line[1:] != line[:-1]) | np.any(xy[1:] != xy[:-1], axis=1)
    return xy[keep], line[keep]


@dataclass
class Events:
    """Split events (see module docstring)."""

    line: np.ndarray
    k: np.ndarray
    t: np.ndarray
    x: np.ndarray
    y: np.ndarray

    @classmethod
    def empty(cls) -> Events:
        z = np.zeros(0)
        return cls(z.astype(np.int64), z.astype(np.int64), z, z, z)

    @classmethod
    def concat(cls, parts: list[Events]) -> Events:
        if not parts:
            return cls.empty()
        return cls(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in "line k t x y".split())
        )

    def take(self, idx: np.ndarray) -> Events:
        return Events(self.line[idx], self.k[idx], self.t[idx], self.x[idx], self.y[idx])

    def __len__(self) -> int:
        return len(self.line)


def point_segment(px, py, ax, ay, bx, by):
    """Fraction along segment a-b of the projection of p (clamped) and the distance."""
    dx, dy = bx - ax, by - ay
    den = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        t = ((px - ax) * dx + (py - ay) * dy) / den
    t = np.where(den > 0, np.clip(t, 0.0, 1.0), 0.0)
    qx, qy = ax + t * dx, ay + t * dy
    return t, np.hypot(px - qx, py - qy), qx, qy


def _segment_pairs(boxes: np.ndarray, chunk: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    tree = shapely.STRtree(boxes)
    for lo in range(0, len(boxes), chunk):
        ia, ib = tree.query(boxes[lo : lo + chunk])
        ia = ia + lo
        keep = ia < ib
        yield ia[keep], ib[keep]


def intersection_events(ls: LineSet, *, eps: float = EPS_M, chunk: int = 200_000) -> Events:
    """Every place where a line must be split so that lines meet only at their ends.

    Finds, between every pair of segments (of different lines, or non-adjacent segments of the
    same line): proper crossings (both lines split at the crossing) and touches (a vertex of one
    line within ``eps`` of the other line: the other line is split there, and the touching line
    is split at that vertex). Splits at a line's own end points are no-ops and filtered later.
    """
    rows = ls.segment_rows()
    if len(rows) == 0:
        return Events.empty()
    line_of_vertex = ls.line_of_vertex
    seg_line = line_of_vertex[rows]
    seg_k = rows - ls.offsets[seg_line]
    p0 = ls.xy[rows]
    p1 = ls.xy[rows + 1]
    lo = np.minimum(p0, p1) - eps
    hi = np.maximum(p0, p1) + eps
    boxes = shapely.box(lo[:, 0], lo[:, 1], hi[:, 0], hi[:, 1])
    parts: list[Events] = []
    for ia, ib in _segment_pairs(boxes, chunk):
        la, lb = seg_line[ia], seg_line[ib]
        ka, kb = seg_k[ia], seg_k[ib]
        keep = (la != lb) | (np.abs(ka - kb) > 1)
        ia, ib, la, lb, ka, kb = ia[keep], ib[keep], la[keep], lb[keep], ka[keep], kb[keep]
        if len(ia) == 0:
            continue
        ax, ay = p0[ia, 0], p0[ia, 1]
        bx, by = p1[ia, 0], p1[ia, 1]
        cx, cy = p0[ib, 0], p0[ib, 1]
        dx, dy = p1[ib, 0], p1[ib, 1]
        touched = np.zeros(len(ia), dtype=bool)
        # vertices of segment b touching segment a, and vice versa
        for (px, py, end), (sx0, sy0, sx1, sy1), own, other in (
            ((cx, cy, 0), (ax, ay, bx, by), (lb, kb), (la, ka)),
            ((dx, dy, 1), (ax, ay, bx, by), (lb, kb), (la, ka)),
            ((ax, ay, 0), (cx, cy, dx, dy), (la, ka), (lb, kb)),
            ((bx, by, 1), (cx, cy, dx, dy), (la, ka), (lb, kb)),
        ):
            t, dist, _, _ = point_segment(px, py, sx0, sy0, sx1, sy1)
            hit = dist <= eps
            if not hit.any():
                continue
            touched |= hit
            h = np.flatnonzero(hit)
            parts.append(Events(other[0][h], other[1][h], t[h], px[h], py[h]))
            parts.append(Events(own[0][h], own[1][h] + end, np.zeros(len(h)), px[h], py[h]))
        # proper crossings
        ux, uy = bx - ax, by - ay
        vx, vy = dx - cx, dy - cy
        o1 = ux * (cy - ay) - uy * (cx - ax)
        o2 = ux * (dy - ay) - uy * (dx - ax)
        o3 = vx * (ay - cy) - vy * (ax - cx)
        o4 = vx * (by - cy) - vy * (bx - cx)
        cross = (~touched) & (o1 * o2 < 0) & (o3 * o4 < 0)
        if cross.any():
            h = np.flatnonzero(cross)
            den = ux[h] * vy[h] - uy[h] * vx[h]
            wx, wy = cx[h] - ax[h], cy[h] - ay[h]
            t = (wx * vy[h] - wy * vx[h]) / den
            s = (wx * uy[h] - wy * ux[h]) / den
            x, y = ax[h] + t * ux[h], ay[h] + t * uy[h]
            parts.append(Events(la[h], ka[h], np.clip(t, 0.0, 1.0), x, y))
            parts.append(Events(lb[h], kb[h], np.clip(s, 0.0, 1.0), x, y))
    return Events.concat(parts)


def normalise_events(ls: LineSet, ev: Events, *, snap: float = EPS_M) -> tuple[Events, np.ndarray]:
    """Snap events to vertices and mark those that split a line.

    Events with ``t >= 1`` become vertex ``k + 1``; events within ``snap`` of a segment's vertex
    become that vertex (and take its exact coordinates). Returns the normalised events (same
    order, coordinates = where the node will be) and a mask of events that fall strictly inside
    their line (the others sit on one of the line's end points and split nothing).
    """
    ev = Events(ev.line.copy(), ev.k.copy(), ev.t.copy(), ev.x.copy(), ev.y.copy())
    n = ls.counts[ev.line]
    at_end = ev.t >= 1.0
    ev.k[at_end] += 1
    ev.t[at_end] = 0.0
    last = ev.k >= n - 1
    ev.k[last] = n[last] - 1
    ev.t[last] = 0.0
    inner = ev.t > 0
    if inner.any():
        i = np.flatnonzero(inner)
        r = ls.offsets[ev.line[i]] + ev.k[i]
        d0 = np.hypot(ev.x[i] - ls.xy[r, 0], ev.y[i] - ls.xy[r, 1])
        d1 = np.hypot(ev.x[i] - ls.xy[r + 1, 0], ev.y[i] - ls.xy[r + 1, 1])
        to0 = (d0 <= snap) & (d0 <= d1)
        to1 = (d1 <= snap) & ~to0
        ev.t[i[to0 | to1]] = 0.0
        ev.k[i[to1]] += 1
    vert = ev.t == 0
    r = ls.offsets[ev.line[vert]] + ev.k[vert]
    ev.x[vert] = ls.xy[r, 0]
    ev.y[vert] = ls.xy[r, 1]
    interior = ~(vert & ((ev.k == 0) | (ev.k == ls.counts[ev.line] - 1)))
    return ev, interior


def split_lines(ls: LineSet, ev: Events) -> tuple[LineSet, np.ndarray]:
    """Split lines at normalised interior events.

    Returns the new line set and, for each new line, the index of the line it came from. Lines
    keep their direction; pieces of one line stay in order.
    """
    if len(ev) == 0:
        return ls, np.arange(ls.n_lines, dtype=np.int64)
    nv = len(ls.xy)
    vline = ls.line_of_vertex
    vk = np.arange(nv, dtype=np.int64) - ls.offsets[vline]
    line = np.concatenate([vline, ev.line])
    k = np.concatenate([vk, ev.k])
    t = np.concatenate([np.zeros(nv), ev.t])
    x = np.concatenate([ls.xy[:, 0], ev.x])
    y = np.concatenate([ls.xy[:, 1], ev.y])
    is_split = np.concatenate([np.zeros(nv, dtype=bool), np.ones(len(ev), dtype=bool)])
    is_event = is_split.astype(np.int8)
    order = np.lexsort((is_event, t, k, line))
    line, k, t, x, y, is_split = (
        line[order],
        k[order],
        t[order],
        x[order],
        y[order],
        is_split[order],
    )
    first = np.ones(len(line), dtype=bool)
    first[1:] = (line[1:] != line[:-1]) | (k[1:] != k[:-1]) | (t[1:] != t[:-1])
    starts = np.flatnonzero(first)
    g_split = np.maximum.reduceat(is_split.astype(np.int8), starts).astype(bool)
    g_line, g_x, g_y = line[starts], x[starts], y[starts]
    # never split at a line's own first/last point
    g_first = np.ones(len(starts), dtype=bool)
    g_first[1:] = g_line[1:] != g_line[:-1]
    g_last = np.ones(len(starts), dtype=bool)
    g_last[:-1] = g_line[1:] != g_line[:-1]
    g_split &= ~(g_first | g_last)
    rep = 1 + g_split.astype(np.int64)
    gi = np.repeat(np.arange(len(starts), dtype=np.int64), rep)
    second = np.zeros(len(gi), dtype=bool)
    second[1:] = gi[1:] == gi[:-1]
    new_piece = g_first[gi] & ~second | second
    piece = np.cumsum(new_piece) - 1
    parent = g_line[gi[new_piece]]
    xy = np.column_stack([g_x[gi], g_y[gi]])
    return LineSet.from_parts(xy, piece, int(piece[-1]) + 1), parent


def assign_nodes(
    ls: LineSet, extra: np.ndarray | None = None, *, eps: float = EPS_M
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Number the end points of the lines (and extra points) as nodes.

    End points closer than ``eps`` are merged (onto the lexicographically smallest of them) and
    the line ends are moved onto the merged node. Node ids follow the (x, y) order of the nodes,
    so equal geometry gives equal numbering.

    Returns ``u``, ``v`` (node of each line's start/end), the node of each extra point, and the
    node coordinates. ``ls.xy`` is updated in place.
    """
    m = ls.n_lines
    extra = np.zeros((0, 2)) if extra is None else np.asarray(extra, dtype=np.float64)
    pts = np.concatenate([ls.starts, ls.ends, extra])
    if len(pts) == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z, np.zeros((0, 2))
    order = np.lexsort((pts[:, 1], pts[:, 0]))
    sp_ = pts[order]
    new = np.ones(len(sp_), dtype=bool)
    new[1:] = np.any(sp_[1:] != sp_[:-1], axis=1)
    uniq = sp_[new]
    inv = np.empty(len(pts), dtype=np.int64)
    inv[order] = np.cumsum(new) - 1
    pairs = cKDTree(uniq).query_pairs(eps, output_type="ndarray")
    if len(pairs):
        n = len(uniq)
        graph = sparse.coo_matrix(
            (np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n)
        )
        _, lab = csgraph.connected_components(graph, directed=False)
        rep = np.full(lab.max() + 1, n, dtype=np.int64)
        np.minimum.at(rep, lab, np.arange(n, dtype=np.int64))
        rep_of = rep[lab]
        keep_ids, rank = np.unique(rep_of, return_inverse=True)
        node_xy = uniq[keep_ids]
        ids = rank[inv]
    else:
        node_xy = uniq
        ids = inv
    u, v, e = ids[:m], ids[m : 2 * m], ids[2 * m :]
    ls.xy[ls.offsets[:-1]] = node_xy[u]
    ls.xy[ls.offsets[1:] - 1] = node_xy[v]
    return u, v, e, node_xy


def segment_tree(ls: LineSet) -> tuple[shapely.STRtree, np.ndarray]:
    """An STRtree of the segments of ``ls`` and the first-vertex row of each segment."""
    rows = ls.segment_rows()
    coords = np.stack([ls.xy[rows], ls.xy[rows + 1]], axis=1)
    return shapely.STRtree(shapely.linestrings(coords)), rows


def project_on_segments(
    ls: LineSet, rows: np.ndarray, px: np.ndarray, py: np.ndarray
) -> tuple[Events, np.ndarray]:
    """Nearest point on the segment starting at ``rows[i]`` to point ``i``, and its distance."""
    a = ls.xy[rows]
    b = ls.xy[rows + 1]
    t, dist, qx, qy = point_segment(px, py, a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    line = np.searchsorted(ls.offsets, rows, side="right") - 1
    k = rows - ls.offsets[line]
    return Events(line, k, t, qx, qy), dist


def nearest_on_segments(
    ls: LineSet, tree: shapely.STRtree, rows: np.ndarray, points: np.ndarray
) -> tuple[Events, np.ndarray]:
    """For every point the nearest point on any line (ties broken by the lowest segment)."""
    geoms = shapely.points(points)
    (ip, iseg), _ = tree.query_nearest(geoms, return_distance=True, all_matches=True)
    order = np.lexsort((iseg, ip))
    ip, iseg = ip[order], iseg[order]
    first = np.ones(len(ip), dtype=bool)
    first[1:] = ip[1:] != ip[:-1]
    ip, iseg = ip[first], iseg[first]
    ev, dist = project_on_segments(ls, rows[iseg], points[ip, 0], points[ip, 1])
    out_order = np.argsort(ip)
    return ev.take(out_order), dist[out_order]


def within_on_segments(
    ls: LineSet, tree: shapely.STRtree, rows: np.ndarray, points: np.ndarray, distance: float
) -> tuple[np.ndarray, Events, np.ndarray]:
    """All (point, nearest point on a segment) pairs within ``distance``."""
    ip, iseg = tree.query(shapely.points(points), predicate="dwithin", distance=distance)
    ev, dist = project_on_segments(ls, rows[iseg], points[ip, 0], points[ip, 1])
    ok = dist <= distance
    return ip[ok], ev.take(np.flatnonzero(ok)), dist[ok]
