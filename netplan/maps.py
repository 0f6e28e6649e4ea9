"""Interactive web maps of a plan (folium / Leaflet), self-contained and readable at state scale.

:func:`plan_map` draws a :class:`~netplan.result.Plan` (or its pieces given as keywords): every
right-of-way layer, the routes coloured per PoP (or by another :data:`ROUTE_COLORINGS` entry),
permission points, GPs (clustered when there are many), PoPs, a legend, a panel with the plan's
totals and a search box for GP names and ids. :func:`save_map` writes it as one HTML file.

The page needs no network but for its base tiles: Leaflet, Leaflet.markercluster and netplan's
small map runtime are written into it (see :mod:`netplan._map_assets`), and vector layers are drawn
on a canvas, so a state of ten thousand GPs stays a few thousand DOM nodes. Without tiles (offline,
or ``tiles=None``) every layer is still drawn.

Every text that comes from an input file (village, forest and road names, reasons, ids,
authorities) is HTML-escaped before it reaches the page, since Leaflet shows tooltips, popups and
layer names as HTML; the search box inserts names only as text.

Adding a route colouring
------------------------
``plan_map(color_by=NAME)`` looks ``NAME`` up in :data:`ROUTE_COLORINGS`, a table of functions
from the routes to a :class:`RouteColoring` (a category per segment, a colour per category and
legend labels). A colouring by a column of the routes takes a few lines::

    @register_route_coloring("owner")
    def _color_by_owner(routes):
        return coloring_from_column(
            routes, "owner", title="Cable owner", colors={"BSNL": "#1f5fbf", "RailTel": "#e6550d"}
        )

and ``"owner"`` joins :data:`ColorBy` (``"method"`` and ``"phase"`` are made this way). Segments keep their kind's dash style (spurs and bridge
links dashed) whatever the colouring; large plans are merged per PoP, kind and category.
"""

from __future__ import annotations

import html
import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from branca.element import Figure
from folium.map import FitBounds, Layer

from netplan._errors import CRSError, GeometryTypeError, InputError, MissingColumnError
from netplan._map_assets import DataLayer, HtmlControl, OnlineTiles, make_offline, script_json
from netplan.crs import WGS84, utm_crs
from netplan.row import RowLayer

__all__ = [
    "METHOD_COLORS",
    "PALETTE",
    "ROUTE_COLORINGS",
    "ROUTE_STYLES",
    "ColorBy",
    "RouteColoring",
    "coloring_from_column",
    "plan_map",
    "register_route_coloring",
    "save_map",
]

logger = logging.getLogger(__name__)

ColorBy = Literal["pop", "kind", "method", "phase"]
"""Names of the route colourings in :data:`ROUTE_COLORINGS`."""

#: Line style of each route ``kind``: the colour is used with ``color_by="kind"``; weight and
#: dashes always (Leaflet path options).
ROUTE_STYLES: dict[str, dict[str, Any]] = {
    "road": {"color": "#1f5fbf", "weight": 4, "opacity": 0.9},
    "spur": {"color": "#7b3fa0", "weight": 3, "opacity": 0.9, "dashArray": "6 6"},
    "bridge": {"color": "#ff7f00", "weight": 4, "opacity": 1.0, "dashArray": "10 6"},
    "existing": {"color": "#525252", "weight": 4, "opacity": 0.9, "dashArray": "2 6"},
}
_ROUTE_LABELS = {
    "road": "Road route",
    "spur": "Off-road spur (site to road)",
    "bridge": "Bridge link (off-road, needs field survey)",
    "existing": "Existing fibre away from roads",
}
#: Colours and legend labels of the construction methods (``color_by="method"``).
METHOD_COLORS = {"underground": "#1f5fbf", "aerial": "#e6550d", "existing": "#525252"}
_METHOD_LABELS = {
    "underground": "Underground (new trench and duct)",
    "aerial": "Aerial (new cable on power poles)",
    "existing": "Existing fibre (spare fibres reused)",
}
_NEUTRAL = "#444444"  # kind swatches in the legend when routes are coloured by something else
#: Categorical colours (blue, orange, purple, magenta, teal, gold, indigo, pink, cyan, grey, dark
#: red, dark teal): no forest green or highway brown, distinguishable on OpenStreetMap tiles.
PALETTE = (
    "#1f5fbf",
    "#e6550d",
    "#7b3294",
    "#c51b7d",
    "#00838f",
    "#b8860b",
    "#3949ab",
    "#e377c2",
    "#17becf",
    "#525252",
    "#99000d",
    "#01665e",
)
_GP_OK = {
    "fill": True,
    "radius": 6,
    "color": "#1b6e1b",
    "weight": 1.5,
    "fillColor": "#2ca02c",
    "fillOpacity": 0.9,
}
_GP_OVER = {
    "fill": True,
    "radius": 7,
    "color": "#7a4100",
    "weight": 2,
    "fillColor": "#ffb000",
    "fillOpacity": 1.0,
}
_GP_BAD = {
    "fill": True,
    "radius": 8,
    "color": "#5c0000",
    "weight": 2.5,
    "fillColor": "#e31a1c",
    "fillOpacity": 1.0,
}
_AREA_STYLES: dict[str, dict[str, Any]] = {
    "forest": {
        "color": "#1b5e20",
        "weight": 1,
        "opacity": 0.6,
        "fillColor": "#2e7d32",
        "fillOpacity": 0.25,
    },
}
_LINE_STYLES: dict[str, dict[str, Any]] = {
    "nh": {"color": "#8c564b", "weight": 6, "opacity": 0.55},
}
_AREA_PALETTE = ("#6a51a3", "#0277bd", "#f9a825", "#ad1457", "#00695c")
_LINE_PALETTE = ("#37474f", "#c2185b", "#0277bd", "#6a1b9a", "#ef6c00")
_LAYER_TITLES = {"forest": "Forest", "nh": "National highways"}
_PERMIT_STYLES: dict[str, dict[str, Any]] = {
    "crossing": {"radius": 5, "color": "#000000", "weight": 1, "fillColor": "#ffd400"},
    "along": {"radius": 5, "color": "#000000", "weight": 1, "fillColor": "#ff8c69"},
    "entry": {"radius": 5, "color": "#000000", "weight": 1, "fillColor": "#a6611a"},
}
_PERMIT_LABELS = {
    "crossing": "Permission: road crosses a highway",
    "along": "Permission: route runs along a highway",
    "entry": "Permission: route enters a forest / area",
}
_POP_ICON = {
    "html": '<div class="netplan-pop"></div>',
    "iconSize": [14, 14],
    "iconAnchor": [7, 7],
    "className": "netplan-pop-icon",
}

#: Attributes of a right-of-way layer worth showing in its tooltip (after the layer's split and
#: id attributes), matched case-insensitively; others are ignored.
_CONTEXT_FIELDS = (
    "name",
    "name_en",
    "official_n",
    "official_name",
    "name_1",
    "ref",
    "division",
    "forest_division",
    "range",
    "beat",
    "block",
    "compartment",
    "zone",
    "category",
    "type",
    "protect_cl",
    "protect_class",
    "boundary",
)
_CONTEXT_MAX_FIELDS = 4  # non-blank values shown per feature
_COORD_DECIMALS = 5  # about 1 m: plenty for a web map, and it keeps the page small
_MAX_LEGEND_CATEGORIES = 12


# --------------------------------------------------------------------------------------------
# route colourings
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RouteColoring:
    """How route segments are coloured: a category per segment and a colour per category.

    Parameters
    ----------
    values
        Category of every route segment (same index as the routes), as text.
    colors
        CSS colour of every category.
    title
        What the categories are ("PoP", "route kind", "roll-out phase"), for the legend.
    labels
        Legend label (plain text; escaped when drawn) of every category, one legend row each;
        None for a single summary row (many categories, such as PoPs).
    in_tooltip
        Whether segment tooltips name the category (PoP and kind are named anyway).
    """

    values: pd.Series
    colors: Mapping[str, str]
    title: str
    labels: Mapping[str, str] | None = None
    in_tooltip: bool = True

    def __post_init__(self) -> None:
        missing = sorted(set(self.values.astype(str)) - set(self.colors))
        if missing:
            raise InputError(
                f"route colouring {self.title!r} has no colour for categories {missing[:5]}; "
                "give every category a colour"
            )


