"""Public service points (hospitals, health centres, schools, Lok Seva Kendras) planned with the GPs.

A facility layer (:func:`netplan.io.load_facilities`: points with a category) is snapped onto the
road network like the GPs (``RoadNetwork.facilities``) and listed in full in
:attr:`Plan.facilities <netplan.result.Plan>`: every input facility comes out either connected or
with the reason it is not. The listing rules, in this order (:func:`facility_status`):

1. **unknown category**: a facility without a category, or (with
   :attr:`FacilityOptions.categories`) with a category not among those to connect, is listed and
   not connected;
2. **at a GP**: a facility within :attr:`FacilityOptions.colocated_m` of a GP is served through
   that GP's connection (``served_by`` names the GP; it is connected when the GP is routed and
   shares its PoP, distances, permits and phase);
3. **duplicate**: a facility of the same category within ``colocated_m`` of an earlier one (file
   order) is the same service point (``served_by`` names the first and it shares its status); a
   repeated id is kept with a ``#2``, ``#3``... suffix and connected like any other;
4. **far from roads**: a facility farther than the network's spur limit from every road, or on a
   road fragment that reaches no PoP (facilities get no bridge links), is not connected (the
   reason gives the distance);
5. **beyond reach** (with :attr:`FacilityOptions.reach_m`): a facility whose road distance to the
   GPs' fibre is above the reach is not connected (:func:`reach_distances` defines the distance);
6. the others are **own terminals** of the design, like GPs: in the joint design they join
   whichever PoP's tree serves them best, in per-PoP designs (stars, ``assign_by``,
   ``joint=False``) the PoP nearest by road; route segments list them in ``facility_ids`` and
   count them in ``facilities_served`` (and in a star's cables), and their ``network_m``,
   ``route_m``, ``permits_needed``, ``ready_month`` and ``phase`` are taken from their own path
   (the segments whose ``facility_ids`` hold them) like a GP's. A PoP's capacity counts GPs
   only: with a capacity, the joint trees are designed for the GPs and each facility then joins
   the nearest tree by its shortest path.

:func:`facility_table` makes the table of a plan; :func:`add_facility_totals` counts connected
facilities per PoP and category in the summary.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from netplan._checks import bounded, check_fields
from netplan._csr import CSRGraph
from netplan._errors import InputError
from netplan.crs import WGS84
from netplan.io import category_key
from netplan.network import RoadNetwork

__all__ = [
    "FacilityOptions",
    "FACILITY_COLUMNS",
    "facility_status",
    "own_terminals",
    "reach_distances",
    "beyond_reach",
    "with_results",
    "reached_terminals",
    "facility_table",
    "add_facility_totals",
    "add_facility_schedule",
    "FACILITY_ROLLOUT_COLUMNS",
]

log = logging.getLogger(__name__)

FACILITY_COLUMNS = [
    "name",
    "category",
    "pop_id",
    "routed",
    "reason",
    "served_by",
    "network_m",
    "route_m",
    "permits_needed",
    "ready_month",
    "phase",
]
"""Columns of :attr:`Plan.facilities` (index ``facility_id``, plus ``geometry``)."""

STATUS_COLUMNS = ["reason", "via_gp", "via_facility", "via_m", "node"]
"""Columns of :func:`facility_status` (the listing before designing)."""


@dataclass(frozen=True)
class FacilityOptions:
    """Which service points a plan connects, and how.

    Parameters
    ----------
    colocated_m
        A facility this close (metres) to a GP is served through the GP's connection; two
        facilities of one category this close are one service point.
    categories
        Connect only facilities of these categories (matched ignoring case and spaces); None
        connects every category.
    reach_m
        Connect only facilities within this road distance (metres) of the GPs' fibre
        (:func:`reach_distances`); the others are listed with the reason. None connects every
        facility the roads reach.

    Examples
    --------
    >>> FacilityOptions(categories=("Medical", "Education"), reach_m=2000).reach_m
    2000.0
    >>> FacilityOptions(colocated_m=-5)
    Traceback (most recent call last):
    ...
    netplan._errors.ParameterError: FacilityOptions.colocated_m must be a value from 0 to 1000 m, got -5 m
    """

    colocated_m: float = bounded(
        25.0,
        maximum=1000.0,
        unit="m",
        why="a service point that far from a GP is not in its building; connect it on its own",
    )
    categories: tuple[str, ...] | None = None
    reach_m: float | None = bounded(
        None,
        maximum=100_000.0,
        unit="m",
        why="that is no limit at all; leave the reach unset to connect every facility",
    )

    def __post_init__(self) -> None:
        check_fields(self)
        if self.categories is not None:
            if isinstance(self.categories, str) or not all(
                isinstance(c, str) and c.strip() for c in self.categories
            ):
                raise InputError(
                    "FacilityOptions.categories must be a list of category names, e.g. "
                    f"('PHC', 'school'); got {self.categories!r}"
                )
            object.__setattr__(self, "categories", tuple(c.strip() for c in self.categories))


def _colocated(
    points: np.ndarray, others: np.ndarray, distance_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """For each point, the index of the nearest of ``others`` within ``distance_m`` (-1: none)
    and its distance."""
    match = np.full(len(points), -1, dtype=np.int64)
    dist = np.full(len(points), np.nan)
    present = ~(shapely.is_missing(points) | shapely.is_empty(points))
    if not present.any() or not len(others):
        return match, dist
    tree = shapely.STRtree(others)
    (i, j), d = tree.query_nearest(
        points[present], max_distance=distance_m, return_distance=True, all_matches=False
    )
    rows = np.flatnonzero(present)[i]
    match[rows], dist[rows] = j, d
    return match, dist


def _duplicates(points: np.ndarray, keys: np.ndarray, distance_m: float) -> np.ndarray:
    """For each facility, the position of an earlier facility of the same category within
    ``distance_m`` (-1: none); chains resolve to the first of the group."""
    first = np.full(len(points), -1, dtype=np.int64)
    if len(points) < 2:
        return first
    tree = shapely.STRtree(points)
    i, j = tree.query(points, predicate="dwithin", distance=distance_m)
    keep = (j < i) & (keys[i] == keys[j])
    pairs = pd.DataFrame({"i": i[keep], "j": j[keep]}).groupby("i")["j"].min()
    for position, earlier in pairs.items():
        first[position] = first[earlier] if first[earlier] >= 0 else earlier
    return first


def _category_reasons(
    facilities: gpd.GeoDataFrame, options: FacilityOptions
) -> tuple[np.ndarray, list[str]]:
    """Facilities whose category is missing or not asked for, and the reason of each."""
    keys = facilities["category"].map(category_key).to_numpy(dtype=object)
    unknown = keys == ""
    if options.categories is not None:
        unknown |= ~np.isin(keys, [category_key(c) for c in options.categories])
    reasons = [
        "no category: give it one in the category column"
        if key == ""
        else f"category {cat!r} is not among the categories to connect "
        f"({', '.join(options.categories or ())})"
        for key, cat in zip(keys[unknown], facilities["category"][unknown], strict=True)
    ]
    return unknown, reasons


def facility_status(
    facilities: gpd.GeoDataFrame,
    network: RoadNetwork,
    gps: gpd.GeoDataFrame,
    *,
    options: FacilityOptions,
) -> pd.DataFrame:
    """The listing rules 1-4 of the module docs, before any design.

    Parameters
    ----------
    facilities
        The facility layer (:func:`netplan.io.load_facilities`), snapped onto ``network``.
    network
        The road network (its ``facilities`` table: node, status, reason).
    gps
        The GP layer (any CRS).
    options
        Which facilities to connect.

    Returns
    -------
    pandas.DataFrame
        Index ``facility_id``, columns :data:`STATUS_COLUMNS`: ``reason`` (why it is not
        connected; "" for own terminals and for those served through a GP or another
        facility), ``via_gp`` / ``via_facility`` (the GP or earlier facility serving it, ""
        when none) and ``via_m`` (the distance to that GP), ``node`` (Int64, the network node
        of an own terminal, <NA> otherwise).
    """
    points = np.asarray(facilities.geometry.to_crs(network.crs).to_numpy(), dtype=object)
    gp_points = np.asarray(gps.geometry.to_crs(network.crs).to_numpy(), dtype=object)
    keys = facilities["category"].map(category_key).to_numpy(dtype=object)
    unknown, why = _category_reasons(facilities, options)
    reason = pd.Series("", index=facilities.index, dtype=object)
    reason[unknown] = why
    gp_match, gp_dist = _colocated(points, gp_points, options.colocated_m)
    at_gp = ~unknown & (gp_match >= 0)
    first = _duplicates(points, keys, options.colocated_m)
    duplicate = ~unknown & ~at_gp & (first >= 0)
    placed = network.facilities.reindex(facilities.index)
    own = ~unknown & ~at_gp & ~duplicate
    far = own & (placed["status"].to_numpy(dtype=object) != "ok")
    reason[far] = placed["reason"].to_numpy(dtype=object)[far]
    via_gp = np.full(len(facilities), "", dtype=object)
    via_gp[at_gp] = gps.index.to_numpy(dtype=object)[gp_match[at_gp]]
    via_facility = np.full(len(facilities), "", dtype=object)
    via_facility[duplicate] = facilities.index.to_numpy(dtype=object)[first[duplicate]]
    node = placed["node"].astype("Int64").copy()
    node[~(own & ~far)] = pd.NA
    return pd.DataFrame(
        {
            "reason": reason,
            "via_gp": via_gp,
            "via_facility": via_facility,
            "via_m": np.where(at_gp, gp_dist, np.nan),
            "node": node.to_numpy(),
        },
        index=facilities.index,
    )[STATUS_COLUMNS]


def own_terminals(status: pd.DataFrame) -> pd.Series:
    """The network node of each facility to connect as its own terminal (index facility id)."""
    own = status["node"].notna() & (status["reason"] == "")
    return status.loc[own, "node"].astype(np.int64)


def reach_distances(
    network: RoadNetwork,
    trench: np.ndarray,
    pop_nodes: np.ndarray,
    terminals: pd.Series,
    *,
    reach_m: float,
    csr: CSRGraph,
) -> pd.Series:
    """Each facility's road distance to the GPs' fibre, up to ``reach_m`` (inf beyond).

    The GPs' fibre is the trench of the same variant designed for the GPs alone: the network
    nodes its route segments end at, and the PoPs. The distance runs along the network from the
    facility (its spur included), by length.

    Parameters
    ----------
    network
        The road network.
    trench
        Edge ids of the GP-only design's route segments.
    pop_nodes
        Network nodes of the variant's PoPs.
    terminals
        Network node of each facility (index facility id).
    reach_m
        Distances above this are not searched (inf).
    csr
        The network weighted by length.
    """
    edges = network.edges
    sources = np.unique(
        np.concatenate(
            [
                edges["u"].to_numpy()[trench],
                edges["v"].to_numpy()[trench],
                np.asarray(pop_nodes, dtype=np.int64),
            ]
        )
    )
    if not len(sources) or not len(terminals):
        return pd.Series(np.inf, index=terminals.index, dtype=float)
    dist = csr.dijkstra(sources, limit=reach_m, multi=True)[0]
    return pd.Series(dist[terminals.to_numpy()], index=terminals.index, dtype=float)


def beyond_reach(status: pd.DataFrame, distance: pd.Series, reach_m: float) -> pd.DataFrame:
    """``status`` with the facilities farther than ``reach_m`` from the GPs' fibre listed
    (rule 5) instead of connected."""
    far = distance.index[~(distance <= reach_m)]
    out = status.copy()
    out.loc[far, "reason"] = (
        f"more than {reach_m:g} m by road from the GPs' fibre (the facility reach): not connected"
    )
    out.loc[far, "node"] = pd.NA
    return out


def with_results(status: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """The listing (:func:`facility_status`) with the design's results for the own terminals
    (:attr:`netplan._assemble.Designed.facilities`).

    Returns
    -------
    pandas.DataFrame
        ``reason`` (from the design when it did not reach an own terminal), ``via_gp``,
        ``via_facility``, ``via_m``, ``terminal`` (bool: an own terminal of the design),
        ``node`` (its network node, for the drop joints of the bill of quantities), ``pop_id``,
        ``network_m``, ``route_m``.
    """
    out = status.join(results[["pop_id", "network_m", "route_m"]])
    own = out["node"].notna() & (out["reason"] == "")
    out.loc[own, "reason"] = results["reason"].reindex(out.index[own]).fillna("").to_numpy()
    out.insert(out.columns.get_loc("node"), "terminal", out["node"].notna().to_numpy())
    return out


def reached_terminals(designed: pd.DataFrame) -> pd.Series:
    """Which facilities of a listing with design results (:func:`with_results`) are own
    terminals the design reached (a boolean Series)."""
    return designed["terminal"] & (designed["reason"] == "") & designed["route_m"].notna()


def facility_table(
    facilities: gpd.GeoDataFrame,
    designed: pd.DataFrame,
    sites: gpd.GeoDataFrame,
    phases: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Every facility, connected or listed with its reason (module docs).

    Parameters
    ----------
    facilities
        The facility layer (:func:`netplan.io.load_facilities`).
    designed
        Its listing with the design's results (:func:`with_results`).
    sites
        The plan's GPs (routed, distances, permits, phase).
    phases
        Per routed own terminal: ``permits_needed``, ``ready_month``, ``phase``
        (:attr:`netplan.rollout.Rollout.facilities`).

    Returns
    -------
    geopandas.GeoDataFrame
        Index ``facility_id``, columns :data:`FACILITY_COLUMNS`, EPSG:4326 points.
    """
    designed = designed.reindex(facilities.index)
    own = designed["terminal"]
    routed = reached_terminals(designed)
    table = pd.DataFrame(
        {
            "name": facilities["name"].astype(str),
            "category": facilities["category"].astype(str),
            "pop_id": designed["pop_id"].where(own, None).astype(object),
            "routed": routed.to_numpy(dtype=bool),
            "reason": designed["reason"].astype(str),
            "served_by": "",
            "network_m": designed["network_m"].where(own).astype(float),
            "route_m": designed["route_m"].where(routed).astype(float),
            "permits_needed": "",
            "ready_month": pd.array([pd.NA] * len(facilities), dtype="Int64"),
            "phase": pd.array([pd.NA] * len(facilities), dtype="Int64"),
        },
        index=facilities.index,
    )
    if phases is not None and len(phases):
        mine = phases.reindex(table.index[routed])
        for column in ("permits_needed", "ready_month", "phase"):
            table.loc[mine.index, column] = mine[column].to_numpy()
    at_gp = (designed["via_gp"] != "").to_numpy()
    _serve_through_gps(table, at_gp, designed.loc[at_gp, ["via_gp", "via_m"]], sites)
    duplicate = (designed["via_facility"] != "").to_numpy()
    _serve_through_first(table, duplicate, pd.Index(designed.loc[duplicate, "via_facility"]))
    out = gpd.GeoDataFrame(
        table[FACILITY_COLUMNS], geometry=facilities.geometry.to_crs(WGS84).to_numpy(), crs=WGS84
    )
    out.index.name = "facility_id"
    log.info(
        "facilities: %d listed, %d connected (%d own terminals, %d through a GP, %d duplicates)",
        len(out),
        int(out["routed"].sum()),
        int(routed.sum()),
        int(at_gp.sum()),
        int(duplicate.sum()),
    )
    return out


