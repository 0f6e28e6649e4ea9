"""Write a plan to the files planners use: GeoPackage (QGIS), KML (Google Earth), CSV and XLSX.

Outputs are written into a temporary folder beside the target and moved into place at the end,
so a failed run never leaves half-written results.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd
import pyogrio

from netplan._errors import OutputExistsError
from netplan.row import write_register_csv, write_register_xlsx

if TYPE_CHECKING:
    from netplan.result import Plan

__all__ = ["write_plan", "write_workbook", "check_output_dir", "atomic_output_dir"]

log = logging.getLogger(__name__)

WGS84 = "EPSG:4326"


def check_output_dir(directory: str | PathLike[str], *, overwrite: bool) -> Path:
    """Fail early, before any work, if ``directory`` exists and may not be replaced."""
    directory = Path(directory)
    if directory.exists() and not overwrite:
        raise OutputExistsError(
            f"output folder {str(directory)!r} already exists; choose another folder or pass "
            "overwrite=True (CLI: --overwrite) to replace it"
        )
    if directory.exists() and not directory.is_dir():
        raise OutputExistsError(
            f"{str(directory)!r} exists and is not a folder; choose another path"
        )
    return directory


class atomic_output_dir:  # noqa: N801 - used like a function in a with statement
    """Context manager giving a temporary folder that replaces ``directory`` on success only."""

    def __init__(self, directory: str | PathLike[str], *, overwrite: bool) -> None:
        self.target = check_output_dir(directory, overwrite=overwrite)
        self.overwrite = overwrite
        self.tmp: Path | None = None

    def __enter__(self) -> Path:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.", dir=self.target.parent))
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self.tmp is not None
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        if self.target.exists():
            check_output_dir(self.target, overwrite=self.overwrite)
            shutil.rmtree(self.target)
        self.tmp.rename(self.target)


def _permits_layer(permits: pd.DataFrame) -> gpd.GeoDataFrame:
    if {"lon", "lat"} <= set(permits.columns):
        geometry = gpd.points_from_xy(permits["lon"], permits["lat"])
    else:
        geometry = gpd.GeoSeries([None] * len(permits))
    return gpd.GeoDataFrame(permits.reset_index(drop=True), geometry=geometry, crs=WGS84)


def _kml(plan: Plan, path: Path) -> None:
    """Routes merged per PoP, kind, method and cable size, plus GPs and PoPs, for Google Earth."""
    routes = plan.routes
    if len(routes):
        keys = [c for c in ("pop_id", "kind", "method", "fibres") if c in routes.columns]
        merged = routes.dissolve(by=keys, as_index=False, aggfunc={"length_m": "sum"})
        merged["Name"] = "PoP " + merged["pop_id"].astype(str) + " " + merged["kind"].astype(str)
        merged["Description"] = (merged["length_m"] / 1000).round(2).astype(str) + " km"
        if "method" in merged:
            merged["Name"] += " " + merged["method"].astype(str)
        if "fibres" in merged:
            merged["Description"] += ", " + merged["fibres"].astype(str) + "F cable"
        pyogrio.write_dataframe(
            merged[["Name", "Description", "geometry"]], path, layer="routes", driver="KML"
        )
    sites = plan.sites.reset_index()
    sites["Name"] = sites["name"].where(sites["name"] != "", sites["site_id"].astype(str))
    sites["Description"] = sites["reason"].where(
        ~sites["routed"], "routed to PoP " + sites["pop_id"].astype(str)
    )
    if "optical_ok" in sites:
        over = sites["routed"] & ~sites["optical_ok"]
        sites.loc[over, "Description"] += (
            "; over optical budget: " + sites.loc[over, "optical_reason"]
        )
    pyogrio.write_dataframe(
        sites[["Name", "Description", "geometry"]],
        path,
        layer="gps",
        driver="KML",
        append=path.exists(),
    )


def write_workbook(plan: Plan, path: Path) -> Path:
    """The programme workbook ``plan.xlsx``: sheets Summary and BOQ."""
    sheets = {"Summary": plan.summary.reset_index()}
    if plan.boq is not None:
        sheets["BOQ"] = plan.boq
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False)
            writer.sheets[name].freeze_panes = "A2"
    return path


def write_plan(
    plan: Plan, directory: str | PathLike[str], *, overwrite: bool = False, map_html: bool = True
) -> Path:
    """Write every output of ``plan`` into ``directory`` and return it.

    Files: ``plan.gpkg`` (layers routes, sites, pops, crossings, permits), ``summary.csv``,
    ``boq.csv`` (the bill of quantities), ``plan.xlsx`` (sheets Summary and BOQ),
    ``permits.csv``, ``permits.xlsx`` (one sheet per authority), ``sites.csv``, ``plan.kml``,
    ``tradeoff.csv`` (permission-aware plans), ``rings.csv`` (ring plans) and, with ``map_html``,
    ``map.html``.
    """
    with atomic_output_dir(directory, overwrite=overwrite) as tmp:
        gpkg = tmp / "plan.gpkg"
        plan.routes.to_file(gpkg, layer="routes", driver="GPKG")
        plan.sites.reset_index().to_file(gpkg, layer="sites", driver="GPKG")
        plan.pops.reset_index().to_file(gpkg, layer="pops", driver="GPKG")
        if len(plan.crossings):
            plan.crossings.to_file(gpkg, layer="crossings", driver="GPKG")
        if len(plan.permits):
            _permits_layer(plan.permits).to_file(gpkg, layer="permits", driver="GPKG")
        plan.summary.to_csv(tmp / "summary.csv")
        if plan.boq is not None:
            plan.boq.to_csv(tmp / "boq.csv", index=False)
        write_workbook(plan, tmp / "plan.xlsx")
        write_register_csv(plan.permits, tmp / "permits.csv")
        write_register_xlsx(plan.permits, tmp / "permits.xlsx")
        plan.sites.drop(columns="geometry").assign(
            lon=plan.sites.geometry.x, lat=plan.sites.geometry.y
        ).to_csv(tmp / "sites.csv")
        if plan.tradeoff is not None:
            plan.tradeoff.to_csv(tmp / "tradeoff.csv")
        if plan.rings is not None:
            plan.rings.to_csv(tmp / "rings.csv")
        _kml(plan, tmp / "plan.kml")
        if map_html:
            plan.to_html(tmp / "map.html")
    log.info("plan written to %s", directory)
    return Path(directory)
