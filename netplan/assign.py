"""Assign each GP to a PoP: by a shared attribute or by least road distance, within each PoP's
capacity (a ``capacity`` column on the PoPs, or one limit for all)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from netplan._csr import CSRGraph
from netplan._errors import InputError, MissingColumnError
from netplan._validate import ids_to_str

if TYPE_CHECKING:
    import geopandas as gpd

    from netplan.network import RoadNetwork

__all__ = [
    "assign_to_pops",
    "node_to_pop",
    "capacity_column",
    "pop_capacities",
    "fit_capacity",
    "over_capacity_reason",
    "CAPACITY_COLUMN",
]

CAPACITY_COLUMN = "capacity"
"""PoP column holding the most GPs each PoP may serve (e.g. its OLT ports)."""

log = logging.getLogger(__name__)


def node_to_pop(pop_nodes: pd.Series) -> dict[int, str]:
    """Map each PoP node to one PoP id (the smallest id where PoPs share a node)."""
    mapping: dict[int, str] = {}
    for pop_id, node in sorted(pop_nodes.items(), key=lambda kv: str(kv[0])):
        mapping.setdefault(int(node), str(pop_id))
    return mapping


def assign_to_pops(
    network: RoadNetwork,
    *,
    gps: gpd.GeoDataFrame | None = None,
    pops: gpd.GeoDataFrame | None = None,
    by: str | None = None,
    pop_key: str | None = None,
    csr: CSRGraph | None = None,
) -> pd.DataFrame:
    """Choose the PoP that serves each GP.

    Parameters
    ----------
    network
        The road network with snapped GPs and PoPs.
    gps, pops
        The site tables given to :func:`~netplan.network.build_network`; needed only with ``by``.
    by
        A GP column (e.g. ``"block"``) naming the PoP of each GP. Without it each GP goes to the PoP
        nearest by road (multi-source Dijkstra over road lengths).
    pop_key
        The PoP column matched against ``by``; default: a PoP column of the same name if there is
        one, else the PoP ids, else the PoP names.
    csr
        A prebuilt length-weighted graph of ``network`` (saves rebuilding it).

    Returns
    -------
    pandas.DataFrame
        Indexed by GP id: ``pop_id`` (None if none), ``network_m`` (road distance to that PoP, NaN
        if unreachable) and ``reason`` ("" when assigned and reachable).
    """
    if csr is None:
        u, v, length = network.arrays()
        csr = CSRGraph.from_arrays(len(network.nodes), u, v, length)
    gp_table = network.gps
    pop_table = network.pops
    ok_pops = pop_table[pop_table["status"] == "ok"]
    result = pd.DataFrame(
        {
            "pop_id": pd.Series([None] * len(gp_table), dtype=object),
            "network_m": np.nan,
            "reason": "",
        },
        index=gp_table.index,
    )
    ok_gps = gp_table["status"] == "ok"
    result.loc[~ok_gps, "reason"] = gp_table.loc[~ok_gps, "reason"]
    if ok_pops.empty:
        result.loc[ok_gps, "reason"] = "no PoP could be placed on the road network"
        return result

    if by is None:
        nodes = ok_pops["node"].astype(np.int64).to_numpy()
        dist, _, sources = csr.dijkstra(np.unique(nodes), multi=True)
        owner = node_to_pop(ok_pops["node"].astype(np.int64))
        ids = gp_table.index[ok_gps]
        gp_nodes = gp_table.loc[ids, "node"].astype(np.int64).to_numpy()
        reach = np.isfinite(dist[gp_nodes])
        result.loc[ids[reach], "pop_id"] = [owner[int(s)] for s in sources[gp_nodes[reach]]]
        result.loc[ids[reach], "network_m"] = dist[gp_nodes[reach]]
        result.loc[ids[~reach], "reason"] = "no road path to any PoP"
        return result

    if gps is None or by not in gps.columns:
        found = [] if gps is None else list(gps.columns)
        raise MissingColumnError(
            f"cannot assign GPs by column {by!r}: the GP layer has no such column (columns: "
            f"{found}); pass an existing column name or leave assign_by empty to assign by distance"
        )
    lookup: dict[str, str] = {}
    for key in _pop_key_values(pops, by, pop_key):
        for pop_id, value in sorted(ids_to_str(key).items(), key=lambda kv: str(kv[0])):
            lookup.setdefault(str(value), str(pop_id))
    wanted = ids_to_str(gps[by]).reindex(gp_table.index)
    for gp_id in gp_table.index:
        pop_id = lookup.get(str(wanted.at[gp_id]))
        if pop_id is None:
            if result.at[gp_id, "reason"] == "":
                result.at[gp_id, "reason"] = f"its {by} {wanted.at[gp_id]!r} matches no PoP"
            continue
        result.at[gp_id, "pop_id"] = pop_id
    for pop_id, group in result[ok_gps & result["pop_id"].notna()].groupby("pop_id", sort=True):
        if pop_table.at[pop_id, "status"] != "ok":
            reason = f"its PoP {pop_id} is unroutable: {pop_table.at[pop_id, 'reason']}"
            result.loc[group.index, "reason"] = reason
            continue
        dist, _ = csr.dijkstra(int(pop_table.at[pop_id, "node"]))
        nodes = gp_table.loc[group.index, "node"].astype(np.int64).to_numpy()
        d = dist[nodes]
        result.loc[group.index, "network_m"] = np.where(np.isfinite(d), d, np.nan)
        unreachable = group.index[~np.isfinite(d)]
        result.loc[unreachable, "reason"] = f"no road path to its PoP {pop_id}"
    return result


def _pop_key_values(pops: gpd.GeoDataFrame | None, by: str, pop_key: str | None) -> list[pd.Series]:
    """PoP values to match a GP's ``by`` value against, in order of precedence."""
    if pops is None:
        raise MissingColumnError("assigning GPs by column needs the PoP layer (pops=...)")
    if pop_key is not None:
        if pop_key not in pops.columns:
            raise MissingColumnError(
                f"the PoP layer has no column {pop_key!r} (columns: {list(pops.columns)}); "
                "pass pop_key= with one of them"
            )
        return [pops[pop_key]]
    if by in pops.columns:
        return [pops[by]]
    keys = [pd.Series(pops.index.astype(str), index=pops.index)]
    if "name" in pops.columns:
        keys.append(pops["name"])
    return keys