RouteColoringFunction = Callable[[gpd.GeoDataFrame], RouteColoring]
#: The route colourings ``plan_map(color_by=...)`` knows, by name (see the module docs).
ROUTE_COLORINGS: dict[str, RouteColoringFunction] = {}


def register_route_coloring(
    name: str,
) -> Callable[[RouteColoringFunction], RouteColoringFunction]:
    """Decorator adding a function ``routes -> RouteColoring`` to :data:`ROUTE_COLORINGS`."""

    def register(function: RouteColoringFunction) -> RouteColoringFunction:
        ROUTE_COLORINGS[name] = function
        return function

    return register


def coloring_from_column(
    routes: pd.DataFrame,
    column: str,
    *,
    title: str,
    colors: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> RouteColoring:
    """A colouring by the values of one column of the routes (blank values are "none").

    Parameters
    ----------
    routes
        The route segments.
    column
        Column holding each segment's category.
    title
        What the categories are, for the legend.
    colors
        Colours of known categories; others take :data:`PALETTE` colours in sorted order.
    labels
        Legend labels of known categories; others are shown as they are.

    Raises
    ------
    MissingColumnError
        The routes have no such column.

    Examples
    --------
    >>> routes = pd.DataFrame({"phase": ["1", "2", "1", None]})
    >>> c = coloring_from_column(routes, "phase", title="Roll-out phase", colors={"1": "#000"})
    >>> list(c.values), dict(c.colors)
    (['1', '2', '1', 'none'], {'1': '#000', '2': '#e6550d', 'none': '#7b3294'})
    """
    if column not in routes.columns:
        found = ", ".join(repr(c) for c in routes.columns if c != "geometry")
        raise MissingColumnError(
            f"colouring routes by {title!r} needs a {column!r} column in the routes; they have "
            f"{found or 'no columns'}. Add it to the plan's routes or choose another color_by"
        )
    values = routes[column].map(lambda v: "none" if _is_blank(v) else str(v))
    categories = sorted(values.unique())
    given = dict(colors or {})
    chosen = {c: given.get(c) or PALETTE[i % len(PALETTE)] for i, c in enumerate(categories)}
    names = {c: (labels or {}).get(c, c) for c in categories}
    return RouteColoring(values=values, colors=chosen, title=title, labels=names)


@register_route_coloring("kind")
def _color_by_kind(routes: gpd.GeoDataFrame) -> RouteColoring:
    """Road routes, off-road spurs, bridge links and off-road existing fibre in
    :data:`ROUTE_STYLES` colours."""
    colors = {kind: style["color"] for kind, style in ROUTE_STYLES.items()}
    return RouteColoring(
        values=routes["kind"],
        colors=colors,
        title="route kind",
        labels=_ROUTE_LABELS,
        in_tooltip=False,
    )


@register_route_coloring("method")
def _color_by_method(routes: gpd.GeoDataFrame) -> RouteColoring:
    """Underground, aerial and existing-fibre segments (:data:`METHOD_COLORS`)."""
    return coloring_from_column(
        routes, "method", title="method", colors=METHOD_COLORS, labels=_METHOD_LABELS
    )


#: Roll-out phase colours: phase 1 (no permission needed) green, later phases warmer and darker.
PHASE_COLORS = ("#1a9850", "#fdae61", "#f46d43", "#d73027", "#a50026", "#67001f")


@register_route_coloring("phase")
def _color_by_phase(routes: gpd.GeoDataFrame) -> RouteColoring:
    """The earliest roll-out phase each segment serves (:mod:`netplan.rollout`): what can be
    built first is green."""
    phases = sorted({int(p) for p in routes["phase"].dropna()}) if "phase" in routes else []
    last = len(PHASE_COLORS) - 1
    colors = {str(p): PHASE_COLORS[min(i, last)] for i, p in enumerate(phases)}
    labels = {str(p): f"phase {p}" for p in phases}
    if 1 in phases:
        labels["1"] = "phase 1: no permission needed"
    return coloring_from_column(
        routes, "phase", title="roll-out phase", colors=colors, labels=labels
    )


@register_route_coloring("pop")
def _color_by_pop(routes: gpd.GeoDataFrame) -> RouteColoring:
    """One colour per PoP; PoPs whose networks lie next to each other get different colours."""
    return RouteColoring(
        values=routes["pop_id"],
        colors=_pop_colors(routes),
        title="PoP",
        labels=None,
        in_tooltip=False,
    )


def _pop_colors(routes: gpd.GeoDataFrame) -> dict[str, str]:
    """:data:`PALETTE` colours for PoPs so that neighbouring PoP networks differ.

    PoPs are neighbours when the convex hulls of their routes come within about 1 km. They are
    coloured greedily, most neighbours first (ties by PoP id), each with the least used colour so
    far (ties: palette order) that no neighbour has, so the whole palette is used. Deterministic
    for the same routes.
    """
    pop_ids = sorted(routes["pop_id"].unique())
    if not pop_ids:
        return {}
    codes = pd.Categorical(routes["pop_id"], categories=pop_ids).codes
    hulls = shapely.convex_hull(_lines_by_group(routes, codes))
    grown = shapely.buffer(hulls, 0.01)  # degrees: about 1 km
    left, right = shapely.STRtree(grown).query(grown, predicate="intersects")
    neighbours: dict[int, set[int]] = {i: set() for i in range(len(pop_ids))}
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        if a != b:
            neighbours[a].add(b)
    order = sorted(neighbours, key=lambda i: (-len(neighbours[i]), pop_ids[i]))
    color_of: dict[int, int] = {}
    used = [0] * len(PALETTE)
    for i in order:
        taken = {color_of[j] for j in neighbours[i] if j in color_of}
        free = [c for c in range(len(PALETTE)) if c not in taken] or list(range(len(PALETTE)))
        color_of[i] = min(free, key=lambda c: (used[c], c))
        used[color_of[i]] += 1
    return {pop_ids[i]: PALETTE[c] for i, c in color_of.items()}


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _MapData:
    """The pieces of a plan to draw, checked and in EPSG:4326."""

    routes: gpd.GeoDataFrame | None
    sites: gpd.GeoDataFrame | None
    pops: gpd.GeoDataFrame | None
    crossings: gpd.GeoDataFrame | None
    facilities: gpd.GeoDataFrame | None
    summary: pd.DataFrame | None
    permits: pd.DataFrame | None
    layers: tuple[RowLayer, ...]


@dataclass(frozen=True)
class _Drawing:
    """How :func:`plan_map` draws (its options), checked."""

    color_by: str
    cluster_above: int | None
    max_segments: int
    simplify_m: float
    context_margin_m: float

    def __post_init__(self) -> None:
        if self.color_by not in ROUTE_COLORINGS:
            raise InputError(
                f"plan_map: unknown color_by {self.color_by!r}; choose one of "
                f"{sorted(ROUTE_COLORINGS)}"
            )
        for name in ("cluster_above", "max_segments"):
            value = getattr(self, name)
            if value is None and name == "cluster_above":
                continue
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
                raise InputError(f"plan_map: {name} must be a whole number >= 0, got {value!r}")
        for name in ("simplify_m", "context_margin_m"):
            value = _num(getattr(self, name))
            if value is None or not (0 <= value < math.inf):
                raise InputError(
                    f"plan_map: {name} must be a distance in metres >= 0, got "
                    f"{getattr(self, name)!r}"
                )


def plan_map(
    plan: Any = None,
    *,
    m: folium.Map | None = None,
    layers: Sequence[RowLayer] | None = None,
    color_by: ColorBy = "pop",
    routes: gpd.GeoDataFrame | None = None,
    sites: gpd.GeoDataFrame | None = None,
    pops: gpd.GeoDataFrame | None = None,
    crossings: gpd.GeoDataFrame | None = None,
    facilities: gpd.GeoDataFrame | None = None,
    summary: pd.DataFrame | None = None,
    permits: pd.DataFrame | None = None,
    forest: gpd.GeoDataFrame | None = None,
    highways: gpd.GeoDataFrame | None = None,
    title: str | None = None,
    tiles: str | None = "OpenStreetMap",
    cluster_above: int | None = 1000,
    max_segments: int = 5000,
    simplify_m: float = 20.0,
    context_margin_m: float = 5000.0,
) -> folium.Map:
    """Draw a plan as an interactive, self-contained Leaflet map.

    Layers (each can be switched on and off in the layer control): one per right-of-way layer
    (e.g. "Forest (Forest Department)", "National highways (NHAI / MoRTH)"), "Routes",
    "Permissions", "GPs routed", "GPs unroutable" and "PoPs"; a layer with nothing to show is left
    out. A legend explains the colours, a panel gives the plan's totals (with a summary) and a
    search box finds GPs by name or id. A new map is fitted to the plan.

    Parameters
    ----------
    plan
        A :class:`~netplan.result.Plan`, or any object with attributes ``routes``, ``sites``,
        ``pops``, ``crossings`` (and optionally ``summary``, ``permits``, ``layers``). Pieces
        given as keywords take precedence over its attributes.
    m
        Existing folium map to draw onto (its view is left as it is); default a new map.
    layers
        Right-of-way layers to draw (:class:`~netplan.row.RowLayer`); default the plan's
        ``layers``. Area layers are drawn as polygons, line layers as lines, each named and
        styled after the layer.
    color_by
        How routes are coloured: ``"pop"`` (one colour per PoP, neighbours distinct),
        ``"kind"`` (road route, spur, bridge link, existing fibre off the roads), ``"method"``
        (underground, aerial, existing fibre) or ``"phase"`` (the earliest roll-out phase a
        segment serves, phase 1 green); see :data:`ROUTE_COLORINGS`. Spurs, bridge links and
        off-road existing fibre are dashed either way.
    routes
        Route segments (lines) with columns ``pop_id``, ``kind`` ("road" | "spur" | "bridge" |
        "existing"), ``length_m``, ``road_class``, ``road_name``, ``ref``, ``gps_served`` and
        optionally ``method``, ``fibres``, ``gp_ids`` and the right-of-way columns
        (``in_forest_m``, ``nh_crossings``, ``along_nh_m``, ...).
    sites
        GPs (points) indexed by site id, with ``name``, ``pop_id``, ``routed``, ``reason``,
        ``network_m``, ``route_m``, ``spur_m`` and optionally the optical check
        (``optical_ok``, ``optical_reason``, ``fibre_path_m``, ``optical_loss_db``): routed GPs
        over the optical budget are drawn as their own layer.
    pops
        PoPs (points) indexed by PoP id, with ``name``, ``n_gps``, ``routed_gps``.
    crossings
        Permission points with ``layer``, ``authority``, ``sub_authority``, ``kind``
        ("crossing" | "along" | "entry"), ``pop_id``, ``length_m``, ``chainage_km``.
    facilities
        Service points (points) indexed by facility id, with ``name``, ``category``,
        ``routed``, ``reason``, ``served_by``, ``pop_id``: layer "Facilities", one colour per
        category (hollow when not connected), a legend row per category.
    summary
        The plan's summary; its ``TOTAL`` row fills the totals panel.
    permits
        The permit register; the panel counts its items per authority.
    forest
        Forest polygons, drawn as the "forest" right-of-way layer (replacing one in ``layers``).
    highways
        National highway lines with ``ref``, drawn as the "nh" layer (replacing one in
        ``layers``).
    title
        Heading of the legend and title of the page.
    tiles
        Folium tile set name or URL template of a new map; None for no base map. The tiles are
        the only thing the page fetches.
    cluster_above
        Routed GPs are clustered (Leaflet.markercluster; clusters dissolve from zoom 10) when
        there are more than this many; None never clusters. Unroutable GPs are never clustered.
    max_segments
        With more route segments than this, segments are merged per PoP, kind and colour
        category before drawing (one feature each, with totals in the tooltip).
    simplify_m
        Right-of-way features are simplified with this tolerance (metres) for display.
    context_margin_m
        Right-of-way features are clipped to the plan's extent grown by this margin (metres).

    Returns
    -------
    folium.Map
        The map (``m`` when given); save it with :func:`save_map` or show it in a notebook.

    Raises
    ------
    CRSError
        A layer has no CRS and its coordinates are not longitude/latitude.
    GeometryTypeError
        A layer holds the wrong kind of geometry (e.g. polygons as sites).
    InputError
        ``color_by`` is unknown, ``layers`` holds something other than RowLayers or ``m`` is not
        a folium map.
    MissingColumnError
        The colouring needs a column the routes lack.

    Notes
    -----
    The page links no CDN: Leaflet, marker clustering and netplan's runtime are inlined. A new
    map therefore has none of folium's default extras (jQuery, Bootstrap, awesome-markers);
    folium elements that need them (``folium.Icon``) need those links added back
    (``m.add_js_link``). A map given as ``m`` keeps them. Missing columns are shown as blank.

    Examples
    --------
    >>> import netplan
    >>> sample = netplan.datasets.sample_paths()
    >>> p = netplan.plan(sample["gps"], sample["pops"], sample["roads"],
    ...                  forest=sample["forest"], progress=False)
    >>> page = plan_map(p, tiles=None).get_root().render()
    >>> '<script src="http' in page or '<link rel="stylesheet" href="http' in page
    False
    >>> print(p.layers[0].name, "drawn:", '"Forest (Forest Department)"' in page)
    forest drawn: True
    """
    drawing = _Drawing(color_by, cluster_above, max_segments, simplify_m, context_margin_m)
    data = _gather(
        plan,
        layers=layers,
        routes=routes,
        sites=sites,
        pops=pops,
        crossings=crossings,
        facilities=facilities,
        summary=summary,
        permits=permits,
        forest=forest,
        highways=highways,
    )
    bounds = _total_bounds([data.routes, data.sites, data.pops, data.crossings])
    own = m is None
    m = _target_map(m, bounds or _total_bounds(_layer_frames(data.layers)), title)
    legend: list[str] = []
    _draw(m, data, bounds, drawing, legend)
    if own:
        _set_view(m, bounds, tiles)
    _finish(m, legend, title, _totals_panel(data.summary, data.permits))
    return m


def save_map(m: folium.Map, path: str | Path) -> Path:
    """Write a map as one self-contained HTML file.

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
    A map from :func:`plan_map` loads nothing but its base tiles when it is opened.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(m.get_root().render(), encoding="utf-8")
    logger.debug("wrote map %s (%.1f MB)", path, path.stat().st_size / 1e6)
    return path


# --------------------------------------------------------------------------------------------
# preparation
# --------------------------------------------------------------------------------------------

_GEOM_TYPES = {
    "point": ("Point", "MultiPoint"),
    "line": ("LineString", "MultiLineString"),
    "polygon": ("Polygon", "MultiPolygon"),
}


def _gather(plan: Any, **given: Any) -> _MapData:
    """The plan's pieces, keywords first, each checked and brought to EPSG:4326."""

    def pick(name: str) -> Any:
        value = given[name]
        return value if value is not None else getattr(plan, name, None)

    for name in ("summary", "permits"):
        value = pick(name)
        if value is not None and not isinstance(value, pd.DataFrame):
            raise InputError(f"plan_map: {name} must be a DataFrame, got {type(value).__name__}")
    return _MapData(
        routes=_prepare(pick("routes"), "routes", "line"),
        sites=_prepare(pick("sites"), "sites", "point"),
        pops=_prepare(pick("pops"), "pops", "point"),
        crossings=_prepare(pick("crossings"), "crossings", "point"),
        facilities=_prepare(pick("facilities"), "facilities", "point"),
        summary=pick("summary"),
        permits=pick("permits"),
        layers=_row_layers(pick("layers"), given["forest"], given["highways"]),
    )


def _row_layers(
    layers: Sequence[RowLayer] | None,
    forest: gpd.GeoDataFrame | None,
    highways: gpd.GeoDataFrame | None,
) -> tuple[RowLayer, ...]:
    """The right-of-way layers to draw: ``forest`` / ``highways`` first (replacing same-named
    layers), then the others in their order."""
    chosen = list(layers or ())
    for i, layer in enumerate(chosen):
        if not isinstance(layer, RowLayer):
            raise InputError(
                f"plan_map: layers must be netplan RowLayers; item {i} is a "
                f"{type(layer).__name__} (wrap a GeoDataFrame as RowLayer(data, name, kind, "
                "authority) or pass it as forest= / highways=)"
            )
    extra = []
    if forest is not None:
        extra.append(RowLayer.forest(_prepare(forest, "forest", "polygon")))
    if highways is not None:
        extra.append(RowLayer.national_highway(_prepare(highways, "highways", "line")))
    replaced = {layer.name for layer in extra}
    return tuple(extra) + tuple(layer for layer in chosen if layer.name not in replaced)


def _layer_frames(layers: Iterable[RowLayer]) -> list[gpd.GeoDataFrame]:
    return [_prepare(layer.data, _layer_what(layer), _layer_geometry(layer)) for layer in layers]


def _layer_what(layer: RowLayer) -> str:
    return f"right-of-way layer {layer.name!r}"


def _layer_geometry(layer: RowLayer) -> str:
    return "polygon" if layer.kind == "area" else "line"


def _prepare(gdf: Any, what: str, geometry: str) -> gpd.GeoDataFrame | None:
    """Check a layer, drop empty geometries and bring it to EPSG:4326."""
    if gdf is None:
        return None
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(f"plan_map: {what} must be a GeoDataFrame, got {type(gdf).__name__}")
    gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    if gdf.empty:
        return gdf
    bad = set(gdf.geom_type.unique()) - set(_GEOM_TYPES[geometry])
    if bad:
        first = gdf.index[~gdf.geom_type.isin(_GEOM_TYPES[geometry])][0]
        raise GeometryTypeError(
            f"plan_map: the {what} layer holds {', '.join(sorted(bad))} geometries (first at "
            f"row {first!r}); {what} must be {geometry}s. Pass the right layer."
        )
    if gdf.crs is None:
        minx, miny, maxx, maxy = gdf.total_bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise CRSError(
                f"plan_map: the {what} layer has no CRS and its coordinates are not "
                f"longitude/latitude (bounds {minx:.0f}, {miny:.0f}, {maxx:.0f}, {maxy:.0f}); "
                "set one with gdf.set_crs(...)."
            )
        logger.warning("plan_map: the %s layer has no CRS; assuming EPSG:4326", what)
        return gdf.set_crs(WGS84)
    return gdf if gdf.crs.equals(WGS84) else gdf.to_crs(WGS84)


def _total_bounds(layers: Iterable[gpd.GeoDataFrame | None]) -> tuple[float, ...] | None:
    boxes = [g.total_bounds for g in layers if g is not None and len(g)]
    if not boxes:
        return None
    arr = np.vstack(boxes)
    return (arr[:, 0].min(), arr[:, 1].min(), arr[:, 2].max(), arr[:, 3].max())


def _utm_crs(bounds: tuple[float, ...] | None) -> pyproj.CRS | None:
    """The UTM zone at the centre of lon/lat ``bounds`` (None without bounds)."""
    if bounds is None:
        return None
    return utm_crs((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2)


def _clip_context(
    gdf: gpd.GeoDataFrame, bounds: tuple[float, ...], metric: pyproj.CRS, margin_m: float
) -> gpd.GeoDataFrame:
    """Keep the part of a right-of-way layer near the plan."""
    if not len(gdf):
        return gdf
    # grow the box in metres, then back to degrees
    box = gpd.GeoSeries([shapely.box(*bounds)], crs=WGS84).to_crs(metric)
    box = box.buffer(margin_m, join_style="mitre").to_crs(WGS84)
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


def _simplify(gdf: gpd.GeoDataFrame, metric: pyproj.CRS | None, tolerance_m: float) -> np.ndarray:
    """Geometries simplified by ``tolerance_m`` metres, in EPSG:4326, coordinates rounded."""
    geoms = gdf.geometry
    if metric is not None and tolerance_m > 0:
        geoms = geoms.to_crs(metric).simplify(tolerance_m, preserve_topology=True)
        geoms = geoms.to_crs(WGS84)
    return _round_coords(np.asarray(geoms.values, dtype=object))


# --------------------------------------------------------------------------------------------
# text helpers (everything from the inputs goes through _esc)
# --------------------------------------------------------------------------------------------


def _is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, str) and not value.strip()


def _esc(value: Any) -> str:
    """HTML-escaped text of a value ("" for None / NaN)."""
    if _is_blank(value):
        return ""
    return html.escape(str(value), quote=True)


def _raw(value: Any) -> str:
    """Plain text of a value ("" for None / NaN), for the search index (shown only as text)."""
    return "" if _is_blank(value) else str(value)


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
    return f"{value / 1000:,.1f} km"


def _col(df: pd.DataFrame, name: str, default: Any = "") -> pd.Series:
    if name in df.columns:
        return df[name]
    return pd.Series([default] * len(df), index=df.index, dtype=object)


def _rows(parts: list[tuple[str, str]]) -> str:
    """``label: value`` lines; labels are ours, values must already be escaped."""
    return "<br>".join(f"{label}: {value}" for label, value in parts if value != "")


def _layer_title(name: str) -> str:
    """Display title of a right-of-way layer name ("nh" -> "National highways"), escaped."""
    return html.escape(_LAYER_TITLES.get(name, name.replace("_", " ").capitalize()))


# --------------------------------------------------------------------------------------------
# map, layers and controls
# --------------------------------------------------------------------------------------------


def _target_map(
    m: folium.Map | None, bounds: tuple[float, ...] | None, title: str | None
) -> folium.Map:
    """A new map centred on ``bounds`` (tiles come later), or ``m`` checked; either way made
    self-contained."""
    own = m is None
    if m is None:
        if bounds is None:
            location, zoom = [22.0, 79.0], 5  # India
        else:
            location, zoom = [(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2], 10
        m = folium.Map(
            location=location, zoom_start=zoom, tiles=None, control_scale=True, prefer_canvas=True
        )
        root = m.get_root()
        if _esc(title) and isinstance(root, Figure):  # a new map's root is its page
            root.title = _esc(title)
    elif not isinstance(m, folium.Map):
        raise InputError(f"plan_map: m must be a folium.Map, got {type(m).__name__}")
    make_offline(m, own=own)
    return m


def _set_view(m: folium.Map, bounds: tuple[float, ...] | None, tiles: str | None) -> None:
    """Fit a new map to the plan, then add its base tiles: only the fitted view's are fetched."""
    if bounds is not None:
        fit = FitBounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]], padding=(20, 20))
        fit.options["animate"] = False  # an animated zoom would fetch tiles of the first view
        m.add_child(fit)
    if tiles:
        layer = folium.TileLayer(tiles=tiles, show=False)  # added by OnlineTiles
        m.add_child(layer, name=layer.tile_name)
        m.add_child(OnlineTiles(layer))


