"""Interactive web maps of a plan (folium / Leaflet).

:func:`plan_map` draws the pieces of a :class:`~netplan.result.Plan` (routes, GPs, PoPs, permission
points) over optional context layers (forest, national highways) as toggleable layers with a legend;
:func:`save_map` writes the map as one standalone HTML file.

Every text that comes from an input file (village, forest and road names, reasons, ids) is
HTML-escaped before it reaches the page: folium inserts popup and tooltip values into the page as
HTML, so an unescaped name such as ``<img src=x onerror=...>`` would run as code in the browser of
whoever opens the map.
"""

from __future__ import annotations

import html
import logging
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement, Template

from netplan._errors import CRSError, GeometryTypeError

__all__ = ["plan_map", "save_map", "ROUTE_STYLES"]

logger = logging.getLogger(__name__)

#: Line style of each route ``kind`` (Leaflet path options).
ROUTE_STYLES: dict[str, dict[str, Any]] = {
    "road": {"color": "#1f5fbf", "weight": 4, "opacity": 0.9},
    "spur": {"color": "#7b3fa0", "weight": 3, "opacity": 0.9, "dashArray": "6 6"},
    "bridge": {"color": "#ff7f00", "weight": 4, "opacity": 1.0, "dashArray": "10 6"},
}
_ROUTE_LABELS = {
    "road": "Road trench",
    "spur": "Off-road spur (site to road)",
    "bridge": "Bridge link (off-road, needs field survey)",
}
_GP_OK = {
    "fill": True,
    "radius": 6,
    "color": "#1b6e1b",
    "weight": 1.5,
    "fillColor": "#2ca02c",
    "fillOpacity": 0.9,
}
_GP_BAD = {
    "fill": True,
    "radius": 7,
    "color": "#8b0000",
    "weight": 2,
    "fillColor": "#d62728",
    "fillOpacity": 0.9,
}
_FOREST = {
    "color": "#1b5e20",
    "weight": 1,
    "opacity": 0.6,
    "fillColor": "#2e7d32",
    "fillOpacity": 0.25,
}
_HIGHWAY = {"color": "#8c564b", "weight": 6, "opacity": 0.55}
_PERMIT_STYLES: dict[str, dict[str, Any]] = {
    "crossing": {"radius": 6, "color": "#000000", "weight": 1.5, "fillColor": "#ffd400"},
    "along": {"radius": 6, "color": "#000000", "weight": 1.5, "fillColor": "#ff8c69"},
    "entry": {"radius": 6, "color": "#000000", "weight": 1.5, "fillColor": "#a6611a"},
}
_PERMIT_LABELS = {
    "crossing": "Permission: road crosses a highway",
    "along": "Permission: route runs along a highway",
    "entry": "Permission: route enters a forest / area",
}
_POP_COLOR = "#0b1f5c"

#: Columns of a forest layer worth showing in its tooltip, in this order (others are ignored).
_FOREST_FIELDS = (
    "name",
    "name_en",
    "official_n",
    "official_name",
    "name_1",
    "division",
    "forest_division",
    "range",
    "beat",
    "block",
    "compartment",
    "category",
    "type",
    "protect_cl",
    "protect_class",
    "boundary",
)
_FOREST_MAX_FIELDS = 4  # non-blank values shown per polygon
_COORD_DECIMALS = 6  # about 0.1 m: plenty for a web map, and it keeps the page small


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------


