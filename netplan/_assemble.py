"""From a designed variant to a :class:`~netplan.result.Plan`: the plan's derived tables.

A :class:`Designed` variant holds what designing needs a road network for (assignment, flagged
routes with their construction method, crossings, distances along the design, PoP placement).
:func:`assemble` derives everything else from it (cable sizes, optical budget, bill of
quantities, permit register, sites, PoPs, summary, trade-off, roll-out, facilities), without the
network, so variants designed apart (e.g. partitions of a state) can be concatenated and
assembled once.
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
from netplan.boq import add_boq_totals, bill_of_quantities, size_routes
from netplan.facilities import (
    add_facility_schedule,
    add_facility_totals,
    facility_table,
    reached_terminals,
)
from netplan.network import RoadNetwork
from netplan.optical import OpticalBudget, add_optical_totals, optical_check
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
        its PoP), ``reason`` ("" when assigned and designed), ``spur_m``, ``node`` (its network
        node) and, for rings, ``hop_in_m`` / ``hop_out_m`` (the ring legs reaching and leaving
        it).
    routes
        Route segments flagged against the right-of-way layers (EPSG:4326), with their
        construction ``method`` and ``from_node`` / ``to_node``.
    crossings
        Permission points (EPSG:4326).
    route_m
        Each GP's distance from its PoP along the design (NaN where not designed).
    pop_status
        Every PoP (index: PoP id): ``status`` ("ok" | "unroutable"), ``reason`` and ``node``.
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


def _priced(
    made: Designed,
    pop_ids: pd.Index,
    layers: Sequence[RowLayer],
    design: DesignOptions,
    costs: CostModel,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """The variant's routes with cable sizes, and its bill of quantities (drops at the routed GPs
    and service points)."""
    routes = size_routes(made.routes, made.rings, topology=design.topology, build=costs.build)
    routed = made.assignment[(made.assignment["reason"] == "") & made.route_m.notna()]
    drops = routed[["pop_id", "node"]]
    if made.facilities is not None:  # service points connected on their own have drops too
        served = made.facilities[reached_terminals(made.facilities)]
        drops = pd.concat([drops, served[["pop_id", "node"]]], ignore_index=True)
    boq = bill_of_quantities(
        routes,
        drops,
        _roots(made),
        pop_ids=pop_ids,
        line_layers=[layer.name for layer in layers if layer.kind == "line"],
        costs=costs,
        topology=design.topology,
    )
    return routes, boq


def _roots(made: Designed) -> pd.Series:
    """The network node of every placed PoP."""
    return made.pop_status["node"].dropna().astype("int64")


def assemble(
    made: Designed,
    *,
    gps: gpd.GeoDataFrame,
    pops: gpd.GeoDataFrame,
    layers: Sequence[RowLayer],
    design: DesignOptions,
    costs: CostModel,
    optical: OpticalBudget = OpticalBudget(),
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
        The variant's options (the bill of quantities uses ``costs``' rates and build rules).
    optical
        The optical budget every GP is checked against.
    permit_threshold_ha
        Forest area per division above which general approval does not apply.
    lead_times
        Months to each layer's permission, overriding the layers' own
        (:class:`~netplan.rollout.LeadTimes`).
    facilities
        The facility layer (:func:`netplan.io.load_facilities`).
    plain
        The same variant designed without permission penalties, for the trade-off of a
        permission-aware plan.
    network, inputs
        Kept on the plan for reference.
    """
    permits = permit_register(made.crossings, layers, threshold_ha=permit_threshold_ha)
    routes, boq = _priced(made, pops.index, layers, design, costs)
    sites = sites_table(gps, made.assignment, made.route_m)
    sites = optical_check(
        sites,
        routes,
        made.assignment,
        _roots(made),
        topology=design.topology,
        budget=optical,
        build=costs.build,
    )
    terminals = None
    if made.facilities is not None:
        terminals = made.facilities.index[reached_terminals(made.facilities)]
    roll = plan_rollout(routes, sites, permits, layers, lead_times=lead_times, facilities=terminals)
    sites = sites.join(roll.sites)
    routes = routes.assign(phase=roll.route_phase)
    pops_tab = pops_table(pops, made.pop_status, sites, routes)
    summary = summary_table(routes, sites, pops_tab, layers)
    summary = add_boq_totals(summary, boq)
    summary = add_optical_totals(summary, sites)
    if design.topology == "ring":
        summary = add_ring_totals(summary, made.rings)
    summary = add_rollout_totals(summary, sites)
    facility_tab, schedule = None, roll.schedule
    if facilities is not None and made.facilities is not None:
        facility_tab = facility_table(facilities, made.facilities, sites, roll.facilities)
        summary = add_facility_totals(summary, facility_tab)
        schedule = add_facility_schedule(schedule, facility_tab)
    log_summary(summary)
    tradeoff = None
    if plain is not None:
        plain_routes, plain_boq = _priced(plain, pops.index, layers, design, costs)
        tradeoff = tradeoff_table(
            plain_routes, routes, layers, costs=(_total(plain_boq), _total(boq))
        )
    return Plan(
        routes=routes,
        sites=sites,
        pops=pops_tab,
        crossings=made.crossings,
        permits=roll.permits,
        summary=summary,
        boq=boq,
        rollout=schedule,
        facilities=facility_tab,
        lead_times=roll.months,
        design=design,
        costs=costs,
        optical=optical,
        layers=tuple(layers),
        network=network,
        tradeoff=tradeoff,
        rings=made.rings if design.topology == "ring" else None,
        inputs=inputs,
    )


def _total(boq: pd.DataFrame) -> float:
    """The total amount of a bill of quantities."""
    return float(boq.loc[boq["pop_id"] == "TOTAL", "amount"].sum())
