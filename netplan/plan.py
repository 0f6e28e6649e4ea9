"""The planner: files or GeoDataFrames in, a :class:`Plan` out.

``plan()`` runs the whole pipeline: load and validate the layers, build the road network, assign
GPs to PoPs, design each PoP's routes on compact arrays, flag right-of-way crossings, register the
permits and summarise, all deterministic for the same input.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from tqdm.auto import tqdm

from netplan import io as nio
from netplan._csr import CSRGraph
from netplan._errors import InputError
from netplan._validate import check_same_area, check_within_extent, path_of
from netplan.assign import assign_to_pops
from netplan.design import Topology, design_routes
from netplan.network import RoadNetwork, build_network
from netplan.params import CostModel, NetworkOptions
from netplan.row import RowLayer, annotate_edges, flag_routes, permit_register

if TYPE_CHECKING:
    import folium

__all__ = ["Plan", "plan"]

log = logging.getLogger(__name__)

LayerInput = str | PathLike[str] | gpd.GeoDataFrame  # a file path or a loaded layer
WGS84 = "EPSG:4326"
EXTENT_MARGIN_M = 25_000.0
"""Sites farther than this outside the road layer's bounding box mean a wrong CRS or area."""
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
]


@dataclass(eq=False)
class Plan:
    """A fibre plan: routes, sites, right-of-way crossings, permits and a summary.

    All GeoDataFrames are in EPSG:4326 (lon/lat); lengths are metres, areas hectares.

    Attributes
    ----------
    routes
        One row per route segment (a road edge, off-road spur or bridge link used by a PoP).
    sites
        Every GP given to the planner, routed or listed as unroutable with a reason.
    pops
        Every PoP with its GP counts.
    crossings
        Points where a route needs a permission: highway crossings, runs along a highway,
        forest entries (one row each).
    permits
        The permit register: one row per application item.
    summary
        One row per PoP and a ``TOTAL`` row.
    tradeoff
        With a permission-aware :class:`~netplan.params.CostModel`: the length-only plan against
        this one (extra km against permissions avoided). ``None`` otherwise.
    rings
        With ``topology="ring"``: one row per ring (its GPs in order, length, and the length it
        runs twice over the same road, where one cut breaks it). ``None`` otherwise.
    inputs
        The files the plan was made from (absolute paths); :meth:`to_file` never writes over
        them or a folder holding them.
    """

    routes: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    pops: gpd.GeoDataFrame
    crossings: gpd.GeoDataFrame
    permits: pd.DataFrame
    summary: pd.DataFrame
    topology: str = "tree"
    costs: CostModel = field(default_factory=CostModel)
    layers: tuple[RowLayer, ...] = ()
    network: RoadNetwork | None = None
    tradeoff: pd.DataFrame | None = None
    rings: pd.DataFrame | None = None
    inputs: tuple[Path, ...] = ()

    def __repr__(self) -> str:
        total = self.summary.loc["TOTAL"] if "TOTAL" in self.summary.index else None
        text = f"<Plan {self.topology}: {len(self.pops)} PoPs, {len(self.sites)} GPs"
        if total is not None:
            text += (
                f", {int(total['routed'])} routed, {total['trench_km']:.1f} km trench"
                f", {len(self.permits)} permit items"
            )
        return text + ">"

    @property
    def unroutable(self) -> gpd.GeoDataFrame:
        """The GPs that could not be routed, with the reason."""
        return self.sites[~self.sites["routed"]]

    def explore(self, **kwargs: Any) -> folium.Map:
        """A folium map of the plan (shows inline in Jupyter)."""
        from netplan.maps import plan_map

        # the map's forest and highway layers; other right-of-way layers show through their
        # permission markers
        forest = [layer.data for layer in self.layers if layer.name == "forest"]
        lines = [layer.data for layer in self.layers if layer.name == "nh"]
        return plan_map(
            routes=self.routes,
            sites=self.sites,
            pops=self.pops,
            crossings=self.crossings,
            forest=_concat_or_none(forest),
            highways=_concat_or_none(lines),
            **kwargs,
        )

    def to_html(self, path: str | PathLike[str], **kwargs: Any) -> Path:
        """Write the map as a standalone HTML file and return its path."""
        from netplan.maps import save_map

        path = Path(path)
        save_map(self.explore(**kwargs), path)
        return path

    def to_file(
        self, directory: str | PathLike[str], *, overwrite: bool = False, map_html: bool = True
    ) -> Path:
        """Write ``plan.gpkg``, ``summary.csv``, ``permits.csv``/``.xlsx``, ``sites.csv``,
        ``plan.kml`` and ``map.html`` into ``directory`` (atomically: all or nothing).

        ``overwrite=True`` replaces only a folder netplan wrote before, and in it only its own
        files (see :func:`netplan.export.write_plan`).
        """
        from netplan.export import write_plan

        return write_plan(self, directory, overwrite=overwrite, map_html=map_html)


