"""From GP assignments to designed route segments: one :class:`~netplan.design.Design` per PoP,
then the routes table (one row per segment) and the rings table.

Two ways to the designs: :func:`design_pops` designs each PoP for GPs already assigned to it;
:func:`design_joint` assigns and designs at once (a Steiner forest rooted at the PoPs, see
:mod:`netplan.joint`), so a GP may join another PoP's trench. Service points
(:mod:`netplan.facilities`) are further terminals of both; segments list them apart from the GPs
(``facility_ids``, ``facilities_served``).

Private plumbing of :mod:`netplan.planner`; the graph work itself is in :mod:`netplan.design`.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from tqdm.auto import tqdm

from netplan._csr import CSRGraph, path_edges
from netplan._errors import NetplanError
from netplan.assign import fit_capacity, node_to_pop, over_capacity_reason
from netplan.design import Design, _root_edges, design_routes
from netplan.joint import OVER_CAPACITY, steiner_forest
from netplan.network import RoadNetwork
from netplan.params import DesignOptions

__all__ = [
    "PopDesigns",
    "design_pops",
    "design_joint",
    "routes_frame",
    "facility_results",
    "ring_hops",
    "ROUTE_COLUMNS",
    "RING_COLUMNS",
]

log = logging.getLogger(__name__)

RING_COLUMNS = ["ring_id", "pop_id", "n_gps", "gp_ids", "length_m", "shared_m", "diverse_share"]
ROUTE_COLUMNS = [
    "pop_id",
    "segment_id",
    "edge_id",
    "kind",
    "offroad",
    "road_class",
    "road_name",
    "ref",
    "length_m",
    "cable_m",
    "gps_served",
    "gp_ids",
    "facilities_served",
    "facility_ids",
    "from_node",
    "to_node",
]
_ROUTE_DTYPES = {
    "edge_id": np.int64,
    "from_node": np.int64,
    "to_node": np.int64,
    "offroad": bool,
    "length_m": float,
    "cable_m": float,
    "gps_served": np.int64,
    "facilities_served": np.int64,
}


@dataclass
class PopDesigns:
    """The designs of a set of PoPs.

    Attributes
    ----------
    designs
        The design of each PoP that could be designed, by PoP id (sorted).
    gp_nodes
        For each designed PoP, its GPs' network nodes (indexed by GP id).
    roots
        For each designed PoP, its network node.
    failures
        PoPs whose design failed, with the reason given to their GPs.
    facility_nodes
        For each designed PoP serving facilities as own terminals, their network nodes
        (indexed by facility id).
    """

    designs: dict[str, Design] = field(default_factory=dict)
    gp_nodes: dict[str, pd.Series] = field(default_factory=dict)
    roots: dict[str, int] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    facility_nodes: dict[str, pd.Series] = field(default_factory=dict)

    def weight(self, weights: np.ndarray) -> float:
        """Total weight of the designs' edges (an edge in two designs counts twice)."""
        return float(sum(weights[d.edges].sum() for d in self.designs.values()))

    def only(self, pop_ids: tuple[str, ...]) -> PopDesigns:
        """The designs of ``pop_ids`` alone."""
        keep = set(pop_ids)
        return PopDesigns(
            designs={p: d for p, d in self.designs.items() if p in keep},
            gp_nodes={p: n for p, n in self.gp_nodes.items() if p in keep},
            roots={p: r for p, r in self.roots.items() if p in keep},
            failures={p: f for p, f in self.failures.items() if p in keep},
            facility_nodes={p: n for p, n in self.facility_nodes.items() if p in keep},
        )

    def route_m(self, index: pd.Index, *, facilities: bool = False) -> pd.Series:
        """Distance along its PoP's design from the PoP to each GP (or, with ``facilities``,
        each facility; NaN where not designed)."""
        out = pd.Series(np.nan, index=index, dtype=float)
        for pop_id, nodes in (self.facility_nodes if facilities else self.gp_nodes).items():
            depth = {**self.designs[pop_id].depth, self.roots[pop_id]: 0.0}
            mine = nodes[nodes.index.isin(index)]
            out.loc[mine.index] = [depth.get(int(n), np.nan) for n in mine.to_numpy()]
        return out

    def facility_pops(self) -> pd.Series:
        """The PoP whose design serves each facility terminal (index facility id)."""
        found = [pd.Series(pop_id, index=n.index) for pop_id, n in self.facility_nodes.items()]
        return pd.concat(found).astype(object) if found else pd.Series(dtype=object)


