"""The tables of a plan built from its routes: sites, PoPs, summary, trade-off, ring totals.

Private plumbing of :mod:`netplan.planner`. Lengths are metres in the routes and km in the
summary; areas are hectares.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import geopandas as gpd
import pandas as pd

from netplan.crs import WGS84
from netplan.row import RowLayer

__all__ = [
    "sites_table",
    "pops_table",
    "summary_table",
    "route_totals",
    "tradeoff_table",
    "add_ring_totals",
    "log_summary",
]

log = logging.getLogger(__name__)

NOT_REACHED = "not reached by its PoP's design (please report this as a bug)"


def _underground_m(routes: pd.DataFrame) -> pd.Series:
    """Length of new underground trench of each segment (all of it when no method is known)."""
    length = routes["length_m"].astype(float)
    if "method" not in routes:
        return length
    return length.where(routes["method"] == "underground", 0.0)


def route_totals(routes: pd.DataFrame, layers: Sequence[RowLayer]) -> dict[str, float]:
    """Headline figures of one set of routes: km of new underground trench, aerial cable,
    reused existing fibre and the whole route, km of new cable, and per right-of-way layer the
    km and hectares inside (area layers) or the crossings and km along (line layers)."""
    empty = not len(routes)

    def total(column: str) -> float:
        return 0.0 if empty else float(routes[column].sum())

    def by_method(method: str, column: str = "length_m") -> float:
        if empty or "method" not in routes:
            return 0.0
        return float(routes.loc[routes["method"] == method, column].sum())

    out = {
        "trench_km": 0.0 if empty else float(_underground_m(routes).sum()) / 1000,
        "aerial_km": by_method("aerial") / 1000,
        "existing_km": by_method("existing") / 1000,
        "route_km": total("length_m") / 1000,
        "cable_km": (total("cable_m") - by_method("existing", "cable_m")) / 1000,
    }
    for layer in layers:
        if layer.kind == "area":
            metres = total(f"in_{layer.name}_m")
            out[f"in_{layer.name}_km"] = metres / 1000
            out[f"{layer.name}_ha"] = metres * float(layer.corridor_width_m or 0) / 10_000
        else:
            out[f"{layer.name}_crossings"] = int(total(f"{layer.name}_crossings"))
            out[f"along_{layer.name}_km"] = total(f"along_{layer.name}_m") / 1000
    return out


def _summary_row(
    pop_id: str,
    name: str,
    routes: pd.DataFrame,
    sites: pd.DataFrame,
    layers: Sequence[RowLayer],
) -> dict:
    kinds = routes.groupby("kind")["length_m"].sum() if len(routes) else pd.Series(dtype=float)
    road_m = float(kinds.get("road", 0.0))
    spur_m = float(kinds.get("spur", 0.0))
    bridge_m = float(kinds.get("bridge", 0.0))
    row = {
        "pop_id": pop_id,
        "name": name,
        "gps": len(sites),
        "routed": int(sites["routed"].sum()),
        "unroutable": int((~sites["routed"]).sum()),
        "road_km": road_m / 1000,
        "spur_km": spur_m / 1000,
        "bridge_km": bridge_m / 1000,
        "bridge_links": int((routes["kind"] == "bridge").sum()) if len(routes) else 0,
    }
    row.update(route_totals(routes, layers))
    return row


def summary_table(
    routes: pd.DataFrame,
    sites: pd.DataFrame,
    pops: pd.DataFrame,
    layers: Sequence[RowLayer],
) -> pd.DataFrame:
    """One row per PoP and a ``TOTAL`` row (GPs not assigned to any PoP count in the total).

    The feature modules add their columns after it (``cost`` from the bill of quantities,
    ``optical_fail``, ...)."""
    routes_by_pop = dict(tuple(routes.groupby("pop_id"))) if len(routes) else {}
    sites_by_pop = dict(tuple(sites.groupby("pop_id"))) if len(sites) else {}
    no_routes, no_sites = routes.iloc[:0], sites.iloc[:0]
    records = [
        _summary_row(
            pop_id,
            pops.at[pop_id, "name"],
            routes_by_pop.get(pop_id, no_routes),
            sites_by_pop.get(pop_id, no_sites),
            layers,
        )
        for pop_id in pops.index
    ]
    records.append(_summary_row("TOTAL", "", routes, sites, layers))
    return pd.DataFrame.from_records(records).set_index("pop_id").round(4)


def sites_table(
    gps: gpd.GeoDataFrame, assignment: pd.DataFrame, route_m: pd.Series
) -> gpd.GeoDataFrame:
    """Every GP of ``assignment``: its PoP, whether it is routed (else why not) and distances."""
    reason = assignment["reason"].copy()
    routed = (reason == "") & route_m.notna()
    reason[(reason == "") & ~routed] = NOT_REACHED
    sites = gpd.GeoDataFrame(
        {
            "name": gps["name"].reindex(assignment.index).fillna("").astype(str),
            "pop_id": assignment["pop_id"],
            "routed": routed.astype(bool),
            "reason": reason.astype(str),
            "network_m": assignment["network_m"],
            "route_m": route_m.where(routed),
            "spur_m": assignment["spur_m"],
        },
        geometry=gps.geometry.reindex(assignment.index).to_crs(WGS84).to_numpy(),
        crs=WGS84,
        index=assignment.index,
    )
    sites.index.name = "site_id"
    return sites.sort_index()


def pops_table(
    pops: gpd.GeoDataFrame, status: pd.DataFrame, sites: pd.DataFrame, routes: pd.DataFrame
) -> gpd.GeoDataFrame:
    """Every PoP: its GP counts, km of new underground trench, and whether it could be placed
    and designed (``status`` holds each PoP's ``status`` and ``reason``)."""
    table = status.reindex(pops.index)
    counts = sites.groupby("pop_id")["routed"].agg(["size", "sum"])
    trench = (
        _underground_m(routes).groupby(routes["pop_id"]).sum() / 1000
        if len(routes)
        else pd.Series(dtype=float)
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


def tradeoff_table(
    plain: pd.DataFrame,
    aware: pd.DataFrame,
    layers: Sequence[RowLayer],
    *,
    costs: tuple[float, float],
) -> pd.DataFrame:
    """The plan without permission penalties against the permission-aware one (same rates and
    objective), and their difference; ``costs`` are the two BOQ totals."""
    rows = [route_totals(plain, layers), route_totals(aware, layers)]
    for row, cost in zip(rows, costs, strict=True):
        row["cost"] = cost
    table = pd.DataFrame(rows, index=["without-penalties", "permission-aware"])
    table.loc["difference"] = table.loc["permission-aware"] - table.loc["without-penalties"]
    return table


def add_ring_totals(summary: pd.DataFrame, rings: pd.DataFrame) -> pd.DataFrame:
    """Ring count and the length rings run twice over one road, per PoP and in total."""
    per_pop = rings.groupby("pop_id").agg(rings=("n_gps", "size"), shared_m=("shared_m", "sum"))
    summary = summary.copy()
    summary["rings"] = per_pop["rings"].reindex(summary.index).fillna(0).astype(int)
    summary["ring_shared_km"] = per_pop["shared_m"].reindex(summary.index).fillna(0.0) / 1000
    summary.loc["TOTAL", "rings"] = len(rings)
    summary.loc["TOTAL", "ring_shared_km"] = rings["shared_m"].sum() / 1000
    summary["ring_shared_km"] = summary["ring_shared_km"].round(4)
    return summary


def log_summary(summary: pd.DataFrame) -> None:
    total = summary.loc["TOTAL"]
    log.info(
        "plan: %d of %d GPs routed, %.1f km trench (%.1f km off-road spurs, %.1f km bridge links)",
        total["routed"],
        total["gps"],
        total["trench_km"],
        total["spur_km"],
        total["bridge_km"],
    )
