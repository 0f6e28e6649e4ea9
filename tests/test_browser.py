"""Open saved plan maps in a real headless browser (selenium + chromium) with the network blocked.

Two pages are opened, as ``map.html`` files, in Chromium whose host names all fail to resolve and
whose http(s) requests are blocked:

* a small plan with hostile names (HTML/script payloads in GP, PoP, forest, road, railway and
  authority names and in reasons): Leaflet is defined (it is inlined), the layer control, legend,
  totals and search box are there, every popup and tooltip shows the payloads as inert text, the
  search box finds GPs by name and id and opens their popup, nothing but base tiles was
  requested and the page raised no error;
* a synthetic plan of 10,000 GPs around 100 PoPs (built in a second, not a state plan): it is
  drawn, its initial view has at most 3,000 DOM markers, and the search reveals a clustered GP.

Outside CI the tests are skipped when chromium or chromedriver is not installed; in CI
(``CI=true``) they fail instead.
"""

from __future__ import annotations

import json
import os
import shutil
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon

from netplan.maps import plan_map, save_map
from netplan.row import RowLayer

GP_NAME = '<img src=x onerror="window.__pwned=1">'
POP_NAME = "<script>window.__pwned=1</script>"
FOREST_NAME = '</script><script>window.__pwned=1</script><b onmouseover="window.__pwned=1">f</b>'
ROAD_NAME = '<svg onload="window.__pwned=1"></svg>'
REASON = 'no road within 2000 m <img src=y onerror="window.__pwned=1">'
AUTHORITY = '<img src=z onerror="window.__pwned=1">Railways'
OVERLAYS = [
    "Forest (Forest Department)",
    "National highways (NHAI / MoRTH)",
    f"Railway ({AUTHORITY})",
    "Routes",
    "Permissions",
    "GPs routed",
    "GPs unroutable",
    "PoPs",
]
TILE_HOST = "https://tile.openstreetmap.org/"
MAX_DOM_MARKERS = 3000
MAP = "Object.keys(window).map(k => window[k]).find(v => v instanceof L.Map)"


def _find(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name) or (
            name if os.path.isabs(name) and os.access(name, os.X_OK) else None
        )
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    in_ci = os.environ.get("CI", "").lower() == "true"
    chromium = _find("chromium", "chromium-browser", "/usr/bin/chromium")
    chromedriver = _find("chromedriver", "/usr/bin/chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:  # pragma: no cover - depends on the machine
        webdriver = None
    missing = [
        what
        for what, ok in (
            ("selenium", webdriver is not None),
            ("chromium", chromium),
            ("chromedriver", chromedriver),
        )
        if not ok
    ]
    if missing:
        message = (
            f"browser test needs {', '.join(missing)} (apt-get install chromium chromium-driver)"
        )
        if in_ci:
            pytest.fail(message)
        pytest.skip(message)

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1200,850",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # no host name resolves: no network
        f"--user-data-dir={tmp_path_factory.mktemp('chrome-profile')}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    drv = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    drv.set_page_load_timeout(30)
    drv.execute_cdp_cmd("Network.enable", {})
    drv.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["http://*", "https://*"]})
    drv.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": PRELUDE})
    try:
        yield drv
    finally:
        drv.quit()


# Installed before any page script runs: records errors; the payloads would set __pwned.
PRELUDE = """
window.__errors = [];
window.addEventListener('error', function (e) { window.__errors.push(String(e.message)); });
"""


def open_page(driver, path) -> dict:
    """Load ``path``; return the requested URLs and the browser's console entries."""
    driver.get_log("browser"), driver.get_log("performance")  # drain earlier pages' logs
    driver.get(path.as_uri())
    deadline = time.monotonic() + 20
    while not driver.execute_script(
        "return document.readyState === 'complete' && typeof window.netplanMap === 'object'"
    ):
        assert time.monotonic() < deadline, "the map did not load"
        time.sleep(0.1)
    time.sleep(0.5)  # chunked clustering and canvas drawing
    events = [json.loads(e["message"])["message"] for e in driver.get_log("performance")]
    urls = {
        e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"
    }
    return {"urls": urls, "console": driver.get_log("browser")}