def _draw(
    m: folium.Map,
    data: _MapData,
    bounds: tuple[float, ...] | None,
    drawing: _Drawing,
    legend: list[str],
) -> None:
    """Add every layer of the plan to ``m``, bottom to top, and their legend rows."""
    others = {"area": 0, "line": 0}  # layers without a style of their own, by kind
    for layer in data.layers:
        style = _row_style(layer, others[layer.kind])
        if layer.name not in _AREA_STYLES and layer.name not in _LINE_STYLES:
            others[layer.kind] += 1
        _add_row_layer(
            m, layer, style, bounds, drawing.simplify_m, drawing.context_margin_m, legend
        )
    if data.routes is not None and len(data.routes):
        names = _col(data.pops, "name") if data.pops is not None else pd.Series(dtype=object)
        names.index = names.index.astype(str)
        _add_routes(m, data.routes, drawing.color_by, names, drawing.max_segments, legend)
    if data.crossings is not None and len(data.crossings):
        _add_permissions(m, data.crossings, legend)
    if data.facilities is not None and len(data.facilities):
        _add_facilities(m, data.facilities, legend)
    if data.sites is not None and len(data.sites):
        _add_sites(m, data.sites, drawing.cluster_above, legend)
    if data.pops is not None and len(data.pops):
        _add_pops(m, data.pops, legend)