def plan_map(
    plan: Any = None,
    *,
    routes: gpd.GeoDataFrame | None = None,
    sites: gpd.GeoDataFrame | None = None,
    pops: gpd.GeoDataFrame | None = None,
    crossings: gpd.GeoDataFrame | None = None,
    forest: gpd.GeoDataFrame | None = None,
    highways: gpd.GeoDataFrame | None = None,
    title: str | None = None,
    tiles: str | None = "OpenStreetMap",
    max_segments: int = 5000,
    simplify_m: float = 20.0,
    context_margin_m: float = 5000.0,
) -> folium.Map:
    """Draw a plan as an interactive Leaflet map.

    Layers (each can be switched on and off in the layer control): "Forest", "National highways",
    "Routes", "Permissions", "GPs routed", "GPs unroutable" and "PoPs". A layer is left out when
    it has nothing to show. A legend explains the colours and the view is fitted to the plan.

    Parameters
    ----------
    plan
        Optional object with attributes ``routes``, ``sites``, ``pops``, ``crossings`` (and
        optionally ``forest``, ``highways``), e.g. a :class:`~netplan.result.Plan`. Layers given as
        keywords take precedence over its attributes.
    routes
        Route segments (lines) with columns ``pop_id``, ``kind`` ("road" | "spur" | "bridge"),
        ``length_m``, ``road_class``, ``road_name``, ``ref``, ``gps_served`` and optionally the
        right-of-way columns (``in_forest_m``, ``nh_crossings``, ``along_nh_m``, ...).
    sites
        GPs (points) indexed by site id, with ``name``, ``pop_id``, ``routed``, ``reason``,
        ``network_m``, ``route_m``, ``spur_m``.
    pops
        PoPs (points) indexed by PoP id, with ``name``, ``n_gps``, ``routed_gps``.
    crossings
        Permission points with ``layer``, ``authority``, ``sub_authority``, ``kind``
        ("crossing" | "along" | "entry"), ``pop_id``, ``length_m``, ``chainage_km``.
    forest
        Forest polygons (any attributes; ``name``, ``division``, ... are shown).
    highways
        National highway lines with ``ref``.
    title
        Heading shown above the legend.
    tiles
        Folium tile set name or URL template; None for no base map.
    max_segments
        With more route segments than this, segments are merged per PoP and kind before drawing
        (one feature per PoP and kind, with totals in the tooltip) to keep the page fast.
    simplify_m
        Forest polygons and highway lines are simplified with this tolerance (metres) for display.
    context_margin_m
        Forest and highways are clipped to the plan's extent grown by this margin (metres).

    Returns
    -------
    folium.Map
        The map; save it with :func:`save_map` or show it in a notebook.

    Raises
    ------
    CRSError
        A layer has no CRS and its coordinates are not longitude/latitude.
    GeometryTypeError
        A layer holds the wrong kind of geometry (e.g. polygons as sites).

    Notes
    -----
    Columns that are missing are shown as blank; all text from the inputs is HTML-escaped.
    """
    if plan is not None:
        routes = routes if routes is not None else getattr(plan, "routes", None)
        sites = sites if sites is not None else getattr(plan, "sites", None)
        pops = pops if pops is not None else getattr(plan, "pops", None)
        crossings = crossings if crossings is not None else getattr(plan, "crossings", None)
        forest = forest if forest is not None else getattr(plan, "forest", None)
        highways = highways if highways is not None else getattr(plan, "highways", None)

    routes = _prepare(routes, "routes", "line")
    sites = _prepare(sites, "sites", "point")
    pops = _prepare(pops, "pops", "point")
    crossings = _prepare(crossings, "crossings", "point")
    forest = _prepare(forest, "forest", "polygon")
    highways = _prepare(highways, "highways", "line")

    bounds = _total_bounds([routes, sites, pops, crossings])
    if bounds is None:
        bounds = _total_bounds([forest, highways])
    metric = _utm_crs(bounds)
    if bounds is not None and metric is not None:
        forest = _clip_context(forest, bounds, metric, context_margin_m)
        highways = _clip_context(highways, bounds, metric, context_margin_m)

    if bounds is None:
        location, zoom = [22.0, 79.0], 5  # India
    else:
        location = [(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2]
        zoom = 10
    m = folium.Map(location=location, zoom_start=zoom, tiles=tiles, control_scale=True)

    legend: list[str] = []
    if forest is not None and len(forest):
        _add_forest(m, forest, metric, simplify_m, legend)
    if highways is not None and len(highways):
        _add_highways(m, highways, metric, simplify_m, legend)
    if routes is not None and len(routes):
        _add_routes(m, routes, max_segments, legend)
    if crossings is not None and len(crossings):
        _add_permissions(m, crossings, legend)
    if sites is not None and len(sites):
        _add_sites(m, sites, legend)
    if pops is not None and len(pops):
        _add_pops(m, pops, legend)

    folium.LayerControl(collapsed=False).add_to(m)
    _Legend(legend, title).add_to(m)
    if bounds is not None:
        m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]], padding=(20, 20))
    return m