_FROM_SITE = ["pop_id", "routed", "network_m", "route_m", "permits_needed", "ready_month", "phase"]


def _serve_through_gps(
    table: pd.DataFrame, rows: np.ndarray, via: pd.DataFrame, sites: pd.DataFrame
) -> None:
    """Facilities at a GP take the GP's connection and figures."""
    if not rows.any():
        return
    gp_ids = via["via_gp"].to_numpy(dtype=object)
    gp = sites.reindex(gp_ids)
    for column in _FROM_SITE:
        if column in gp.columns:
            values = gp[column]
            table.loc[rows, column] = (
                values.fillna(False).to_numpy(dtype=bool)
                if column == "routed"
                else values.to_numpy()
            )
    table.loc[rows, "served_by"] = [f"GP {g}" for g in gp_ids]
    why_not = gp["reason"].fillna("it is not among the GPs of this plan")
    table.loc[rows, "reason"] = [
        "" if ok else f"at GP {g} ({d:.0f} m), which is not routed: {why}"
        for g, d, ok, why in zip(
            gp_ids, via["via_m"], table.loc[rows, "routed"], why_not, strict=True
        )
    ]


def _serve_through_first(table: pd.DataFrame, rows: np.ndarray, first_ids: pd.Index) -> None:
    """Duplicates follow the first facility of their group (after it has its own status)."""
    if not rows.any():
        return
    first = table.loc[first_ids]
    for column in _FROM_SITE:
        table.loc[rows, column] = first[column].to_numpy()
    table.loc[rows, "served_by"] = [f"facility {f}" for f in first_ids]
    table.loc[rows, "reason"] = [
        "" if ok else f"same category and place as facility {f} ({why})"
        for f, ok, why in zip(first_ids, first["routed"], first["reason"], strict=True)
    ]


