"""Steiner tree instances for the benchmarks and tests: the PACE 2018 reader and seeded families.

Every instance is a :class:`Instance` (nodes ``0..n_nodes-1``, edge arrays, terminals, integer
weights). The generated families are deterministic: the same family, parameters and seed give
byte-identical arrays on any machine (numpy's ``default_rng`` seeded from them).

Families (see :data:`FAMILIES` for the parameter grid of each):

* ``rgg``: random geometric graphs in the unit square (radius for a mean degree of about 8),
  Euclidean weights;
* ``grid``: rectangular grids with random rectangular holes, unit weights or Euclidean weights on
  jittered node positions;
* ``unit``: unit-weight symmetric graphs where many trees weigh the same (hypercubes, Hamming
  graphs ``K_q^d``, tori);
* ``wrp``: wire-routing-like graphs: a two-layer routing grid with obstacles (horizontal wires
  on one layer, vertical on the other, vias between) whose terminals each hang on several pins
  by very heavy edges (as in SteinLib's WRP sets, where each terminal stands for a group of
  pins);
* ``cg``: service areas cut from the synthetic Chhattisgarh road graph
  (``cg_state/roads.parquet``): the PoP and its nearest GPs by road, and every node within
  ``1.5 x`` the farthest GP's road distance ``+ 5 km`` (the planner's service area), weights in
  metres;
* ``pace``: the odd PACE 2018 Track 1 instances (read from files, not generated).

The seeds are split: seeds in :data:`TUNE_SEEDS` may be looked at while changing the search,
seeds in :data:`VALIDATE_SEEDS` only to check the result (see ``steiner_families.py``).

Used by ``benchmarks/steiner_families.py``, ``benchmarks/steiner_pace.py`` and the tests
(``tests/conftest.py`` puts ``benchmarks/`` on the import path).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from netplan._errors import InputError

TUNE_SEEDS = (0, 1, 2)
VALIDATE_SEEDS = (3, 4, 5)

_WRP_HEAVY = 100_000  # weight of a terminal's edges to its pins (SteinLib's WRP sets use 1e5)


@dataclass(frozen=True)
class Instance:
    """A Steiner tree instance on nodes ``0..n_nodes-1``.

    Attributes
    ----------
    family
        Family name (``"pace"``, ``"rgg"``, ...).
    name
        Unique name, e.g. ``"rgg-n1000-k30-s4"`` or ``"instance001.gr"`` (PACE, as in
        ``track1.csv``).
    n_nodes
        Number of nodes.
    u, v
        Edge end nodes (int64 arrays).
    w
        Edge weights (float64 array of integers).
    terminals
        Terminal nodes (int64 array).
    seed
        Generator seed (-1 for PACE files).
    """

    family: str
    name: str
    n_nodes: int
    u: np.ndarray
    v: np.ndarray
    w: np.ndarray
    terminals: np.ndarray
    seed: int = -1

    def to_networkx(self):
        """The instance as a :class:`networkx.Graph` with edge attribute ``weight``.

        Parallel edges keep the lighter one.
        """
        import networkx as nx

        graph = nx.Graph()
        graph.add_nodes_from(range(self.n_nodes))
        order = np.argsort(-self.w, kind="stable")  # heaviest first, lightest written last
        graph.add_weighted_edges_from(
            zip(self.u[order].tolist(), self.v[order].tolist(), self.w[order].tolist(), strict=True)
        )
        return graph

    def fingerprint(self) -> str:
        """A short hash of the arrays (to tell whether a cached optimum is for this instance)."""
        h = hashlib.sha256()
        for arr in (self.u, self.v, self.w, self.terminals):
            h.update(np.ascontiguousarray(arr).tobytes())
        h.update(str(self.n_nodes).encode())
        return h.hexdigest()[:16]


# ---------------------------------------------------------------------------- PACE files


def read_pace(path: str | Path) -> Instance:
    """Read a PACE 2018 ``.gr`` file (optionally gzipped) with 0-based node ids.

    Raises
    ------
    InputError
        If the file is not in the expected format (the message names the file and line).
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    n_nodes = None
    edges: list[tuple[int, int, float]] = []
    terminals: list[int] = []
    with opener(path, "rt", encoding="ascii", errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            parts = line.split()
            if not parts:
                continue
            key = parts[0].lower()
            try:
                if key == "nodes":
                    n_nodes = int(parts[1])
                elif key == "e":
                    edges.append((int(parts[1]) - 1, int(parts[2]) - 1, float(parts[3])))
                elif key == "t":
                    terminals.append(int(parts[1]) - 1)
            except (IndexError, ValueError) as exc:
                raise InputError(
                    f"{path}: line {lineno} ({line.strip()!r}) is not a valid PACE line; "
                    "expected 'Nodes n', 'E u v w' or 'T v'"
                ) from exc
    if n_nodes is None:
        raise InputError(f"{path}: no 'Nodes n' line; is this a PACE .gr file?")
    arr = np.array(edges, dtype=float).reshape(-1, 3)
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    return Instance(
        family="pace",
        name=name,
        n_nodes=n_nodes,
        u=arr[:, 0].astype(np.int64),
        v=arr[:, 1].astype(np.int64),
        w=arr[:, 2].copy(),
        terminals=np.array(terminals, dtype=np.int64),
    )


def read_optima(path: str | Path) -> dict[str, float]:
    """Read ``track1.csv`` (columns ``paceName,opt``) into ``{name: optimum}``."""
    out: dict[str, float] = {}
    with open(path, encoding="utf-8") as fh:
        next(fh, None)
        for line in fh:
            parts = line.strip().split(",")
            if len(parts) >= 2 and parts[1]:
                out[parts[0]] = float(parts[1])
    return out


def shared_data() -> Path:
    """``$NETPLAN_SHARED_DATA`` or ``../shared/data`` next to the checkout."""
    env = os.environ.get("NETPLAN_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def pace_instances(data: Path | None = None) -> Iterator[Instance]:
    """The PACE 2018 Track 1 instances found under ``<data>/steiner/pace2018/Track1``."""
    base = (data or shared_data()) / "steiner" / "pace2018" / "Track1"
    for f in sorted(base.glob("*.gr.gz")):
        yield read_pace(f)


# ---------------------------------------------------------------------------- helpers


def _rng(family: str, params: tuple, seed: int) -> np.random.Generator:
    digest = hashlib.sha256(repr((family, params, seed)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _finish(family, name, seed, n, u, v, w, k, rng, candidates=None) -> Instance:
    """Keep the largest component, renumber its nodes and draw ``k`` terminals from it."""
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    w = np.maximum(1.0, np.rint(np.asarray(w, dtype=float)))
    adj = coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n))
    _nc, label = connected_components(adj, directed=False)
    big = np.bincount(label).argmax()
    keep = label == big
    new = np.full(n, -1, dtype=np.int64)
    new[keep] = np.arange(int(keep.sum()))
    ok = keep[u]
    pool = np.flatnonzero(keep) if candidates is None else candidates[keep[candidates]]
    terms = rng.choice(pool, size=min(k, len(pool)), replace=False)
    return Instance(family, name, int(keep.sum()), new[u[ok]], new[v[ok]], w[ok], new[terms], seed)


def _grid_edges(rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    idx = np.arange(rows * cols).reshape(rows, cols)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    return u, v


def _holes(rows: int, cols: int, share: float, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask of grid cells left after cutting random rectangles (``share`` of cells)."""
    alive = np.ones((rows, cols), dtype=bool)
    while (~alive).mean() < share:
        h = int(rng.integers(max(1, rows // 12), max(2, rows // 4) + 1))
        b = int(rng.integers(max(1, cols // 12), max(2, cols // 4) + 1))
        r0 = int(rng.integers(0, rows - h + 1))
        c0 = int(rng.integers(0, cols - b + 1))
        alive[r0 : r0 + h, c0 : c0 + b] = False
    return alive.ravel()


# ---------------------------------------------------------------------------- families


def rgg(n: int, k: int, seed: int) -> Instance:
    """Random geometric graph: ``n`` points in the unit square, radius for mean degree ~8."""
    rng = _rng("rgg", (n, k), seed)
    pts = rng.random((n, 2))
    radius = math.sqrt(8.0 / (math.pi * n))
    pairs = cKDTree(pts).query_pairs(radius, output_type="ndarray")
    d = np.linalg.norm(pts[pairs[:, 0]] - pts[pairs[:, 1]], axis=1)
    w = 100.0 * d / radius
    return _finish("rgg", f"rgg-n{n}-k{k}-s{seed}", seed, n, pairs[:, 0], pairs[:, 1], w, k, rng)


def grid(side: int, k: int, weights: str, seed: int) -> Instance:
    """A ``side x side`` grid with random rectangular holes (about 25 % of the cells).

    ``weights="unit"`` weighs every edge 1; ``"euclid"`` jitters the nodes by up to 0.35 of the
    spacing and weighs edges by their length (spacing 100).
    """
    rng = _rng("grid", (side, k, weights), seed)
    alive = _holes(side, side, 0.25, rng)
    u, v = _grid_edges(side, side)
    ok = alive[u] & alive[v]
    u, v = u[ok], v[ok]
    if weights == "unit":
        w = np.ones(len(u))
    else:
        xy = np.stack(np.divmod(np.arange(side * side), side), axis=1).astype(float)
        xy += rng.uniform(-0.35, 0.35, xy.shape)
        w = 100.0 * np.linalg.norm(xy[u] - xy[v], axis=1)
    name = f"grid-{weights}-{side}-k{k}-s{seed}"
    return _finish("grid", name, seed, side * side, u, v, w, k, rng)


def _hamming(q: int, d: int) -> tuple[int, np.ndarray, np.ndarray]:
    """Hamming graph ``K_q^d``: words of length ``d`` over ``q`` letters, one letter apart."""
    n = q**d
    words = np.array(np.unravel_index(np.arange(n), (q,) * d)).T
    us, vs = [], []
    for pos in range(d):
        step = q ** (d - 1 - pos)
        for delta in range(1, q):
            ok = words[:, pos] + delta < q
            a = np.flatnonzero(ok)
            us.append(a)
            vs.append(a + delta * step)
    return n, np.concatenate(us), np.concatenate(vs)


def _torus(side: int) -> tuple[int, np.ndarray, np.ndarray]:
    idx = np.arange(side * side).reshape(side, side)
    u = np.concatenate([idx.ravel(), idx.ravel()])
    v = np.concatenate([np.roll(idx, -1, axis=1).ravel(), np.roll(idx, -1, axis=0).ravel()])
    return side * side, u, v


def unit(graph: str, k: int, seed: int) -> Instance:
    """Unit weights on a symmetric graph: ``"hc<d>"`` hypercube, ``"ham<q>^<d>"``, ``"torus<s>"``."""
    rng = _rng("unit", (graph, k), seed)
    if graph.startswith("hc"):
        n, u, v = _hamming(2, int(graph[2:]))
    elif graph.startswith("ham"):
        q, d = graph[3:].split("^")
        n, u, v = _hamming(int(q), int(d))
    elif graph.startswith("torus"):
        n, u, v = _torus(int(graph[5:]))
    else:
        raise ValueError(f"unknown unit-weight graph {graph!r}")
    name = f"unit-{graph.replace('^', 'p')}-k{k}-s{seed}"
    return _finish("unit", name, seed, n, u, v, np.ones(len(u)), k, rng)


def wrp(side: int, groups: int, seed: int) -> Instance:
    """Wire-routing-like: a two-layer ``side x side`` grid with 15 % obstacles.

    Layer 0 has the horizontal wires (weight 1), layer 1 the vertical ones (weight 1), vias
    between the layers weigh 3. Each of ``groups`` terminals is a new node joined by edges of
    weight 100,000 to 2-5 pins (free layer-0 cells within 3 cells of a random centre).
    """
    rng = _rng("wrp", (side, groups), seed)
    cells = side * side
    alive = _holes(side, side, 0.15, rng)
    idx = np.arange(cells).reshape(side, side)
    hu, hv = idx[:, :-1].ravel(), idx[:, 1:].ravel()  # horizontal, layer 0
    vu, vv = idx[:-1, :].ravel() + cells, idx[1:, :].ravel() + cells  # vertical, layer 1
    via = np.arange(cells)
    u = np.concatenate([hu, vu, via])
    v = np.concatenate([hv, vv, via + cells])
    w = np.concatenate([np.ones(len(hu)), np.ones(len(vu)), np.full(cells, 3.0)])
    alive2 = np.concatenate([alive, alive])
    ok = alive2[u] & alive2[v]
    u, v, w = list(u[ok]), list(v[ok]), list(w[ok])
    n = 2 * cells
    terms = []
    for _g in range(groups):
        while True:
            r, c = rng.integers(0, side, 2)
            near = idx[max(0, r - 3) : r + 4, max(0, c - 3) : c + 4].ravel()
            near = near[alive[near]]
            if len(near) >= 2:
                break
        pins = rng.choice(near, size=min(len(near), int(rng.integers(2, 6))), replace=False)
        for p in pins:
            u.append(n)
            v.append(int(p))
            w.append(float(_WRP_HEAVY))
        terms.append(n)
        n += 1
    cand = np.array(terms, dtype=np.int64)
    return _finish("wrp", f"wrp-{side}-k{groups}-s{seed}", seed, n, u, v, w, groups, rng, cand)


# ---------------------------------------------------------------------------- cg_state areas


@dataclass(frozen=True)
class RoadGraph:
    """The cg_state road graph (largest component), with GP and PoP nodes."""

    n_nodes: int
    u: np.ndarray
    v: np.ndarray
    w: np.ndarray  # metres
    gp_nodes: np.ndarray  # nearest node of every GP
    pop_nodes: np.ndarray  # nearest node of every PoP


@functools.lru_cache(maxsize=1)
def cg_road_graph(data: Path | None = None) -> RoadGraph:
    """Build the road graph of ``cg_state`` from its lines' end points (the lines are noded).

    Nodes are line ends rounded to 1e-6 degree; edge weights are line lengths in metres (UTM
    44N); only the largest component is kept (gaps in the synthetic data cut off a few
    hundred nodes). GPs and PoPs take their nearest node.
    """
    import geopandas as gpd
    import shapely

    base = (data or shared_data()) / "cg_state"
    roads = gpd.read_parquet(base / "roads.parquet", columns=["geometry"])
    geom = roads.geometry.values
    ends = np.concatenate(
        [shapely.get_coordinates(shapely.get_point(geom, 0)),
         shapely.get_coordinates(shapely.get_point(geom, -1))]
    )  # fmt: skip
    key = np.rint(ends * 1e6).astype(np.int64)
    uniq, inv = np.unique(key, axis=0, return_inverse=True)
    inv = inv.ravel()
    m = len(geom)
    u, v = inv[:m], inv[m:]
    length = roads.to_crs(32644).geometry.length.to_numpy()
    n = len(uniq)
    adj = coo_matrix((np.ones(m), (u, v)), shape=(n, n))
    _nc, label = connected_components(adj, directed=False)
    keep = label == np.bincount(label).argmax()
    new = np.full(n, -1, dtype=np.int64)
    new[keep] = np.arange(int(keep.sum()))
    ok = keep[u] & (u != v)
    xy = uniq[keep] / 1e6
    tree = cKDTree(xy * [math.cos(math.radians(21.5)), 1.0])

    def nearest(path: Path) -> np.ndarray:
        pts = gpd.read_parquet(path, columns=["geometry"]).geometry
        q = np.stack([pts.x.to_numpy(), pts.y.to_numpy()], axis=1)
        return tree.query(q * [math.cos(math.radians(21.5)), 1.0])[1].astype(np.int64)

    return RoadGraph(
        int(keep.sum()), new[u[ok]], new[v[ok]], np.maximum(1.0, np.rint(length[ok])),
        nearest(base / "gps.parquet"), nearest(base / "pops.parquet"),
    )  # fmt: skip


def cg(k: int, seed: int, data: Path | None = None) -> Instance:
    """Service area of a random PoP with its ``k - 1`` nearest GPs by road."""
    rng = _rng("cg", (k,), seed)
    g = cg_road_graph(data)
    pop = int(rng.choice(g.pop_nodes))
    csr = coo_matrix(
        (np.concatenate([g.w, g.w]), (np.concatenate([g.u, g.v]), np.concatenate([g.v, g.u]))),
        shape=(g.n_nodes, g.n_nodes),
    ).tocsr()
    dist = dijkstra(csr, indices=pop)
    gps = np.unique(g.gp_nodes[g.gp_nodes != pop])
    gps = gps[np.argsort(dist[gps], kind="stable")][: k - 1]
    far = float(dist[gps].max())
    area = np.flatnonzero(dist <= 1.5 * far + 5000.0)
    new = np.full(g.n_nodes, -1, dtype=np.int64)
    new[area] = np.arange(len(area))
    ok = (new[g.u] >= 0) & (new[g.v] >= 0)
    terms = new[np.concatenate([[pop], gps])]
    return Instance(
        "cg", f"cg-k{k}-s{seed}", len(area), new[g.u[ok]], new[g.v[ok]], g.w[ok].copy(),
        terms.astype(np.int64), seed,
    )  # fmt: skip


# ---------------------------------------------------------------------------- the grid

#: Parameter sets of each generated family (seeds are added by :func:`family_instances`).
FAMILIES: dict[str, list[tuple]] = {
    "rgg": [(200, 8), (500, 20), (1000, 40), (2000, 60)],
    "grid": [(20, 12, "unit"), (40, 30, "unit"), (30, 20, "euclid"), (50, 40, "euclid")],
    "unit": [("hc7", 16), ("hc9", 40), ("ham4^4", 30), ("torus24", 40)],
    "wrp": [(20, 8), (30, 15), (40, 30)],
    "cg": [(10,), (30,), (100,), (300,)],
}

_MAKERS = {"rgg": rgg, "grid": grid, "unit": unit, "wrp": wrp, "cg": cg}


def family_instances(family: str, seeds: tuple[int, ...]) -> Iterator[Instance]:
    """Every instance of ``family`` for every parameter set and seed."""
    maker = _MAKERS[family]
    for params in FAMILIES[family]:
        for seed in seeds:
            yield maker(*params, seed)