def design_pops(
    network: RoadNetwork,
    weights: np.ndarray,
    assignment: pd.DataFrame,
    options: DesignOptions,
    *,
    facilities: pd.DataFrame | None = None,
    csr: CSRGraph | None = None,
    trees: PopDesigns | None = None,
    progress: bool = True,
) -> PopDesigns:
    """Design every PoP that has GPs assigned (``assignment["reason"] == ""``) or facilities
    to serve (``facilities``: ``pop_id``, ``node``, ``network_m`` per facility terminal).

    ``trees`` (e.g. the joint design's) are followed instead of solving each PoP's tree again,
    so rings over a joint assignment run around the joint trees. A PoP whose design fails with
    a netplan error (e.g. a GP it cannot reach) is recorded in :attr:`PopDesigns.failures`;
    other errors are bugs and propagate.
    """
    u, v, length = network.arrays()
    n_nodes = len(network.nodes)
    csr = csr if csr is not None else CSRGraph.from_arrays(n_nodes, u, v, weights)
    gp_nodes = network.gps["node"]
    pop_nodes = network.pops["node"]
    out = PopDesigns()
    assigned = assignment[assignment["reason"] == ""]
    groups = dict(tuple(assigned.groupby("pop_id", sort=True)))
    served = {} if facilities is None else dict(tuple(facilities.groupby("pop_id", sort=True)))
    empty = assigned.iloc[:0]
    pop_ids = sorted(set(groups) | set(served), key=str)
    for pop_id in tqdm(pop_ids, desc="designing routes", unit="PoP", disable=not progress):
        group = groups.get(pop_id, empty)
        root = int(pop_nodes.at[pop_id])
        nodes = gp_nodes.loc[group.index].astype(np.int64)
        extra = served.get(pop_id)
        extra_nodes = pd.Series(dtype=np.int64) if extra is None else extra["node"].astype(np.int64)
        reach = [group["network_m"].to_numpy(dtype=float)]
        if extra is not None:
            reach.append(extra["network_m"].to_numpy(dtype=float))
        try:
            design = design_routes(
                n_nodes,
                u,
                v,
                weights,
                root,
                np.concatenate([nodes.to_numpy(), extra_nodes.to_numpy()]),
                topology=options.topology,
                csr=csr,
                length=length,
                ring_size=options.ring_size,
                diversity=options.ring_diversity,
                slack=options.service_slack,
                margin=options.service_margin_m,
                reach=float(np.nanmax(np.concatenate(reach), initial=0.0)),
                tree_edges=_tree_of(trees, str(pop_id)),
            )
        except NetplanError as exc:  # keep the other PoPs; report this one
            log.warning("design failed for PoP %s: %s", pop_id, exc)
            out.failures[str(pop_id)] = f"route design failed for PoP {pop_id}: {exc}"
            continue
        out.designs[str(pop_id)] = design
        out.gp_nodes[str(pop_id)] = nodes
        out.roots[str(pop_id)] = root
        if len(extra_nodes):
            out.facility_nodes[str(pop_id)] = extra_nodes
    return out


def _tree_of(trees: PopDesigns | None, pop_id: str) -> np.ndarray | None:
    design = None if trees is None else trees.designs.get(pop_id)
    return None if design is None else design.edges


