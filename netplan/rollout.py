"""Roll-out by permission readiness: which GPs can be lit first, and which permits to apply for first.

Forest and national-highway permissions take months to years, so a programme lights first the GPs
whose path needs none, and applies first for the permits that unblock the most GPs. The rules
(hand-checkable from the routes layer alone):

* A GP's **path** is the set of route segments whose ``gp_ids`` hold it (every segment lists the
  GPs it serves downstream, so these are the segments from its PoP to it).
* The path **needs** right-of-way layer ``L`` when one of its segments has ``in_L_m > 0`` (area
  layer) or ``L_crossings > 0`` or ``along_L_m > 0`` (line layer). ``permits_needed`` lists the
  register items on the path: those whose ``gp_ids`` hold the GP (see :mod:`netplan.row` for how
  every such length or crossing belongs to an item).
* Every application is filed in month 0; a permission of layer ``L`` is expected after ``L``'s
  **lead time** (:class:`LeadTimes`). A GP's ``ready_month`` is the largest lead time among the
  layers its path needs, 0 when it needs none.
* ``phase`` 1 is exactly the routed GPs that need no permission; phases 2, 3, ... group the
  others by ready month, earliest first (GPs needing a permission with a lead time of 0 form
  phase 2 in month 0). A route segment's ``phase`` is the earliest phase among the GPs it serves.
* The **register order** is the list to apply from: repeatedly the item that lets the most GPs
  light (together with the items above it), on a tie the one expected soonest, then the one most
  GPs wait on, then the register's own order. ``gps_blocked`` counts the GPs waiting on an item,
  ``gps_unblocked`` those it completes in that order.
* The **schedule** (:attr:`Plan.rollout <netplan.result.Plan>`, ``rollout.csv``) has one row per
  month from 0 to the last ready month: the GPs ready to light by then (rising to the routed
  count) and the trench km serving them.
* **Service points** connected as their own terminals (:mod:`netplan.facilities`) follow the
  same rules with ``facility_ids`` in place of ``gp_ids``: their path, ``permits_needed``,
  ``ready_month`` and ``phase`` (phases are numbered over the ready months of GPs and
  facilities together, so phase 1 is still exactly the GPs and facilities that need no
  permission); segments serving only facilities get their phase and the register adds
  ``facilities_blocked``. The register's order counts GPs.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from netplan._errors import InputError
from netplan._validate import short_list
from netplan.params import check_months
from netplan.row import DEFAULT_LEAD_MONTHS, FOREST_LEAD_MONTHS, NH_LEAD_MONTHS, RowLayer

__all__ = [
    "LeadTimes",
    "Rollout",
    "plan_rollout",
    "add_rollout_totals",
    "ROLLOUT_COLUMNS",
    "DEFAULT_LEAD_MONTHS",
    "FOREST_LEAD_MONTHS",
    "NH_LEAD_MONTHS",
]

log = logging.getLogger(__name__)

ROLLOUT_COLUMNS = [
    "month",
    "phase",
    "gps_new",
    "gps_ready",
    "gps_ready_share",
    "trench_km_new",
    "trench_km",
    "permits_granted",
]
"""Columns of the schedule: per month, the highest phase fully ready, GPs becoming ready that
month and by then (cumulative), their share of the routed GPs, trench km serving them (new and
cumulative) and register items granted by then."""


@dataclass(frozen=True)
class LeadTimes:
    """Months from applying to the expected permission, per right-of-way layer.

    Parameters
    ----------
    months
        Lead time per layer name (e.g. ``{"forest": 12, "nh": 4}``); whole months from 0 to
        240 (:data:`netplan.params.LEAD_MONTHS`). Layers
        not named keep their own (:attr:`RowLayer.lead_time_months
        <netplan.row.RowLayer>`: forest 12, national highways 6, others 6 by default).

    Examples
    --------
    >>> LeadTimes({"forest": 18}).months["forest"]
    18
    >>> LeadTimes({"nh": "soon"})
    Traceback (most recent call last):
    ...
    netplan._errors.ParameterError: lead time of layer 'nh' must be a number, got 'soon'; give a whole number from 0 to 240 months
    """

    months: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.months, Mapping):
            raise InputError(
                f"lead_times must map layer names to months, e.g. {{'forest': 12, 'nh': 4}}; "
                f"got {self.months!r}"
            )
        checked = {
            str(name): check_months(value, what=f"lead time of layer {name!r}")
            for name, value in self.months.items()
        }
        object.__setattr__(self, "months", MappingProxyType(checked))

    def for_layers(self, layers: Sequence[RowLayer]) -> dict[str, int]:
        """The lead time of each of ``layers`` (by name).

        Raises
        ------
        InputError
            A lead time names a layer that is not among ``layers``.
        """
        names = [layer.name for layer in layers]
        unknown = sorted(set(self.months) - set(names))
        if unknown:
            raise InputError(
                f"lead time given for unknown right-of-way layer(s) {unknown}; this plan's layers "
                f"are {short_list(names) if names else '(none)'}"
            )
        return {layer.name: self.months.get(layer.name, layer.lead_months) for layer in layers}


@dataclass(frozen=True)
class Rollout:
    """The roll-out of one plan.

    Attributes
    ----------
    sites
        Per GP (index site id): ``permits_needed`` (";"-joined permit ids), ``ready_month`` and
        ``phase`` (Int64, <NA> for GPs not routed).
    facilities
        The same per facility connected as its own terminal (None without facilities).
    route_phase
        Per route segment (aligned with the routes): the earliest phase it serves (Int64).
    permits
        The register in the order to apply from, with ``priority``, ``lead_months``,
        ``gps_blocked`` and ``gps_unblocked``.
    schedule
        One row per month, columns :data:`ROLLOUT_COLUMNS`.
    months
        The lead time of each right-of-way layer used.
    """

    sites: pd.DataFrame
    route_phase: pd.Series
    permits: pd.DataFrame
    schedule: pd.DataFrame
    months: dict[str, int]
    facilities: pd.DataFrame | None = None


def plan_rollout(
    routes: pd.DataFrame,
    sites: pd.DataFrame,
    permits: pd.DataFrame,
    layers: Sequence[RowLayer],
    *,
    lead_times: LeadTimes | Mapping[str, int] | None = None,
    facilities: pd.Index | None = None,
) -> Rollout:
    """Phases, ready months, the register's order and the schedule of a plan.

    Parameters
    ----------
    routes
        Flagged route segments (``gp_ids``, ``length_m`` and the right-of-way columns).
    sites
        Every GP (index site id) with ``routed``.
    permits
        The permit register (:func:`netplan.row.permit_register`).
    layers
        The right-of-way layers the routes were flagged against.
    lead_times
        Lead times overriding the layers' own.
    facilities
        Ids of the facilities connected as their own terminals (listed in the routes'
        ``facility_ids``); None without facilities.

    Returns
    -------
    Rollout

    Raises
    ------
    InputError
        A lead time names an unknown layer or is not a whole number of months >= 0.

    Examples
    --------
    A GP behind a forest, one behind a highway crossing and one with neither:

    >>> import pandas as pd
    >>> routes = pd.DataFrame({
    ...     "gp_ids": ["a;b;c", "b", "c"], "length_m": [1000.0, 500.0, 800.0],
    ...     "in_forest_m": [0.0, 200.0, 0.0], "nh_crossings": [0, 0, 1],
    ...     "along_nh_m": [0.0, 0.0, 0.0]})
    >>> sites = pd.DataFrame({"routed": [True, True, True]}, index=["a", "b", "c"])
    >>> permits = pd.DataFrame({"permit_id": ["forest-1", "nh-1"], "layer": ["forest", "nh"],
    ...                         "gp_ids": ["b", "c"]})
    >>> import geopandas as gpd, shapely
    >>> empty = gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)], crs=4326)
    >>> layers = [RowLayer.forest(empty), RowLayer.national_highway(empty)]
    >>> out = plan_rollout(routes, sites, permits, layers, lead_times={"nh": 2})
    >>> out.sites[["permits_needed", "ready_month", "phase"]]
      permits_needed  ready_month  phase
    a                           0      1
    b       forest-1           12      3
    c           nh-1            2      2
    >>> out.schedule["gps_ready"].tolist()
    [1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3]
    """
    if not isinstance(lead_times, LeadTimes):
        lead_times = LeadTimes({} if lead_times is None else lead_times)
    months = lead_times.for_layers(layers)
    routed = sites.index[sites["routed"].to_numpy(dtype=bool)]
    needs = _layer_needs(routes, layers, "gp_ids").reindex(routed, fill_value=False)
    pairs = _item_pairs(permits, routed)
    ready = _ready_months(needs, months)
    fac_needs = fac_pairs = fac_ready = None
    if facilities is not None:
        fac_needs = _layer_needs(routes, layers, "facility_ids")
        fac_needs = fac_needs.reindex(facilities, fill_value=False)
        fac_pairs = _facility_pairs(permits, routes, facilities)
        fac_ready = _ready_months(fac_needs, months)
    readies = [ready] if fac_ready is None else [ready, fac_ready]
    later = np.unique(np.concatenate([month[wait] for month, wait in readies])).astype(np.int64)
    site_table = _site_phases(needs, ready, later, pairs, permits, sites.index)
    fac_table = None
    if facilities is not None and fac_ready is not None:
        fac_table = _site_phases(fac_needs, fac_ready, later, fac_pairs, permits, facilities)
    route_phase = _route_phases(routes, site_table["phase"], "gp_ids")
    if fac_table is not None and "facility_ids" in routes.columns:
        route_phase = _earliest(
            route_phase, _route_phases(routes, fac_table["phase"], "facility_ids")
        )
    ordered = _prioritised(permits, pairs, months, fac_pairs)
    schedule = _schedule(site_table, routes, route_phase, ordered, fac_table)
    log.info(
        "roll-out: %d of %d routed GPs need no permission (phase 1); the last are ready in "
        "month %d",
        int((site_table["phase"] == 1).sum()),
        len(routed),
        int(schedule["month"].iloc[-1]),
    )
    return Rollout(site_table, route_phase, ordered, schedule, months, fac_table)


def _layer_needs(routes: pd.DataFrame, layers: Sequence[RowLayer], column: str) -> pd.DataFrame:
    """Per site (index: the ids in the routes' ``column``), whether its path needs each layer's
    permission (one bool column each)."""
    names = [layer.name for layer in layers]
    if not len(routes) or not names or column not in routes.columns:
        return pd.DataFrame(columns=names, dtype=bool)
    need = np.column_stack([_segment_needs(routes, layer) for layer in layers])
    codes, strings = pd.factorize(routes[column].fillna("").astype(str))
    per_string = np.zeros((len(strings), len(names)), dtype=bool)
    np.logical_or.at(per_string, codes, need)
    hit = np.flatnonzero(per_string.any(axis=1))
    tokens = pd.Series(strings[hit]).str.split(";").explode()
    tokens = tokens[tokens.fillna("") != ""]
    frame = pd.DataFrame(
        per_string[hit][tokens.index.to_numpy()], columns=names, index=tokens.to_numpy()
    )
    return frame.groupby(level=0).any()


def _segment_needs(routes: pd.DataFrame, layer: RowLayer) -> np.ndarray:
    """Whether each segment needs ``layer``'s permission (the checker's rule, module docs)."""
    if layer.kind == "area":
        return routes[f"in_{layer.name}_m"].to_numpy(dtype=float) > 0
    crossings = routes[f"{layer.name}_crossings"].to_numpy(dtype=float) > 0
    return crossings | (routes[f"along_{layer.name}_m"].to_numpy(dtype=float) > 0)


def _item_pairs(permits: pd.DataFrame, routed: pd.Index) -> pd.DataFrame:
    """(item position in the register, GP id) for every routed GP waiting on an item."""
    if not len(permits):
        return pd.DataFrame({"item": pd.Series(dtype=np.int64), "gp": pd.Series(dtype=object)})
    tokens = permits["gp_ids"].fillna("").astype(str).str.split(";").explode()
    frame = pd.DataFrame({"item": tokens.index.to_numpy(dtype=np.int64), "gp": tokens.to_numpy()})
    frame = frame[frame["gp"].isin(routed)]
    return frame.drop_duplicates().reset_index(drop=True)


def _facility_pairs(
    permits: pd.DataFrame, routes: pd.DataFrame, facilities: pd.Index
) -> pd.DataFrame:
    """(item position in the register, facility id) for every facility whose path runs through
    one of the item's segments (the facilities' ``gp`` in the frame's terms)."""
    if not len(permits) or not len(routes) or "facility_ids" not in routes.columns:
        return _item_pairs(permits.iloc[:0], facilities)
    served = routes.loc[routes["facility_ids"].fillna("") != "", ["segment_id", "facility_ids"]]
    by_segment = dict(
        zip(served["segment_id"].astype(str), served["facility_ids"].astype(str), strict=True)
    )
    segments = permits["segment_ids"].fillna("").astype(str).str.split(";").explode()
    ids = segments.map(by_segment).dropna().str.split(";").explode()
    frame = pd.DataFrame({"item": ids.index.to_numpy(dtype=np.int64), "gp": ids.to_numpy()})
    frame = frame[frame["gp"].isin(facilities)]
    return frame.drop_duplicates().sort_values(["item", "gp"]).reset_index(drop=True)