def save_map(m: folium.Map, path: str | Path) -> Path:
    """Write a map as a standalone HTML file.

    Parameters
    ----------
    m
        Map from :func:`plan_map` (or any folium map).
    path
        Output file; missing parent folders are created, an existing file is replaced.

    Returns
    -------
    pathlib.Path
        The path written.

    Notes
    -----
    The page loads Leaflet and the base map tiles from the internet when it is opened.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(m.get_root().render(), encoding="utf-8")
    logger.debug("wrote map %s", path)
    return path


# --------------------------------------------------------------------------------------------
# preparation
# --------------------------------------------------------------------------------------------

_GEOM_TYPES = {
    "point": ("Point", "MultiPoint"),
    "line": ("LineString", "MultiLineString"),
    "polygon": ("Polygon", "MultiPolygon"),
}


def _prepare(gdf: Any, what: str, geometry: str) -> gpd.GeoDataFrame | None:
    """Check a layer, drop empty geometries and bring it to EPSG:4326."""
    if gdf is None:
        return None
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise TypeError(f"plan_map: {what} must be a GeoDataFrame, got {type(gdf).__name__}")
    gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    if gdf.empty:
        return gdf
    types = set(gdf.geom_type.unique())
    bad = types - set(_GEOM_TYPES[geometry])
    if bad:
        first = gdf.index[~gdf.geom_type.isin(_GEOM_TYPES[geometry])][0]
        raise GeometryTypeError(
            f"plan_map: the {what} layer holds {', '.join(sorted(bad))} geometries (first at "
            f"row {first!r}); {what} must be {geometry}s. Pass the right layer."
        )
    if gdf.crs is None:
        minx, miny, maxx, maxy = gdf.total_bounds
        if -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90:
            logger.warning("plan_map: the %s layer has no CRS; assuming EPSG:4326", what)
            gdf = gdf.set_crs("EPSG:4326")
        else:
            raise CRSError(
                f"plan_map: the {what} layer has no CRS and its coordinates are not "
                f"longitude/latitude (bounds {minx:.0f}, {miny:.0f}, {maxx:.0f}, {maxy:.0f}); "
                "set one with gdf.set_crs(...)."
            )
    elif not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs("EPSG:4326")
    return gdf


def _total_bounds(layers: Iterable[gpd.GeoDataFrame | None]) -> tuple[float, ...] | None:
    boxes = [g.total_bounds for g in layers if g is not None and len(g)]
    if not boxes:
        return None
    arr = np.vstack(boxes)
    return (arr[:, 0].min(), arr[:, 1].min(), arr[:, 2].max(), arr[:, 3].max())


def _utm_crs(bounds: tuple[float, ...] | None) -> str | None:
    """EPSG code of the WGS84 UTM zone at the centre of ``bounds``."""
    if bounds is None:
        return None
    lon = (bounds[0] + bounds[2]) / 2
    lat = (bounds[1] + bounds[3]) / 2
    zone = min(max(int((lon + 180) // 6) + 1, 1), 60)
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


def _clip_context(
    gdf: gpd.GeoDataFrame | None, bounds: tuple[float, ...], metric: str, margin_m: float
) -> gpd.GeoDataFrame | None:
    """Keep the part of a context layer near the plan."""
    if gdf is None or not len(gdf):
        return gdf
    # grow the box in metres, then back to degrees
    box = gpd.GeoSeries([shapely.box(*bounds)], crs="EPSG:4326").to_crs(metric)
    box = box.buffer(margin_m, join_style="mitre").to_crs("EPSG:4326")
    minx, miny, maxx, maxy = box.total_bounds
    hits = np.sort(gdf.sindex.query(shapely.box(minx, miny, maxx, maxy)))
    out = gdf.iloc[hits].copy()
    out["geometry"] = out.geometry.clip_by_rect(minx, miny, maxx, maxy)
    out = out[~out.geometry.is_empty]
    if len(out) < len(gdf):
        logger.debug("plan_map: kept %d of %d context features near the plan", len(out), len(gdf))
    return out


def _round_coords(geoms: np.ndarray) -> np.ndarray:
    return shapely.transform(geoms, lambda xy: np.round(xy, _COORD_DECIMALS))


def _simplify(gdf: gpd.GeoDataFrame, metric: str | None, tolerance_m: float) -> np.ndarray:
    """Geometries simplified by ``tolerance_m`` metres, in EPSG:4326, coordinates rounded."""
    geoms = gdf.geometry
    if metric is not None and tolerance_m > 0:
        geoms = geoms.to_crs(metric).simplify(tolerance_m, preserve_topology=True)
        geoms = geoms.to_crs("EPSG:4326")
    return _round_coords(np.asarray(geoms.values, dtype=object))


# --------------------------------------------------------------------------------------------
# text helpers (everything from the inputs goes through _esc)
# --------------------------------------------------------------------------------------------


def _is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:
        if value is pd.NA or value is pd.NaT:
            return True
    except TypeError:  # pragma: no cover - exotic scalars
        pass
    return isinstance(value, str) and not value.strip()


def _esc(value: Any) -> str:
    """HTML-escaped text of a value ("" for None / NaN)."""
    if _is_blank(value):
        return ""
    return html.escape(str(value), quote=True)


def _num(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def _fmt_len(metres: Any) -> str:
    value = _num(metres)
    if value is None:
        return "?"
    if abs(value) < 1000:
        return f"{value:.0f} m"
    return f"{value / 1000:.1f} km"


def _col(df: pd.DataFrame, name: str, default: Any = "") -> pd.Series:
    if name in df.columns:
        return df[name]
    return pd.Series([default] * len(df), index=df.index, dtype=object)


def _rows(parts: list[tuple[str, str]]) -> str:
    """``label: value`` lines; labels are ours, values must already be escaped."""
    return "<br>".join(f"{label}: {value}" for label, value in parts if value != "")


def _geojson(
    geoms: Iterable[Any],
    props: dict[str, list[str]],
    *,
    style: dict[str, Any] | Callable[[dict], dict],
    marker: folium.Marker | folium.CircleMarker | None = None,
    tooltip: bool = True,
    popup: bool = False,
) -> folium.GeoJson:
    """A GeoJson layer of ``geoms`` whose only properties are the (escaped) ``props``."""
    frame = gpd.GeoDataFrame(
        props, geometry=list(geoms), crs="EPSG:4326", index=pd.RangeIndex(len(props["tip"]))
    )
    data = frame.to_geo_dict(show_bbox=False, drop_id=True)
    style_function = style if callable(style) else (lambda _feature, _s=style: dict(_s))
    layer = folium.GeoJson(
        data,
        style_function=style_function,
        marker=marker,
        control=False,
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False) if tooltip else None,
        popup=folium.GeoJsonPopup(fields=["popup"], labels=False, localize=False)
        if popup
        else None,
    )
    return layer


# --------------------------------------------------------------------------------------------
# layers
# --------------------------------------------------------------------------------------------


def _add_forest(
    m: folium.Map, forest: gpd.GeoDataFrame, metric: str | None, simplify_m: float, legend: list
) -> None:
    geoms = _simplify(forest, metric, simplify_m)
    keep = ~shapely.is_empty(geoms)
    forest, geoms = forest[keep], geoms[keep]
    lower = {str(c).lower(): c for c in forest.columns if c != forest.geometry.name}
    fields = [lower[f] for f in _FOREST_FIELDS if f in lower]
    tips = []
    for row in forest[fields].itertuples(index=False, name=None):
        parts = [(html.escape(str(f)), _esc(v)) for f, v in zip(fields, row, strict=True)]
        body = _rows([p for p in parts if p[1]][:_FOREST_MAX_FIELDS])
        tips.append("<b>Forest</b>" + (f"<br>{body}" if body else ""))
    group = folium.FeatureGroup(name="Forest", show=True)
    _geojson(geoms, {"tip": tips}, style=_FOREST).add_to(group)
    group.add_to(m)
    legend.append(_swatch_area(_FOREST, f"Forest ({len(forest)} polygons)"))


def _add_highways(
    m: folium.Map, highways: gpd.GeoDataFrame, metric: str | None, simplify_m: float, legend: list
) -> None:
    geoms = _simplify(highways, metric, simplify_m)
    keep = ~shapely.is_empty(geoms)
    highways, geoms = highways[keep], geoms[keep]
    refs = _col(highways, "ref").tolist()
    names = _col(highways, "name").tolist()
    tips = [
        "<b>National highway</b>"
        + (f"<br>{body}" if (body := _rows([("ref", _esc(r)), ("name", _esc(n))])) else "")
        for r, n in zip(refs, names, strict=True)
    ]
    group = folium.FeatureGroup(name="National highways", show=True)
    _geojson(geoms, {"tip": tips}, style=_HIGHWAY).add_to(group)
    group.add_to(m)
    legend.append(_swatch_line(_HIGHWAY, "National highway"))


def _row_flags(row: dict[str, Any]) -> list[tuple[str, str]]:
    """Right-of-way columns of a route row as label/value pairs (non-zero only)."""
    parts = []
    for key in sorted(row):
        value = _num(row[key])
        if value is None or value == 0:
            continue
        if key.startswith("in_") and key.endswith("_m"):
            parts.append((f"in {html.escape(key[3:-2])}", _fmt_len(value)))
        elif key.startswith("along_") and key.endswith("_m"):
            parts.append((f"along {html.escape(key[6:-2])}", _fmt_len(value)))
        elif key.endswith("_crossings"):
            parts.append((f"{html.escape(key[:-10])} crossings", f"{value:g}"))
    return parts


def _add_routes(m: folium.Map, routes: gpd.GeoDataFrame, max_segments: int, legend: list) -> None:
    routes = routes.copy()
    routes["kind"] = _col(routes, "kind", "road").fillna("road").astype(str)
    routes.loc[~routes["kind"].isin(list(ROUTE_STYLES)), "kind"] = "road"
    routes["pop_id"] = _col(routes, "pop_id").astype(str).where(_col(routes, "pop_id").notna(), "")
    length = pd.to_numeric(_col(routes, "length_m", np.nan), errors="coerce")
    if length.isna().any():
        # fall back on geodesic-ish lengths from a metric projection
        metric = _utm_crs(tuple(routes.total_bounds))
        length = length.fillna(routes.geometry.to_crs(metric).length)
    routes["length_m"] = length
    flag_cols = [
        c
        for c in routes.columns
        if isinstance(c, str)
        and (
            (c.startswith("in_") and c.endswith("_m"))
            or c.endswith("_crossings")
            or (c.startswith("along_") and c.endswith("_m"))
        )
    ]
    merged = len(routes) > max_segments
    group = folium.FeatureGroup(name="Routes", show=True)
    for kind in ROUTE_STYLES:
        part = routes[routes["kind"] == kind]
        if part.empty:
            continue
        if merged:
            geoms, tips = _merged_routes(part, kind, flag_cols)
        else:
            order = ["pop_id", "segment_id"] if "segment_id" in part else ["pop_id"]
            part = part.sort_values(order, kind="stable")
            geoms = _round_coords(np.asarray(part.geometry.values, dtype=object))
            tips = [_segment_tip(row, kind, flag_cols) for row in part.to_dict("records")]
        _geojson(geoms, {"tip": tips}, style=ROUTE_STYLES[kind]).add_to(group)
        legend.append(
            _swatch_line(
                ROUTE_STYLES[kind], f"{_ROUTE_LABELS[kind]} ({_fmt_len(part['length_m'].sum())})"
            )
        )
    if merged:
        logger.info("plan_map: %d route segments merged per PoP and kind for drawing", len(routes))
    group.add_to(m)


def _segment_tip(row: dict[str, Any], kind: str, flag_cols: list[str]) -> str:
    road = " ".join(v for v in (_esc(row.get("road_name")), _esc(row.get("ref"))) if v)
    parts = [
        ("PoP", _esc(row.get("pop_id"))),
        ("length", _fmt_len(row.get("length_m"))),
        ("class", _esc(row.get("road_class"))),
        ("road", road),
        ("GPs served", _esc(row.get("gps_served"))),
        ("segment", _esc(row.get("segment_id"))),
    ]
    parts += _row_flags({c: row.get(c) for c in flag_cols})
    return f"<b>{_ROUTE_LABELS[kind]}</b><br>" + _rows(parts)


def _merged_routes(
    part: gpd.GeoDataFrame, kind: str, flag_cols: list[str]
) -> tuple[np.ndarray, list[str]]:
    """One MultiLineString (line-merged) and one tooltip per PoP for routes of one kind."""
    codes, pop_ids = pd.factorize(part["pop_id"], sort=True)
    parts, src = shapely.get_parts(
        np.asarray(part.geometry.values, dtype=object), return_index=True
    )
    order = np.argsort(codes[src], kind="stable")
    multi = shapely.multilinestrings(parts[order], indices=codes[src][order])
    geoms = _round_coords(shapely.line_merge(multi))
    classes = pd.Series(part["road_class"].values if "road_class" in part else [""] * len(part))
    frame = pd.DataFrame(
        {
            "code": codes,
            "length_m": part["length_m"].to_numpy(),
            "cls": classes.fillna("").astype(str).to_numpy(),
        }
    )
    for c in flag_cols:
        frame[c] = pd.to_numeric(part[c], errors="coerce").to_numpy()
    tips = []
    for code, pop_id in enumerate(pop_ids):
        sub = frame[frame["code"] == code]
        by_class = (
            sub.groupby("cls", sort=True)["length_m"]
            .sum()
            .sort_values(ascending=False, kind="stable")
        )
        cls_text = ", ".join(
            f"{_esc(c) or 'unclassified'} {_fmt_len(v)}" for c, v in by_class.items()
        )
        parts_ = [
            ("PoP", _esc(pop_id)),
            ("length", f"{_fmt_len(sub['length_m'].sum())} in {len(sub)} segments"),
            ("class", cls_text if kind == "road" else ""),
        ]
        parts_ += _row_flags({c: sub[c].sum() for c in flag_cols})
        tips.append(f"<b>{_ROUTE_LABELS[kind]}</b><br>" + _rows(parts_))
    return geoms, tips


def _permit_text(row: dict[str, Any]) -> str:
    """The sentence naming the permission a crossing point needs (escaped HTML)."""
    authority = _esc(row.get("authority")) or _esc(row.get("layer")) or "Right-of-way"
    where = next(
        (_esc(row.get(k)) for k in ("sub_authority", "ref", "name") if _esc(row.get(k))),
        _esc(row.get("layer")) or "the right-of-way layer",
    )
    kind = str(row.get("kind") or "")
    chainage = _num(row.get("chainage_km"))
    at = f" at chainage {chainage:.1f} km" if chainage is not None else ""
    if kind == "crossing":
        text = f"crossing of {where}{at}"
    elif kind == "along":
        text = f"{_fmt_len(row.get('length_m'))} along {where}" + (
            f" from chainage {chainage:.1f} km" if chainage is not None else ""
        )
    else:
        text = f"{_fmt_len(row.get('length_m'))} in {where}"
    return f"{authority} permission: {text}"


def _add_permissions(m: folium.Map, crossings: gpd.GeoDataFrame, legend: list) -> None:
    crossings = crossings.copy()
    crossings["kind"] = _col(crossings, "kind", "crossing").fillna("crossing").astype(str)
    crossings.loc[~crossings["kind"].isin(list(_PERMIT_STYLES)), "kind"] = "crossing"
    sort_cols = [c for c in ("kind", "pop_id", "segment_id", "chainage_km") if c in crossings]
    crossings = crossings.sort_values(sort_cols, kind="stable") if sort_cols else crossings
    tips, popups, kinds = [], [], []
    for row in crossings.to_dict("records"):
        text = _permit_text(row)
        extra = _rows(
            [
                ("PoP", _esc(row.get("pop_id"))),
                ("segment", _esc(row.get("segment_id"))),
                ("layer", _esc(row.get("layer"))),
                ("feature ids", _esc(row.get("feature_ids"))),
                ("GPs served", _esc(row.get("gp_ids"))),
            ]
        )
        tips.append(text)
        popups.append(f"<b>{text}</b>" + (f"<br>{extra}" if extra else ""))
        kinds.append(row["kind"])
    points = _round_coords(np.asarray(shapely.centroid(crossings.geometry.values), dtype=object))

    def style(feature: dict) -> dict:
        return dict(_PERMIT_STYLES[feature["properties"]["kind"]], fill=True, fillOpacity=0.95)

    group = folium.FeatureGroup(name="Permissions", show=True)
    _geojson(
        points,
        {"tip": tips, "popup": popups, "kind": kinds},
        style=style,
        marker=folium.CircleMarker(),
        popup=True,
    ).add_to(group)
    group.add_to(m)
    counts = pd.Series(kinds).value_counts()
    for kind, label in _PERMIT_LABELS.items():
        if kind in counts:
            legend.append(_swatch_point(_PERMIT_STYLES[kind], f"{label} ({counts[kind]})"))


def _add_sites(m: folium.Map, sites: gpd.GeoDataFrame, legend: list) -> None:
    sites = sites.sort_index(kind="stable")
    reason = _col(sites, "reason").fillna("").astype(str)
    if "routed" in sites.columns:
        routed = sites["routed"].fillna(False).astype(bool)
    else:
        routed = reason.str.strip() == ""
    ids = [_esc(i) for i in sites.index]
    names = [_esc(v) for v in _col(sites, "name")]
    pop_ids = [_esc(v) for v in _col(sites, "pop_id")]
    points = _round_coords(np.asarray(shapely.centroid(sites.geometry.values), dtype=object))
    records = sites.to_dict("records")
    for ok, label, style, layer_name in (
        (True, "GP routed", _GP_OK, "GPs routed"),
        (False, "GP unroutable", _GP_BAD, "GPs unroutable"),
    ):
        pick = np.flatnonzero(routed.to_numpy() == ok)
        if not len(pick):
            continue
        tips, popups = [], []
        for i in pick:
            row = records[i]
            head = f"<b>{names[i] or ids[i]}</b>" + (f" ({ids[i]})" if names[i] else "")
            tips.append(head + ("" if ok else " &ndash; unroutable"))
            if ok:
                body = _rows(
                    [
                        ("PoP", pop_ids[i]),
                        (
                            "route",
                            _fmt_len(row.get("route_m"))
                            if _num(row.get("route_m")) is not None
                            else "",
                        ),
                        (
                            "network distance",
                            _fmt_len(row.get("network_m"))
                            if _num(row.get("network_m")) is not None
                            else "",
                        ),
                        (
                            "spur",
                            _fmt_len(row.get("spur_m"))
                            if _num(row.get("spur_m")) is not None
                            else "",
                        ),
                    ]
                )
            else:
                body = _rows(
                    [("PoP", pop_ids[i]), ("unroutable", _esc(reason.iloc[i]) or "no reason given")]
                )
            popups.append(head + (f"<br>{body}" if body else ""))
        group = folium.FeatureGroup(name=layer_name, show=True)
        _geojson(
            points[pick],
            {"tip": tips, "popup": popups},
            style=style,
            marker=folium.CircleMarker(),
            popup=True,
        ).add_to(group)
        group.add_to(m)
        legend.append(_swatch_point(style, f"{label} ({len(pick)})"))


def _add_pops(m: folium.Map, pops: gpd.GeoDataFrame, legend: list) -> None:
    pops = pops.sort_index(kind="stable")
    tips, popups = [], []
    for pid, row in zip(pops.index, pops.to_dict("records"), strict=True):
        name, pid_e = _esc(row.get("name")), _esc(pid)
        head = f"<b>PoP {name or pid_e}</b>" + (f" ({pid_e})" if name else "")
        n, ok = _num(row.get("n_gps")), _num(row.get("routed_gps"))
        served = ""
        if n is not None:
            served = f"{ok:.0f} of {n:.0f}" if ok is not None else f"{n:.0f}"
        body = _rows([("GPs routed", served), ("note", _esc(row.get("reason")))])
        tips.append(head)
        popups.append(head + (f"<br>{body}" if body else ""))
    points = _round_coords(np.asarray(shapely.centroid(pops.geometry.values), dtype=object))
    icon = folium.DivIcon(
        html='<div class="netplan-pop"></div>',
        icon_size=(18, 18),
        icon_anchor=(9, 9),
        class_name="netplan-pop-icon",
    )
    group = folium.FeatureGroup(name="PoPs", show=True)
    _geojson(
        points,
        {"tip": tips, "popup": popups},
        style={},
        marker=folium.Marker(icon=icon),
        popup=True,
    ).add_to(group)
    group.add_to(m)
    legend.append(
        f'<div class="netplan-legend-row"><span class="netplan-legend-key">'
        f'<span class="netplan-pop" style="display:inline-block"></span></span>PoP ({len(pops)})</div>'
    )


# --------------------------------------------------------------------------------------------
# legend
# --------------------------------------------------------------------------------------------


def _legend_row(svg: str, label: str) -> str:
    """One legend row: a small SVG key and its (already escaped) label."""
    return (
        f'<div class="netplan-legend-row"><span class="netplan-legend-key">{svg}</span>'
        f"{label}</div>"
    )


def _swatch_line(style: dict[str, Any], label: str) -> str:
    dash = style.get("dashArray")
    svg_dash = f' stroke-dasharray="{dash}"' if dash else ""
    svg = (
        f'<svg width="34" height="12"><line x1="1" y1="6" x2="33" y2="6" stroke="{style["color"]}" '
        f'stroke-width="{min(style.get("weight", 3), 5)}"{svg_dash} '
        f'stroke-opacity="{style.get("opacity", 1)}"/></svg>'
    )
    return _legend_row(svg, label)


def _swatch_area(style: dict[str, Any], label: str) -> str:
    svg = (
        f'<svg width="34" height="14"><rect x="4" y="1" width="26" height="12" '
        f'fill="{style["fillColor"]}" fill-opacity="{style["fillOpacity"] + 0.2}" '
        f'stroke="{style["color"]}"/></svg>'
    )
    return _legend_row(svg, label)


def _swatch_point(style: dict[str, Any], label: str) -> str:
    svg = (
        f'<svg width="34" height="16"><circle cx="17" cy="8" r="6" fill="{style["fillColor"]}" '
        f'stroke="{style["color"]}" stroke-width="1.5"/></svg>'
    )
    return _legend_row(svg, label)


class _Legend(MacroElement):
    """A Leaflet control (bottom right) holding the legend and the optional title."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
        .netplan-legend {background: rgba(255,255,255,0.92); padding: 6px 9px; font: 12px/1.45
          Arial, Helvetica, sans-serif; border-radius: 5px; box-shadow: 0 0 12px rgba(0,0,0,0.25);
          max-width: 330px;}
        .netplan-legend-title {font-weight: bold; font-size: 13px; margin-bottom: 4px;}
        .netplan-legend-row {white-space: nowrap;}
        .netplan-legend-key {display: inline-block; width: 38px; vertical-align: middle;}
        .netplan-pop-icon {background: none; border: none;}
        .netplan-pop {width: 12px; height: 12px; margin: 3px; background: {{ this.pop_color }};
          border: 2px solid #ffffff; outline: 1px solid {{ this.pop_color }}; transform: rotate(45deg);}
        </style>
        {% endmacro %}
        {% macro html(this, kwargs) %}
        <div id="{{ this.get_name() }}" class="netplan-legend">{{ this.body }}</div>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var legend = L.control({position: "bottomright"});
            legend.onAdd = function () {
                var div = document.getElementById({{ this.get_name()|tojson }});
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, rows: list[str], title: str | None) -> None:
        super().__init__()
        self._name = "NetplanLegend"
        head = f'<div class="netplan-legend-title">{_esc(title)}</div>' if _esc(title) else ""
        self.body = head + "<div><b>Legend</b></div>" + "".join(rows)
        self.pop_color = _POP_COLOR
