"""Build once, plan many variants: :class:`Planner`, and :func:`plan` for a single plan.

A :class:`Planner` loads and validates the layers, builds the road network and measures every
road edge against the right-of-way layers **once**. :meth:`Planner.plan` then designs a variant
(topology, cost model, assignment, a subset of PoPs) on that network and returns a
:class:`~netplan.result.Plan`; whatever does not depend on the variant's options (the routing
weights of a cost model, the assignment of GPs to PoPs, the length-only routes a permission-aware
plan is compared with) is computed once and reused.

Steps of one plan: assign GPs to PoPs (:mod:`netplan.assign`) → design each PoP's routes
(:mod:`netplan.design`) → flag right-of-way crossings and register permits (:mod:`netplan.row`)
→ tables (sites, PoPs, summary).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from os import PathLike
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from netplan import io as nio
from netplan._assemble import Designed, assemble
from netplan._csr import CSRGraph
from netplan._errors import InputError
from netplan._routes import PopDesigns, design_pops, routes_frame
from netplan._validate import check_same_area, check_within_extent
from netplan.assign import assign_to_pops
from netplan.crs import WGS84
from netplan.network import RoadNetwork, build_network
from netplan.params import CostModel, DesignOptions, NetworkOptions
from netplan.partition import DEFAULT_BUFFER_M, Partitioning, Partitions, Unmatched
from netplan.result import Plan
from netplan.row import RowLayer, annotate_edges, flag_routes

__all__ = ["Planner", "plan", "resolve_design", "LayerInput"]

log = logging.getLogger(__name__)

LayerInput = str | PathLike[str] | gpd.GeoDataFrame
"""A layer given to the planner: a file path or a loaded GeoDataFrame."""

EXTENT_MARGIN_M = 25_000.0
"""Sites farther than this outside the road layer's bounding box mean a wrong CRS or area."""

_CACHED_DESIGNS = 8
"""Designed variants a planner keeps (each is a routes table and its crossings)."""


def resolve_design(design: DesignOptions | None, overrides: dict[str, Any]) -> DesignOptions:
    """``design`` (default :class:`DesignOptions`) with keyword overrides, checked once.

    Raises
    ------
    InputError
        An override that is not a design option.
    """
    design = DesignOptions() if design is None else design
    unknown = sorted(set(overrides) - set(DesignOptions.fields()))
    if unknown:
        raise InputError(
            f"unknown plan option(s) {unknown}; the design options are "
            f"{', '.join(DesignOptions.fields())}"
        )
    return dataclasses.replace(design, **overrides) if overrides else design


def _input_paths(layers: Iterable[Any]) -> tuple[Path, ...]:
    """The layers given as file paths, resolved (a plan's outputs may not replace them)."""
    return tuple(Path(x).resolve() for x in layers if isinstance(x, str | PathLike))