def _finish(m: folium.Map, legend: list[str], title: str | None, panel: str | None) -> None:
    """The layer control (last, as Leaflet needs), the legend and the totals panel."""
    controls = [c for c in m._children.values() if isinstance(c, folium.LayerControl)]
    if controls:
        for control in controls:  # drawn onto a map that has one: move it after our layers
            m._children.move_to_end(control.get_name())
    else:
        folium.LayerControl(collapsed=False).add_to(m)
    head = f'<div class="netplan-legend-title">{_esc(title)}</div>' if _esc(title) else ""
    body = head + "<details open><summary>Legend</summary>" + "".join(legend) + "</details>"
    HtmlControl(body, position="bottomright", class_name="netplan-legend").add_to(m)
    if panel:
        HtmlControl(panel, position="topleft", class_name="netplan-panel").add_to(m)


def _add_layer(m: folium.Map, name: str, spec: str, *, show: bool = True) -> None:
    """Add a data layer under a name (escaped) not yet used on ``m``."""
    taken = {c.layer_name for c in m._children.values() if isinstance(c, Layer)}
    unique, n = name, 1
    while unique in taken:
        n += 1
        unique = f"{name} ({n})"
    DataLayer(unique, spec, show=show).add_to(m)


def _spec(
    geoms: np.ndarray,
    props: Mapping[str, Sequence[Any]],
    styles: Sequence[Mapping[str, Any]],
    **options: Any,
) -> str:
    """A layer spec for ``netplanMap.layer``: styles, options and the features as GeoJSON.

    ``props`` are per-feature properties (``s`` style index, ``t`` tooltip, ``p`` popup, ``n``
    / ``i`` search name and id); blank ones are left out to keep the page small.
    """
    geometry = shapely.to_geojson(np.asarray(geoms, dtype=object))
    keys = list(props)
    features = []
    for i, geo in enumerate(geometry.tolist()):
        values = {k: props[k][i] for k in keys if props[k][i] != ""}
        features.append(f'{{"type":"Feature","geometry":{geo},"properties":{script_json(values)}}}')
    head = script_json({"styles": list(styles), **options})
    return f'{head[:-1]},"data":{{"type":"FeatureCollection","features":[{",".join(features)}]}}}}'