def _ready_months(needs: pd.DataFrame, months: Mapping[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Each site's ready month (the longest lead time its path needs, 0 for none) and whether
    it waits on any permission."""
    lead = np.array([months[name] for name in needs.columns], dtype=np.int64)
    need = needs.to_numpy(dtype=bool)
    return np.where(need, lead, 0).max(axis=1, initial=0), need.any(axis=1)


def _site_phases(
    needs: pd.DataFrame,
    ready: tuple[np.ndarray, np.ndarray],
    later: np.ndarray,
    pairs: pd.DataFrame,
    permits: pd.DataFrame,
    index: pd.Index,
) -> pd.DataFrame:
    """``permits_needed``, ``ready_month`` and ``phase`` of every site of ``index`` (<NA> where
    not routed); ``later``: the sorted ready months of everything waiting (phases 2, 3, ...)."""
    month, waiting = ready
    phase = np.where(waiting, 2 + np.searchsorted(later, month), 1)
    ids = permits["permit_id"].to_numpy(dtype=object) if len(permits) else np.array([])
    needed = (
        pd.Series(ids[pairs["item"].to_numpy()], index=pairs["gp"].to_numpy())
        .groupby(level=0, sort=False)
        .agg(";".join)
        if len(pairs)
        else pd.Series(dtype=object)
    )
    table = pd.DataFrame(
        {
            "permits_needed": needed.reindex(needs.index).fillna("").astype(str),
            "ready_month": pd.array(month, dtype="Int64"),
            "phase": pd.array(phase, dtype="Int64"),
        },
        index=needs.index,
    )
    table = table.reindex(index)
    table["permits_needed"] = table["permits_needed"].fillna("")
    table.index.name = index.name
    return table


def _route_phases(routes: pd.DataFrame, phase: pd.Series, column: str) -> pd.Series:
    """The earliest phase among the sites (ids in ``column``) each segment serves (<NA> for a
    segment serving none)."""
    if not len(routes):
        return pd.Series(pd.array([], dtype="Int64"), index=routes.index)
    codes, strings = pd.factorize(routes[column].fillna("").astype(str))
    tokens = pd.Series(strings).str.split(";").explode()
    earliest = (
        pd.Series(phase.reindex(tokens.to_numpy()).to_numpy(), index=tokens.index)
        .groupby(level=0)
        .min()
        .reindex(range(len(strings)))
    )
    values = pd.array(earliest.to_numpy()[codes], dtype="Int64")
    return pd.Series(values, index=routes.index, name="phase")


def _earliest(first: pd.Series, second: pd.Series) -> pd.Series:
    """Elementwise the smaller phase (<NA> only where both are)."""
    both = pd.concat([first, second], axis=1).min(axis=1)
    return pd.Series(pd.array(both.to_numpy(), dtype="Int64"), index=first.index, name="phase")


def _prioritised(
    permits: pd.DataFrame,
    pairs: pd.DataFrame,
    months: Mapping[str, int],
    facility_pairs: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The register in the order to apply from (module docs), with the figures behind it."""
    out = permits.drop(columns=[c for c in _PRIORITY_COLUMNS if c in permits.columns])
    lead = out["layer"].map(months).fillna(DEFAULT_LEAD_MONTHS).astype(np.int64).to_numpy()
    blocked = np.bincount(pairs["item"].to_numpy(dtype=np.int64), minlength=len(out))
    order, unblocked = _greedy_order(pairs, lead, blocked)
    out["lead_months"] = lead
    out["gps_blocked"] = blocked.astype(np.int64)
    out["gps_unblocked"] = unblocked.astype(np.int64)
    if facility_pairs is not None:
        items = facility_pairs["item"].to_numpy(dtype=np.int64)
        out["facilities_blocked"] = np.bincount(items, minlength=len(out)).astype(np.int64)
    out = out.iloc[order].reset_index(drop=True)
    out.insert(0, "priority", np.arange(1, len(out) + 1, dtype=np.int64))
    return out


_PRIORITY_COLUMNS = (
    "priority",
    "lead_months",
    "gps_blocked",
    "gps_unblocked",
    "facilities_blocked",
)
"""Columns the roll-out adds to the register (replaced when a register is ordered again)."""


def _greedy_order(
    pairs: pd.DataFrame, lead: np.ndarray, blocked: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Item order and the GPs each completes: the item letting most GPs light first (ties:
    shorter lead time, more GPs waiting, register order). Lazy max-heap over the items."""
    n = len(lead)
    items_of = pairs.groupby("gp", sort=False)["item"].agg(list).to_dict()
    gps_of = pairs.groupby("item", sort=False)["gp"].agg(list).to_dict()
    left = {gp: len(items) for gp, items in items_of.items()}
    completes = np.zeros(n, dtype=np.int64)
    for gp, count in left.items():
        if count == 1:
            completes[items_of[gp][0]] += 1
    done = np.zeros(n, dtype=bool)
    unblocked = np.zeros(n, dtype=np.int64)

    def key(i: int) -> tuple[int, int, int, int]:
        return (-int(completes[i]), int(lead[i]), -int(blocked[i]), i)

    heap = [key(i) for i in range(n)]
    heapq.heapify(heap)
    order: list[int] = []
    while heap:
        entry = heapq.heappop(heap)
        i = entry[-1]
        if done[i] or entry != key(i):
            continue  # granted already, or a stale entry (its count has grown since)
        done[i] = True
        order.append(i)
        unblocked[i] = completes[i]
        for gp in gps_of.get(i, ()):
            left[gp] -= 1
            if left[gp] == 1:
                last = next(j for j in items_of[gp] if not done[j])
                completes[last] += 1
                heapq.heappush(heap, key(last))
    return np.asarray(order, dtype=np.int64), unblocked


def _schedule(
    sites: pd.DataFrame,
    routes: pd.DataFrame,
    route_phase: pd.Series,
    permits: pd.DataFrame,
    facilities: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per month from 0 to the last ready month (module docs); ``facilities`` (own
    terminals) count in the phases and months, not in the GP columns."""
    both = sites if facilities is None else pd.concat([sites, facilities], ignore_index=True)
    ready = sites["ready_month"].dropna().astype(np.int64)
    all_ready = both["ready_month"].dropna().astype(np.int64)
    phase = both["phase"].dropna().astype(np.int64)
    lead = permits["lead_months"].to_numpy(dtype=np.int64) if len(permits) else np.zeros(0, int)
    last = int(max(all_ready.to_numpy().max(initial=0), lead.max(initial=0)))
    month = np.arange(last + 1)
    gps_new = np.bincount(ready.to_numpy(), minlength=last + 1)
    phase_month = pd.Series(all_ready.to_numpy(), index=phase.to_numpy()).groupby(level=0).max()
    phases, phase_months = phase_month.index.to_numpy(), phase_month.to_numpy()
    top_phase = [int(phases[phase_months <= m].max(initial=0)) for m in month]
    trench_new = np.zeros(last + 1)
    if len(routes):
        served = route_phase.notna().to_numpy()
        seg_month = phase_month.reindex(route_phase[served].astype(np.int64).to_numpy())
        np.add.at(
            trench_new,
            seg_month.to_numpy(dtype=np.int64),
            routes["length_m"].to_numpy(dtype=float)[served] / 1000,
        )
    granted = np.bincount(lead, minlength=last + 1)
    routed = max(len(ready), 1)
    table = pd.DataFrame(
        {
            "month": month,
            "phase": pd.array([p or pd.NA for p in top_phase], dtype="Int64"),
            "gps_new": gps_new,
            "gps_ready": np.cumsum(gps_new),
            "gps_ready_share": np.round(np.cumsum(gps_new) / routed, 4),
            "trench_km_new": np.round(trench_new, 4),
            "trench_km": np.round(np.cumsum(trench_new), 4),
            "permits_granted": np.cumsum(granted),
        }
    )
    return table[ROLLOUT_COLUMNS]


def add_rollout_totals(summary: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    """Roll-out figures per PoP and in total: GPs in phase 1 (no permission), GPs waiting on a
    permission, and the month the last of them is ready.

    Parameters
    ----------
    summary
        The plan's summary (one row per PoP and ``TOTAL``).
    sites
        The GPs with ``pop_id``, ``phase`` and ``ready_month``.
    """
    summary = summary.copy()
    routed = sites[sites["phase"].notna()]
    groups = routed.groupby("pop_id")
    per_pop = pd.DataFrame(
        {
            "phase1_gps": groups["phase"].agg(lambda p: int((p == 1).sum())),
            "waiting_gps": groups["phase"].agg(lambda p: int((p > 1).sum())),
            "last_ready_month": groups["ready_month"].max(),
        }
    )
    for column in per_pop.columns:
        values = per_pop[column].reindex(summary.index)
        summary[column] = values.fillna(0).astype(np.int64)
    summary.loc["TOTAL", "phase1_gps"] = int((routed["phase"] == 1).sum())
    summary.loc["TOTAL", "waiting_gps"] = int((routed["phase"] > 1).sum())
    last = routed["ready_month"].max() if len(routed) else 0
    summary.loc["TOTAL", "last_ready_month"] = 0 if pd.isna(last) else int(last)
    return summary