class Planner:
    """Load the layers and build the road network once; plan any number of variants on it.

    Parameters
    ----------
    gps, pops
        GP and PoP points: a file path (CSV with lon/lat, GeoJSON, Shapefile, GeoPackage,
        GeoParquet) or a GeoDataFrame. Every attribute of a CSV is read as text (codes keep
        their leading zeros).
    roads
        Road lines (file, ``.osm.pbf`` or GeoDataFrame); need not be noded.
    forest
        Forest polygons (Forest Department permission); split into applications by a
        ``division`` column when present.
    highways
        National highway lines with a ``ref``. Default: the NH lines of the road layer.
    row_layers
        Further right-of-way layers (railway, river, protected area, ...).
    forest_width_m
        Corridor width for forest hectares (default: :meth:`RowLayer.forest`'s).
    options
        How the road network is built (gap healing, spur and bridge limits).
    crs
        Metric CRS to work in; default the UTM zone of the roads.
    progress
        Show progress bars.
    partition_by
        Split the work by this column, which GPs and PoPs both carry (e.g. ``"district"``):
        each partition is planned on its own, on the roads and layers near its sites, and the
        results merge into one plan (see :mod:`netplan.partition`).
    partition_buffer_m
        With ``partition_by``: a partition's roads are those within this distance (metres,
        default 10 km) of the convex hull of its sites.
    partition_unmatched
        With ``partition_by``: GPs whose value no PoP carries join the partition of their
        nearest PoP (``"nearest"``, default) or are listed as unroutable (``"unrouted"``).
    client
        With ``partition_by``: a ``dask.distributed.Client`` whose workers build and keep the
        partitions' networks; without it partitions are planned one after another in this
        process (lower peak memory than the whole plan).

    Attributes
    ----------
    gps, pops
        The validated site layers (source CRS, string ids).
    network
        The routable :class:`~netplan.network.RoadNetwork` with the sites snapped onto it
        (None for a partitioned planner: each partition has its own).
    partitions
        With ``partition_by``: the :class:`~netplan.partition.Partitions` that plan the work;
        None otherwise.
    layers
        The right-of-way layers every plan is flagged against.
    edge_notes
        Every network edge measured against :attr:`layers` (metres inside area layers,
        crossings and metres along line layers); the permission-aware router's penalties.
    inputs
        The input files, resolved.

    Examples
    --------
    >>> import netplan
    >>> sample = netplan.datasets.sample_paths()
    >>> planner = netplan.Planner(sample["gps"], sample["pops"], sample["roads"],
    ...                           forest=sample["forest"], progress=False)
    >>> tree = planner.plan()
    >>> star = planner.plan(topology="star")
    >>> bool(tree.summary.loc["TOTAL", "trench_km"] < star.summary.loc["TOTAL", "trench_km"])
    True
    """

    def __init__(
        self,
        gps: LayerInput,
        pops: LayerInput,
        roads: LayerInput,
        *,
        forest: LayerInput | None = None,
        highways: LayerInput | None = None,
        row_layers: Sequence[RowLayer] = (),
        forest_width_m: float | None = None,
        options: NetworkOptions = NetworkOptions(),
        crs: Any = None,
        progress: bool = True,
        partition_by: str | None = None,
        partition_buffer_m: float = DEFAULT_BUFFER_M,
        partition_unmatched: Unmatched = "nearest",
        client: Any = None,
    ) -> None:
        self.options = options
        self.progress = progress
        self.inputs = _input_paths([gps, pops, roads, forest, highways])
        scheme = None
        if partition_by is not None:  # bad options fail before any loading
            scheme = Partitioning(partition_by, partition_buffer_m, partition_unmatched)
        elif client is not None:
            raise InputError("client= runs the partitions of a plan on Dask: pass partition_by=")
        self.gps = nio.load_sites(gps, str_columns=("*",))
        self.pops = nio.load_pops(pops, str_columns=("*",))
        if "TOTAL" in self.pops.index:
            raise InputError(
                "a PoP has the id 'TOTAL', which names the summary's total row; rename that PoP"
            )
        roads_gdf = nio.load_roads(roads)
        forest_gdf = nio.load_forest(forest) if forest is not None else None
        highways_gdf = nio.load_highways(highways) if highways is not None else None
        self._check_extents(roads_gdf, [forest_gdf, highways_gdf])
        self.layers = _row_layers(
            roads_gdf, forest_gdf, highways_gdf, row_layers, forest_width_m=forest_width_m
        )
        self._start()
        if scheme is not None:
            self.partitions = Partitions(
                self.gps,
                self.pops,
                roads_gdf,
                self.layers,
                scheme=scheme,
                options=options,
                crs=crs,
                client=client,
                progress=progress,
            )
            return
        self.network = build_network(
            roads_gdf, gps=self.gps, pops=self.pops, options=options, crs=crs, progress=progress
        )

    @classmethod
    def _on_loaded(
        cls,
        gps: gpd.GeoDataFrame,
        pops: gpd.GeoDataFrame,
        roads: gpd.GeoDataFrame,
        layers: tuple[RowLayer, ...],
        *,
        options: NetworkOptions,
        crs: Any,
        progress: bool,
    ) -> Planner:
        """A planner on layers already loaded and validated (one partition of a planner)."""
        self = cls.__new__(cls)
        self.options, self.progress, self.inputs = options, progress, ()
        self.gps, self.pops, self.layers = gps, pops, layers
        self._start()
        self.network = build_network(
            roads, gps=gps, pops=pops, options=options, crs=crs, progress=progress
        )
        return self

    def _start(self) -> None:
        """Empty caches; no partitions and no network yet."""
        self.partitions: Partitions | None = None
        self.network: RoadNetwork | None = None
        self._weights: dict[tuple, np.ndarray] = {}
        self._graphs: dict[tuple, CSRGraph] = {}
        self._assignments: dict[tuple, pd.DataFrame] = {}
        self._designed: dict[tuple, Designed] = {}

    def __repr__(self) -> str:
        size = (
            f"{len(self.network.edges):,} edges"
            if self.network is not None
            else f"{len(self.partitions.keys)} partitions by {self.partitions.scheme.column!r}"
        )
        return (
            f"<Planner {len(self.pops)} PoPs, {len(self.gps)} GPs, "
            f"{size}, layers {[layer.name for layer in self.layers]}>"
        )

    # ------------------------------------------------------------------ built once, reused
    def _check_extents(
        self, roads: gpd.GeoDataFrame, extra: Sequence[gpd.GeoDataFrame | None]
    ) -> None:
        """A gross mismatch (wrong CRS, wrong area) is an error; a site merely beyond the spur
        limit is listed as unroutable with its reason."""
        margin = max(EXTENT_MARGIN_M, self.options.max_spur_m)
        check_within_extent(self.pops, roads, max_distance_m=margin)
        check_within_extent(self.gps, roads, max_distance_m=margin)
        for layer in extra:
            if layer is not None:
                check_same_area(layer, roads)

    @cached_property
    def edge_notes(self) -> pd.DataFrame:
        """Every edge measured against the right-of-way layers (computed on first use)."""
        return annotate_edges(self.network.edges, self.layers, progress=self.progress)

    def weights(self, costs: CostModel) -> np.ndarray:
        """The routing weight of every network edge under ``costs``, in equivalent metres."""
        key = _routing_key(costs)
        if key not in self._weights:
            self._weights[key] = _edge_weights(
                self.network, self.layers, costs, lambda: self.edge_notes
            )
        return self._weights[key]

    def graph(self, costs: CostModel) -> CSRGraph:
        """The network as a CSR graph weighted by :meth:`weights`."""
        key = _routing_key(costs)
        if key not in self._graphs:
            u, v, _ = self.network.arrays()
            self._graphs[key] = CSRGraph.from_arrays(
                len(self.network.nodes), u, v, self.weights(costs)
            )
        return self._graphs[key]

    def assignment(self, design: DesignOptions) -> pd.DataFrame:
        """GP → PoP for ``design``'s assignment rule (see :func:`netplan.assign.assign_to_pops`)."""
        key = (design.assign_by, design.pop_key)
        if key not in self._assignments:
            self._assignments[key] = assign_to_pops(
                self.network,
                gps=self.gps,
                pops=self.pops,
                by=design.assign_by,
                pop_key=design.pop_key,
                csr=self.graph(CostModel()),
            )
        return self._assignments[key]

    # ------------------------------------------------------------------ one variant
    def plan(
        self,
        design: DesignOptions | None = None,
        *,
        costs: CostModel = CostModel(),
        pops: Sequence[str] | None = None,
        permit_threshold_ha: float = 1.0,
        **options: Any,
    ) -> Plan:
        """Design one variant on the planner's network.

        Parameters
        ----------
        design
            Design options (topology, ring size and diversity, assignment, ...); default
            :class:`~netplan.params.DesignOptions`.
        costs
            Money and routing penalties; :meth:`CostModel.permission_aware` avoids permissions.
        pops
            Plan only these PoPs (ids) and the GPs assigned to them; default every PoP.
        permit_threshold_ha
            Forest area per division above which general approval does not apply (flagged).
        **options
            Any field of :class:`~netplan.params.DesignOptions` overriding ``design``, e.g.
            ``topology="ring"``, ``ring_size=8``, ``assign_by="block"``.

        Returns
        -------
        Plan
        """
        design = resolve_design(design, options)
        selected = self._select(pops)
        made = self._design(design, costs, selected)
        plain = None if costs.is_length_only else self._design(design, CostModel(), selected)
        pop_rows = self.pops if selected is None else self.pops.loc[list(selected)]
        result = assemble(
            made,
            gps=self.gps,
            pops=pop_rows,
            layers=self.layers,
            design=design,
            costs=costs,
            permit_threshold_ha=permit_threshold_ha,
            plain=plain,
            network=self.network,
            inputs=self.inputs,
        )
        return result if self.partitions is None else self.partitions.label(result)

    def _select(self, pops: Sequence[str] | None) -> tuple[str, ...] | None:
        if pops is None:
            return None
        if isinstance(pops, str):
            pops = [pops]
        wanted = tuple(sorted({str(p) for p in pops}))
        unknown = [p for p in wanted if p not in self.pops.index]
        if unknown:
            raise InputError(
                f"pops={unknown} are not PoP ids of this planner; its PoPs are "
                f"{', '.join(map(str, self.pops.index[:10]))}"
                + (" ..." if len(self.pops) > 10 else "")
            )
        return wanted

    def _design_partitioned(
        self, design: DesignOptions, costs: CostModel, selected: tuple[str, ...] | None
    ) -> None:
        """Design ``costs``'s variant and, when permission-aware, its length-only one on every
        partition, and remember the merged variants."""
        wanted = [costs] if costs.is_length_only else [costs, CostModel()]
        wanted = [c for c in wanted if (design, _routing_key(c), selected) not in self._designed]
        if wanted:
            designed = self.partitions.design(design, wanted, selected)
            for c, made in zip(wanted, designed, strict=True):
                self._remember((design, _routing_key(c), selected), made)

    def _remember(self, key: tuple, made: Designed) -> None:
        if len(self._designed) >= _CACHED_DESIGNS:
            self._designed.pop(next(iter(self._designed)))
        self._designed[key] = made

    def _design(
        self, design: DesignOptions, costs: CostModel, selected: tuple[str, ...] | None
    ) -> Designed:
        """Design, flag and remember one variant (the last few are kept)."""
        key = (design, _routing_key(costs), selected)
        if key in self._designed:
            return self._designed[key]
        if self.partitions is not None:
            self._design_partitioned(design, costs, selected)
            return self._designed[key]
        assignment = self.assignment(design)
        if selected is not None:
            assignment = assignment[assignment["pop_id"].isin(selected)]
        designs = design_pops(
            self.network,
            self.weights(costs),
            assignment,
            design,
            csr=self.graph(costs),
            progress=self.progress,
        )
        made = _flagged(self.network, self.layers, designs, assignment, design)
        self._remember(key, made)
        return made


