"""The result of planning: :class:`Plan`, its tables and the ways to look at them."""

from __future__ import annotations

from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from netplan.crs import WGS84
from netplan.network import RoadNetwork
from netplan.optical import OpticalBudget
from netplan.params import CostModel, DesignOptions
from netplan.row import RowLayer

if TYPE_CHECKING:
    import folium

__all__ = ["Plan"]


@dataclass(eq=False)
class Plan:
    """A fibre plan: routes, sites, right-of-way crossings, permits and a summary.

    All GeoDataFrames are in EPSG:4326 (lon/lat); lengths are metres, areas hectares.

    Attributes
    ----------
    routes
        One row per route segment (a road edge, off-road spur, bridge link or stretch of
        existing fibre used by a PoP), with its construction ``method`` ("underground",
        "aerial", "existing") and ``fibres`` (the size of each cable laid in it).
    sites
        Every GP given to the planner, routed or listed as unroutable with a reason, with its
        optical check (``fibre_path_m``, ``optical_loss_db``, ``optical_ok``,
        ``optical_reason``).
    pops
        Every PoP with its GP counts.
    crossings
        Points where a route needs a permission: highway crossings, runs along a highway,
        forest entries (one row each).
    permits
        The permit register: one row per application item.
    summary
        One row per PoP and a ``TOTAL`` row; ``cost`` is the bill of quantities' total.
    boq
        The bill of quantities (:mod:`netplan.boq`): ``pop_id, item, unit, quantity, rate,
        amount`` per PoP and item, then ``TOTAL`` rows per item.
    tradeoff
        With a permission-aware :class:`~netplan.params.CostModel`: the same cost model without
        penalties against this one (extra km and cost against permissions avoided). ``None``
        otherwise.
    rings
        With ``topology="ring"``: one row per ring (its GPs in order, length, and the length it
        runs twice over the same road, where one cut breaks it). ``None`` otherwise.
    design, costs, optical
        The design options, cost model and optical budget the plan was made with.
    layers
        The right-of-way layers the routes were flagged against.
    network
        The road network the plan was designed on (shared with other plans of one
        :class:`~netplan.planner.Planner`).
    inputs
        The input files the plan was made from (an output folder may not replace them).
    """

    routes: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    pops: gpd.GeoDataFrame
    crossings: gpd.GeoDataFrame
    permits: pd.DataFrame
    summary: pd.DataFrame
    boq: pd.DataFrame | None = None
    design: DesignOptions = field(default_factory=DesignOptions)
    costs: CostModel = field(default_factory=CostModel)
    optical: OpticalBudget = field(default_factory=OpticalBudget)
    layers: tuple[RowLayer, ...] = ()
    network: RoadNetwork | None = None
    tradeoff: pd.DataFrame | None = None
    rings: pd.DataFrame | None = None
    inputs: tuple[Path, ...] = ()

    @property
    def topology(self) -> str:
        """The design topology: "tree", "star" or "ring"."""
        return self.design.topology

    def __repr__(self) -> str:
        total = self.summary.loc["TOTAL"] if "TOTAL" in self.summary.index else None
        text = f"<Plan {self.topology}: {len(self.pops)} PoPs, {len(self.sites)} GPs"
        if total is not None:
            text += (
                f", {int(total['routed'])} routed, {total['trench_km']:.1f} km trench"
                f", {len(self.permits)} permit items"
            )
        return text + ">"

    @property
    def unroutable(self) -> gpd.GeoDataFrame:
        """The GPs that could not be routed, with the reason."""
        return self.sites[~self.sites["routed"]]

    def explore(self, **kwargs: Any) -> folium.Map:
        """A folium map of the plan (shows inline in Jupyter)."""
        from netplan.maps import plan_map

        # the map's forest and highway layers; other right-of-way layers show through their
        # permission markers
        forest = [layer.data for layer in self.layers if layer.name == "forest"]
        lines = [layer.data for layer in self.layers if layer.name == "nh"]
        return plan_map(
            routes=self.routes,
            sites=self.sites,
            pops=self.pops,
            crossings=self.crossings,
            forest=_concat_or_none(forest),
            highways=_concat_or_none(lines),
            **kwargs,
        )

    def to_html(self, path: str | PathLike[str], **kwargs: Any) -> Path:
        """Write the map as a standalone HTML file and return its path."""
        from netplan.maps import save_map

        path = Path(path)
        save_map(self.explore(**kwargs), path)
        return path

    def to_file(
        self, directory: str | PathLike[str], *, overwrite: bool = False, map_html: bool = True
    ) -> Path:
        """Write ``plan.gpkg``, ``summary.csv``, ``permits.csv``/``.xlsx``, ``sites.csv``,
        ``plan.kml`` and ``map.html`` into ``directory`` (atomically: all or nothing)."""
        from netplan.export import write_plan

        return write_plan(self, directory, overwrite=overwrite, map_html=map_html)


def _concat_or_none(frames: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame | None:
    if not frames:
        return None
    frames = [f.to_crs(WGS84) for f in frames]
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=WGS84)