def assert_offline_and_clean(driver, loaded: dict, path) -> None:
    """Only the page and base tiles were requested; no JavaScript or console error but the
    (blocked) tiles."""
    other = {u for u in loaded["urls"] if not u.startswith(TILE_HOST) and not u.startswith("data:")}
    assert other == {path.as_uri()}
    assert any(u.startswith(TILE_HOST) for u in loaded["urls"]), "no tile was even tried"
    assert driver.execute_script("return window.__errors") == []
    severe = [
        e["message"]
        for e in loaded["console"]
        if e["level"] == "SEVERE" and not e["message"].startswith(TILE_HOST)
    ]
    assert severe == []


# --------------------------------------------------------------------------------------------
# a small plan with hostile names
# --------------------------------------------------------------------------------------------


def _small_plan() -> dict:
    crs = "EPSG:4326"
    routes = gpd.GeoDataFrame(
        {
            "pop_id": ["P1", "P1", "P1"],
            "segment_id": [0, 1, 2],
            "kind": ["road", "spur", "bridge"],
            "road_class": ["primary", "", ""],
            "road_name": [ROAD_NAME, "", ""],
            "ref": ["NH-30", "", ""],
            "length_m": [4000.0, 300.0, 900.0],
            "gps_served": [2, 1, 1],
        },
        geometry=[
            LineString([(81.60, 21.20), (81.64, 21.20)]),
            LineString([(81.64, 21.20), (81.642, 21.203)]),
            LineString([(81.64, 21.20), (81.65, 21.19)]),
        ],
        crs=crs,
    )
    sites = gpd.GeoDataFrame(
        {
            "name": [GP_NAME, "Amlidih", "Far Gaon"],
            "pop_id": ["P1", "P1", "P1"],
            "routed": [True, True, False],
            "reason": ["", "", REASON],
            "route_m": [4000.0, 4300.0, float("nan")],
        },
        index=pd.Index(["GP1", "GP2", "GP3"], name="site_id"),
        geometry=[Point(81.64, 21.20), Point(81.642, 21.203), Point(81.625, 21.215)],
        crs=crs,
    )
    pops = gpd.GeoDataFrame(
        {"name": [POP_NAME], "n_gps": [3], "routed_gps": [2]},
        index=pd.Index(["P1"], name="pop_id"),
        geometry=[Point(81.60, 21.20)],
        crs=crs,
    )
    crossings = gpd.GeoDataFrame(
        {
            "layer": ["nh", "forest"],
            "authority": ["NHAI / MoRTH", "Forest Department"],
            "sub_authority": ["NH-30", FOREST_NAME],
            "kind": ["crossing", "entry"],
            "pop_id": ["P1", "P1"],
            "length_m": [0.0, 1200.0],
            "chainage_km": [123.4, float("nan")],
        },
        geometry=[Point(81.61, 21.20), Point(81.632, 21.20)],
        crs=crs,
    )
    forest = gpd.GeoDataFrame(
        {"name": [FOREST_NAME], "division": ["Bastar"]},
        geometry=[
            Polygon([(81.628, 21.195), (81.636, 21.195), (81.636, 21.205), (81.628, 21.205)])
        ],
        crs=crs,
    )
    highways = gpd.GeoDataFrame(
        {"ref": ["NH-30"], "name": [ROAD_NAME]},
        geometry=[LineString([(81.61, 21.17), (81.61, 21.23)])],
        crs=crs,
    )
    rail = gpd.GeoDataFrame(
        {"zone": [ROAD_NAME]}, geometry=[LineString([(81.59, 21.21), (81.66, 21.21)])], crs=crs
    )
    summary = pd.DataFrame(
        {"gps": [3], "routed": [2], "unroutable": [1], "trench_km": [5.2]},
        index=pd.Index(["TOTAL"], name="pop_id"),
    )
    return {
        "routes": routes,
        "sites": sites,
        "pops": pops,
        "crossings": crossings,
        "forest": forest,
        "highways": highways,
        "layers": [RowLayer(rail, "railway", "line", AUTHORITY, split_by="zone")],
        "summary": summary,
        "permits": pd.DataFrame({"authority": [AUTHORITY, "NHAI / MoRTH"]}),
    }


@pytest.fixture(scope="module")
def small(driver, tmp_path_factory):
    path = tmp_path_factory.mktemp("map") / "map.html"
    save_map(plan_map(**_small_plan(), title=GP_NAME), path)
    return driver, path, open_page(driver, path)


