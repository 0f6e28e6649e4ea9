"""Public service points: loading with a category, and every facility listed with its status.

Connecting facilities as their own design terminals comes with the joint Steiner design; these
tests cover the loader, the listing rules (at a GP, duplicate, far from roads, unknown category)
and the tables and files they fill.
"""

from __future__ import annotations

import re

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

import netplan
from netplan import MissingColumnError
from netplan.cli import main as cli_main
from netplan.facilities import FACILITY_COLUMNS, FacilityOptions
from netplan.io import load_facilities

CRS = "EPSG:32644"
X0, Y0 = 500_000.0, 2_300_000.0


def _points(rows: list[tuple], columns: list[str]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame([r[:-1] for r in rows], columns=columns)
    geoms = [Point(X0 + x, Y0 + y) for x, y in (r[-1] for r in rows)]
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=CRS)


@pytest.fixture(scope="module")
def village():
    """A PoP and two GPs on a 4 km road; facilities around them, one per listing rule."""
    roads = gpd.GeoDataFrame(
        {"road_class": ["VR"]},
        geometry=[LineString([(X0, Y0), (X0 + 4000, Y0)])],
        crs=CRS,
    )
    pops = _points([("P", (0, 0))], ["id"])
    gps = _points([("g1", (2000, 0)), ("g2", (4000, 0))], ["id"])
    facilities = _points(
        [
            ("lsk", "LSK in the GP office", "LSK", (2010, 0)),  # at GP g1
            ("phc", "PHC", "PHC", (3000, 300)),  # its own terminal
            ("phc-2", "PHC (listed twice)", "phc", (3004, 303)),  # a duplicate of phc
            ("far", "hill school", "school", (3000, 5000)),  # 5 km from the road
            ("blank", "unknown", "", (1000, 100)),  # no category
            ("bank", "bank", "Bank", (1500, 50)),  # not among the categories to connect
        ],
        ["fac_id", "name", "type"],
    )
    return gps, pops, roads, facilities


@pytest.fixture(scope="module")
def village_plan(village):
    gps, pops, roads, facilities = village
    return netplan.plan(
        gps,
        pops,
        roads,
        facilities=facilities.rename(columns={"fac_id": "facility_id"}),
        facility_options=FacilityOptions(categories=("LSK", "PHC", "school")),
        progress=False,
    )


def test_every_facility_is_listed_with_its_status(village_plan):
    table = village_plan.facilities
    assert list(table.columns) == [*FACILITY_COLUMNS, "geometry"]
    assert sorted(table.index) == ["bank", "blank", "far", "lsk", "phc", "phc-2"]
    assert table["category"].to_dict() == {
        "lsk": "LSK",
        "phc": "PHC",
        "phc-2": "PHC",
        "far": "school",
        "blank": "",
        "bank": "Bank",
    }
    # at a GP: served through it, with its distances and phase
    lsk = table.loc["lsk"]
    g1 = village_plan.sites.loc["g1"]
    assert (lsk["routed"], lsk["served_by"], lsk["reason"]) == (True, "GP g1", "")
    assert (lsk["pop_id"], lsk["route_m"], lsk["phase"]) == ("P", g1["route_m"], 1)
    # a duplicate follows the first of its group
    assert table.loc["phc-2", "served_by"] == "facility phc"
    assert table.loc["phc-2", "routed"] == table.loc["phc", "routed"]
    # far from roads, no category, a category not asked for: listed with the reason
    assert "farther than 2000 m from any road (nearest road 5000 m)" in table.loc["far", "reason"]
    assert table.loc["blank", "reason"].startswith("no category")
    assert "category 'Bank' is not among the categories to connect" in table.loc["bank", "reason"]
    assert not table.loc[["far", "blank", "bank"], "routed"].any()
    assert (table.loc[~table["routed"], "reason"] != "").all()


def test_summary_counts_connected_facilities_per_category(village_plan):
    total = village_plan.summary.loc["TOTAL"]
    assert total["facilities_connected"] == village_plan.facilities["routed"].sum()
    assert total["fac_lsk"] == 1
    assert village_plan.summary.loc["P", "fac_lsk"] == 1
    assert {"fac_phc", "fac_school", "fac_bank", "fac_no_category"} <= set(total.index)


def test_facility_outputs(village_plan, tmp_path):
    out = village_plan.to_file(tmp_path / "plan", map_html=False)
    listed = pd.read_csv(out / "facilities.csv", index_col="facility_id", keep_default_na=False)
    assert sorted(listed.index) == sorted(village_plan.facilities.index)
    assert {"lon", "lat", "reason", "served_by"} <= set(listed.columns)
    book = openpyxl.load_workbook(out / "plan.xlsx")
    assert book.sheetnames == ["Summary", "BOQ", "Roll-out", "Facilities"]
    layer = gpd.read_file(out / "plan.gpkg", layer="facilities")
    assert len(layer) == 6


