"""From a designed variant to a :class:`~netplan.result.Plan`: the plan's derived tables.

A :class:`Designed` variant holds what designing needs a road network for (assignment, flagged
routes, crossings, distances along the design, PoP placement). :func:`assemble` derives
everything else from it (permit register, sites, PoPs, summary, trade-off, roll-out), without the
network,
so variants designed apart (e.g. partitions of a state) can be concatenated and assembled once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from netplan._tables import (
    add_ring_totals,
    log_summary,
    pops_table,
    sites_table,
    summary_table,
    tradeoff_table,
)
from netplan.facilities import (
    add_facility_schedule,
    add_facility_totals,
    facility_table,
    reached_terminals,
)
from netplan.network import RoadNetwork
from netplan.params import CostModel, DesignOptions
from netplan.result import Plan
from netplan.rollout import LeadTimes, add_rollout_totals, plan_rollout
from netplan.row import RowLayer, permit_register

__all__ = ["Designed", "assemble"]


@dataclass(frozen=True)
class Designed:
    """One designed variant, in lon/lat.

    Attributes
    ----------
    assignment
        Every GP of the variant (index: site id): ``pop_id``, ``network_m`` (road distance to
        its PoP), ``reason`` ("" when assigned and designed), ``spur_m``.
    routes
        Route segments flagged against the right-of-way layers (EPSG:4326).
    crossings
        Permission points (EPSG:4326).
    route_m
        Each GP's distance from its PoP along the design (NaN where not designed).
    pop_status
        Every PoP (index: PoP id): ``status`` ("ok" | "unroutable") and ``reason``.
    rings
        One row per ring of a ring design (empty otherwise).
    facilities
        Every facility of the planner: its listing and, for own terminals of the design, the
        PoP, ``network_m`` and ``route_m`` (:func:`netplan.facilities.with_results`); None
        without facilities.
    """

    assignment: pd.DataFrame
    routes: gpd.GeoDataFrame
    crossings: gpd.GeoDataFrame
    route_m: pd.Series
    pop_status: pd.DataFrame
    rings: pd.DataFrame
    facilities: pd.DataFrame | None = None


def assemble(
    made: Designed,
    *,
    gps: gpd.GeoDataFrame,
    pops: gpd.GeoDataFrame,
    layers: Sequence[RowLayer],
    design: DesignOptions,
    costs: CostModel,
    permit_threshold_ha: float = 1.0,
    lead_times: LeadTimes | Mapping[str, int] | None = None,
    facilities: gpd.GeoDataFrame | None = None,
    plain: Designed | None = None,
    network: RoadNetwork | None = None,
    inputs: tuple[Path, ...] = (),
) -> Plan:
    """The plan of a designed variant.

    Parameters
    ----------
    made
        The designed variant.
    gps, pops
        The validated site layers (the PoPs of the variant).
    layers
        The right-of-way layers the routes were flagged against.
    design, costs
        The variant's options.
    permit_threshold_ha
        Forest area per division above which general approval does not apply.
    lead_times
        Months to each layer's permission, overriding the layers' own
        (:class:`~netplan.rollout.LeadTimes`).
    facilities
        The facility layer (:func:`netplan.io.load_facilities`).
    plain
        The length-only design of the same variant, for the trade-off of a permission-aware plan.
    network, inputs
        Kept on the plan for reference.
    """
    permits = permit_register(made.crossings, layers, threshold_ha=permit_threshold_ha)
    sites = sites_table(gps, made.assignment, made.route_m)
    terminals = None
    if made.facilities is not None:
        terminals = made.facilities.index[reached_terminals(made.facilities)]
    roll = plan_rollout(
        made.routes, sites, permits, layers, lead_times=lead_times, facilities=terminals
    )
    sites = sites.join(roll.sites)
    routes = made.routes.assign(phase=roll.route_phase)
    pops_tab = pops_table(pops, made.pop_status, sites, routes)
    summary = summary_table(routes, sites, pops_tab, layers, costs)
    if design.topology == "ring":
        summary = add_ring_totals(summary, made.rings)
    summary = add_rollout_totals(summary, sites)
    facility_tab, schedule = None, roll.schedule
    if facilities is not None and made.facilities is not None:
        facility_tab = facility_table(facilities, made.facilities, sites, roll.facilities)
        summary = add_facility_totals(summary, facility_tab)
        schedule = add_facility_schedule(schedule, facility_tab)
    log_summary(summary)
    return Plan(
        routes=routes,
        sites=sites,
        pops=pops_tab,
        crossings=made.crossings,
        permits=roll.permits,
        summary=summary,
        rollout=schedule,
        facilities=facility_tab,
        lead_times=roll.months,
        design=design,
        costs=costs,
        layers=tuple(layers),
        network=network,
        tradeoff=None if plain is None else tradeoff_table(plain.routes, made.routes, layers),
        rings=made.rings if design.topology == "ring" else None,
        inputs=inputs,
    )
