"""Write a plan to the files planners use: GeoPackage (QGIS), KML (Google Earth), CSV and XLSX.

Every table goes through :func:`write_csv` or :func:`write_xlsx`, which make text from other
people's files safe to open in a spreadsheet (:func:`neutralise`: a cell that a spreadsheet would
read as a formula gets a leading ``'``, following OWASP's CSV-injection guidance; numbers stay
numbers). Every output removes the characters XML cannot hold (NUL and other control characters)
with a warning, so names read the same in KML, GeoPackage, CSV and XLSX. Adding a table to the
plan's outputs is one call: ``write_csv(frame, tmp / "boq.csv")``.

:func:`write_plan` writes all outputs into a temporary folder beside the target, lists them in a
manifest (``.netplan-manifest.json``) and moves them into place at the end: a failed run never
leaves half-written results, and ``overwrite=True`` replaces only a folder netplan wrote (see
:mod:`netplan._outputs` for the rules).
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from netplan._outputs import MANIFEST_NAME, atomic_output_dir, check_output_dir, read_manifest
from netplan._validate import clean_text, strip_invalid_chars
from netplan.row import CROSSING_COLUMNS, PERMIT_COLUMNS, permit_summary

if TYPE_CHECKING:
    from netplan.result import Plan

__all__ = [
    "MANIFEST_NAME",
    "atomic_output_dir",
    "check_output_dir",
    "neutralise",
    "neutralise_text",
    "read_manifest",
    "write_csv",
    "write_plan",
    "write_plan_workbook",
    "write_register_csv",
    "write_register_xlsx",
    "write_xlsx",
    "written_files",
]

log = logging.getLogger(__name__)

WGS84 = "EPSG:4326"

_FORMULA_START = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
"""First characters that make a spreadsheet read a cell as a formula (OWASP: = + - @ tab CR),
plus line feed and the full-width forms of = + - @ that some spreadsheets also accept."""
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


# ------------------------------------------------------------------------------ neutralising
def neutralise_text(text: str) -> str:
    """``text`` made safe for a spreadsheet cell.

    Text whose first character (after spaces) would start a formula (``= + - @``, tab, CR, LF
    or a full-width ``＝ ＋ － ＠``) gets a leading single quote, so Excel and LibreOffice show
    it as text instead of running it; a plain number written as text (``-12.5``) is left alone.

    Examples
    --------
    >>> neutralise_text("=HYPERLINK(\\"http://x\\")"), neutralise_text("-2+3"), neutralise_text("-12.5")
    ('\\'=HYPERLINK("http://x")', "'-2+3", '-12.5')
    >>> neutralise_text("NH-30")
    'NH-30'
    """
    head = text.lstrip(" \u00a0\u3000")[:1]
    if head in _FORMULA_START and not _PLAIN_NUMBER.fullmatch(text.strip()):
        return "'" + text
    return text


def _neutralise_value(value: Any) -> Any:
    return neutralise_text(strip_invalid_chars(value)) if isinstance(value, str) else value


def _neutralise_labels(labels: pd.Index) -> pd.Index:
    if isinstance(labels, pd.MultiIndex):
        return pd.MultiIndex.from_tuples(
            [tuple(_neutralise_value(v) for v in t) for t in labels], names=labels.names
        )
    return pd.Index([_neutralise_value(v) for v in labels], name=labels.name, dtype=labels.dtype)


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` safe to open in a spreadsheet: every text cell, index label and
    column name through :func:`neutralise_text` (and without the control characters XML cannot
    hold); numbers, booleans and missing values unchanged.

    Examples
    --------
    >>> import pandas as pd
    >>> neutralise(pd.DataFrame({"name": ["=1+1", "Kuakonda"], "km": [-1.5, 2.0]}))
           name   km
    0     '=1+1 -1.5
    1  Kuakonda  2.0
    """
    out = frame.copy()
    for position in range(out.shape[1]):
        values = out.iloc[:, position]
        if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
            out.isetitem(position, values.map(_neutralise_value))
    out.index = _neutralise_labels(out.index)
    out.columns = _neutralise_labels(out.columns)
    return out


def _safe_table(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Control characters removed (with a warning naming the cells), then neutralised."""
    return neutralise(clean_text(frame, source=path.name, what="table"))


# ------------------------------------------------------------------------------------ tables
def write_csv(frame: pd.DataFrame, path: str | PathLike[str], **kwargs: Any) -> Path:
    """Write ``frame`` as a UTF-8 CSV file that is safe to open in a spreadsheet.

    Parameters
    ----------
    frame
        The table; its index is written unless ``index=False`` is passed.
    path
        Output file (overwritten).
    **kwargs
        Further :meth:`pandas.DataFrame.to_csv` keywords (``index``, ``float_format``, ...).
        Lines end with CR LF (RFC 4180), so a cell holding a line break is always quoted and
        cannot start a row of its own.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    path = Path(path)
    kwargs.setdefault("lineterminator", "\r\n")  # RFC 4180; any CR or LF in a cell is quoted
    _safe_table(frame, path).to_csv(path, encoding="utf-8", **kwargs)
    return path


def _sheet_names(names: Iterable[str]) -> list[str]:
    """Valid, case-insensitively unique Excel sheet names (at most 31 characters, no []:*?/\\)."""
    result: list[str] = []
    used: set[str] = set()
    for name in names:
        base = re.sub(r"\s+", " ", _SHEET_BAD.sub("-", str(name))).strip().strip("'")
        base = base or "Sheet"
        base = base[:31]
        candidate, k = base, 2
        while candidate.lower() in used:
            suffix = f" ({k})"
            candidate = base[: 31 - len(suffix)] + suffix
            k += 1
        used.add(candidate.lower())
        result.append(candidate)
    return result


def write_xlsx(
    sheets: Mapping[str, pd.DataFrame] | Iterable[tuple[str, pd.DataFrame]],
    path: str | PathLike[str],
    *,
    index: bool = False,
) -> Path:
    """Write tables as sheets of an Excel workbook that holds no formula.

    Text is neutralised as in :func:`write_csv`, and no cell is stored as a formula (openpyxl
    would store text starting with ``=`` as one). Columns are sized to their content and the
    header row is frozen.

    Parameters
    ----------
    sheets
        ``{sheet name: table}`` (or ``(name, table)`` pairs) in order. Names are made valid
        and unique for Excel (31 characters, no ``[]:*?/\\``, ``(2)`` appended to repeats).
    path
        Output ``.xlsx`` file (overwritten).
    index
        Write each table's index as its first column.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    path = Path(path)
    pairs = list(sheets.items() if isinstance(sheets, Mapping) else sheets)
    names = _sheet_names(strip_invalid_chars(str(name)) for name, _ in pairs)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, (_, frame) in zip(names, pairs, strict=True):
            _safe_table(frame, path).to_excel(writer, sheet_name=name, index=index)
        for sheet in writer.sheets.values():
            _finish_sheet(sheet)
    return path


def _finish_sheet(sheet: Any) -> None:
    """No formula cells; column widths from the content; header row frozen."""
    for column in sheet.columns:
        width = 8
        for cell in column:
            if cell.data_type == "f":  # text taken for a formula: store it as text
                cell.data_type = "s"
            if cell.value is not None:
                width = max(width, len(str(cell.value)))
        sheet.column_dimensions[column[0].column_letter].width = min(width + 2, 60)
    sheet.freeze_panes = "A2"


def write_register_csv(permits: pd.DataFrame, path: str | PathLike[str]) -> Path:
    """Write the permit register to a CSV file (one row per application item).

    Parameters
    ----------
    permits
        The register (:func:`netplan.row.permit_register`).
    path
        Output ``.csv`` file (overwritten).

    Returns
    -------
    pathlib.Path
        The path written.
    """
    return write_csv(permits, path, index=False)


def write_register_xlsx(permits: pd.DataFrame, path: str | PathLike[str]) -> Path:
    """Write the permit register to a workbook: a "Summary" sheet, then one sheet per authority.

    Parameters
    ----------
    permits
        The register (:func:`netplan.row.permit_register`).
    path
        Output ``.xlsx`` file (overwritten).

    Returns
    -------
    pathlib.Path
        The path written.
    """
    authorities = sorted(permits["authority"].dropna().astype(str).unique()) if len(permits) else []
    sheets = [("Summary", permit_summary(permits))]
    sheets += [(a, permits[permits["authority"] == a]) for a in authorities]
    return write_xlsx(sheets, path)


# ---------------------------------------------------------------------------------- the plan
def _write_layer(frame: gpd.GeoDataFrame, path: Path, layer: str, geometry_type: str) -> None:
    """One GeoPackage layer, text cleaned, written with its columns even when empty."""
    frame = clean_text(frame, source=f"{path.name} layer {layer!r}", what="layer")
    pyogrio.write_dataframe(frame, path, layer=layer, driver="GPKG", geometry_type=geometry_type)


def _permits_layer(permits: pd.DataFrame) -> gpd.GeoDataFrame:
    if not len(permits.columns):
        permits = pd.DataFrame({c: pd.Series(dtype=object) for c in PERMIT_COLUMNS})
    permits = permits.reset_index(drop=True)
    if {"lon", "lat"} <= set(permits.columns):
        lon = pd.to_numeric(permits["lon"], errors="coerce")
        lat = pd.to_numeric(permits["lat"], errors="coerce")
        geometry = gpd.points_from_xy(lon, lat)
    else:
        geometry = gpd.GeoSeries([None] * len(permits))
    return gpd.GeoDataFrame(permits, geometry=geometry, crs=WGS84)


def _crossings_layer(crossings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if len(crossings) or set(CROSSING_COLUMNS) <= set(crossings.columns):
        return crossings
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in CROSSING_COLUMNS})
    return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84)


def _write_gpkg(plan: Plan, path: Path) -> None:
    """``plan.gpkg`` with the same five layers for every plan (empty ones keep their columns),
    and ``facilities`` with service points."""
    _write_layer(plan.routes, path, "routes", "LineString")
    _write_layer(plan.sites.reset_index(), path, "sites", "Point")
    _write_layer(plan.pops.reset_index(), path, "pops", "Point")
    _write_layer(_crossings_layer(plan.crossings), path, "crossings", "Point")
    _write_layer(_permits_layer(plan.permits), path, "permits", "Point")
    if plan.facilities is not None:
        _write_layer(plan.facilities.reset_index(), path, "facilities", "Point")


_KML_NS = "http://www.opengis.net/kml/2.2"


def _kml_geometry(geometry: Any) -> ET.Element:
    """A KML Point, LineString or (for multi-part geometries) MultiGeometry element."""
    kind = geometry.geom_type
    if kind in ("Point", "LineString"):
        element = ET.Element(kind)
        coordinates = " ".join(f"{x:.7f},{y:.7f}" for x, y, *_ in geometry.coords)
        ET.SubElement(element, "coordinates").text = coordinates
        return element
    element = ET.Element("MultiGeometry")
    for part in shapely.get_parts(geometry):
        element.append(_kml_geometry(part))
    return element


def _kml_folder(document: ET.Element, name: str, frame: gpd.GeoDataFrame, path: Path) -> None:
    """One folder of placemarks from a frame with Name, Description and geometry in lon/lat."""
    frame = clean_text(frame, source=f"{path.name} folder {name!r}", what="placemarks")
    folder = ET.SubElement(document, "Folder")
    ET.SubElement(folder, "name").text = name
    for title, text, geometry in zip(
        frame["Name"], frame["Description"], frame.geometry, strict=True
    ):
        if geometry is None or geometry.is_empty:
            continue
        placemark = ET.SubElement(folder, "Placemark")
        ET.SubElement(placemark, "name").text = strip_invalid_chars(str(title))
        ET.SubElement(placemark, "description").text = strip_invalid_chars(str(text))
        placemark.append(_kml_geometry(geometry))


def _kml(plan: Plan, path: Path) -> None:
    """Routes merged per PoP, kind, method and cable size, and the GPs (those over the optical
    budget noted), for Google Earth.

    Written with :mod:`xml.etree.ElementTree`, which escapes ``& < > "`` in every name; the
    characters XML cannot hold are removed first, so the file is valid XML whatever the names.
    """
    root = ET.Element("kml", xmlns=_KML_NS)
    document = ET.SubElement(root, "Document")
    ET.SubElement(document, "name").text = "netplan plan"
    routes = plan.routes.to_crs(WGS84)
    if len(routes):
        keys = [c for c in ("pop_id", "kind", "method", "fibres") if c in routes.columns]
        merged = routes.dissolve(by=keys, as_index=False, aggfunc={"length_m": "sum"})
        merged["Name"] = "PoP " + merged["pop_id"].astype(str) + " " + merged["kind"].astype(str)
        merged["Description"] = (merged["length_m"] / 1000).round(2).astype(str) + " km"
        if "method" in merged:
            merged["Name"] += " " + merged["method"].astype(str)
        if "fibres" in merged:
            merged["Description"] += ", " + merged["fibres"].astype(str) + "F cable"
        _kml_folder(document, "routes", merged, path)
    sites = plan.sites.to_crs(WGS84).reset_index()
    sites["Name"] = sites["name"].where(sites["name"] != "", sites["site_id"].astype(str))
    sites["Description"] = sites["reason"].where(
        ~sites["routed"], "routed to PoP " + sites["pop_id"].astype(str)
    )
    if "optical_ok" in sites:
        over = sites["routed"] & ~sites["optical_ok"]
        sites.loc[over, "Description"] += (
            "; over optical budget: " + sites.loc[over, "optical_reason"]
        )
    _kml_folder(document, "gps", sites, path)
    ET.indent(root, space=" ")
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def _points_table(points: gpd.GeoDataFrame) -> pd.DataFrame:
    """A point layer as a table: its columns and ``lon``/``lat`` instead of the geometry."""
    return points.drop(columns="geometry").assign(lon=points.geometry.x, lat=points.geometry.y)


def write_plan_workbook(plan: Plan, path: Path) -> Path:
    """The programme workbook ``plan.xlsx``: a "Summary" sheet, a "BOQ" sheet (the bill of
    quantities), a "Roll-out" sheet (the schedule by month) and, with service points, a
    "Facilities" sheet. The permit register has its own workbook (``permits.xlsx``)."""
    sheets = {"Summary": plan.summary.reset_index()}
    if plan.boq is not None:
        sheets["BOQ"] = plan.boq
    if plan.rollout is not None:
        sheets["Roll-out"] = plan.rollout
    if plan.facilities is not None:
        sheets["Facilities"] = _points_table(plan.facilities).reset_index()
    return write_xlsx(sheets, path)


def write_plan(
    plan: Plan, directory: str | PathLike[str], *, overwrite: bool = False, map_html: bool = True
) -> Path:
    """Write every output of ``plan`` into ``directory`` and return it.

    Files: ``plan.gpkg`` (always the layers routes, sites, pops, crossings and permits; empty
    ones keep their columns), ``summary.csv``, ``boq.csv`` (the bill of quantities),
    ``permits.csv``, ``permits.xlsx`` (a summary sheet and one sheet per authority),
    ``sites.csv``, ``rollout.csv`` (the roll-out schedule by month), ``plan.xlsx`` (summary,
    BOQ, roll-out and, with service points, facilities sheets), ``facilities.csv`` and a
    ``facilities`` layer in ``plan.gpkg`` (with service points), ``plan.kml``, ``tradeoff.csv``
    (permission-aware plans), ``rings.csv`` (ring plans), ``map.html`` (with ``map_html``) and
    ``.netplan-manifest.json`` listing them (:func:`written_files`).

    Parameters
    ----------
    plan
        The plan.
    directory
        Output folder: a new or empty folder, or with ``overwrite=True`` a folder netplan wrote
        before (only netplan's files in it are replaced; other files are kept). Never a file, a
        link, the current or home folder, an input or a folder holding one.
    overwrite
        Replace a folder netplan wrote before.
    map_html
        Also write the map.

    Raises
    ------
    OutputExistsError
        ``directory`` exists and may not be replaced (the message says why).
    OutputPathError
        ``directory`` cannot be created or written.
    """
    log.info("writing the plan to %s", directory)
    with atomic_output_dir(directory, overwrite=overwrite, inputs=plan.inputs) as tmp:
        _write_gpkg(plan, tmp / "plan.gpkg")
        write_csv(plan.summary, tmp / "summary.csv")
        if plan.boq is not None:
            write_csv(plan.boq, tmp / "boq.csv", index=False)
        write_register_csv(plan.permits, tmp / "permits.csv")
        write_register_xlsx(plan.permits, tmp / "permits.xlsx")
        write_csv(_points_table(plan.sites), tmp / "sites.csv")
        if plan.facilities is not None:
            write_csv(_points_table(plan.facilities), tmp / "facilities.csv")
        if plan.rollout is not None:
            write_csv(plan.rollout, tmp / "rollout.csv", index=False)
        write_plan_workbook(plan, tmp / "plan.xlsx")
        if plan.tradeoff is not None:
            write_csv(plan.tradeoff, tmp / "tradeoff.csv")
        if plan.rings is not None:
            write_csv(plan.rings, tmp / "rings.csv")
        _kml(plan, tmp / "plan.kml")
        plan.to_report(tmp / "report.html")
        if map_html:
            plan.to_html(tmp / "map.html")
    log.info("plan written to %s", directory)
    return Path(directory)


def written_files(directory: str | PathLike[str]) -> list[str]:
    """The files netplan wrote into an output folder, as listed in its manifest.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> with atomic_output_dir(Path(tempfile.mkdtemp()) / "out", overwrite=False) as tmp:
    ...     _ = write_csv(pd.DataFrame({"a": [1]}), tmp / "a.csv")
    >>> written_files(tmp.parent / "out")
    ['a.csv']
    """
    manifest = read_manifest(directory)
    return [entry["path"] for entry in manifest["files"]] if manifest else []
