"""The page side of netplan's maps: inlined Leaflet, marker clustering, and the map runtime.

A map netplan draws loads nothing from the internet but its base tiles: Leaflet and
Leaflet.markercluster come from the ``xstatic-leaflet`` and ``xstatic-leaflet-markercluster``
packages and are written into the page, with the images their stylesheets use as ``data:`` URIs,
together with netplan's own runtime (``_static/netplan_map.js``: layers from compact specs, the
GP search box, HTML controls) and stylesheet.

The folium elements here are the only places that write netplan's data into the page's script;
they go through :func:`script_json`, which keeps ``</script>`` and friends out of it.
"""

from __future__ import annotations

import base64
import json
import re
from collections import OrderedDict
from functools import cache
from pathlib import Path
from typing import Any

import folium
import xstatic.pkg.leaflet as xs_leaflet
import xstatic.pkg.leaflet_markercluster as xs_cluster
from branca.element import Element, Figure, MacroElement, Template
from folium.map import Layer

__all__ = [
    "OnlineTiles",
    "Assets",
    "DataLayer",
    "HtmlControl",
    "make_offline",
    "page_assets",
    "script_json",
]

_STATIC = Path(__file__).resolve().parent / "_static"
_SOURCE_MAP = re.compile(
    r"^\s*(//[#@] sourceMappingURL=.*|/\*[#@] sourceMappingURL=.*?\*/)\s*$", re.M
)
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_CSS_URL = re.compile(r"url\(\s*['\"]?(images/[\w.-]+\.png)['\"]?\s*\)")
_CLUSTER_NOTICE = (
    f"/* Leaflet.markercluster {xs_cluster.VERSION}, (c) 2012-2017 Dave Leaver, MIT licence */\n"
)
# folium's own CDN resources (Leaflet, jQuery, Bootstrap, awesome-markers, Font Awesome)
_FOLIUM_JS = {name for name, _ in folium.Map.default_js}
_FOLIUM_CSS = {name for name, _ in folium.Map.default_css}
_LEAFLET_JS = {"leaflet"}
_LEAFLET_CSS = {"leaflet_css"}
_HEADER_NAMES = ("netplan_favicon", "netplan_css", "netplan_js")
_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "'": "\\u0027",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_JSON_UNSAFE = re.compile("[<>&'\u2028\u2029]")