def _flagged(
    network: RoadNetwork,
    layers: Sequence[RowLayer],
    designs: PopDesigns,
    assignment: pd.DataFrame,
    design: DesignOptions,
) -> Designed:
    """Routes of ``designs`` flagged against the right-of-way layers, and what else a plan
    needs from the network, in lon/lat."""
    assignment = assignment.assign(spur_m=network.gps["spur_m"].reindex(assignment.index))
    for pop_id, reason in designs.failures.items():
        assignment.loc[assignment["pop_id"] == pop_id, "reason"] = reason
    routes, rings = routes_frame(network, designs, topology=design.topology)
    routes, crossings = flag_routes(routes, layers)
    pop_status = network.pops[["status", "reason"]].copy()
    for pop_id, reason in designs.failures.items():
        pop_status.loc[pop_id, ["status", "reason"]] = ["unroutable", reason]
    return Designed(
        assignment=assignment,
        routes=routes.to_crs(WGS84),
        crossings=crossings.to_crs(WGS84),
        route_m=designs.route_m(assignment.index),
        pop_status=pop_status,
        rings=rings,
    )


def _routing_key(costs: CostModel) -> tuple[float, ...]:
    """The part of a cost model that changes routes (money alone does not)."""
    return (
        costs.forest_penalty_per_m,
        costs.crossing_penalty_m,
        costs.along_highway_penalty_per_m,
        costs.offroad_penalty_per_m,
    )


