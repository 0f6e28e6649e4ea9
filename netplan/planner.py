"""Build once, plan many variants: :class:`Planner`, and :func:`plan` for a single plan.

A :class:`Planner` loads and validates the layers, builds the road network and measures every
road edge against the right-of-way layers **once**. :meth:`Planner.plan` then designs a variant
(topology, cost model, assignment, a subset of PoPs) on that network and returns a
:class:`~netplan.result.Plan`; whatever does not depend on the variant's options (the routing
weights of a cost model, the assignment of GPs to PoPs, the routes without penalties a
permission-aware plan is compared with) is computed once and reused.

Steps of one plan: assign GPs to PoPs and design the routes → flag right-of-way crossings and
register permits (:mod:`netplan.row`) → tables (sites, PoPs, summary). The design step is one of:

* shared-trench trees and rings with GPs assigned by road distance (the default): assignment
  and trench are one problem, a Steiner forest rooted at the PoPs (:mod:`netplan.joint`);
  rings then run per PoP over the GPs of its tree;
* stars, ``joint=False``: each GP to its nearest PoP by road (:mod:`netplan.assign`), then
  each PoP's design (:mod:`netplan.design`);
* ``assign_by``: each GP to the PoP of its group, then each PoP's design.

PoP capacities (``pop_capacity`` or a ``capacity`` column on the PoPs) apply to all three.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from functools import cached_property
from os import PathLike
from pathlib import Path
from typing import Any, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd

from netplan import facilities as fac
from netplan import io as nio
from netplan._assemble import Designed, assemble
from netplan._csr import CSRGraph
from netplan._errors import InputError
from netplan._reuse import runs_along
from netplan._routes import (
    PopDesigns,
    design_joint,
    design_pops,
    facility_results,
    ring_hops,
    routes_frame,
)
from netplan._validate import check_same_area, check_within_extent, path_of, short_list
from netplan.assign import (
    assign_to_pops,
    capacity_column,
    fit_capacity,
    nearest_pops,
    pop_capacities,
)
from netplan.boq import METHODS, construction_costs, underground_cost_per_m
from netplan.crs import WGS84
from netplan.facilities import FacilityOptions
from netplan.network import RoadNetwork, build_network
from netplan.optical import OpticalBudget
from netplan.params import CostModel, DesignOptions, NetworkOptions
from netplan.partition import DEFAULT_BUFFER_M, Partitioning, Partitions, Unmatched
from netplan.result import Plan
from netplan.rollout import LeadTimes
from netplan.row import DEFAULT_AREA_WIDTH_M, RowLayer, annotate_edges, flag_routes

__all__ = ["Planner", "plan", "resolve_design", "LayerInput"]

log = logging.getLogger(__name__)

LayerInput: TypeAlias = str | PathLike[str] | gpd.GeoDataFrame
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


def _input_paths(*sources: Any) -> tuple[Path, ...]:
    """Absolute paths of the files behind the given layers (paths, or recorded by the loaders);
    a plan's outputs may not replace them."""
    found: list[Path] = []
    for source in sources:
        if isinstance(source, pd.DataFrame):
            path = path_of(source)
        else:
            path = Path(source).absolute() if source is not None else None
        if path is not None and path not in found:
            found.append(path)
    return tuple(found)


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
    facilities
        Public service points to plan with the GPs (hospitals, health centres, schools, Lok Seva
        Kendras): points with a category column (:func:`netplan.io.load_facilities`). Every
        facility is listed in :attr:`Plan.facilities <netplan.result.Plan>`.
    forest_width_m
        Corridor width for forest hectares (default: :meth:`RowLayer.forest`'s).
    existing
        Existing optical fibre with spare fibres (lines): road edges along it
        (``options.reuse_corridor_m``, ``options.reuse_share``) need no new trench or cable, and
        its stretches away from the roads join the network as edges of their own.
    power_lines
        Electricity distribution lines (11 kV / LT): road edges along them may carry aerial cable.
    options
        How the road network is built (gap healing, spur and bridge limits, reuse corridor).
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
    facilities
        The validated facility layer (index ``facility_id``, ``name``, ``category``) or None.
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
        crossings and metres along line layers), once when the planner is built: the
        permission-aware router's penalties.
    reuse
        Every network edge: whether it runs along existing fibre (``existing``) or a power
        line (``aerial``).
    capacity
        The PoPs' ``capacity`` column as numbers (NaN where empty or absent).
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

    network: RoadNetwork | None  # None when the planner is split into partitions
    partitions: Partitions | None

    def __init__(
        self,
        gps: LayerInput,
        pops: LayerInput,
        roads: LayerInput,
        *,
        forest: LayerInput | None = None,
        highways: LayerInput | None = None,
        row_layers: Sequence[RowLayer] = (),
        facilities: LayerInput | None = None,
        forest_width_m: float | None = None,
        existing: LayerInput | None = None,
        power_lines: LayerInput | None = None,
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
        self.inputs = _input_paths(
            gps,
            pops,
            roads,
            forest,
            highways,
            existing,
            power_lines,
            facilities,
            *(layer.data for layer in row_layers),
        )
        scheme = None
        if partition_by is not None:  # bad options fail before any loading
            scheme = Partitioning(partition_by, partition_buffer_m, partition_unmatched)
        elif client is not None:
            raise InputError("client= runs the partitions of a plan on Dask: pass partition_by=")
        if partition_by is not None and facilities is not None:
            raise InputError(
                "facilities cannot be planned with partition_by yet: plan them without "
                "partitions, or plan each partition's area on its own"
            )
        if partition_by is not None and (existing is not None or power_lines is not None):
            raise InputError(
                "existing fibre and power lines cannot be planned with partition_by yet: plan "
                "them without partitions, or plan each partition's area on its own"
            )
        self.gps = nio.load_sites(gps, str_columns=("*",))
        self.pops = nio.load_pops(pops, str_columns=("*",))
        if "TOTAL" in self.pops.index:
            raise InputError(
                "a PoP has the id 'TOTAL', which names the summary's total row; rename that PoP"
            )
        self.facilities = nio.load_facilities(facilities) if facilities is not None else None
        roads_gdf = nio.load_roads(roads)
        forest_gdf = nio.load_forest(forest) if forest is not None else None
        highways_gdf = nio.load_highways(highways) if highways is not None else None
        self.existing = nio.load_existing(existing) if existing is not None else None
        self.power_lines = nio.load_power_lines(power_lines) if power_lines is not None else None
        self.capacity = capacity_column(self.pops)
        self._check_extents(roads_gdf, [forest_gdf, highways_gdf, self.existing, self.power_lines])
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
        self._build(roads_gdf, crs)

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
        self.gps, self.pops, self.layers, self.facilities = gps, pops, layers, None
        self.existing = self.power_lines = None
        self.capacity = capacity_column(pops)
        self._start()
        self._build(roads, crs)
        return self

    def _build(self, roads: gpd.GeoDataFrame, crs: Any) -> None:
        """Build the network, and measure every edge against the right-of-way layers once:
        every variant's permission-aware weights reuse the measures."""
        self.network = build_network(
            roads,
            gps=self.gps,
            pops=self.pops,
            facilities=self.facilities,
            options=self.options,
            crs=crs,
            progress=self.progress,
            existing=self.existing,
        )
        self.edge_notes = annotate_edges(self.network.edges, self.layers, progress=self.progress)

    def _start(self) -> None:
        """Empty caches; no partitions and no network yet."""
        self.partitions = None
        self.network = None
        self._weights: dict[tuple, np.ndarray] = {}
        self._methods: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self._graphs: dict[tuple, CSRGraph] = {}
        self._assignments: dict[tuple, pd.DataFrame] = {}
        self._joint: dict[tuple, tuple[pd.DataFrame, PopDesigns]] = {}
        self._designed: dict[tuple, Designed] = {}
        self._statuses: dict[tuple, pd.DataFrame] = {}

    @property
    def _net(self) -> RoadNetwork:
        """The road network (a planner split into partitions has one per partition)."""
        if self.network is None:
            raise InputError(
                "this planner is split into partitions (partition_by=) and has no single road "
                "network; plan with planner.plan(), or build a Planner without partition_by= "
                "for per-network queries"
            )
        return self.network

    def __repr__(self) -> str:
        size = (
            f"{len(self.partitions.keys)} partitions by {self.partitions.scheme.column!r}"
            if self.partitions is not None
            else f"{len(self._net.edges):,} edges"
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
        if self.facilities is not None:
            check_within_extent(self.facilities, roads, max_distance_m=margin)
        for layer in extra:
            if layer is not None:
                check_same_area(layer, roads)

    @cached_property
    def reuse(self) -> pd.DataFrame:
        """Per edge: ``existing`` (runs along existing fibre, or is an off-road stretch of it)
        and ``aerial`` (runs along a power line), by the corridor rule of ``options``."""
        edges = self._net.edges
        geoms = np.asarray(edges.geometry.array, dtype=object)
        existing = (edges["kind"] == "existing").to_numpy()
        found = {"existing": existing, "aerial": np.zeros(len(edges), dtype=bool)}
        for name, layer in (("existing", self.existing), ("aerial", self.power_lines)):
            if layer is None:
                continue
            lines = layer.geometry.to_crs(self._net.crs).explode(index_parts=False)
            found[name] = found[name] | runs_along(
                geoms,
                np.asarray(lines.array, dtype=object),
                corridor_m=self.options.reuse_corridor_m,
                share=self.options.reuse_share,
            )
        return pd.DataFrame(found, index=edges.index)

    def methods(self, costs: CostModel) -> tuple[np.ndarray, np.ndarray]:
        """The cheapest construction method of every edge (index into
        :data:`netplan.boq.METHODS`) and its cost at ``costs``' rates (see
        :func:`netplan.boq.construction_costs`)."""
        key = (costs.rates, costs.build)
        if key not in self._methods:
            edges = self._net.edges
            reuse = self.reuse
            notes = self.edge_notes
            crossings = notes.filter(like="_crossings").sum(axis=1).to_numpy(dtype=float)
            self._methods[key] = construction_costs(
                edges["length"].to_numpy(dtype=float),
                edges["kind"].to_numpy(),
                existing=reuse["existing"].to_numpy(),
                aerial=reuse["aerial"].to_numpy(),
                crossings=crossings if len(notes.columns) else np.zeros(len(edges)),
                costs=costs,
            )
        return self._methods[key]

    def weights(self, costs: CostModel) -> np.ndarray:
        """The routing weight of every network edge under ``costs``, in equivalent metres."""
        key = _routing_key(costs)
        if key not in self._weights:
            if costs.objective == "cost":
                base = self.methods(costs)[1] / underground_cost_per_m(costs)
            else:
                base = self._net.edges["length"].to_numpy(dtype=float)
            self._weights[key] = _edge_weights(base, self._net, self.layers, costs, self.edge_notes)
        return self._weights[key]

    def graph(self, costs: CostModel) -> CSRGraph:
        """The network as a CSR graph weighted by :meth:`weights`."""
        key = _routing_key(costs)
        if key not in self._graphs:
            u, v, _ = self._net.arrays()
            self._graphs[key] = CSRGraph.from_arrays(
                len(self._net.nodes), u, v, self.weights(costs)
            )
        return self._graphs[key]

    def assignment(self, design: DesignOptions, costs: CostModel = CostModel()) -> pd.DataFrame:
        """GP → PoP for ``design``: the roots of the joint design under ``costs`` (see
        :attr:`DesignOptions.uses_joint_design`), else by road distance or by a column
        (:func:`netplan.assign.assign_to_pops`), within the PoPs' capacities."""
        if design.uses_joint_design:
            return self._joint_design(design, costs)[0]
        can_move = design.assign_by is None
        key = (design.assign_by, design.pop_key, design.pop_capacity)
        if key not in self._assignments:
            assignment = self._assign(design.assign_by, design.pop_key)
            capacity = pop_capacities(self.capacity, design.pop_capacity)
            if np.isfinite(capacity).any():
                assignment = fit_capacity(
                    assignment,
                    self._net,
                    capacity,
                    csr=self.graph(_BY_LENGTH),
                    can_move=can_move,
                )
            self._assignments[key] = assignment
        return self._assignments[key]

    def _assign(self, by: str | None, pop_key: str | None) -> pd.DataFrame:
        """GP → PoP by road distance or by a column, capacities aside (cached)."""
        key = ("uncapped", by, pop_key)
        if key not in self._assignments:
            self._assignments[key] = assign_to_pops(
                self._net,
                gps=self.gps,
                pops=self.pops,
                by=by,
                pop_key=pop_key,
                csr=self.graph(_BY_LENGTH),
            )
        return self._assignments[key]

    def _joint_design(
        self, design: DesignOptions, costs: CostModel, facilities: pd.Series | None = None
    ) -> tuple[pd.DataFrame, PopDesigns]:
        """The joint assignment and trees of every PoP under ``costs``, with ``facilities``
        (network nodes by facility id) as further terminals (cached; the service area options
        matter only to the per-PoP trees compared when a capacity binds)."""
        key = (
            _routing_key(costs),
            design.pop_capacity,
            design.service_slack,
            design.service_margin_m,
            _terminal_key(facilities),
        )
        if key not in self._joint:
            if len(self._joint) >= _CACHED_DESIGNS:
                self._joint.pop(next(iter(self._joint)))
            self._joint[key] = design_joint(
                self._net,
                self.weights(costs),
                self._assign(None, None),
                pop_capacities(self.capacity, design.pop_capacity),
                design,
                facilities=facilities,
                csr=self.graph(costs),
                length_csr=self.graph(_BY_LENGTH),
                progress=self.progress,
            )
        return self._joint[key]

    def facility_status(self, options: FacilityOptions | None = None) -> pd.DataFrame:
        """The facilities listed before designing (:func:`netplan.facilities.facility_status`;
        default options :class:`~netplan.facilities.FacilityOptions`).

        Raises
        ------
        InputError
            The planner was given no facilities.
        """
        if self.facilities is None:
            raise InputError("this planner has no facilities: pass facilities= to Planner(...)")
        options = FacilityOptions() if options is None else options
        key = (options.colocated_m, options.categories)
        if key not in self._statuses:
            self._statuses[key] = fac.facility_status(
                self.facilities, self._net, self.gps, options=options
            )
        return self._statuses[key]

    def _facility_terminals(
        self,
        design: DesignOptions,
        costs: CostModel,
        selected: tuple[str, ...] | None,
        options: FacilityOptions,
    ) -> pd.DataFrame:
        """The facility listing of one variant before designing: rules 1-4, then (with a
        reach) rule 5 against the trench of the same variant designed for the GPs alone."""
        status = self.facility_status(options)
        terminals = fac.own_terminals(status)
        if options.reach_m is None or not len(terminals):
            return status
        alone = self._design(design, costs, selected)
        pops = self._net.pops if selected is None else self._net.pops.loc[list(selected)]
        distance = fac.reach_distances(
            self._net,
            alone.routes["edge_id"].to_numpy(dtype=np.int64),
            pops.loc[pops["status"] == "ok", "node"].to_numpy(dtype=np.int64),
            terminals,
            reach_m=options.reach_m,
            csr=self.graph(_BY_LENGTH),
        )
        return fac.beyond_reach(status, distance, options.reach_m)

    # ------------------------------------------------------------------ one variant
    def plan(
        self,
        design: DesignOptions | None = None,
        *,
        costs: CostModel = CostModel(),
        pops: Sequence[str] | None = None,
        permit_threshold_ha: float = 1.0,
        optical: OpticalBudget = OpticalBudget(),
        lead_times: LeadTimes | Mapping[str, int] | None = None,
        facility_options: FacilityOptions | None = None,
        **options: Any,
    ) -> Plan:
        """Design one variant on the planner's network.

        Parameters
        ----------
        design
            Design options (topology, ring size and diversity, assignment, ...); default
            :class:`~netplan.params.DesignOptions`.
        costs
            Rates, build rules, objective and routing penalties;
            :meth:`CostModel.permission_aware` avoids permissions.
        pops
            Plan only these PoPs (ids) and the GPs assigned to them; default every PoP. With
            the joint design, the GPs and trees these PoPs have in the plan of every PoP.
        permit_threshold_ha
            Forest area per division above which general approval does not apply (flagged).
        optical
            The optical budget every GP's link is checked against (:mod:`netplan.optical`).
        lead_times
            Months from applying to each layer's permission, by layer name (e.g.
            ``{"forest": 12, "nh": 4}``), overriding the layers' own (forest 12, national
            highways 6, others 6 by default); sets the roll-out phases, not the routes.
        facility_options
            Which facilities to connect (:class:`~netplan.facilities.FacilityOptions`).
        **options
            Any field of :class:`~netplan.params.DesignOptions` overriding ``design``, e.g.
            ``topology="ring"``, ``ring_size=8``, ``assign_by="block"``.

        Returns
        -------
        Plan
        """
        design = resolve_design(design, options)
        lead = lead_times if isinstance(lead_times, LeadTimes) else LeadTimes(lead_times or {})
        lead.for_layers(self.layers)  # an unknown layer name fails before any designing
        selected = self._select(pops)
        listing = terminals = None
        if self.facilities is not None:
            listing = self._facility_terminals(
                design, costs, selected, facility_options or FacilityOptions()
            )
            terminals = fac.own_terminals(listing)
        made = self._design(design, costs, selected, terminals)
        plain = (
            self._design(design, costs.without_penalties(), selected, terminals)
            if costs.penalised
            else None
        )
        if listing is not None:
            made = dataclasses.replace(made, facilities=fac.with_results(listing, made.facilities))
        pop_rows = self.pops if selected is None else self.pops.loc[list(selected)]
        result = assemble(
            made,
            gps=self.gps,
            pops=pop_rows,
            layers=self.layers,
            design=design,
            costs=costs,
            optical=optical,
            permit_threshold_ha=permit_threshold_ha,
            lead_times=lead,
            facilities=self.facilities,
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
                f"{short_list(self.pops.index)}"
            )
        return wanted

    def _design_partitioned(
        self, design: DesignOptions, costs: CostModel, selected: tuple[str, ...] | None
    ) -> None:
        """Design ``costs``'s variant and, when permission-aware, the same without penalties on
        every partition, and remember the merged variants."""
        wanted = [costs, costs.without_penalties()] if costs.penalised else [costs]
        wanted = [c for c in wanted if _design_key(design, c, selected) not in self._designed]
        if wanted:
            assert self.partitions is not None  # only partitioned planners come here
            designed = self.partitions.design(design, wanted, selected)
            for c, made in zip(wanted, designed, strict=True):
                self._remember(_design_key(design, c, selected), made)

    def _remember(self, key: tuple, made: Designed) -> None:
        if len(self._designed) >= _CACHED_DESIGNS:
            self._designed.pop(next(iter(self._designed)))
        self._designed[key] = made

    def _design(
        self,
        design: DesignOptions,
        costs: CostModel,
        selected: tuple[str, ...] | None,
        facilities: pd.Series | None = None,
    ) -> Designed:
        """Design, flag and remember one variant (the last few are kept); ``facilities``:
        network nodes of the service points to connect as terminals (index facility id), whose
        design results are :attr:`Designed.facilities` (no partitions then)."""
        key = _design_key(design, costs, selected, facilities)
        if key in self._designed:
            return self._designed[key]
        if self.partitions is not None:
            self._design_partitioned(design, costs, selected)
            return self._designed[key]
        joint = None
        if design.uses_joint_design:
            assignment, joint = self._joint_design(design, costs, facilities)
        else:
            assignment = self.assignment(design, costs)
        if selected is not None:
            assignment = assignment[assignment["pop_id"].isin(selected)]
        found = self._facility_pops(facilities, joint)
        serving = None
        if found is not None and facilities is not None:
            keep = found["pop_id"].notna() & (
                found["pop_id"].isin(selected) if selected is not None else True
            )
            serving = found[keep].assign(node=facilities[keep])
        if joint is not None and design.topology == "tree":
            designs = joint if selected is None else joint.only(selected)
        else:  # rings over a joint assignment run around the joint trees
            designs = design_pops(
                self._net,
                self.weights(costs),
                assignment,
                design,
                facilities=serving,
                csr=self.graph(costs),
                trees=joint,
                progress=self.progress,
            )
        made = _flagged(self._net, self.layers, designs, assignment, design, self.methods(costs)[0])
        if found is not None:
            results = found if designs is joint else None  # the joint trees' results as found
            if results is None:
                results = facility_results(
                    designs, found["pop_id"], self.graph(_BY_LENGTH), planned=selected
                )
            made = dataclasses.replace(made, facilities=results)
        self._remember(key, made)
        return made

    def _facility_pops(
        self, facilities: pd.Series | None, joint: PopDesigns | None
    ) -> pd.DataFrame | None:
        """The PoP serving each facility terminal (``pop_id``, None where none can be reached;
        ``network_m``): the root of the joint tree it ends on (with the joint trees' results,
        :func:`~netplan._routes.facility_results`), else the PoP nearest by road (None without
        facilities)."""
        if facilities is None:
            return None
        length_csr = self.graph(_BY_LENGTH)
        if joint is None:
            return nearest_pops(self._net, facilities, csr=length_csr)
        pop_of = joint.facility_pops().reindex(facilities.index).astype(object)
        return facility_results(joint, pop_of, length_csr)


def _flagged(
    network: RoadNetwork,
    layers: Sequence[RowLayer],
    designs: PopDesigns,
    assignment: pd.DataFrame,
    design: DesignOptions,
    methods: np.ndarray,
) -> Designed:
    """Routes of ``designs`` flagged against the right-of-way layers, each segment with its
    construction method, and what else a plan needs from the network, in lon/lat."""
    assignment = assignment.assign(
        spur_m=network.gps["spur_m"].reindex(assignment.index),
        node=network.gps["node"].reindex(assignment.index),
    )
    if design.topology == "ring":
        hops = ring_hops(designs).reindex(assignment.index)
        assignment = assignment.assign(hop_in_m=hops["hop_in_m"], hop_out_m=hops["hop_out_m"])
    for pop_id, reason in designs.failures.items():
        assignment.loc[assignment["pop_id"] == pop_id, "reason"] = reason
    routes, rings = routes_frame(network, designs, topology=design.topology)
    routes.insert(
        routes.columns.get_loc("length_m"),
        "method",
        np.asarray(METHODS, dtype=object)[methods[routes["edge_id"].to_numpy(dtype=np.int64)]],
    )
    routes, crossings = flag_routes(routes, layers)
    pop_status = network.pops[["status", "reason", "node"]].copy()
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


_BY_LENGTH = CostModel(objective="length")
"""GPs are assigned to the PoP nearest by road."""


def _design_key(
    design: DesignOptions,
    costs: CostModel,
    selected: tuple[str, ...] | None,
    facilities: pd.Series | None = None,
) -> tuple:
    """What one designed variant depends on: the design, the routing, for each segment's
    construction method the rates and build rules, and the facility terminals."""
    return (
        design,
        _routing_key(costs),
        costs.rates,
        costs.build,
        selected,
        _terminal_key(facilities),
    )


def _terminal_key(facilities: pd.Series | None) -> tuple[str, ...] | None:
    """The facility terminals of a design, as a cache key."""
    return None if facilities is None else tuple(facilities.index)


def _routing_key(costs: CostModel) -> tuple:
    """The part of a cost model that changes routes (rates only when routing by cost)."""
    money = (costs.rates, costs.build) if costs.objective == "cost" else ()
    return (
        costs.objective,
        *money,
        costs.forest_penalty_per_m,
        costs.crossing_penalty_m,
        costs.along_highway_penalty_per_m,
        costs.offroad_penalty_per_m,
    )


def _edge_weights(
    base: np.ndarray,
    network: RoadNetwork,
    layers: Sequence[RowLayer],
    costs: CostModel,
    notes: pd.DataFrame,
) -> np.ndarray:
    """Routing weight of every edge in equivalent metres: ``base`` (construction cost in metres
    of underground road build, or length) plus the penalties on its right-of-way measures
    ``notes``."""
    edges = network.edges
    weight = np.asarray(base, dtype=float).copy()
    if costs.offroad_penalty_per_m:
        bridge = np.where(edges["kind"] == "bridge", edges["length"], 0.0)
        weight += costs.offroad_penalty_per_m * bridge
    layer_penalties = (
        costs.forest_penalty_per_m,
        costs.crossing_penalty_m,
        costs.along_highway_penalty_per_m,
    )
    if not layers or not any(layer_penalties):
        return _positive(weight, edges)
    measured = notes
    for layer in layers:
        if layer.kind == "area":
            weight += costs.forest_penalty_per_m * measured[f"in_{layer.name}_m"].to_numpy()
        else:
            weight += costs.crossing_penalty_m * measured[f"{layer.name}_crossings"].to_numpy()
            along = measured[f"along_{layer.name}_m"].to_numpy()
            weight += costs.along_highway_penalty_per_m * along
    return _positive(weight, edges)


_MIN_WEIGHT_PER_M = 1e-6
"""An edge weighs at least this per metre (free existing fibre at a zero rate still has a
length, and the Steiner search needs positive weights)."""


def _positive(weight: np.ndarray, edges: pd.DataFrame) -> np.ndarray:
    return np.maximum(weight, _MIN_WEIGHT_PER_M * edges["length"].to_numpy(dtype=float))


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
        width = DEFAULT_AREA_WIDTH_M if forest_width_m is None else forest_width_m
        layers.append(RowLayer.forest(forest, corridor_width_m=width))
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
    facilities: LayerInput | None = None,
    forest_width_m: float | None = None,
    existing: LayerInput | None = None,
    power_lines: LayerInput | None = None,
    options: NetworkOptions = NetworkOptions(),
    crs: Any = None,
    design: DesignOptions | None = None,
    costs: CostModel = CostModel(),
    permit_threshold_ha: float = 1.0,
    optical: OpticalBudget = OpticalBudget(),
    lead_times: LeadTimes | Mapping[str, int] | None = None,
    facility_options: FacilityOptions | None = None,
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
    gps, pops, roads, forest, highways, row_layers, facilities, forest_width_m
        The inputs, as for :class:`Planner`.
    existing, power_lines, options, crs
        Utility layers and how the network is built, as for :class:`Planner`.
    progress
        Show progress bars.
    partition_by, partition_buffer_m, partition_unmatched, client
        Split the work by a column of the GPs and PoPs and plan the partitions one after
        another or on a Dask cluster, as for :class:`Planner`.
    design, costs, permit_threshold_ha, optical, lead_times, facility_options, **design_options
        The variant, as for :meth:`Planner.plan` (e.g. ``topology="ring"``, ``ring_size=8``,
        ``assign_by="block"``, ``lead_times={"forest": 18}``).

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
    lead = lead_times if isinstance(lead_times, LeadTimes) else LeadTimes(lead_times or {})
    planner = Planner(
        gps,
        pops,
        roads,
        forest=forest,
        highways=highways,
        row_layers=row_layers,
        facilities=facilities,
        forest_width_m=forest_width_m,
        existing=existing,
        power_lines=power_lines,
        options=options,
        crs=crs,
        progress=progress,
        partition_by=partition_by,
        partition_buffer_m=partition_buffer_m,
        partition_unmatched=partition_unmatched,
        client=client,
    )
    return planner.plan(
        chosen,
        costs=costs,
        permit_threshold_ha=permit_threshold_ha,
        optical=optical,
        lead_times=lead,
        facility_options=facility_options,
    )