def test_small_map_loads_offline_with_controls(small):
    driver, path, loaded = small
    assert_offline_and_clean(driver, loaded, path)
    assert driver.execute_script("return L.version") == "1.9.3"
    assert driver.execute_script("return typeof L.markerClusterGroup") == "function"
    labels = driver.execute_script(
        "return Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
        ".map(l => l.textContent.trim())"
    )
    assert labels == OVERLAYS  # the hostile authority shows as text
    boxes = driver.execute_script(
        "return ['legend', 'panel'].map(c => { const d = document.querySelector("
        "'.netplan-' + c + '.leaflet-control'); return d ? d.textContent : null; })"
    )
    legend, panel = boxes
    assert "Bridge link (off-road, needs field survey)" in legend
    assert GP_NAME in legend  # the title, shown as text
    assert "GPs routed2 of 3" in panel and f"{AUTHORITY}1" in panel
    assert driver.execute_script("return document.querySelector('.netplan-search-input') !== null")


# Fires mouseover and click on every feature layer and returns the texts shown.
OPEN_ALL = f"""
const map = {MAP};
const leaves = [];
map.eachLayer(l => {{ if (l.feature) leaves.push(l); }});
const out = {{n: leaves.length, tooltips: [], popups: [], htmlTags: 0}};
for (const l of leaves) {{
    const ll = l.getLatLng ? l.getLatLng() : l.getCenter();
    l.fire('mouseover', {{latlng: ll}});
    if (l.getTooltip() && l.isTooltipOpen()) {{
        out.tooltips.push(l.getTooltip().getElement().textContent);
    }}
    l.fire('mouseout', {{latlng: ll}});
    l.fire('click', {{latlng: ll}});
    if (l.getPopup() && l.isPopupOpen()) {{
        out.popups.push(l.getPopup().getElement().querySelector('.leaflet-popup-content').textContent);
    }}
    out.htmlTags += document.querySelectorAll(
        '.leaflet-popup-content img, .leaflet-popup-content script, .leaflet-popup-content svg,' +
        '.leaflet-tooltip img, .leaflet-tooltip script, .leaflet-tooltip svg,' +
        '.leaflet-control img, .leaflet-control script').length;
    map.closePopup();
}}
return out;
"""


def test_popups_and_tooltips_are_inert_text(small):
    driver, path, _ = small
    out = driver.execute_script(OPEN_ALL)
    # 3 routes + 3 GPs + 1 PoP + 2 permissions + 1 forest + 1 highway + 1 railway
    assert out["n"] == 12
    assert len(out["popups"]) == 6  # GPs, PoP and permission points have popups
    assert len(out["tooltips"]) == 12
    assert out["htmlTags"] == 0
    popups, tips = " ".join(out["popups"]), " ".join(out["tooltips"])
    assert GP_NAME in popups
    assert POP_NAME in popups
    assert "unroutable: " + REASON in popups
    assert "NHAI / MoRTH permission: crossing of NH-30 at chainage 123.4 km" in popups
    assert f"Forest Department permission: 1.2 km in {FOREST_NAME}" in popups
    assert f"name: {FOREST_NAME}" in tips
    assert ROAD_NAME in tips and f"zone: {ROAD_NAME}" in tips

    # a real mouse click on the unroutable GP (drawn on the canvas) opens its popup
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    x, y = driver.execute_script(
        f"const p = {MAP}.latLngToContainerPoint([21.215, 81.625]); return [p.x, p.y];"
    )
    box = driver.find_element(By.CSS_SELECTOR, ".folium-map")
    size = box.size
    ActionChains(driver).move_to_element_with_offset(
        box, int(x - size["width"] / 2), int(y - size["height"] / 2)
    ).click().perform()
    text = driver.execute_script(
        "const p = document.querySelector('.leaflet-popup-content'); return p && p.textContent"
    )
    assert text and "Far Gaon" in text and REASON in text
    driver.execute_script(f"{MAP}.closePopup()")

    time.sleep(0.3)  # let any injected onerror handler fire
    assert driver.execute_script("return typeof window.__pwned") == "undefined"