def _concat_or_none(frames: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame | None:
    if not frames:
        return None
    frames = [f.to_crs(WGS84) for f in frames]
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=WGS84)


def _row_layers(
    roads: gpd.GeoDataFrame,
    forest: gpd.GeoDataFrame | None,
    highways: gpd.GeoDataFrame | None,
    extra: Sequence[RowLayer],
    *,
    forest_width_m: float | None,
) -> tuple[RowLayer, ...]:
    layers: list[RowLayer] = []
    if forest is not None:
        kwargs = {} if forest_width_m is None else {"corridor_width_m": forest_width_m}
        layers.append(RowLayer.forest(forest, **kwargs))
    if highways is None:
        highways = nio.highways_from_roads(roads)
        if highways is not None:
            log.info("national highways taken from the road layer (%d lines)", len(highways))
    if highways is not None:
        layers.append(RowLayer.national_highway(highways))
    layers.extend(extra)
    names = [layer.name for layer in layers]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise InputError(
            f"right-of-way layer names must be unique; repeated: {duplicated}. Give extra layers "
            "their own name (RowLayer(name=...) or a differently named file for --row-layer)"
        )
    return tuple(layers)


def _weights(
    network: RoadNetwork, layers: Sequence[RowLayer], costs: CostModel, *, progress: bool
) -> np.ndarray:
    """Routing weight of every edge in equivalent metres."""
    edges = network.edges
    weight = edges["length"].to_numpy(dtype=float).copy()
    if costs.is_length_only:
        return weight
    if costs.offroad_penalty_per_m:
        weight += costs.offroad_penalty_per_m * np.where(
            edges["kind"] == "bridge", edges["length"], 0
        )
    if not layers:
        return weight
    notes = annotate_edges(edges, layers, progress=progress)
    for layer in layers:
        if layer.kind == "area":
            weight += costs.forest_penalty_per_m * notes[f"in_{layer.name}_m"].to_numpy()
        else:
            weight += costs.crossing_penalty_m * notes[f"{layer.name}_crossings"].to_numpy()
            weight += costs.along_highway_penalty_per_m * notes[f"along_{layer.name}_m"].to_numpy()
    return weight