def design_joint(
    network: RoadNetwork,
    weights: np.ndarray,
    nearest: pd.DataFrame,
    capacity: pd.Series,
    options: DesignOptions,
    *,
    facilities: pd.Series | None = None,
    csr: CSRGraph,
    length_csr: CSRGraph,
    progress: bool = True,
) -> tuple[pd.DataFrame, PopDesigns]:
    """Assign GPs to PoPs and design their trees as one problem: a Steiner forest rooted at the
    PoPs (:func:`netplan.joint.steiner_forest`) under the routing ``weights``.

    When a capacity binds, the forest kept within capacity is compared with the nearest-PoP
    assignment kept within capacity (:func:`netplan.assign.fit_capacity`) and one tree per PoP;
    the plan serving more GPs, then the lighter, is returned.

    Parameters
    ----------
    network
        The road network.
    weights
        Routing weight of every edge (length plus any permission penalties).
    nearest
        The nearest-PoP assignment (:func:`netplan.assign.assign_to_pops`): its GPs without a
        reason are the forest's terminals, the others keep their reasons.
    capacity
        The most GPs each PoP may serve, by PoP id (inf: no limit).
    options
        The design options (service area of the per-PoP trees compared under capacity).
    facilities
        Network nodes of service points to connect too (index facility id). They are terminals
        of the forest; capacities count GPs only, so with a capacity the trees are designed for
        the GPs and each facility then joins the nearest tree by its shortest path.
    csr, length_csr
        The network weighted by ``weights`` and by length (road distances for ``network_m``).
    progress
        Show progress bars.

    Returns
    -------
    assignment, designs
        The assignment (``pop_id`` = the root of the GP's tree, ``network_m`` = its road
        distance to that PoP, ``reason`` for GPs left over) and one tree per PoP serving GPs or
        facilities (:attr:`PopDesigns.facility_nodes`).
    """
    capped = bool(np.isfinite(capacity.to_numpy(dtype=float)).any())
    assignment, designs = _forest_designs(
        network,
        weights,
        nearest,
        capacity,
        facilities=None if capped else facilities,
        length_csr=length_csr,
        progress=progress,
    )
    if not capped:
        return assignment, designs
    served = assignment.loc[assignment["reason"] == "", "pop_id"].value_counts()
    if (served.reindex(capacity.index, fill_value=0) >= capacity).any():
        per_pop = fit_capacity(nearest, network, capacity, csr=length_csr, can_move=True)
        tree = dataclasses.replace(options, topology="tree")
        alternative = design_pops(network, weights, per_pop, tree, csr=csr, progress=progress)
        for pop_id, reason in alternative.failures.items():
            per_pop.loc[per_pop["pop_id"] == pop_id, "reason"] = reason
        scores = [
            (-int((table["reason"] == "").sum()), made.weight(weights))
            for table, made in ((assignment, designs), (per_pop, alternative))
        ]
        log.info(
            "within capacity: joint forest %s, per-PoP trees %s (GPs left over, weight)", *scores
        )
        if scores[1] < scores[0]:
            assignment, designs = per_pop, alternative
    if facilities is not None and len(facilities):
        _attach(network, designs, facilities, csr)
    return assignment, designs


def _forest_designs(
    network: RoadNetwork,
    weights: np.ndarray,
    nearest: pd.DataFrame,
    capacity: pd.Series,
    *,
    facilities: pd.Series | None,
    length_csr: CSRGraph,
    progress: bool,
) -> tuple[pd.DataFrame, PopDesigns]:
    """The joint assignment and the trees of the Steiner forest rooted at the PoPs (GPs and
    ``facilities`` as terminals; only GPs are given a capacity)."""
    u, v, length = network.arrays()
    owner = node_to_pop(network.pops.loc[network.pops["status"] == "ok", "node"].astype(np.int64))
    roots = np.asarray(sorted(owner), dtype=np.int64)
    pop_ids = [owner[r] for r in roots.tolist()]
    assignment = nearest.copy()
    todo = assignment.index[assignment["reason"] == ""]
    nodes = network.gps.loc[todo, "node"].astype(np.int64).to_numpy()
    extra = pd.Series(dtype=np.int64) if facilities is None else facilities.astype(np.int64)
    forest = steiner_forest(
        len(network.nodes),
        u,
        v,
        weights,
        roots,
        np.concatenate([nodes, extra.to_numpy()]),
        capacity=None if len(extra) else capacity.reindex(pop_ids).to_numpy(dtype=float),
        progress=progress,
    )
    root_of, extra_root = forest.root_of[: len(nodes)], forest.root_of[len(nodes) :]
    reason = forest.reason[: len(nodes)]
    served = root_of >= 0
    assignment.loc[todo[served], "pop_id"] = [pop_ids[r] for r in root_of[served]]
    for gp_id in todo[reason == OVER_CAPACITY]:
        pop_id = assignment.at[gp_id, "pop_id"]
        assignment.at[gp_id, "reason"] = over_capacity_reason(
            pop_id, capacity[pop_id], can_move=True
        )
    designs = PopDesigns()
    gp_nodes = pd.Series(nodes[served], index=todo[served])
    by_pop = assignment.loc[todo[served], "pop_id"]
    for r, tree in enumerate(forest.trees):
        mine = gp_nodes[by_pop == pop_ids[r]]
        theirs = extra[extra_root == r]
        if mine.empty and theirs.empty:
            continue
        terminals = set(mine.tolist()) | set(theirs.tolist())
        designs.designs[pop_ids[r]] = _root_edges(
            tree, u, v, length, int(roots[r]), terminals - {int(roots[r])}
        )
        designs.gp_nodes[pop_ids[r]] = mine
        designs.roots[pop_ids[r]] = int(roots[r])
        if len(theirs):
            designs.facility_nodes[pop_ids[r]] = theirs
    assignment.loc[todo, "network_m"] = np.nan
    assignment.loc[gp_nodes.index, "network_m"] = _road_distances(designs, length_csr)
    return assignment, designs