def _edge_weights(
    network: RoadNetwork,
    layers: Sequence[RowLayer],
    costs: CostModel,
    notes: Callable[[], pd.DataFrame],
) -> np.ndarray:
    """Routing weight of every edge in equivalent metres: its length plus the penalties.

    ``notes`` is called for the edges' right-of-way measures only when a penalty needs them.
    """
    edges = network.edges
    weight = edges["length"].to_numpy(dtype=float).copy()
    if costs.offroad_penalty_per_m:
        bridge = np.where(edges["kind"] == "bridge", edges["length"], 0.0)
        weight += costs.offroad_penalty_per_m * bridge
    layer_penalties = (
        costs.forest_penalty_per_m,
        costs.crossing_penalty_m,
        costs.along_highway_penalty_per_m,
    )
    if not layers or not any(layer_penalties):
        return weight
    measured = notes()
    for layer in layers:
        if layer.kind == "area":
            weight += costs.forest_penalty_per_m * measured[f"in_{layer.name}_m"].to_numpy()
        else:
            weight += costs.crossing_penalty_m * measured[f"{layer.name}_crossings"].to_numpy()
            along = measured[f"along_{layer.name}_m"].to_numpy()
            weight += costs.along_highway_penalty_per_m * along
    return weight


def _row_layers(
    roads: gpd.GeoDataFrame,
    forest: gpd.GeoDataFrame | None,
    highways: gpd.GeoDataFrame | None,
    extra: Sequence[RowLayer],
    *,
    forest_width_m: float | None,
) -> tuple[RowLayer, ...]:
    """The forest and national-highway presets (highways default to the roads' NH lines) and
    any further layers; names must be unique."""
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