def _design_all(
    network: RoadNetwork,
    weights: np.ndarray,
    assignment: pd.DataFrame,
    *,
    topology: Topology,
    progress: bool,
    ring_size: int = 10,
    csr: CSRGraph | None = None,
) -> tuple[gpd.GeoDataFrame, pd.Series, dict[str, str], pd.DataFrame]:
    """Design every PoP.

    Returns route segments (metric CRS), route_m per GP, failures per PoP and, for rings, one row
    per ring.
    """
    u, v, length = network.arrays()
    n_nodes = len(network.nodes)
    csr = csr if csr is not None else CSRGraph.from_arrays(n_nodes, u, v, weights)
    gp_nodes = network.gps["node"]
    pop_nodes = network.pops["node"]
    assigned = assignment[assignment["reason"] == ""]
    route_m = pd.Series(np.nan, index=assignment.index, dtype=float)
    failures: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    geoms: list[int] = []
    flips: list[bool] = []
    ring_rows: list[dict[str, Any]] = []
    edges = network.edges
    edge_u = edges["u"].to_numpy()
    groups = list(assigned.groupby("pop_id", sort=True))
    for pop_id, group in tqdm(groups, desc="designing routes", unit="PoP", disable=not progress):
        root = int(pop_nodes.at[pop_id])
        nodes = gp_nodes.loc[group.index].astype(np.int64)
        try:
            design = design_routes(
                n_nodes,
                u,
                v,
                weights,
                root,
                nodes.to_numpy(),
                topology=topology,
                csr=csr,
                length=length,
                ring_size=ring_size,
            )
        except Exception as exc:  # keep the other PoPs; report this one
            log.exception("design failed for PoP %s", pop_id)
            failures[str(pop_id)] = f"route design failed for PoP {pop_id}: {exc}"
            continue
        by_node: dict[int, list[str]] = {}
        for gp_id, node in nodes.items():
            by_node.setdefault(int(node), []).append(str(gp_id))
        for gp_id, node in nodes.items():
            route_m.at[gp_id] = design.depth.get(int(node), 0.0 if int(node) == root else np.nan)
        rings_of_edge: dict[int, list[str]] = {}
        for k, ring in enumerate(design.rings, start=1):
            ring_id = f"{pop_id}-R{k}"
            for e in np.unique(ring.edges).tolist():
                rings_of_edge.setdefault(e, []).append(ring_id)
            ring_gps = [g for n in ring.terminals for g in sorted(by_node.get(n, ()))]
            ring_rows.append(
                {
                    "ring_id": ring_id,
                    "pop_id": str(pop_id),
                    "n_gps": len(ring_gps),
                    "gp_ids": ";".join(ring_gps),
                    "length_m": ring.length,
                    "shared_m": ring.shared,
                    "diverse_share": 1.0 - ring.shared / ring.length if ring.length else 1.0,
                }
            )
        flips.extend((edge_u[design.edges] != design.parent_node).tolist())
        for i, edge_id in enumerate(design.edges.tolist()):
            served = [g for n in design.served[i] for g in sorted(by_node.get(n, ()))]
            row = {
                "pop_id": str(pop_id),
                "edge_id": int(edge_id),
                # a star lays one cable per GP (GPs sharing a node included); trees and rings
                # lay one cable per pass
                "cable_m": float(
                    length[edge_id] * (len(served) if topology == "star" else design.cable_count[i])
                ),
                "gps_served": len(served),
                "gp_ids": ";".join(served),
            }
            if design.rings:
                row["ring_ids"] = ";".join(rings_of_edge.get(int(edge_id), []))
            rows.append(row)
            geoms.append(int(edge_id))
    if rows:
        table = pd.DataFrame(rows)
        picked = edges.loc[geoms]
        geometry = picked.geometry.to_numpy()
        flip = np.asarray(flips, dtype=bool)
        geometry = np.where(flip, shapely.reverse(geometry), geometry)
        table["kind"] = picked["kind"].to_numpy()
        table["offroad"] = table["kind"] != "road"
        table["road_class"] = picked["road_class"].to_numpy()
        table["road_name"] = picked["name"].to_numpy()
        table["ref"] = picked["ref"].to_numpy()
        table["length_m"] = picked["length"].to_numpy()
    else:
        dtypes = {
            "edge_id": np.int64,
            "offroad": bool,
            "length_m": float,
            "cable_m": float,
            "gps_served": np.int64,
        }
        table = pd.DataFrame(
            {c: pd.Series(dtype=dtypes.get(c, object)) for c in ROUTE_COLUMNS if c != "segment_id"}
        )
        geometry = np.empty(0, dtype=object)
    table.insert(1, "segment_id", np.arange(len(table), dtype=np.int64))
    columns = ROUTE_COLUMNS + (["ring_ids"] if "ring_ids" in table.columns else [])
    routes = gpd.GeoDataFrame(table[columns], geometry=list(geometry), crs=network.crs)
    rings = pd.DataFrame(ring_rows, columns=RING_COLUMNS).set_index("ring_id")
    return routes, route_m, failures, rings


def _totals(routes: pd.DataFrame, layers: Sequence[RowLayer], crossings: pd.DataFrame) -> dict:
    """Headline figures of one set of routes."""
    out = {
        "trench_km": routes["length_m"].sum() / 1000 if len(routes) else 0.0,
        "cable_km": routes["cable_m"].sum() / 1000 if len(routes) else 0.0,
    }
    for layer in layers:
        if layer.kind == "area":
            metres = routes[f"in_{layer.name}_m"].sum() if len(routes) else 0.0
            out[f"in_{layer.name}_km"] = metres / 1000
            out[f"{layer.name}_ha"] = metres * layer.corridor_width_m / 10_000
        else:
            out[f"{layer.name}_crossings"] = (
                int(routes[f"{layer.name}_crossings"].sum()) if len(routes) else 0
            )
            out[f"along_{layer.name}_km"] = (
                routes[f"along_{layer.name}_m"].sum() / 1000 if len(routes) else 0.0
            )
    return out