def script_json(value: Any) -> str:
    r"""Compact JSON of ``value`` that is safe inside an HTML ``<script>`` block.

    ``<``, ``>``, ``&`` and ``'`` are written as ``\u`` escapes (as Jinja's ``tojson`` does), so
    no text from an input file can close the script or open a comment in it.

    Examples
    --------
    >>> print(script_json({"t": "</script> & 'x'"}))
    {"t":"\u003c/script\u003e \u0026 \u0027x\u0027"}
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return _JSON_UNSAFE.sub(lambda match: _JSON_ESCAPES[match.group()], text)


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _inline_images(css: str, folder: Path) -> str:
    """The stylesheet with its ``url(images/*.png)`` references as ``data:`` URIs."""

    def data_uri(match: re.Match[str]) -> str:
        payload = base64.b64encode((folder / match.group(1)).read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{payload})"

    return _CSS_URL.sub(data_uri, _CSS_COMMENT.sub("", css))


@cache
def page_assets() -> tuple[str, str]:
    """The inlined stylesheet and script of a netplan map: ``(css, js)``."""
    leaflet = Path(xs_leaflet.BASE_DIR)
    cluster = Path(xs_cluster.BASE_DIR)
    css = "\n".join(
        [
            _inline_images(_read(leaflet / "leaflet.css"), leaflet),
            _CSS_COMMENT.sub("", _read(cluster / "MarkerCluster.css")),
            _CSS_COMMENT.sub("", _read(cluster / "MarkerCluster.Default.css")),
            _read(_STATIC / "netplan_map.css"),
        ]
    )
    js = "\n".join(
        [
            _SOURCE_MAP.sub("", _read(leaflet / "leaflet.js")),
            _CLUSTER_NOTICE + _SOURCE_MAP.sub("", _read(cluster / "leaflet.markercluster.js")),
            _read(_STATIC / "netplan_map.js"),
        ]
    )
    return css, js


def make_offline(m: folium.Map, *, own: bool) -> None:
    """Stop ``m`` linking folium's CDN resources; :class:`Assets` inlines what the map needs.

    Leaflet itself is always inlined instead of linked. The rest (jQuery, Bootstrap,
    awesome-markers, Font Awesome) is dropped from maps netplan creates (``own``), which use none
    of it, and kept on a map the caller made, whose own markers may need it.
    """
    drop_js = _FOLIUM_JS if own else _LEAFLET_JS
    drop_css = _FOLIUM_CSS if own else _LEAFLET_CSS
    m.default_js = [(name, url) for name, url in m.default_js if name not in drop_js]
    m.default_css = [(name, url) for name, url in m.default_css if name not in drop_css]
    if not any(isinstance(child, Assets) for child in m._children.values()):
        m.add_child(Assets(), name="netplan_assets")


class Assets(MacroElement):
    """Writes the inlined assets at the top of the page's ``<head>`` (after the charset)."""

    def __init__(self) -> None:
        super().__init__()
        self._name = "NetplanAssets"

    # branca annotates Element.render as returning the HTML; a MacroElement's render (like
    # this one) writes into the page's header and returns None
    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        css, js = page_assets()
        root = self.get_root()
        assert isinstance(root, Figure)  # the page a map is drawn on
        header = root.header
        header.add_child(Element('<link rel="icon" href="data:,">'), name=_HEADER_NAMES[0])
        header.add_child(Element(f"<style>{css}</style>"), name=_HEADER_NAMES[1])
        header.add_child(Element(f"<script>{js}</script>"), name=_HEADER_NAMES[2])
        # the charset declaration must stay within the first 1024 bytes: it comes first
        items = list(header._children.items())
        first = [(k, v) for k, v in items if k == "meta_http"]
        ours = [(k, v) for k, v in items if k in _HEADER_NAMES]
        rest = [(k, v) for k, v in items if k != "meta_http" and k not in _HEADER_NAMES]
        header._children = OrderedDict(first + ours + rest)
        super().render(**kwargs)


class DataLayer(Layer):
    """One of the plan's layers, built in the page by ``netplanMap.layer`` from a spec.

    Parameters
    ----------
    name
        Name in the layer control, already HTML-escaped (Leaflet shows it as HTML).
    spec
        The layer's spec as JSON from :func:`script_json`: ``styles`` (Leaflet path options; a
        feature's property ``s`` indexes them), ``data`` (a GeoJSON FeatureCollection whose
        properties are ``s``, tooltip ``t``, popup ``p`` and, for searchable GPs, name ``n`` and
        id ``i``), optional ``icon`` (``L.divIcon`` options: points drawn as icons), ``cluster``
        and ``search``.
    show
        Whether the layer is on when the page opens.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = netplanMap.layer({{ this._parent.get_name() }}, {{ this.spec }});
        {% endmacro %}
        """
    )

    def __init__(self, name: str, spec: str, *, show: bool = True) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "NetplanLayer"
        self.spec = spec


class HtmlControl(MacroElement):
    """A box of (already escaped) HTML in a corner of the map: the legend or the totals."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        netplanMap.control({{ this._parent.get_name() }}, {{ this.position }}, {{ this.html }},
            {{ this.class_name }});
        {% endmacro %}
        """
    )

    def __init__(self, html: str, *, position: str, class_name: str) -> None:
        super().__init__()
        self._name = "NetplanControl"
        self.html = script_json(html)
        self.position = script_json(position)
        self.class_name = script_json(f"netplan-box {class_name}")


class OnlineTiles(MacroElement):
    """Adds a base tile layer to the map only while the browser says it is online.

    Offline (``navigator.onLine`` false, e.g. a district office PC without a connection) the page
    requests no tiles at all, so it logs no failed requests, and it adds them as soon as the
    browser comes online.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var layer = {{ this.layer.get_name() }}, map = {{ this._parent.get_name() }};
            function add() { if (!map.hasLayer(layer)) { layer.addTo(map); } }
            if (navigator.onLine !== false) { add(); }
            window.addEventListener("online", add);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, layer: Layer) -> None:
        super().__init__()
        self._name = "NetplanOnlineTiles"
        self.layer = layer
