"""netplan.report: the one-page HTML report, parsed: self-contained, totals, charts, escaping,
optional sections that appear only with their data."""

from __future__ import annotations

import copy
import re
from html.parser import HTMLParser

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

import netplan
from netplan import CostModel
from netplan.report import format_number, report_html

HOSTILE_GP = '<script>alert("gp")</script> & Sons'
HOSTILE_LOST = '<img src=x onerror="alert(1)">'
HOSTILE_POP = "Dante<b>wada</b> $5$ \x07bell"
RAW_FORBIDDEN = ("<script", "<img", "<b>wada", "\x07")

VOID = {"meta", "br", "img", "hr", "input", "link", "col", "area", "base", "wbr", "source"}


class _Page(HTMLParser):
    """Collects tags, attributes, text per section and checks that elements nest properly."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str]] = []
        self.sections: dict[str, str] = {}
        self._h2: str | None = None
        self._in_h2 = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(tag, k, v or "") for k, v in attrs]
        if tag == "h2":
            self._in_h2, self._h2 = True, ""
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(tag, k, v or "") for k, v in attrs]

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_h2 = False
            self.sections[self._h2] = ""
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        if self._in_h2:
            self._h2 += data
        elif self._h2 is not None:
            self.sections[self._h2] += data


def parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    page.close()
    assert not page.errors, page.errors[:5]
    assert page.stack == [], page.stack
    return page


@pytest.fixture(scope="module")
def hostile_planner(sample_paths) -> netplan.Planner:
    """The sample with hostile village and PoP names, and one GP too far from any road."""
    gps = netplan.load_sites(sample_paths["gps"])
    pops = netplan.load_pops(sample_paths["pops"])
    gps.loc[gps.index[0], "name"] = HOSTILE_GP
    pops.loc[pops.index[0], "name"] = HOSTILE_POP
    lost = gpd.GeoDataFrame(
        {"name": [HOSTILE_LOST]},
        geometry=[Point(gps.geometry.x.max() + 0.05, gps.geometry.y.max() + 0.05)],
        index=pd.Index(["lost-1"], name=gps.index.name),
        crs=gps.crs,
    ).to_crs(gps.crs)
    gps = pd.concat([gps, lost])
    return netplan.Planner(
        gps, pops, sample_paths["roads"], forest=sample_paths["forest"], progress=False
    )


@pytest.fixture(scope="module")
def plan(hostile_planner) -> netplan.Plan:
    return hostile_planner.plan()


@pytest.fixture(scope="module")
def text(plan) -> str:
    return report_html(plan)


def test_self_contained(text):
    page = parse(text)
    assert "script" not in page.tags and "link" not in page.tags and "iframe" not in page.tags
    external = [
        (tag, key, value)
        for tag, key, value in page.attrs
        if key in ("src", "href", "xlink:href", "action", "data") and not value.startswith("#")
    ]
    assert external == []
    assert "://" not in text  # no address of any kind, not even a namespace
    assert not re.search(r"url\((?!#)", text)  # CSS and SVG references stay inside the page


def test_states_the_total_trench(plan, text):
    total = plan.summary.loc["TOTAL", "trench_km"]
    match = re.search(r"Total trench: <b>([\d,.]+) km</b>", text)
    assert match and float(match.group(1).replace(",", "")) == pytest.approx(total, abs=0.01)
    assert match.group(1) == format_number(total)
    page = parse(text)
    assert (
        f"to {int(plan.summary.loc['TOTAL', 'routed'])} of {len(plan.sites)} GPs"
        in (page.sections["Headline totals"])
    )


def test_has_charts_as_inline_svg(plan, text):
    page = parse(text)
    assert page.tags.count("svg") >= 2
    svgs = re.findall(r"<svg.*?</svg>", text, flags=re.S)
    assert len(svgs) == 3
    assert all(svg.count("<path") > 10 for svg in svgs)  # something is drawn in each
    # every id is unique on the page, and every in-page reference resolves
    ids = re.findall(r'\bid="([^"]+)"', text)
    assert len(ids) == len(set(ids))
    refs = re.findall(r'(?:url\(#|href="#)([^)"]+)', text)
    assert refs and set(refs) <= set(ids)
    # PoP names are the km chart's labels
    assert "Katekalyan" in svgs[0]
    assert "Forest Department" in svgs[1]


def test_names_from_inputs_are_escaped(plan, text):
    for raw in RAW_FORBIDDEN:
        assert raw not in text
    page = parse(text)
    assert HOSTILE_GP not in page.sections["Per PoP"]  # a GP name appears only where listed
    assert "Dantewada $5$ bell" not in text
    assert "Dante<b>wada</b> $5$ bell" in page.sections["Per PoP"]
    lost = page.sections["Unroutable GPs"]
    assert HOSTILE_LOST in lost and "lost-1" in lost
    assert plan.sites.loc["lost-1", "reason"] in lost


def test_per_pop_and_permits(plan, text):
    page = parse(text)
    per_pop = page.sections["Per PoP"]
    for pop_id, row in plan.summary.iterrows():
        assert pop_id in per_pop
        assert format_number(row["trench_km"]) in per_pop
    permits = page.sections["Permits by authority"]
    for sub in plan.permits["sub_authority"].unique():
        assert sub in permits
    assert "Forest Department" in permits and "NHAI / MoRTH" in permits


def test_optional_sections_only_with_their_data(hostile_planner, plan):
    bare = copy.copy(plan)  # every plan has a BOQ and an optical check: take them away
    bare.boq = None
    bare.sites = plan.sites.drop(columns=["optical_ok", "optical_reason"])
    absent = parse(report_html(bare)).sections
    assert "Apply first" in absent["Roll-out"]  # every plan has a roll-out
    for title in (
        "Bill of quantities (totals)",
        "Facilities",
        "GPs over the optical budget",
        "Permission-aware trade-off",
    ):
        assert title not in absent
    extended = copy.copy(plan)
    extended.boq = pd.DataFrame(
        {
            "pop_id": ["03369", "TOTAL", "TOTAL"],
            "item": ["trench", "trench", "HDD <crossing>"],
            "unit": ["m", "m", "crossing"],
            "quantity": [10.0, 1200.0, 3.0],
            "rate": [250.0, 250.0, 40_000.0],
            "amount": [2500.0, 300_000.0, 120_000.0],
        }
    )
    extended.rollout = pd.DataFrame(
        {
            "month": [0, 1, 12],
            "phase": [1, 1, 2],
            "gps_new": [40, 0, 52],
            "gps_ready": [40, 40, 92],
            "trench_km": [150.5, 150.5, 248.1],
        }
    )
    extended.facilities = pd.DataFrame({"facility": ["PHC Geedam"], "site_id": ["x1"]})
    sites = plan.sites.copy()
    sites["optical_ok"] = True
    sites.loc[sites.index[0], "optical_ok"] = False
    sites["optical_reason"] = ""
    sites.loc[sites.index[0], "optical_reason"] = "loss 30.1 dB over the 28 dB budget"
    extended.sites = sites
    shown = parse(report_html(extended)).sections
    boq = shown["Bill of quantities (totals)"]
    assert "Total amount: 420,000" in boq and "HDD <crossing>" in boq
    assert "2,500" not in boq  # per-PoP rows are left to boq.csv
    assert "150.50" in shown["Roll-out"] and "248.10" in shown["Roll-out"]
    assert "PHC Geedam" in shown["Facilities"]
    optical = shown["GPs over the optical budget"]
    assert HOSTILE_GP in optical and "loss 30.1 dB" in optical
    sites["optical_ok"] = True
    extended.sites = sites
    assert (
        "within the optical budget"
        in parse(report_html(extended)).sections["GPs over the optical budget"]
    )
    aware = hostile_planner.plan(costs=CostModel.permission_aware())
    tradeoff = parse(report_html(aware)).sections["Permission-aware trade-off"]
    assert "without-penalties" in tradeoff and "difference" in tradeoff


def test_same_plan_same_bytes_and_title(plan, text, tmp_path):
    assert report_html(plan) == text
    out = plan.to_report(tmp_path / "r.html", title="Block <Geedam> plan")
    written = out.read_text(encoding="utf-8")
    assert "<h1>Block &lt;Geedam&gt; plan</h1>" in written
    assert "<title>Block &lt;Geedam&gt; plan</title>" in written


def test_to_file_writes_the_report(plan, tmp_path):
    out = plan.to_file(tmp_path / "out", map_html=False)
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "Total trench" in report and report.count("<svg") == 3


def test_a_plan_without_permits_or_routes(sample_paths):
    """One PoP alone (its GPs elsewhere): the report still has its charts and says so."""
    planner = netplan.Planner(
        sample_paths["gps"], sample_paths["pops"], sample_paths["roads"], progress=False
    )
    plan = planner.plan(pops=[planner.pops.index[0]])
    plan = copy.copy(plan)
    plan.permits = plan.permits.iloc[:0]
    page = parse(report_html(plan))
    assert "No route needs a permission." in page.sections["Permits by authority"]
    assert "no permission needed" in report_html(plan)