def test_loader_detects_and_unifies_categories(village):
    facilities = village[3]
    loaded = load_facilities(facilities)
    assert loaded.index.name == "facility_id"
    assert loaded.loc["phc-2", "category"] == "PHC"  # "phc" spelled like the first "PHC"
    assert loaded.loc["lsk", "name"] == "LSK in the GP office"
    by_name = load_facilities(facilities, category_col="name")
    assert by_name.loc["phc-2", "category"] == "PHC (listed twice)"


def test_loader_keeps_repeated_and_missing_ids(village):
    facilities = village[3].copy()
    facilities["fac_id"] = ["a", "a", "a#2", None, "b", "b"]
    with pytest.warns(UserWarning, match="repeated ids"):
        loaded = load_facilities(facilities, id_col="fac_id")
    assert loaded.index.tolist() == ["a", "a#3", "a#2", "row 4", "b", "b#2"]


def test_facilities_without_a_category_column_are_a_one_line_error(village, tmp_path):
    facilities = village[3].drop(columns="type")
    with pytest.raises(MissingColumnError, match=re.escape("has no category column")):
        load_facilities(facilities)
    path = tmp_path / "hq.geojson"
    facilities.to_file(path)
    gps, pops, roads, _ = village
    for frame, name in ((gps, "gps"), (pops, "pops"), (roads, "roads")):
        frame.to_file(tmp_path / f"{name}.gpkg")
    args = ["plan", "--sites", str(tmp_path / "gps.gpkg"), "--pops", str(tmp_path / "pops.gpkg")]
    args += ["--roads", str(tmp_path / "roads.gpkg"), "--facilities", str(path)]
    code = cli_main([*args, "--out", str(tmp_path / "out"), "--quiet"])
    assert code == 2
    code = cli_main([*args, "--category", "facilities:name", "--out", str(tmp_path / "out")])
    assert code == 0
    listed = pd.read_csv(tmp_path / "out" / "facilities.csv")
    assert len(listed) == len(facilities)


def test_bad_facility_options_are_one_line_errors(tmp_path, capsys):
    with pytest.raises(netplan.InputError, match="colocated_m must be a number, got nan"):
        FacilityOptions(colocated_m=float("nan"))
    with pytest.raises(netplan.InputError, match="list of category names"):
        FacilityOptions(categories="PHC")  # type: ignore[arg-type]
    code = cli_main(
        ["plan", "--sites", "x", "--pops", "y", "--roads", "z", "--out", "o"]
        + ["--category", "sites:type"]
    )
    assert code == 2
    assert "write ROLE:CATEGORY with ROLE one of facilities" in capsys.readouterr().err


def test_ladakh_facilities_are_all_listed(shared_data):
    """The real PMGSY facilities of Ladakh (1,003, FAC_CATEGO Medical, Education, Agro,
    Transport/Admin) with the Ladakh GPs: every one comes out in the table."""
    paths = netplan.datasets.ladakh_paths(shared_data)
    facilities = load_facilities(shared_data / "ladakh" / "Facilities_Ladakh.zip")
    assert facilities["category"].value_counts().to_dict() == {
        "Transport/Admin": 421,
        "Agro": 290,
        "Education": 152,
        "Medical": 140,
    }
    p = netplan.plan(
        paths["gps"],
        paths["pops"],
        paths["roads"],
        facilities=facilities,
        facility_options=FacilityOptions(categories=("Medical", "Education")),
        progress=False,
    )
    table = p.facilities
    assert table.index.equals(facilities.index)
    assert (table.loc[~table["routed"], "reason"] != "").all()
    services = table["category"].isin(["Medical", "Education"])
    assert table.loc[~services, "reason"].str.contains("not among the categories").all()
    # the panchayat offices among the facilities are the GPs themselves: served through them
    at_gp = table["served_by"].str.startswith("GP ")
    assert table.loc[at_gp & services, "routed"].all()


def test_map_has_a_facilities_layer_with_a_legend_row_per_category(village, tmp_path):
    gps, pops, roads, facilities = village
    facilities = facilities.copy()
    facilities.loc[1, "name"] = "<img src=x onerror=alert(1)>"
    p = netplan.plan(gps, pops, roads, facilities=facilities, progress=False)
    page = p.explore(tiles=None).get_root().render()
    assert '"Facilities"' in page
    for row in ("LSK: 1 of 1 connected", "PHC: 0 of 2 connected", "no category: 0 of 1"):
        assert row in page
    assert "<img src=x" not in page  # escaped in tooltips and popups, JSON-quoted for search
    assert "Facilities connected" in page