def add_facility_totals(summary: pd.DataFrame, facilities: gpd.GeoDataFrame) -> pd.DataFrame:
    """Connected facilities per PoP and in total: all of them (``facilities_connected``), those
    listed but not connected (``facilities_not_connected``; in the total only where no PoP
    serves them) and one ``fac_<category>`` column of connected facilities per category.
    """
    connected = facilities[facilities["routed"]]
    counts = {
        "facilities_connected": connected,
        "facilities_not_connected": facilities[~facilities["routed"]],
    }
    for column, category in _category_columns(facilities["category"]).items():
        counts[column] = connected[connected["category"] == category]
    columns = {}
    for column, rows in counts.items():
        values = rows.groupby("pop_id").size().reindex(summary.index).fillna(0).astype(int)
        values["TOTAL"] = len(rows)
        columns[column] = values
    return pd.concat([summary, pd.DataFrame(columns, index=summary.index)], axis=1)


FACILITY_ROLLOUT_COLUMNS = ["facilities_new", "facilities_ready"]
"""Columns a plan with facilities adds to the roll-out schedule."""


def add_facility_schedule(schedule: pd.DataFrame, facilities: pd.DataFrame) -> pd.DataFrame:
    """The schedule (:attr:`Plan.rollout <netplan.result.Plan>`) with the connected facilities
    becoming ready each month (``facilities_new``) and by then (``facilities_ready``, rising to
    the connected count). Their ready months lie within the schedule: own terminals count in it
    (:func:`netplan.rollout.plan_rollout`), the others light with a GP or facility."""
    ready = facilities.loc[facilities["routed"], "ready_month"].dropna().astype(np.int64)
    out = schedule.copy()
    out["facilities_new"] = np.bincount(ready.to_numpy(), minlength=len(out))[: len(out)]
    out["facilities_ready"] = np.cumsum(out["facilities_new"].to_numpy())
    return out


def _category_columns(categories: Sequence[str]) -> dict[str, str]:
    """A summary column name per category (``fac_`` + its key with ``_``), unique."""
    columns: dict[str, str] = {}
    for category in sorted(set(categories), key=category_key):
        base = "fac_" + (category_key(category).replace(" ", "_") or "no_category")
        name, k = base, 2
        while name in columns:
            name, k = f"{base}_{k}", k + 1
        columns[name] = category
    return columns