def plan(
    gps: LayerInput,
    pops: LayerInput,
    roads: LayerInput,
    *,
    forest: LayerInput | None = None,
    highways: LayerInput | None = None,
    row_layers: Sequence[RowLayer] = (),
    forest_width_m: float | None = None,
    options: NetworkOptions = NetworkOptions(),
    crs: Any = None,
    design: DesignOptions | None = None,
    costs: CostModel = CostModel(),
    permit_threshold_ha: float = 1.0,
    progress: bool = True,
    partition_by: str | None = None,
    partition_buffer_m: float = DEFAULT_BUFFER_M,
    partition_unmatched: Unmatched = "nearest",
    client: Any = None,
    **design_options: Any,
) -> Plan:
    """Plan fibre routes from every PoP to its GPs: ``Planner(...).plan(...)`` in one call.

    Parameters
    ----------
    gps, pops, roads, forest, highways, row_layers, forest_width_m, options, crs, progress
        The inputs and how the network is built, as for :class:`Planner`.
    partition_by, partition_buffer_m, partition_unmatched, client
        Split the work by a column of the GPs and PoPs and plan the partitions one after
        another or on a Dask cluster, as for :class:`Planner`.
    design, costs, permit_threshold_ha, **design_options
        The variant, as for :meth:`Planner.plan` (e.g. ``topology="ring"``, ``ring_size=8``,
        ``assign_by="block"``).

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
    chosen = resolve_design(design, design_options)  # bad options fail before any loading
    planner = Planner(
        gps,
        pops,
        roads,
        forest=forest,
        highways=highways,
        row_layers=row_layers,
        forest_width_m=forest_width_m,
        options=options,
        crs=crs,
        progress=progress,
        partition_by=partition_by,
        partition_buffer_m=partition_buffer_m,
        partition_unmatched=partition_unmatched,
        client=client,
    )
    return planner.plan(chosen, costs=costs, permit_threshold_ha=permit_threshold_ha)