def capacity_column(pops: pd.DataFrame) -> pd.Series:
    """The PoPs' ``capacity`` column as numbers (NaN where empty or absent).

    Raises
    ------
    InputError
        Values that are not whole numbers >= 0 (the message names the PoPs).

    Examples
    --------
    >>> capacity_column(pd.DataFrame({"capacity": ["12", " 8", "", None]}, index=list("abcd")))
    a    12.0
    b     8.0
    c     NaN
    d     NaN
    Name: capacity, dtype: float64
    """
    if CAPACITY_COLUMN not in pops.columns:
        return pd.Series(np.nan, index=pops.index, name=CAPACITY_COLUMN)
    raw = pops[CAPACITY_COLUMN].map(lambda x: x.strip() if isinstance(x, str) else x)
    blank = raw.isna() | (raw == "")
    values = pd.to_numeric(raw.where(~blank), errors="coerce").astype(float)
    whole = values.notna() & np.isfinite(values) & (values >= 0) & (values == np.floor(values))
    bad = raw.index[~blank & ~whole]
    if len(bad):
        shown = ", ".join(f"{i!s} ({raw.at[i]!r})" for i in bad[:10]) + (
            " ..." if len(bad) > 10 else ""
        )
        raise InputError(
            f"PoP column {CAPACITY_COLUMN!r} must hold whole numbers >= 0 (GPs a PoP may serve); "
            f"PoPs {shown} do not: fix them or leave the cells empty (no limit)"
        )
    return values.rename(CAPACITY_COLUMN)


