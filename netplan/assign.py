"""Assign each GP to a PoP: by a shared attribute or by least road distance."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from netplan._csr import CSRGraph
from netplan._errors import MissingColumnError
from netplan._validate import ids_to_str

if TYPE_CHECKING:
    import geopandas as gpd

    from netplan.network import RoadNetwork

__all__ = ["assign_to_pops"]

log = logging.getLogger(__name__)


def _node_to_pop(pop_nodes: pd.Series) -> dict[int, str]:
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
        owner = _node_to_pop(ok_pops["node"].astype(np.int64))
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