def _style_table(styles: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[int]]:
    """Distinct styles and each feature's index into them."""
    seen: dict[str, int] = {}
    table: list[dict[str, Any]] = []
    index = []
    for style in styles:
        key = script_json(dict(style))
        if key not in seen:
            seen[key] = len(table)
            table.append(dict(style))
        index.append(seen[key])
    return table, index


def _lines_by_group(routes: gpd.GeoDataFrame, codes: np.ndarray) -> np.ndarray:
    """One MultiLineString per group code (``0..codes.max()``) of the routes' lines."""
    lines = np.asarray(routes.geometry.values, dtype=object)
    parts, src = shapely.get_parts(lines, return_index=True)
    order = np.argsort(codes[src], kind="stable")
    return shapely.multilinestrings(parts[order], indices=codes[src][order])


# --------------------------------------------------------------------------------------------
# right-of-way layers
# --------------------------------------------------------------------------------------------


def _row_style(layer: RowLayer, position: int) -> dict[str, Any]:
    """Style of a right-of-way layer: forest and NH as always, others from a palette."""
    if layer.kind == "area":
        if layer.name in _AREA_STYLES:
            return _AREA_STYLES[layer.name]
        color = _AREA_PALETTE[position % len(_AREA_PALETTE)]
        return {"color": color, "weight": 1, "opacity": 0.7, "fillColor": color, "fillOpacity": 0.2}
    if layer.name in _LINE_STYLES:
        return _LINE_STYLES[layer.name]
    color = _LINE_PALETTE[position % len(_LINE_PALETTE)]
    return {"color": color, "weight": 5, "opacity": 0.6, "dashArray": "12 4"}


def _add_row_layer(
    m: folium.Map,
    layer: RowLayer,
    style: dict[str, Any],
    bounds: tuple[float, ...] | None,
    simplify_m: float,
    margin_m: float,
    legend: list[str],
) -> None:
    gdf = _prepare(layer.data, _layer_what(layer), _layer_geometry(layer))
    assert gdf is not None  # a RowLayer always holds a GeoDataFrame
    metric = _utm_crs(bounds or _total_bounds([gdf]))
    if bounds is not None and metric is not None:
        gdf = _clip_context(gdf, bounds, metric, margin_m)
    geoms = _simplify(gdf, metric, simplify_m) if len(gdf) else np.empty(0, dtype=object)
    keep = ~shapely.is_empty(geoms)
    gdf, geoms = gdf[keep], geoms[keep]
    if not len(gdf):
        return
    title = _layer_title(layer.name)
    tips = _row_tips(gdf, layer, f"<b>{title}</b>")
    _add_layer(
        m,
        f"{title} ({_esc(layer.authority)})",
        _spec(geoms, {"s": [0] * len(gdf), "t": tips}, [style]),
    )
    what = f"{len(gdf)} polygons" if layer.kind == "area" else f"{len(gdf)} lines"
    swatch = _swatch_area if layer.kind == "area" else _swatch_line
    legend.append(swatch(style, f"{title}: {_esc(layer.authority)} ({what})"))


def _row_tips(gdf: gpd.GeoDataFrame, layer: RowLayer, head: str) -> list[str]:
    """Tooltips of a right-of-way layer: its split and id attributes, then name-like ones."""
    lower = {str(c).lower(): c for c in gdf.columns if c != gdf.geometry.name}
    fields = [c for c in (layer.split_by, layer.id_column) if c is not None and c in gdf.columns]
    fields += [lower[f] for f in _CONTEXT_FIELDS if f in lower and lower[f] not in fields]
    tips = []
    for row in gdf[fields].itertuples(index=False, name=None):
        parts = [(html.escape(str(f)), _esc(v)) for f, v in zip(fields, row, strict=True)]
        body = _rows([p for p in parts if p[1]][:_CONTEXT_MAX_FIELDS])
        tips.append(head + (f"<br>{body}" if body else ""))
    return tips


# --------------------------------------------------------------------------------------------
# routes
# --------------------------------------------------------------------------------------------


def _flag_columns(routes: pd.DataFrame) -> list[str]:
    """The right-of-way columns of the routes (``in_L_m``, ``L_crossings``, ``along_L_m``)."""
    return [
        c
        for c in routes.columns
        if isinstance(c, str)
        and (
            (c.startswith("in_") and c.endswith("_m"))
            or c.endswith("_crossings")
            or (c.startswith("along_") and c.endswith("_m"))
        )
    ]


def _row_flags(row: Mapping[str, Any]) -> list[tuple[str, str]]:
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


