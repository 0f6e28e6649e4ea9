"""Public service points (hospitals, health centres, schools, Lok Seva Kendras) planned with the GPs.

A facility layer (:func:`netplan.io.load_facilities`: points with a category) is listed in full in
:attr:`Plan.facilities <netplan.result.Plan>`: every input facility comes out either connected or
with the reason it is not. The listing rules, in this order:

1. **unknown category**: a facility without a category, or (with
   :attr:`FacilityOptions.categories`) with a category not among those to connect, is listed and
   not connected;
2. **at a GP**: a facility within :attr:`FacilityOptions.colocated_m` of a GP is served through
   that GP's connection (``served_by`` names the GP; it is connected when the GP is routed and
   shares its distances and phase);
3. **duplicate**: a facility of the same category within ``colocated_m`` of an earlier one (file
   order) is the same service point (``served_by`` names the first); a repeated id is kept with a
   ``#2``, ``#3``... suffix and connected like any other;
4. **far from roads**: a facility farther than the network's spur limit from every road, or on a
   road fragment that reaches no PoP, is not connected (the reason gives the distance);
5. the others are connected as their own terminals of the design.

Counting connected facilities per category is :func:`add_facility_totals`.
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
from netplan._errors import InputError
from netplan.crs import WGS84
from netplan.io import category_key
from netplan.network import RoadNetwork

__all__ = [
    "FacilityOptions",
    "FACILITY_COLUMNS",
    "facility_places",
    "facility_table",
    "add_facility_totals",
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
    "phase",
    "ready_month",
]
"""Columns of :attr:`Plan.facilities` (index ``facility_id``, plus ``geometry``)."""

PENDING = (
    "not connected yet: connecting service points as their own design terminals comes with the "
    "joint Steiner design"
)


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

    Examples
    --------
    >>> FacilityOptions(categories=("Medical", "Education")).categories
    ('Medical', 'Education')
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


def facility_places(
    network: RoadNetwork, facilities: gpd.GeoDataFrame, *, max_spur_m: float
) -> pd.DataFrame:
    """Where each facility meets the road network: the nearest road and whether it leads to a
    PoP (no design needed).

    Returns
    -------
    pandas.DataFrame
        Index ``facility_id``: ``road_m`` (straight distance to the nearest road) and
        ``reason`` ("" when a road within ``max_spur_m`` leads to a PoP).
    """
    edges = network.edges
    roads = edges[edges["kind"] == "road"]
    points = facilities.geometry.to_crs(network.crs)
    out = pd.DataFrame(
        {"road_m": np.nan, "reason": "no road in the network"}, index=facilities.index
    )
    if not len(roads) or not len(points):
        return out
    where, nearest = roads.sindex.nearest(points.to_numpy(), return_distance=True)
    out.iloc[where[0], out.columns.get_loc("road_m")] = nearest
    component = network.nodes["component"].to_numpy()
    pop_nodes = network.pops.loc[network.pops["status"] == "ok", "node"].astype(np.int64)
    with_pop = set(component[pop_nodes.to_numpy()].tolist())
    edge_comp = component[roads["u"].to_numpy()[where[1]]]
    reason = np.where(
        nearest > max_spur_m,
        [f"farther than {max_spur_m:g} m from any road (nearest road {d:.0f} m)" for d in nearest],
        np.where([c in with_pop for c in edge_comp], "", "its nearest road does not reach any PoP"),
    )
    out.iloc[where[0], out.columns.get_loc("reason")] = reason
    return out


def _colocated(
    points: np.ndarray, others: np.ndarray, distance_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """For each point, the index of the nearest of ``others`` within ``distance_m`` (-1: none)
    and its distance."""
    match = np.full(len(points), -1, dtype=np.int64)
    dist = np.full(len(points), np.nan)
    if not len(points) or not len(others):
        return match, dist
    tree = shapely.STRtree(others)
    (i, j), d = tree.query_nearest(
        points, max_distance=distance_m, return_distance=True, all_matches=False
    )
    match[i], dist[i] = j, d
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


def facility_table(
    facilities: gpd.GeoDataFrame,
    places: pd.DataFrame,
    sites: gpd.GeoDataFrame,
    *,
    options: FacilityOptions,
    metric_crs: object,
) -> gpd.GeoDataFrame:
    """Every facility, connected or listed with its reason (module docs).

    Parameters
    ----------
    facilities
        The facility layer (:func:`netplan.io.load_facilities`).
    places
        :func:`facility_places` of the layer.
    sites
        The plan's GPs (routed, distances, phase).
    options
        Which facilities to connect.
    metric_crs
        CRS in metres for the distance rules.

    Returns
    -------
    geopandas.GeoDataFrame
        Index ``facility_id``, columns :data:`FACILITY_COLUMNS`, EPSG:4326 points.
    """
    points = np.asarray(facilities.geometry.to_crs(metric_crs).to_numpy(), dtype=object)
    gp_points = np.asarray(sites.geometry.to_crs(metric_crs).to_numpy(), dtype=object)
    keys = facilities["category"].map(category_key).to_numpy(dtype=object)
    reason = pd.Series(PENDING, index=facilities.index, dtype=object)
    served_by = pd.Series("", index=facilities.index, dtype=object)
    unknown = keys == ""
    if options.categories is not None:
        unknown |= ~np.isin(keys, [category_key(c) for c in options.categories])
    reason[unknown] = [
        "no category: give it one in the category column"
        if key == ""
        else f"category {cat!r} is not among the categories to connect "
        f"({', '.join(options.categories or ())})"
        for key, cat in zip(keys[unknown], facilities["category"][unknown], strict=True)
    ]
    gp_match, gp_dist = _colocated(points, gp_points, options.colocated_m)
    at_gp = ~unknown & (gp_match >= 0)
    first = _duplicates(points, keys, options.colocated_m)
    duplicate = ~unknown & ~at_gp & (first >= 0)
    far = ~unknown & ~at_gp & ~duplicate & (places["reason"].to_numpy(dtype=object) != "")
    reason[far] = places["reason"].to_numpy(dtype=object)[far]
    table = pd.DataFrame(
        {
            "name": facilities["name"].astype(str),
            "category": facilities["category"].astype(str),
            "pop_id": pd.Series(None, index=facilities.index, dtype=object),
            "routed": False,
            "reason": reason,
            "served_by": served_by,
            "network_m": np.nan,
            "route_m": np.nan,
            "phase": pd.array([pd.NA] * len(facilities), dtype="Int64"),
            "ready_month": pd.array([pd.NA] * len(facilities), dtype="Int64"),
        },
        index=facilities.index,
    )
    _serve_through_gps(table, at_gp, sites.index[gp_match[at_gp]], gp_dist[at_gp], sites)
    _serve_through_first(table, duplicate, facilities.index[first[duplicate]])
    out = gpd.GeoDataFrame(
        table[FACILITY_COLUMNS], geometry=facilities.geometry.to_crs(WGS84).to_numpy(), crs=WGS84
    )
    out.index.name = "facility_id"
    log.info(
        "facilities: %d listed, %d connected (%d through a GP, %d duplicates)",
        len(out),
        int(out["routed"].sum()),
        int(at_gp.sum()),
        int(duplicate.sum()),
    )
    return out


_FROM_GP = ["pop_id", "routed", "network_m", "route_m", "phase", "ready_month"]


def _serve_through_gps(
    table: pd.DataFrame, rows: np.ndarray, gp_ids: pd.Index, distance: np.ndarray, sites
) -> None:
    """Facilities at a GP take the GP's connection and figures."""
    if not rows.any():
        return
    gp = sites.loc[gp_ids]
    for column in _FROM_GP:
        table.loc[rows, column] = gp[column].to_numpy()
    table.loc[rows, "served_by"] = [f"GP {g}" for g in gp_ids]
    table.loc[rows, "reason"] = [
        "" if ok else f"at GP {g} ({d:.0f} m), which is not routed: {why}"
        for g, d, ok, why in zip(gp_ids, distance, gp["routed"], gp["reason"], strict=True)
    ]


def _serve_through_first(table: pd.DataFrame, rows: np.ndarray, first_ids: pd.Index) -> None:
    """Duplicates follow the first facility of their group (after it has its own status)."""
    if not rows.any():
        return
    first = table.loc[first_ids]
    for column in _FROM_GP:
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