def _summary(
    routes: pd.DataFrame,
    sites: pd.DataFrame,
    pops: pd.DataFrame,
    layers: Sequence[RowLayer],
    crossings: pd.DataFrame,
    costs: CostModel,
) -> pd.DataFrame:
    records = []
    for pop_id in pops.index:
        mine = routes[routes["pop_id"] == pop_id]
        gps_here = sites[sites["pop_id"] == pop_id]
        records.append(_summary_row(pop_id, pops.at[pop_id, "name"], mine, gps_here, layers, costs))
    table = pd.DataFrame.from_records(records).set_index("pop_id") if records else pd.DataFrame()
    total = _summary_row("TOTAL", "", routes, sites, layers, costs)
    total["gps"] = len(sites)
    total["unroutable"] = int((~sites["routed"]).sum())
    total_frame = pd.DataFrame.from_records([total]).set_index("pop_id")
    return pd.concat([table, total_frame]) if len(table) else total_frame


def _summary_row(pop_id, name, routes, gps_here, layers, costs) -> dict:
    kinds = routes.groupby("kind")["length_m"].sum() if len(routes) else pd.Series(dtype=float)
    road_m = float(kinds.get("road", 0.0))
    spur_m = float(kinds.get("spur", 0.0))
    bridge_m = float(kinds.get("bridge", 0.0))
    row = {
        "pop_id": pop_id,
        "name": name,
        "gps": len(gps_here),
        "routed": int(gps_here["routed"].sum()),
        "unroutable": int((~gps_here["routed"]).sum()),
        "road_km": road_m / 1000,
        "spur_km": spur_m / 1000,
        "bridge_km": bridge_m / 1000,
        "bridge_links": int((routes["kind"] == "bridge").sum()) if len(routes) else 0,
    }
    row.update(_totals(routes, layers, pd.DataFrame()))
    row["cost"] = costs.trench_cost_per_m * road_m + costs.offroad_cost_per_m * (spur_m + bridge_m)
    return row