def pop_capacities(column: pd.Series, default: int | None) -> pd.Series:
    """Each PoP's capacity: its ``capacity`` value where given, else ``default`` (inf: no limit)."""
    return column.fillna(np.inf if default is None else float(default))


def over_capacity_reason(pop_id: str, limit: float, *, can_move: bool) -> str:
    """Why a GP is left over: its PoP is full (and, when GPs may move, so is every other it can
    reach)."""
    full = f"PoP {pop_id} is full (capacity: {limit:g} GP{'' if limit == 1 else 's'})"
    if can_move:
        return f"{full} and no PoP with room can reach it; raise pop_capacity or the PoPs' capacity"
    return f"{full} and assign_by keeps GPs on their own PoP; raise its capacity"


def fit_capacity(
    assignment: pd.DataFrame,
    network: RoadNetwork,
    capacity: pd.Series,
    *,
    csr: CSRGraph,
    can_move: bool,
) -> pd.DataFrame:
    """Keep every PoP within ``capacity`` (by PoP id).

    With ``can_move`` the GPs of a full PoP whose road distance grows least move to the nearest
    PoP with room; GPs that cannot move are left over, the farthest first, with a reason.

    Parameters
    ----------
    assignment
        As returned by :func:`assign_to_pops`.
    network
        The road network the assignment was made on.
    capacity
        The most GPs each PoP may serve (inf: no limit).
    csr
        The length-weighted graph of ``network``.
    can_move
        Whether GPs may change PoP (not when assigned by a column).
    """
    result = assignment.copy()
    while True:
        count = _counts(result, capacity.index)
        over = count.index[count > capacity]
        if not len(over):
            return result
        if can_move and _move_to_room(result, network, capacity, count, csr):
            continue
        for pop_id in over:
            mine = result[(result["pop_id"] == pop_id) & (result["reason"] == "")]
            excess = int(count[pop_id] - capacity[pop_id])
            farthest = mine.sort_values("network_m", ascending=False, kind="stable").index[:excess]
            reason = over_capacity_reason(pop_id, capacity[pop_id], can_move=can_move)
            result.loc[farthest, "reason"] = reason


def _counts(assignment: pd.DataFrame, pops: pd.Index) -> pd.Series:
    served = assignment[assignment["reason"] == ""]
    return served.groupby("pop_id").size().reindex(pops, fill_value=0)


def _move_to_room(
    result: pd.DataFrame,
    network: RoadNetwork,
    capacity: pd.Series,
    count: pd.Series,
    csr: CSRGraph,
) -> bool:
    """One round: GPs of full PoPs, least extra distance first, to the nearest PoP with room."""
    pops = network.pops.reindex(capacity.index)
    room = pops[(count < capacity) & (pops["status"] == "ok")]
    if room.empty:
        return False
    dist, _, sources = csr.dijkstra(np.unique(room["node"].astype(np.int64)), multi=True)
    owner = node_to_pop(room["node"].astype(np.int64))
    full = count.index[count > capacity]
    movable = result[result["pop_id"].isin(full) & (result["reason"] == "")].copy()
    nodes = network.gps.loc[movable.index, "node"].astype(np.int64).to_numpy()
    movable["to_m"] = dist[nodes]
    movable["source"] = sources[nodes]
    movable = movable[np.isfinite(movable["to_m"])]
    movable["extra"] = movable["to_m"] - movable["network_m"]
    movable = movable.rename_axis("gp").sort_values(["extra", "gp"], kind="stable")
    moved = False
    for gp_id, row in movable.iterrows():
        target = owner[int(row["source"])]
        if count[row["pop_id"]] <= capacity[row["pop_id"]] or count[target] >= capacity[target]:
            continue
        count[row["pop_id"]] -= 1
        count[target] += 1
        result.loc[gp_id, ["pop_id", "network_m"]] = [target, row["to_m"]]
        moved = True
    return moved