def _attach(
    network: RoadNetwork, designs: PopDesigns, facilities: pd.Series, csr: CSRGraph
) -> None:
    """Join each facility to the nearest design or PoP (under ``csr``'s weights) by its
    shortest path and make it a terminal of that design (in place; a PoP without one gets one).
    Paths start at every node of every design and every PoP at once, so they never run through
    another design and never close a cycle."""
    u, v, length = network.arrays()
    owner: dict[int, str] = {}
    for pop_id in sorted(designs.designs, key=str):
        design = designs.designs[pop_id]
        for node in [designs.roots[pop_id], *design.parent_node.tolist(), *design.child_node]:
            owner.setdefault(int(node), pop_id)
    pops = network.pops.loc[network.pops["status"] == "ok", "node"].astype(np.int64)
    for node, pop_id in node_to_pop(pops).items():
        owner.setdefault(node, pop_id)
    _, pred, source = csr.dijkstra(np.asarray(sorted(owner), dtype=np.int64), multi=True)
    added: dict[str, list[np.ndarray]] = {}
    joined: dict[str, list[str]] = {}
    for facility_id, node in facilities.sort_index().items():
        if source[node] < 0:
            continue  # no design reachable: listed as not reached
        pop_id = owner[int(source[node])]
        added.setdefault(pop_id, []).append(path_edges(csr, pred, int(node)))
        joined.setdefault(pop_id, []).append(facility_id)
    for pop_id, paths in added.items():
        if pop_id not in designs.designs:  # a PoP serving no GP
            designs.roots[pop_id] = int(pops[pop_id])
            designs.gp_nodes[pop_id] = pd.Series(dtype=np.int64)
        current = designs.designs.get(pop_id)
        mine = facilities.loc[joined[pop_id]]
        root = designs.roots[pop_id]
        terminals = set(designs.gp_nodes[pop_id].tolist()) | set(mine.tolist())
        edges = np.unique(np.concatenate([[] if current is None else current.edges, *paths]))
        edges = edges.astype(np.int64)
        designs.designs[pop_id] = _root_edges(edges, u, v, length, root, terminals - {root})
        designs.facility_nodes[pop_id] = mine
    for name in ("designs", "gp_nodes", "roots", "facility_nodes"):  # by PoP id again
        setattr(designs, name, dict(sorted(getattr(designs, name).items())))


def _road_distances(
    designs: PopDesigns, length_csr: CSRGraph, *, facilities: bool = False
) -> pd.Series:
    """Each designed GP's (or facility's) road distance to its PoP (a search bounded by its
    distance along the design, which is never shorter)."""
    out = []
    for pop_id, nodes in (designs.facility_nodes if facilities else designs.gp_nodes).items():
        depth = designs.designs[pop_id].depth
        reach = max((depth.get(int(n), 0.0) for n in nodes.tolist()), default=0.0)
        dist, _ = length_csr.dijkstra(designs.roots[pop_id], limit=reach * (1 + 1e-9) + 1e-6)
        out.append(pd.Series(dist[nodes.to_numpy()], index=nodes.index))
    return pd.concat(out) if out else pd.Series(dtype=float)