def plan(
    gps: LayerInput,
    pops: LayerInput,
    roads: LayerInput,
    *,
    forest: LayerInput | None = None,
    highways: LayerInput | None = None,
    row_layers: Sequence[RowLayer] = (),
    topology: Topology = "tree",
    ring_size: int = 10,
    assign_by: str | None = None,
    pop_key: str | None = None,
    options: NetworkOptions = NetworkOptions(),
    costs: CostModel = CostModel(),
    forest_width_m: float | None = None,
    permit_threshold_ha: float = 1.0,
    crs: Any = None,
    progress: bool = True,
) -> Plan:
    """Plan fibre routes from every PoP to its GPs.

    Parameters
    ----------
    gps, pops
        GP and PoP points: a file path (CSV with lon/lat, GeoJSON, Shapefile, GeoPackage,
        GeoParquet) or a GeoDataFrame.
    roads
        Road lines (file, ``.osm.pbf`` or GeoDataFrame); need not be noded.
    forest
        Forest polygons (Forest Department permission); split into applications by a ``division``
        column when present.
    highways
        National highway lines with a ``ref``. Default: the NH lines of the road layer.
    row_layers
        Further right-of-way layers (railway, river, protected area, ...).
    topology
        ``"tree"``: shared-trench Steiner tree per PoP; ``"star"``: independent shortest paths;
        ``"ring"``: rings from the PoP back to it, for redundancy (see :mod:`netplan.design`).
    ring_size
        Most GP locations on one ring (``topology="ring"``; GPs at one spot are one stop, GPs at
        their PoP's own location need no ring).
    assign_by, pop_key
        Assign GPs to PoPs by a GP column (matched against ``pop_key`` of the PoPs); default: the
        PoP nearest by road.
    options
        How the road network is built (gap healing, spur and bridge limits).
    costs
        Money and routing penalties; :meth:`CostModel.permission_aware` avoids permissions.
    forest_width_m
        Corridor width for forest hectares (default: :meth:`RowLayer.forest`'s).
    permit_threshold_ha
        Forest area per division above which general approval does not apply (flagged).
    crs
        Metric CRS to work in; default the UTM zone of the roads.
    progress
        Show progress bars.

    Returns
    -------
    Plan

    Examples
    --------
    >>> import netplan
    >>> sample = netplan.datasets.sample_paths()
    >>> p = netplan.plan(sample["gps"], sample["pops"], sample["roads"],
    ...                  forest=sample["forest"], progress=False)
    >>> bool(p.sites["routed"].all() or p.unroutable["reason"].ne("").all())
    True
    """
    if topology not in ("tree", "star", "ring"):
        raise ValueError(f"topology must be 'tree', 'star' or 'ring', got {topology!r}")
    if topology == "ring" and not (isinstance(ring_size, int) and ring_size >= 1):
        raise InputError(f"ring_size must be a whole number of GPs >= 1, got {ring_size!r}")
    gps_gdf = nio.load_sites(gps, str_columns=[assign_by] if assign_by else ())
    pops_gdf = nio.load_pops(pops, str_columns=[pop_key or assign_by] if assign_by else ())
    if "TOTAL" in pops_gdf.index:
        raise InputError(
            "a PoP has the id 'TOTAL', which names the summary's total row; rename that PoP"
        )
    roads_gdf = nio.load_roads(roads)
    forest_gdf = nio.load_forest(forest) if forest is not None else None
    highways_gdf = nio.load_highways(highways) if highways is not None else None
    # a gross mismatch (wrong CRS, wrong area) is an error; a site merely beyond the spur limit
    # is listed as unroutable with its reason
    extent_margin = max(EXTENT_MARGIN_M, options.max_spur_m)
    check_within_extent(pops_gdf, roads_gdf, max_distance_m=extent_margin)
    check_within_extent(gps_gdf, roads_gdf, max_distance_m=extent_margin)
    for extra in (forest_gdf, highways_gdf):
        if extra is not None:
            check_same_area(extra, roads_gdf)

    network = build_network(
        roads_gdf, gps=gps_gdf, pops=pops_gdf, options=options, crs=crs, progress=progress
    )
    layers = _row_layers(
        roads_gdf, forest_gdf, highways_gdf, row_layers, forest_width_m=forest_width_m
    )
    u, v, length = network.arrays()
    length_csr = CSRGraph.from_arrays(len(network.nodes), u, v, length)
    assignment = assign_to_pops(
        network, gps=gps_gdf, pops=pops_gdf, by=assign_by, pop_key=pop_key, csr=length_csr
    )
    weights = _weights(network, layers, costs, progress=progress)
    routes, route_m, failures, rings = _design_all(
        network,
        weights,
        assignment,
        topology=topology,
        progress=progress,
        ring_size=ring_size,
        csr=length_csr if costs.is_length_only else None,
    )
    for pop_id, reason in failures.items():
        assignment.loc[assignment["pop_id"] == pop_id, "reason"] = reason
    routes, crossings = flag_routes(routes, layers)

    tradeoff = None
    if not costs.is_length_only:
        plain, _, _, _ = _design_all(
            network,
            length,
            assignment,
            topology=topology,
            progress=False,
            ring_size=ring_size,
            csr=length_csr,
        )
        plain, plain_crossings = flag_routes(plain, layers)
        tradeoff = _tradeoff(plain, routes, layers, plain_crossings, crossings)

    permits = permit_register(routes, crossings, layers, threshold_ha=permit_threshold_ha)
    sites = _sites_table(gps_gdf, network, assignment, route_m)
    pops_table = _pops_table(pops_gdf, network, sites, routes, failures)
    summary = _summary(routes, sites, pops_table, layers, crossings, costs)
    if topology == "ring":
        summary = _add_ring_totals(summary, rings)
    summary = summary.round(4)
    _log_summary(summary, network)
    return Plan(
        routes=routes.to_crs(WGS84),
        sites=sites,
        pops=pops_table,
        crossings=crossings.to_crs(WGS84),
        permits=permits,
        summary=summary,
        topology=topology,
        costs=costs,
        layers=layers,
        network=network,
        tradeoff=tradeoff,
        rings=rings if topology == "ring" else None,
        inputs=_input_paths(gps, pops, roads, forest, highways, *(x.data for x in row_layers)),
    )