def _route_frame(routes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Routes with a known ``kind``, text ``pop_id`` and a ``length_m`` for every segment."""
    routes = routes.copy()
    routes["kind"] = _col(routes, "kind", "road").fillna("road").astype(str)
    routes.loc[~routes["kind"].isin(list(ROUTE_STYLES)), "kind"] = "road"
    pop_id = _col(routes, "pop_id")
    routes["pop_id"] = pop_id.astype(str).where(pop_id.notna(), "")
    length = pd.to_numeric(_col(routes, "length_m", np.nan), errors="coerce")
    if length.isna().any():  # lengths from a metric projection
        length = length.fillna(routes.geometry.to_crs(_utm_crs(tuple(routes.total_bounds))).length)
    routes["length_m"] = length
    return routes


def _add_routes(
    m: folium.Map,
    routes: gpd.GeoDataFrame,
    color_by: str,
    pop_names: pd.Series,
    max_segments: int,
    legend: list[str],
) -> None:
    routes = _route_frame(routes)
    coloring = ROUTE_COLORINGS[color_by](routes)
    routes["_cat"] = coloring.values.reindex(routes.index).astype(str)
    labels = coloring.labels or {}
    cat_line = coloring.title if coloring.in_tooltip else None
    pop_label = {k: _pop_label(k, pop_names.get(k)) for k in routes["pop_id"].unique()}
    if len(routes) > max_segments:
        logger.info("plan_map: %d route segments merged per PoP, kind and colour", len(routes))
        geoms, keys, tips = _merged_routes(routes, pop_label, labels, cat_line)
    else:
        geoms, keys, tips = _segment_routes(routes, pop_label, labels, cat_line)
    looks = [dict(ROUTE_STYLES[kind], color=coloring.colors[cat]) for cat, kind in keys]
    styles, index = _style_table(looks)
    _add_layer(m, "Routes", _spec(geoms, {"s": index, "t": tips}, styles))
    legend.extend(_route_legend(routes, coloring, by_kind=color_by == "kind"))


def _pop_label(pop_id: str, name: Any) -> str:
    return " ".join(v for v in (_esc(pop_id), _esc(name)) if v)


def _category_part(cat: str, labels: Mapping[str, str], title: str | None) -> list[tuple[str, str]]:
    return [] if title is None else [(html.escape(title), _esc(labels.get(cat, cat)))]


def _segment_routes(
    routes: gpd.GeoDataFrame,
    pop_label: Mapping[str, str],
    labels: Mapping[str, str],
    cat_title: str | None,
) -> tuple[np.ndarray, list[tuple[str, str]], list[str]]:
    """One feature per segment: geometries, (category, kind) and tooltips."""
    order = ["pop_id", "segment_id"] if "segment_id" in routes else ["pop_id"]
    routes = routes.sort_values(order, kind="stable")
    flag_cols = _flag_columns(routes)
    geoms = _round_coords(np.asarray(routes.geometry.values, dtype=object))
    keys, tips = [], []
    for row in routes.to_dict("records"):
        road = " ".join(v for v in (_esc(row.get("road_name")), _esc(row.get("ref"))) if v)
        parts = [
            ("PoP", pop_label[row["pop_id"]]),
            *_category_part(row["_cat"], labels, cat_title),
            ("length", _fmt_len(row["length_m"])),
            ("class", _esc(row.get("road_class"))),
            ("road", road),
            *_build_parts(row),
            ("GPs served", _served_text(row)),
            ("segment", _esc(row.get("segment_id"))),
            *_row_flags({c: row.get(c) for c in flag_cols}),
        ]
        keys.append((row["_cat"], row["kind"]))
        tips.append(f"<b>{_ROUTE_LABELS[row['kind']]}</b><br>" + _rows(parts))
    return geoms, keys, tips


_MAX_GP_IDS = 8  # GP ids named in a segment's tooltip


def _build_parts(row: Mapping[str, Any]) -> list[tuple[str, str]]:
    """How a segment is built: its method and cable size (when the routes carry them)."""
    parts = []
    method = row.get("method")
    if not _is_blank(method):
        parts.append(("method", _esc(_METHOD_LABELS.get(str(method), method))))
    fibres = _num(row.get("fibres"))
    if fibres is not None:
        parts.append(("cable", f"{fibres:.0f} fibres"))
    return parts


def _served_text(row: Mapping[str, Any]) -> str:
    """The number of GPs a segment serves and the first few of their ids (escaped)."""
    count = _esc(row.get("gps_served"))
    ids = [i for i in str(row.get("gp_ids") or "").split(";") if i]
    if not ids:
        return count
    shown = ", ".join(_esc(i) for i in ids[:_MAX_GP_IDS])
    more = f" and {len(ids) - _MAX_GP_IDS} more" if len(ids) > _MAX_GP_IDS else ""
    return f"{count}: {shown}{more}"


def _merged_routes(
    routes: gpd.GeoDataFrame,
    pop_label: Mapping[str, str],
    labels: Mapping[str, str],
    cat_title: str | None,
) -> tuple[np.ndarray, list[tuple[str, str]], list[str]]:
    """One line-merged feature per PoP, kind and category, with totals in its tooltip."""
    groups = pd.MultiIndex.from_frame(routes[["pop_id", "kind", "_cat"]])
    codes, uniques = pd.factorize(groups, sort=True)
    geoms = _round_coords(shapely.line_merge(_lines_by_group(routes, codes)))
    flag_cols = _flag_columns(routes)
    frame = pd.DataFrame(
        {
            "code": codes,
            "length_m": routes["length_m"].to_numpy(),
            "cls": _col(routes, "road_class").fillna("").astype(str).to_numpy(),
        }
    )
    for c in flag_cols:
        frame[c] = pd.to_numeric(routes[c], errors="coerce").to_numpy()
    totals = frame.groupby("code").agg(
        length_m=("length_m", "sum"), n=("length_m", "size"), **{c: (c, "sum") for c in flag_cols}
    )
    by_class = frame.groupby(["code", "cls"])["length_m"].sum()
    keys, tips = [], []
    for code, (pop_id, kind, cat) in enumerate(uniques):
        total = totals.loc[code]
        classes = by_class.loc[code].sort_values(ascending=False, kind="stable")
        cls_text = ", ".join(
            f"{_esc(c) or 'unclassified'} {_fmt_len(v)}" for c, v in classes.items()
        )
        parts = [
            ("PoP", pop_label[pop_id]),
            *_category_part(cat, labels, cat_title),
            ("length", f"{_fmt_len(total['length_m'])} in {int(total['n'])} segments"),
            ("class", cls_text if kind == "road" else ""),
            *_row_flags({c: total[c] for c in flag_cols}),
        ]
        keys.append((cat, kind))
        tips.append(f"<b>{_ROUTE_LABELS[kind]}</b><br>" + _rows(parts))
    return geoms, keys, tips


def _route_legend(routes: gpd.GeoDataFrame, coloring: RouteColoring, *, by_kind: bool) -> list[str]:
    """Legend rows: the colour categories (or one summary row), then each kind's line style."""
    rows = []
    if coloring.labels is None:
        n = routes["_cat"].nunique()
        rows.append(
            _legend_row(
                _swatch_palette(), f"Routes: one colour per {html.escape(coloring.title)} ({n})"
            )
        )
    elif not by_kind:
        lengths = routes.groupby("_cat")["length_m"].sum()
        for cat in list(lengths.index)[:_MAX_LEGEND_CATEGORIES]:
            label = f"{_esc(coloring.labels.get(cat, cat))} ({_fmt_len(lengths[cat])})"
            rows.append(_swatch_line(dict(weight=4, color=coloring.colors[cat]), label))
        if len(lengths) > _MAX_LEGEND_CATEGORIES:
            rows.append(_legend_row("", f"&hellip; {len(lengths) - _MAX_LEGEND_CATEGORIES} more"))
    lengths = routes.groupby("kind")["length_m"].sum()
    for kind, style in ROUTE_STYLES.items():
        if kind in lengths.index:
            look = dict(style, color=style["color"] if by_kind else _NEUTRAL)
            rows.append(_swatch_line(look, f"{_ROUTE_LABELS[kind]} ({_fmt_len(lengths[kind])})"))
    return rows


# --------------------------------------------------------------------------------------------
# permission points, GPs and PoPs
# --------------------------------------------------------------------------------------------


def _permit_text(row: Mapping[str, Any]) -> str:
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


def _add_permissions(m: folium.Map, crossings: gpd.GeoDataFrame, legend: list[str]) -> None:
    crossings = crossings.copy()
    crossings["kind"] = _col(crossings, "kind", "crossing").fillna("crossing").astype(str)
    crossings.loc[~crossings["kind"].isin(list(_PERMIT_STYLES)), "kind"] = "crossing"
    sort_cols = [c for c in ("kind", "pop_id", "segment_id", "chainage_km") if c in crossings]
    crossings = crossings.sort_values(sort_cols, kind="stable") if sort_cols else crossings
    kinds = list(_PERMIT_STYLES)
    tips, popups, index = [], [], []
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
        index.append(kinds.index(row["kind"]))
    points = _round_coords(np.asarray(shapely.centroid(crossings.geometry.values), dtype=object))
    styles = [dict(s, fill=True, fillOpacity=0.95) for s in _PERMIT_STYLES.values()]
    _add_layer(m, "Permissions", _spec(points, {"s": index, "t": tips, "p": popups}, styles))
    counts = crossings["kind"].value_counts()
    for kind, label in _PERMIT_LABELS.items():
        if kind in counts:
            legend.append(_swatch_point(_PERMIT_STYLES[kind], f"{label} ({counts[kind]})"))


def _gp_texts(sites: gpd.GeoDataFrame, routed: np.ndarray) -> tuple[list[str], list[str]]:
    """Tooltip and popup of every GP (escaped HTML)."""
    reason = _col(sites, "reason").fillna("").astype(str).tolist()
    tips, popups = [], []
    for i, (site_id, row) in enumerate(zip(sites.index, sites.to_dict("records"), strict=True)):
        name, sid = _esc(row.get("name")), _esc(site_id)
        head = f"<b>{name or sid}</b>" + (f" ({sid})" if name else "")
        if routed[i]:
            body = _rows(
                [("PoP", _esc(row.get("pop_id")))]
                + [
                    (label, _fmt_len(row.get(key)))
                    for label, key in (
                        ("route", "route_m"),
                        ("network distance", "network_m"),
                        ("spur", "spur_m"),
                    )
                    if _num(row.get(key)) is not None
                ]
                + _optical_parts(row)
            )
        else:
            unroutable = _esc(reason[i]) or "no reason given"
            body = _rows([("PoP", _esc(row.get("pop_id"))), ("unroutable", unroutable)])
        tips.append(head + ("" if routed[i] else " &ndash; unroutable"))
        popups.append(head + (f"<br>{body}" if body else ""))
    return tips, popups


def _optical_parts(row: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A routed GP's optical check (when the sites carry it)."""
    parts = []
    if _num(row.get("fibre_path_m")) is not None:
        parts.append(("fibre path", _fmt_len(row.get("fibre_path_m"))))
    loss = _num(row.get("optical_loss_db"))
    if loss is not None:
        parts.append(("optical loss", f"{loss:.1f} dB"))
    ok = row.get("optical_ok")
    if isinstance(ok, bool | np.bool_) and not ok:
        parts.append(("over budget", _esc(row.get("optical_reason")) or "yes"))
    return parts


def _add_sites(
    m: folium.Map, sites: gpd.GeoDataFrame, cluster_above: int | None, legend: list[str]
) -> None:
    sites = sites.sort_index(kind="stable")
    if "routed" in sites.columns:
        routed = sites["routed"].fillna(False).astype(bool).to_numpy()
    else:
        routed = (_col(sites, "reason").fillna("").astype(str).str.strip() == "").to_numpy()
    tips, popups = _gp_texts(sites, routed)
    names = [_raw(v) for v in _col(sites, "name")]
    ids = [_raw(v) for v in sites.index]
    points = _round_coords(np.asarray(shapely.centroid(sites.geometry.values), dtype=object))
    over = routed & ~_col(sites, "optical_ok", True).fillna(True).astype(bool).to_numpy()
    groups = (
        (routed & ~over, "GP routed", _GP_OK, "GPs routed", True),
        (over, "GP routed, over the optical budget", _GP_OVER, "GPs over optical budget", False),
        (~routed, "GP unroutable", _GP_BAD, "GPs unroutable", False),
    )
    for chosen, label, style, layer_name, may_cluster in groups:
        pick = np.flatnonzero(chosen)
        if not len(pick):
            continue
        cluster = may_cluster and cluster_above is not None and len(pick) > cluster_above
        props: dict[str, list[Any]] = {
            "s": [0] * len(pick),
            "t": [tips[i] for i in pick],
            "p": [popups[i] for i in pick],
            "n": [names[i] for i in pick],
            "i": [ids[i] for i in pick],
        }
        spec = _spec(points[pick], props, [style], cluster=cluster, search=True)
        _add_layer(m, layer_name, spec)
        note = ", clustered when zoomed out" if cluster else ""
        legend.append(_swatch_point(style, f"{label} ({len(pick)}{note})"))


def _facility_styles(position: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The point style of the category at ``position`` when connected (filled) and when not
    (hollow)."""
    color = PALETTE[position % len(PALETTE)]
    connected = {"radius": 6, "color": "#000000", "weight": 1.5, "fillColor": color}
    missing = {"radius": 6, "color": color, "weight": 2.5, "fillColor": "#ffffff"}
    return dict(connected, fill=True, fillOpacity=0.95), dict(missing, fill=True, fillOpacity=0.9)


def _facility_texts(facilities: gpd.GeoDataFrame, routed: np.ndarray) -> tuple[list, list]:
    """Tooltip and popup of every facility (escaped HTML)."""
    tips, popups = [], []
    for i, (fid, row) in enumerate(
        zip(facilities.index, facilities.to_dict("records"), strict=True)
    ):
        name, fid_e = _esc(row.get("name")), _esc(fid)
        category = _esc(row.get("category")) or "no category"
        head = f"<b>{name or fid_e}</b>" + (f" ({fid_e})" if name else "") + f" &ndash; {category}"
        status = "connected" if routed[i] else _esc(row.get("reason")) or "not connected"
        body = _rows(
            [
                ("PoP", _esc(row.get("pop_id"))),
                ("status", status),
                ("served by", _esc(row.get("served_by"))),
                ("route", _fmt_len(row.get("route_m")) if _num(row.get("route_m")) else ""),
                ("phase", _esc(row.get("phase"))),
            ]
        )
        tips.append(head + ("" if routed[i] else " &ndash; not connected"))
        popups.append(head + (f"<br>{body}" if body else ""))
    return tips, popups


def _add_facilities(m: folium.Map, facilities: gpd.GeoDataFrame, legend: list[str]) -> None:
    """Service points, one colour per category, hollow when not connected; a legend row per
    category with its count connected."""
    facilities = facilities.sort_index(kind="stable")
    category = _col(facilities, "category").map(_raw)
    routed = _col(facilities, "routed", False).fillna(False).astype(bool).to_numpy()
    kinds = sorted(category.unique(), key=lambda c: (c == "", c.lower()))
    styles = [style for position in range(len(kinds)) for style in _facility_styles(position)]
    position_of = {kind: position for position, kind in enumerate(kinds)}
    index = [2 * position_of[c] + (0 if ok else 1) for c, ok in zip(category, routed, strict=True)]
    tips, popups = _facility_texts(facilities, routed)
    points = _round_coords(np.asarray(shapely.centroid(facilities.geometry.values), dtype=object))
    props = {
        "s": index,
        "t": tips,
        "p": popups,
        "n": [_raw(v) for v in _col(facilities, "name")],
        "i": [_raw(v) for v in facilities.index],
    }
    _add_layer(m, "Facilities", _spec(points, props, styles, search=True))
    for position, kind in enumerate(kinds):
        mine = (category == kind).to_numpy()
        label = f"{_esc(kind) or 'no category'}: {int(routed[mine].sum())} of {int(mine.sum())} connected"
        legend.append(_swatch_point(styles[2 * position], label))
    if not routed.all():
        hollow = dict(styles[1], color=_NEUTRAL)
        legend.append(_swatch_point(hollow, "Facility not connected (hollow; see its reason)"))


def _add_pops(m: folium.Map, pops: gpd.GeoDataFrame, legend: list[str]) -> None:
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
    props: dict[str, list[Any]] = {"s": [0] * len(pops), "t": tips, "p": popups}
    _add_layer(m, "PoPs", _spec(points, props, [{}], icon=_POP_ICON))
    legend.append(
        _legend_row(
            '<span class="netplan-pop" style="display:inline-block"></span>', f"PoP ({len(pops)})"
        )
    )


# --------------------------------------------------------------------------------------------
# totals panel
# --------------------------------------------------------------------------------------------


def _totals_panel(summary: pd.DataFrame | None, permits: pd.DataFrame | None) -> str | None:
    """The plan's totals as an HTML table (escaped), from the summary's ``TOTAL`` row."""
    if summary is None or "TOTAL" not in summary.index:
        return None
    total = summary.loc["TOTAL"]

    def get(key: str) -> float | None:
        return _num(total.get(key))

    rows = _gp_rows(get) + _rollout_rows(get) + _length_rows(get) + _row_layer_rows(total, get)
    if get("rings") is not None:
        rows.append(("Rings", f"{get('rings'):,.0f}", ""))
        rows.append(("&nbsp; run twice", f"{get('ring_shared_km') or 0:,.1f} km", ""))
    if permits is not None:
        rows += _permit_rows(permits)
    cost = get("cost")
    if cost is not None:
        rows.append(("Cost", f"{cost:,.0f}", ""))
        rows.append(("", f"{cost / 1e7:,.2f} crore", ""))
    cells = "".join(
        f'<tr><td>{label}</td><td class="netplan-num{extra}">{value}</td></tr>'
        for label, value, extra in rows
    )
    return f"<details open><summary>Plan totals</summary><table>{cells}</table></details>"


def _gp_rows(get: Callable[[str], float | None]) -> list[tuple[str, str, str]]:
    rows = []
    if get("gps") is not None:
        rows.append(("GPs routed", f"{get('routed') or 0:,.0f} of {get('gps'):,.0f}", ""))
    if get("unroutable") is not None:
        alert = " netplan-alert" if get("unroutable") else ""
        rows.append(("GPs unroutable", f"{get('unroutable'):,.0f}", alert))
    if get("optical_fail") is not None:
        alert = " netplan-alert" if get("optical_fail") else ""
        rows.append(("GPs over optical budget", f"{get('optical_fail'):,.0f}", alert))
    return rows


def _rollout_rows(get: Callable[[str], float | None]) -> list[tuple[str, str, str]]:
    """GPs that need no permission, the month the last GP is ready, facilities connected."""
    rows = []
    if get("phase1_gps") is not None:
        rows.append(("&nbsp; phase 1 (no permission)", f"{get('phase1_gps'):,.0f}", ""))
    if get("last_ready_month") is not None:
        rows.append(("&nbsp; all ready by", f"month {get('last_ready_month'):,.0f}", ""))
    if get("facilities_connected") is not None:
        total = (get("facilities_connected") or 0) + (get("facilities_not_connected") or 0)
        rows.append(
            ("Facilities connected", f"{get('facilities_connected'):,.0f} of {total:,.0f}", "")
        )
    return rows


def _length_rows(get: Callable[[str], float | None]) -> list[tuple[str, str, str]]:
    rows = []
    for key, label in (
        ("route_km", "Route"),
        ("trench_km", "New trench" if get("route_km") is not None else "Trench"),
        ("aerial_km", "Aerial on poles"),
        ("existing_km", "Existing fibre reused"),
        ("road_km", "&nbsp; along roads"),
        ("spur_km", "&nbsp; off-road spurs"),
        ("bridge_km", "&nbsp; bridge links"),
        ("cable_km", "New cable" if get("route_km") is not None else "Cable"),
    ):
        if get(key) is not None:
            rows.append((label, f"{get(key):,.1f} km", ""))
    if get("bridge_links"):
        rows.append(("&nbsp; bridge links to survey", f"{get('bridge_links'):,.0f}", ""))
    return rows


def _row_layer_rows(
    total: pd.Series, get: Callable[[str], float | None]
) -> list[tuple[str, str, str]]:
    """Per right-of-way layer: km and ha inside an area layer; crossings and km along a line."""
    rows = []
    for key in total.index:
        key = str(key)
        if key.startswith("in_") and key.endswith("_km"):
            name = key[3:-3]
            text = f"{get(key) or 0:,.1f} km"
            if get(f"{name}_ha") is not None:
                text += f", {get(f'{name}_ha'):,.1f} ha"
            rows.append((f"In {_layer_title(name).lower()}", text, ""))
        elif key.endswith("_crossings"):
            name = key[: -len("_crossings")]
            rows.append((f"{_layer_title(name)} crossings", f"{get(key) or 0:,.0f}", ""))
            if get(f"along_{name}_km") is not None:
                rows.append(("&nbsp; km alongside", f"{get(f'along_{name}_km'):,.1f} km", ""))
    return rows


def _permit_rows(permits: pd.DataFrame) -> list[tuple[str, str, str]]:
    rows = [("Permit items", f"{len(permits):,}", "")]
    if "authority" in permits.columns:
        counts = permits["authority"].map(_raw).value_counts().sort_index()
        rows += [(f"&nbsp; {_esc(a) or 'unknown'}", f"{n:,}", "") for a, n in counts.items()]
    if "over_threshold" in permits.columns:
        over = int(permits["over_threshold"].fillna(False).astype(bool).sum())
        if over:
            rows.append(("&nbsp; over the area threshold", f"{over:,}", " netplan-alert"))
    return rows


# --------------------------------------------------------------------------------------------
# legend swatches
# --------------------------------------------------------------------------------------------


def _legend_row(svg: str, label: str) -> str:
    """One legend row: a small key and its (already escaped) label."""
    return (
        f'<div class="netplan-legend-row"><span class="netplan-legend-key">{svg}</span>'
        f"{label}</div>"
    )


def _swatch_line(style: Mapping[str, Any], label: str) -> str:
    dash = style.get("dashArray")
    svg_dash = f' stroke-dasharray="{dash}"' if dash else ""
    svg = (
        f'<svg width="34" height="12"><line x1="1" y1="6" x2="33" y2="6" stroke="{style["color"]}" '
        f'stroke-width="{min(style.get("weight", 3), 5)}"{svg_dash} '
        f'stroke-opacity="{style.get("opacity", 1)}"/></svg>'
    )
    return _legend_row(svg, label)


def _swatch_palette() -> str:
    """A line in segments of the first palette colours (routes coloured by many categories)."""
    width = 32 / 6
    parts = "".join(
        f'<line x1="{1 + i * width:.1f}" y1="6" x2="{1 + (i + 1) * width:.1f}" y2="6" '
        f'stroke="{color}" stroke-width="4"/>'
        for i, color in enumerate(PALETTE[:6])
    )
    return f'<svg width="34" height="12">{parts}</svg>'


def _swatch_area(style: Mapping[str, Any], label: str) -> str:
    svg = (
        f'<svg width="34" height="14"><rect x="4" y="1" width="26" height="12" '
        f'fill="{style["fillColor"]}" fill-opacity="{style["fillOpacity"] + 0.2}" '
        f'stroke="{style["color"]}"/></svg>'
    )
    return _legend_row(svg, label)


def _swatch_point(style: Mapping[str, Any], label: str) -> str:
    svg = (
        f'<svg width="34" height="16"><circle cx="17" cy="8" r="6" fill="{style["fillColor"]}" '
        f'stroke="{style["color"]}" stroke-width="1.5"/></svg>'
    )
    return _legend_row(svg, label)
