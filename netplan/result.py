"""The result of planning: :class:`Plan`, its tables and the ways to look at them."""

from __future__ import annotations

from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

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
        existing fibre used by a PoP), with the GPs (``gp_ids``, ``gps_served``) and service
        points (``facility_ids``, ``facilities_served``) it serves downstream, its construction
        ``method`` ("underground", "aerial", "existing"), ``fibres`` (the size of each cable
        laid in it) and ``phase``: the earliest roll-out phase it serves.
    sites
        Every GP given to the planner, routed or listed as unroutable with a reason, with its
        optical check (``fibre_path_m``, ``optical_loss_db``, ``optical_ok``,
        ``optical_reason``); routed GPs have ``permits_needed`` (the register items on their
        path), ``ready_month`` (when the last of them is expected, 0 when none is needed) and
        ``phase`` (1: needs no permission; later phases by ready month). See
        :mod:`netplan.rollout`.
    pops
        Every PoP with its GP counts.
    crossings
        Points where a route needs a permission: highway crossings, runs along a highway,
        forest entries (one row each).
    permits
        The permit register: one row per application item, in the order to apply from
        (``priority``; ``gps_blocked``: GPs waiting on the item, ``gps_unblocked``: GPs it lets
        light together with the items above it, ``lead_months``).
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
    rollout
        The roll-out schedule: one row per month from 0 to the last ready month, with the GPs
        ready to light by then (cumulative, rising to the routed count) and the trench km
        serving them (:data:`netplan.rollout.ROLLOUT_COLUMNS`); with facilities also those
        ready (:data:`netplan.facilities.FACILITY_ROLLOUT_COLUMNS`).
    lead_times
        The lead time (months) of each right-of-way layer used for the roll-out.
    facilities
        With a facility layer: every facility (index ``facility_id``) with ``name``,
        ``category``, ``pop_id``, ``routed``, ``reason`` (why not, "" when routed),
        ``served_by`` (the GP or facility whose connection serves it, "" for its own),
        ``network_m``, ``route_m``, ``permits_needed``, ``ready_month``, ``phase``
        (:mod:`netplan.facilities`). Facilities connected on their own are terminals of the
        design: route segments list them in ``facility_ids``. ``None`` otherwise.
    design, costs, optical
        The design options, cost model and optical budget the plan was made with.
    layers
        The right-of-way layers the routes were flagged against.
    network
        The road network the plan was designed on (shared with other plans of one
        :class:`~netplan.planner.Planner`).
    inputs
        The files the plan was made from (absolute paths); :meth:`to_file` never writes over
        them or a folder holding them.
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
    rollout: pd.DataFrame | None = None
    lead_times: dict[str, int] = field(default_factory=dict)
    facilities: gpd.GeoDataFrame | None = None

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

    def explore(self, m: folium.Map | None = None, **kwargs: Any) -> folium.Map:
        """An interactive map of the plan (shows inline in Jupyter), like geopandas' ``explore``.

        The page is self-contained (Leaflet inlined; only base tiles are fetched): every
        right-of-way layer, routes coloured per PoP, permission points, GPs (clustered when there
        are many), PoPs, a legend, the plan's totals and a search box for GP names and ids.

        Parameters
        ----------
        m
            Existing folium map to draw onto (its view is left as it is); default a new map
            fitted to the plan.
        **kwargs
            Options of :func:`netplan.maps.plan_map`, among them:

            layers : sequence of RowLayer, default ``self.layers``
                Right-of-way layers to draw.
            color_by : {"pop", "kind", "method", "phase"}, default "pop"
                Route colours: one per PoP, per kind (road route, spur, bridge link, existing
                fibre off the roads), per construction method (underground, aerial, existing
                fibre) or per roll-out phase (phase 1, no permission needed, in green).
            title : str, optional
                Heading of the legend and title of the page.
            tiles : str or None, default "OpenStreetMap"
                Folium tile set name or URL template; None for no base map.
            cluster_above : int or None, default 1000
                Cluster routed GPs when there are more than this many; None never.
            max_segments : int, default 5000
                Above this many route segments, draw them merged per PoP and kind.
            simplify_m, context_margin_m : float, default 20, 5000
                Simplification tolerance and clipping margin of right-of-way layers (metres).

        Returns
        -------
        folium.Map
        """
        from netplan.maps import plan_map

        return plan_map(self, m=m, **kwargs)

    def to_html(self, path: str | PathLike[str], **kwargs: Any) -> Path:
        """Write the map of :meth:`explore` as one self-contained HTML file.

        Parameters
        ----------
        path
            Output file (parent folders are created, an existing file is replaced).
        **kwargs
            Options of :meth:`explore` / :func:`netplan.maps.plan_map`.

        Returns
        -------
        pathlib.Path
            The path written.
        """
        from netplan.maps import save_map

        return save_map(self.explore(**kwargs), Path(path))

    def to_report(self, path: str | PathLike[str], *, title: str | None = None) -> Path:
        """Write a one-page, self-contained HTML report (totals, charts, per-PoP table,
        permits by authority) and return its path; see :func:`netplan.report.plan_report`."""
        from netplan.report import plan_report

        return plan_report(self, path, title=title)

    def to_file(
        self, directory: str | PathLike[str], *, overwrite: bool = False, map_html: bool = True
    ) -> Path:
        """Write ``plan.gpkg``, ``summary.csv``, ``permits.csv``/``.xlsx``, ``sites.csv``,
        ``rollout.csv``, ``plan.xlsx``, ``plan.kml``, ``report.html`` and ``map.html`` (and
        ``facilities.csv`` with service points) into ``directory`` (atomically: all or nothing).

        ``overwrite=True`` replaces only a folder netplan wrote before, and in it only its own
        files (see :func:`netplan.export.write_plan`).
        """
        from netplan.export import write_plan

        return write_plan(self, directory, overwrite=overwrite, map_html=map_html)