def _input_paths(*sources: LayerInput | None) -> tuple[Path, ...]:
    """Absolute paths of the files behind the given layers (paths, or recorded by the loaders)."""
    found: list[Path] = []
    for source in sources:
        if isinstance(source, pd.DataFrame):
            path = path_of(source)
        else:
            path = Path(source).absolute() if source is not None else None
        if path is not None and path not in found:
            found.append(path)
    return tuple(found)


def _add_ring_totals(summary: pd.DataFrame, rings: pd.DataFrame) -> pd.DataFrame:
    """Ring count and the length rings run twice over one road, per PoP and in total."""
    per_pop = rings.groupby("pop_id").agg(rings=("n_gps", "size"), shared_m=("shared_m", "sum"))
    summary = summary.copy()
    summary["rings"] = per_pop["rings"].reindex(summary.index).fillna(0).astype(int)
    summary["ring_shared_km"] = per_pop["shared_m"].reindex(summary.index).fillna(0.0) / 1000
    summary.loc["TOTAL", "rings"] = len(rings)
    summary.loc["TOTAL", "ring_shared_km"] = rings["shared_m"].sum() / 1000
    return summary


def _tradeoff(plain, aware, layers, plain_crossings, aware_crossings) -> pd.DataFrame:
    table = pd.DataFrame(
        [_totals(plain, layers, plain_crossings), _totals(aware, layers, aware_crossings)],
        index=["length-only", "permission-aware"],
    )
    table.loc["difference"] = table.loc["permission-aware"] - table.loc["length-only"]
    return table


def _sites_table(
    gps: gpd.GeoDataFrame, network: RoadNetwork, assignment: pd.DataFrame, route_m: pd.Series
) -> gpd.GeoDataFrame:
    reason = assignment["reason"].copy()
    routed = (reason == "") & route_m.notna()
    missing = (reason == "") & ~routed
    reason[missing] = "not reached by its PoP's design (please report this as a bug)"
    sites = gpd.GeoDataFrame(
        {
            "name": gps["name"].reindex(assignment.index).fillna("").astype(str),
            "pop_id": assignment["pop_id"],
            "routed": routed.astype(bool),
            "reason": reason.astype(str),
            "network_m": assignment["network_m"],
            "route_m": route_m.where(routed),
            "spur_m": network.gps["spur_m"].reindex(assignment.index),
        },
        geometry=gps.geometry.reindex(assignment.index).to_crs(WGS84).to_numpy(),
        crs=WGS84,
        index=assignment.index,
    )
    sites.index.name = "site_id"
    return sites.sort_index()


def _pops_table(
    pops: gpd.GeoDataFrame,
    network: RoadNetwork,
    sites: pd.DataFrame,
    routes: pd.DataFrame,
    failures: dict[str, str],
) -> gpd.GeoDataFrame:
    table = network.pops.reindex(pops.index).copy()
    for pop_id, reason in failures.items():
        table.loc[pop_id, ["status", "reason"]] = ["unroutable", reason]
    counts = sites.groupby("pop_id")["routed"].agg(["size", "sum"])
    trench = (
        routes.groupby("pop_id")["length_m"].sum() / 1000 if len(routes) else pd.Series(dtype=float)
    )
    out = gpd.GeoDataFrame(
        {
            "name": pops["name"].fillna("").astype(str),
            "n_gps": counts["size"].reindex(pops.index).fillna(0).astype(int),
            "routed_gps": counts["sum"].reindex(pops.index).fillna(0).astype(int),
            "trench_km": trench.reindex(pops.index).fillna(0.0),
            "routed": (table["status"] == "ok").to_numpy(),
            "reason": table["reason"].fillna("").astype(str).to_numpy(),
        },
        geometry=pops.geometry.to_crs(WGS84).to_numpy(),
        crs=WGS84,
        index=pops.index,
    )
    out.index.name = "pop_id"
    return out.sort_index()


def _log_summary(summary: pd.DataFrame, network: RoadNetwork) -> None:
    total = summary.loc["TOTAL"]
    log.info(
        "plan: %d of %d GPs routed, %.1f km trench (%.1f km off-road spurs, %.1f km bridge links)",
        total["routed"],
        total["gps"],
        total["trench_km"],
        total["spur_km"],
        total["bridge_km"],
    )