def test_sentinel_would_catch_unescaped_html(small):
    """Control: the same payload inserted as HTML does run here, so the checks can fail."""
    driver, _, _ = small
    driver.execute_script(
        "const d = document.createElement('div');"
        "d.innerHTML = '<img src=x onerror=\"window.__control=1\">';"
        "document.body.appendChild(d);"
    )
    deadline = time.monotonic() + 5
    while driver.execute_script("return window.__control") != 1:
        assert time.monotonic() < deadline, "onerror payload did not run in the control"
        time.sleep(0.1)


def search(driver, text: str, *, enter: bool = True) -> list[str]:
    """Type ``text`` into the GP search box; return the result rows (and press Enter)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element(By.CSS_SELECTOR, ".netplan-search-input")
    box.clear()
    box.send_keys(text)
    rows = [li.text for li in driver.find_elements(By.CSS_SELECTOR, ".netplan-search-results li")]
    if enter:
        box.send_keys(Keys.ENTER)
    return rows


def popup_text(driver) -> str | None:
    """Text of the open popup (a closed one fades out of the page for a moment)."""
    return driver.execute_script(
        f"const p = {MAP}._popup; return p && p.isOpen() ? p.getElement().textContent : null"
    )


def test_search_finds_gps_by_name_and_id_as_text(small):
    driver, _, _ = small
    assert search(driver, "ONERROR") == [f"{GP_NAME} (GP1)"]  # case-insensitive, shown as text
    assert (
        driver.execute_script("return document.querySelectorAll('.netplan-search img').length") == 0
    )
    assert popup_text(driver).startswith(f"{GP_NAME} (GP1)")
    zoom, lat, lng = driver.execute_script(
        f"const m = {MAP}; const c = m.getCenter(); return [m.getZoom(), c.lat, c.lng]"
    )
    assert zoom >= 14 and (lat, lng) == pytest.approx((21.20, 81.64), abs=1e-4)
    # by id, an unroutable GP; prefix matches rank after exact ones
    assert search(driver, "gp3") == ["Far Gaon (GP3)"]
    assert "unroutable: " + REASON in popup_text(driver)
    assert search(driver, "a", enter=False) == ["Amlidih (GP2)", "Far Gaon (GP3)"]
    assert search(driver, "no such village", enter=False) == ["no GP found"]
    time.sleep(0.3)
    assert driver.execute_script("return typeof window.__pwned") == "undefined"
    assert driver.execute_script("return window.__errors") == []


def test_offline_browser_requests_no_tiles_and_logs_no_error(small):
    """A browser that knows it is offline (navigator.onLine false) fetches no tiles at all, so the
    console stays empty; the plan is drawn all the same."""
    driver, path, _ = small
    offline = {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", offline)
    try:
        loaded = open_page(driver, path)
        assert driver.execute_script("return navigator.onLine") is False
        assert not any(u.startswith(TILE_HOST) for u in loaded["urls"])
        assert [e for e in loaded["console"] if e["level"] == "SEVERE"] == []
        assert driver.execute_script("return window.__errors") == []
        drawn = driver.execute_script(
            f"let n = 0; {MAP}.eachLayer(l => {{ if (l.feature) n++; }}); return n"
        )
        assert drawn == 12
    finally:
        offline["offline"] = False
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", offline)


# --------------------------------------------------------------------------------------------
# 10,000 GPs
# --------------------------------------------------------------------------------------------


def _large_plan(n_gps: int = 10_000, n_pops: int = 100, n_unroutable: int = 50) -> dict:
    """A synthetic plan the size of a state (about 4 x 6 degrees): PoPs on a grid, GPs around
    them, one straight road segment from each routed GP to its PoP."""
    rng = np.random.default_rng(12)
    gx, gy = np.meshgrid(np.linspace(80.5, 84.0, 10), np.linspace(18.0, 23.8, n_pops // 10))
    pop_xy = np.column_stack([gx.ravel(), gy.ravel()])
    pop_ids = np.array([f"P{i:03d}" for i in range(n_pops)])
    owner = rng.integers(0, n_pops, n_gps)
    gp_xy = pop_xy[owner] + rng.uniform(-0.2, 0.2, (n_gps, 2))
    routed = np.arange(n_gps) % (n_gps // n_unroutable) != 7  # G00007, G00207, ...
    gp_ids = np.array([f"G{i:05d}" for i in range(n_gps)])
    sites = gpd.GeoDataFrame(
        {
            "name": [f"Gram {i}" for i in range(n_gps)],
            "pop_id": pop_ids[owner],
            "routed": routed,
            "reason": np.where(routed, "", "farther than 2000 m from any road"),
        },
        index=pd.Index(gp_ids, name="site_id"),
        geometry=shapely.points(gp_xy),
        crs="EPSG:4326",
    )
    pick = np.flatnonzero(routed)
    lines = shapely.linestrings(np.stack([pop_xy[owner[pick]], gp_xy[pick]], axis=1))
    routes = gpd.GeoDataFrame(
        {
            "pop_id": pop_ids[owner[pick]],
            "segment_id": np.arange(len(pick)),
            "kind": np.where(np.arange(len(pick)) % 50 == 0, "spur", "road"),
            "length_m": shapely.length(lines) * 100_000,
        },
        geometry=lines,
        crs="EPSG:4326",
    )
    pops = gpd.GeoDataFrame(
        {"name": [f"Block {i}" for i in range(n_pops)]},
        index=pd.Index(pop_ids, name="pop_id"),
        geometry=shapely.points(pop_xy),
        crs="EPSG:4326",
    )
    crossings = gpd.GeoDataFrame(
        {"layer": "nh", "authority": "NHAI / MoRTH", "kind": "crossing"},
        index=range(300),
        geometry=shapely.points(gp_xy[:300] + 0.01),
        crs="EPSG:4326",
    )
    forest = gpd.GeoDataFrame(
        {"division": "Synthetic"},
        index=range(200),
        geometry=shapely.buffer(shapely.points(gp_xy[300:500]), 0.03),
        crs="EPSG:4326",
    )
    return {
        "routes": routes,
        "sites": sites,
        "pops": pops,
        "crossings": crossings,
        "forest": forest,
    }


@pytest.fixture(scope="module")
def large(driver, tmp_path_factory):
    path = tmp_path_factory.mktemp("large") / "map.html"
    save_map(plan_map(**_large_plan()), path)
    return driver, path, open_page(driver, path)


def test_large_map_is_drawn_with_few_dom_markers(large):
    driver, path, loaded = large
    assert path.stat().st_size < 25e6
    assert_offline_and_clean(driver, loaded, path)
    counts = driver.execute_script(
        f"""
        const map = {MAP};
        const cluster = Object.values(map._layers).find(l => l instanceof L.MarkerClusterGroup);
        const canvas = document.querySelector('.leaflet-overlay-pane canvas');
        const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let painted = 0;
        for (let i = 3; i < px.length; i += 4) {{ if (px[i]) painted++; }}
        return {{
            markers: document.querySelectorAll('.leaflet-marker-icon').length,
            svg: document.querySelectorAll('.leaflet-interactive').length,
            clustered: cluster.getLayers().length,
            clusters: document.querySelectorAll('.marker-cluster').length,
            painted: painted,
            zoom: map.getZoom(),
        }};
        """
    )
    assert counts["markers"] - counts["clusters"] == 100  # the PoPs; GPs are on the canvas
    assert counts["markers"] + counts["svg"] <= MAX_DOM_MARKERS, counts
    assert counts["clustered"] == 9_950 and counts["clusters"] > 0
    assert counts["painted"] > 10_000, "nothing drawn on the canvas"  # routes, forest, ...
    assert counts["zoom"] <= 7  # the whole synthetic state in view


def test_large_map_search_reveals_a_clustered_gp(large):
    driver, _, _ = large
    rows = search(driver, "Gram 4321")
    time.sleep(0.5)  # the cluster group redraws after the zoom
    assert rows == ["Gram 4321 (G04321)"]
    assert popup_text(driver).startswith("Gram 4321 (G04321)")
    shown = driver.execute_script(
        f"""
        const map = {MAP};
        const cluster = Object.values(map._layers).find(l => l instanceof L.MarkerClusterGroup);
        const gp = cluster.getLayers().find(l => l.feature.properties.i === 'G04321');
        return [map.getZoom(), map.hasLayer(gp),
                document.querySelectorAll('.leaflet-marker-icon').length];
        """
    )
    zoom, unclustered, markers = shown
    assert zoom >= 14 and unclustered and markers <= MAX_DOM_MARKERS
    assert driver.execute_script("return window.__errors") == []