def facility_results(
    designs: PopDesigns,
    pop_of: pd.Series,
    length_csr: CSRGraph,
    *,
    planned: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """What the design made of each facility terminal.

    Parameters
    ----------
    designs
        The variant's designs (facility terminals in :attr:`PopDesigns.facility_nodes`).
    pop_of
        The PoP meant to serve each facility terminal (index facility id; None where no PoP
        can be reached).
    length_csr
        The network weighted by length.
    planned
        The PoPs of the variant (None: all); facilities of other PoPs are listed as such.

    Returns
    -------
    pandas.DataFrame
        Same index: ``pop_id``, ``network_m`` (road distance to that PoP), ``route_m`` (along
        the design; NaN when not reached) and ``reason`` ("" when designed).
    """
    route_m = designs.route_m(pop_of.index, facilities=True)
    reason = pd.Series("", index=pop_of.index, dtype=object)
    for facility_id, pop_id in pop_of.items():
        if pop_id is None or pd.isna(pop_id):
            reason[facility_id] = "no road path to any PoP"
        elif planned is not None and pop_id not in planned:
            reason[facility_id] = f"served by PoP {pop_id}, which is not among the PoPs planned"
        elif pop_id in designs.failures:
            reason[facility_id] = designs.failures[pop_id]
        elif np.isnan(route_m[facility_id]):
            reason[facility_id] = f"not reached by the design of PoP {pop_id} (please report this)"
    return pd.DataFrame(
        {
            "pop_id": pop_of.astype(object),
            "network_m": _road_distances(designs, length_csr, facilities=True)
            .reindex(pop_of.index)
            .astype(float),
            "route_m": route_m,
            "reason": reason,
        },
        index=pop_of.index,
    )


def _gps_by_node(nodes: pd.Series) -> dict[int, list[str]]:
    """Site (GP or facility) ids at each node, sorted."""
    by_node: dict[int, list[str]] = {}
    for gp_id, node in sorted(nodes.items(), key=lambda kv: str(kv[0])):
        by_node.setdefault(int(node), []).append(str(gp_id))
    return by_node


def _ring_rows(pop_id: str, design: Design, by_node: dict[int, list[str]]) -> list[dict[str, Any]]:
    rows = []
    for k, ring in enumerate(design.rings, start=1):
        ring_gps = [g for n in ring.terminals for g in by_node.get(n, ())]
        rows.append(
            {
                "ring_id": f"{pop_id}-R{k}",
                "pop_id": pop_id,
                "n_gps": len(ring_gps),
                "gp_ids": ";".join(ring_gps),
                "length_m": ring.length,
                "shared_m": ring.shared,
                "diverse_share": 1.0 - ring.shared / ring.length if ring.length else 1.0,
            }
        )
    return rows


def ring_hops(designs: PopDesigns) -> pd.DataFrame:
    """For every GP on a ring: its ring and the lengths of the legs that reach it
    (``hop_in_m``) and leave it (``hop_out_m``), i.e. the fibre runs to its neighbouring routers."""
    rows = []
    for pop_id, design in designs.designs.items():
        by_node = _gps_by_node(designs.gp_nodes[pop_id])
        for k, ring in enumerate(design.rings, start=1):
            for i, node in enumerate(ring.terminals):
                for gp in by_node.get(node, ()):
                    hop_in, hop_out = ring.legs[i], ring.legs[i + 1]
                    rows.append((gp, f"{pop_id}-R{k}", hop_in, hop_out))
    table = pd.DataFrame(rows, columns=["site_id", "ring_id", "hop_in_m", "hop_out_m"])
    return table.drop_duplicates("site_id").set_index("site_id")


def _segment_rows(
    pop_id: str,
    design: Design,
    by_node: tuple[dict[int, list[str]], dict[int, list[str]]],
    length: np.ndarray,
    *,
    star: bool,
) -> list[dict[str, Any]]:
    """One row per edge of a PoP's design: the GPs and facilities it serves (``by_node``: the
    ids of each at every node) and the cable laid in it."""
    gps_at, facilities_at = by_node
    rings_of_edge: dict[int, list[str]] = {}
    for k, ring in enumerate(design.rings, start=1):
        for e in np.unique(ring.edges).tolist():
            rings_of_edge.setdefault(e, []).append(f"{pop_id}-R{k}")
    rows = []
    sites: dict[tuple[int, ...], tuple[int, str, int, str]] = {}  # a ring's edges share theirs
    for i, edge_id in enumerate(design.edges.tolist()):
        nodes = design.served[i]
        if nodes not in sites:
            served = [g for n in nodes for g in gps_at.get(n, ())]
            facilities = [f for n in nodes for f in facilities_at.get(n, ())]
            sites[nodes] = (len(served), ";".join(served), len(facilities), ";".join(facilities))
        n_gps, gp_ids, n_facilities, facility_ids = sites[nodes]
        # a star lays one cable per site (sites sharing a node included); trees and rings lay
        # one cable per pass
        passes = n_gps + n_facilities if star else int(design.cable_count[i])
        row = {
            "pop_id": pop_id,
            "edge_id": int(edge_id),
            "cable_m": float(length[edge_id] * passes),
            "gps_served": n_gps,
            "gp_ids": gp_ids,
            "facilities_served": n_facilities,
            "facility_ids": facility_ids,
            "from_node": int(design.parent_node[i]),
            "to_node": int(design.child_node[i]),
        }
        if design.rings:
            row["ring_ids"] = ";".join(rings_of_edge.get(int(edge_id), []))
        rows.append(row)
    return rows


def routes_frame(
    network: RoadNetwork, designs: PopDesigns, *, topology: str
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """The route segments (metric CRS, oriented away from the PoP) and, for rings, the rings."""
    length = network.edges["length"].to_numpy(dtype=float)
    rows: list[dict[str, Any]] = []
    ring_rows: list[dict[str, Any]] = []
    flips: list[np.ndarray] = []
    edge_u = network.edges["u"].to_numpy()
    no_facilities = pd.Series(dtype=np.int64)
    for pop_id, design in designs.designs.items():
        by_node = _gps_by_node(designs.gp_nodes[pop_id])
        at = (by_node, _gps_by_node(designs.facility_nodes.get(pop_id, no_facilities)))
        rows.extend(_segment_rows(pop_id, design, at, length, star=topology == "star"))
        ring_rows.extend(_ring_rows(pop_id, design, by_node))
        flips.append(edge_u[design.edges] != design.parent_node)
    flip = np.concatenate(flips) if flips else np.zeros(0, dtype=bool)
    routes = _with_edge_attributes(network, pd.DataFrame(rows), flip)
    rings = pd.DataFrame(ring_rows, columns=RING_COLUMNS).set_index("ring_id")
    return routes, rings


def _with_edge_attributes(
    network: RoadNetwork, table: pd.DataFrame, flip: np.ndarray
) -> gpd.GeoDataFrame:
    """Add the road attributes and geometry (reversed where ``flip``) of each row's edge."""
    if len(table):
        picked = network.edges.loc[table["edge_id"].to_numpy()]
        geometry = picked.geometry.to_numpy()
        geometry = np.where(flip, shapely.reverse(geometry), geometry)
        table["kind"] = picked["kind"].to_numpy()
        table["offroad"] = table["kind"] != "road"
        table["road_class"] = picked["road_class"].to_numpy()
        table["road_name"] = picked["name"].to_numpy()
        table["ref"] = picked["ref"].to_numpy()
        table["length_m"] = picked["length"].to_numpy()
    else:
        table = pd.DataFrame(
            {
                c: pd.Series(dtype=_ROUTE_DTYPES.get(c, object))
                for c in ROUTE_COLUMNS
                if c != "segment_id"
            }
        )
        geometry = np.empty(0, dtype=object)
    table.insert(1, "segment_id", np.arange(len(table), dtype=np.int64))
    columns = ROUTE_COLUMNS + (["ring_ids"] if "ring_ids" in table.columns else [])
    return gpd.GeoDataFrame(table[columns], geometry=list(geometry), crs=network.crs)
