"""Public service points: loading with a category, the listing rules (at a GP, duplicate, far
from roads, unknown category, beyond reach), facilities as terminals of the design (paths,
distances, cables, phases and permits from their own path) and the tables and files they fill.

The village: a PoP P at x=0 and GPs at x=2000 and x=4000 on one straight 4 km road (and a side
road serving nothing); a PHC 300 m off the road at x=3000 is connected on its own (a 300 m spur).
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

import netplan
from netplan import MissingColumnError
from netplan.cli import main as cli_main
from netplan.facilities import FACILITY_COLUMNS, FacilityOptions
from netplan.io import load_facilities, load_roads

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
        {"road_class": ["VR", "VR"]},
        geometry=[
            LineString([(X0, Y0), (X0 + 4000, Y0)]),
            LineString([(X0, Y0), (X0, Y0 + 1000)]),  # a side road serving nothing
        ],
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
    # its own terminal: connected by its own path
    phc = table.loc["phc"]
    assert (phc["routed"], phc["served_by"], phc["reason"], phc["pop_id"]) == (True, "", "", "P")
    # a duplicate follows the first of its group
    assert table.loc["phc-2", "served_by"] == "facility phc"
    assert table.loc["phc-2", ["routed", "pop_id", "route_m"]].tolist() == [True, "P", 3300.0]
    # far from roads, no category, a category not asked for: listed with the reason
    assert "farther than 2000 m from any road (nearest road 5000 m)" in table.loc["far", "reason"]
    assert table.loc["blank", "reason"].startswith("no category")
    assert "category 'Bank' is not among the categories to connect" in table.loc["bank", "reason"]
    assert not table.loc[["far", "blank", "bank"], "routed"].any()
    assert (table.loc[~table["routed"], "reason"] != "").all()


def _segments_of(routes: pd.DataFrame, facility_id: str) -> pd.DataFrame:
    """The facility's path: the segments whose facility_ids hold it."""
    return routes[routes["facility_ids"].str.split(";").map(lambda ids: facility_id in ids)]


def test_a_facility_is_a_terminal_of_the_design(village, village_plan):
    """The PHC's path is the road from the PoP to x=3000 and its 300 m spur; the trench grows by
    exactly the spur; the GPs keep their routes and the segments count GPs and facilities apart."""
    gps, pops, roads, _ = village
    alone = netplan.plan(gps, pops, roads, progress=False)
    routes = village_plan.routes
    phc = village_plan.facilities.loc["phc"]
    path = _segments_of(routes, "phc")
    assert path["length_m"].sum() == pytest.approx(3300.0)
    assert (phc["route_m"], phc["network_m"]) == (pytest.approx(3300.0), pytest.approx(3300.0))
    spur = path[path["kind"] == "spur"]
    assert spur["length_m"].tolist() == [pytest.approx(300.0)]
    assert spur[["gps_served", "facilities_served", "gp_ids"]].values.tolist() == [[0, 1, ""]]
    first = routes[routes["gp_ids"] == "g1;g2"]  # PoP to g1: both GPs and the PHC downstream
    assert (first["facilities_served"] == 1).all() and (first["facility_ids"] == "phc").all()
    assert village_plan.summary.loc["TOTAL", "trench_km"] == pytest.approx(
        alone.summary.loc["TOTAL", "trench_km"] + 0.3
    )
    assert village_plan.sites["route_m"].to_dict() == alone.sites["route_m"].to_dict()
    assert village_plan.summary.loc["TOTAL", "fac_phc"] == 2  # the PHC and its duplicate
    # the bill of quantities: the spur's trench, and closures at the PHC's drop and where its
    # spur branches off the road
    boq, before = (
        plan.boq[plan.boq["pop_id"] == "TOTAL"].set_index("item")["quantity"]
        for plan in (village_plan, alone)
    )
    assert boq["spur_trench"] - before.get("spur_trench", 0.0) == pytest.approx(0.3)
    assert boq["joint_closure"] == before["joint_closure"] + 2


@pytest.fixture(scope="module")
def forest_plan(village):
    """The village with a forest across the PHC's spur (100 m of it, none on the road)."""
    gps, pops, roads, facilities = village
    forest = gpd.GeoDataFrame(
        {"division": ["North"]}, geometry=[box(X0 + 2900, Y0 + 100, X0 + 3100, Y0 + 200)], crs=CRS
    )
    planner = netplan.Planner(
        gps, pops, roads, forest=forest, facilities=facilities, progress=False
    )
    return planner


def test_a_facility_behind_a_forest_waits_for_its_permit(forest_plan):
    """Hand-computed: the GPs need nothing (phase 1, month 0); the PHC's spur crosses the
    forest, so the PHC (and its duplicate) wait for the forest permit: month 12 by default, 18
    with lead_times, phase 2; the spur is a phase-2 segment, the road phase 1."""
    p = forest_plan.plan(facility_options=FacilityOptions(categories=("LSK", "PHC")))
    table = p.facilities
    assert p.sites["phase"].tolist() == [1, 1] and p.sites["ready_month"].tolist() == [0, 0]
    assert table.loc["phc", ["permits_needed", "ready_month", "phase"]].tolist() == [
        "forest-1",
        12,
        2,
    ]
    assert table.loc["phc-2", ["ready_month", "phase"]].tolist() == [12, 2]
    assert table.loc["lsk", ["ready_month", "phase"]].tolist() == [0, 1]  # with GP g1
    path = _segments_of(p.routes, "phc")
    assert path["in_forest_m"].sum() == pytest.approx(100.0)
    assert path.set_index("kind")["phase"].to_dict() == {"road": 1, "spur": 2}
    item = p.permits.set_index("permit_id").loc["forest-1"]
    assert (item["gps_blocked"], item["facilities_blocked"]) == (0, 1)
    schedule = p.rollout.set_index("month")
    assert schedule.index.max() == 12
    assert schedule.loc[0, ["gps_ready", "facilities_ready"]].tolist() == [2, 1]
    assert schedule.loc[11, "facilities_ready"] == 1
    assert schedule.loc[12, "facilities_ready"] == 3  # the PHC and its duplicate light
    assert schedule.loc[0, "trench_km"] == pytest.approx(4.0)
    assert schedule.loc[12, "trench_km"] == pytest.approx(4.3)
    later = forest_plan.plan(
        lead_times={"forest": 18}, facility_options=FacilityOptions(categories=("PHC",))
    )
    assert later.facilities.loc["phc", ["ready_month", "phase"]].tolist() == [18, 2]


def test_star_cables_count_facilities(forest_plan):
    """A star lays one cable per site: the segment from the PoP carries both GPs' and the
    connected facilities' cables."""
    p = forest_plan.plan(topology="star")
    routes = p.routes
    passes = routes["gps_served"] + routes["facilities_served"]
    assert np.allclose(routes["cable_m"], routes["length_m"] * passes)
    assert routes["facilities_served"].max() >= 2  # the PHC and the bank share the first road
    star = p.facilities.loc["phc"]
    assert star["route_m"] == pytest.approx(star["network_m"])


def test_pop_capacity_counts_gps_only(forest_plan):
    """Room for the two GPs (or one) at the PoP: the facilities are connected all the same."""
    full = forest_plan.plan(pop_capacity=2)
    assert full.sites["routed"].all() and full.facilities.loc["phc", "routed"]
    tight = forest_plan.plan(pop_capacity=1)
    assert tight.sites["routed"].sum() == 1
    assert tight.facilities.loc["phc", "route_m"] == pytest.approx(3300.0)


def test_a_facility_joins_the_nearest_pop_under_capacity(village):
    """A second PoP Q at the end of the side road serves no GP; a school 50 m from it joins
    Q, with or without a capacity (with one, facilities join the GPs' trees or a PoP by their
    shortest path)."""
    gps, pops, roads, _ = village
    pops = pd.concat([pops, _points([("Q", (0, 1000))], ["id"])], ignore_index=True)
    school = _points([("school", "school", (50, 1000))], ["id", "category"])
    planner = netplan.Planner(gps, pops, roads, facilities=school, progress=False)
    for capacity in (None, 5):
        p = planner.plan(pop_capacity=capacity)
        row = p.facilities.loc["school"]
        assert (row["pop_id"], row["routed"]) == ("Q", True)
        assert row["route_m"] == pytest.approx(50.0)
        assert p.sites["pop_id"].tolist() == ["P", "P"]
        assert p.routes.loc[p.routes["pop_id"] == "Q", "facility_ids"].tolist() == ["school"]


def test_facility_reach_is_measured_from_the_gps_fibre(forest_plan):
    """The PHC is 300 m (its spur) from the GPs' trench: outside a 200 m reach, inside 400 m."""
    near = forest_plan.plan(facility_options=FacilityOptions(reach_m=200))
    phc = near.facilities.loc["phc"]
    assert not phc["routed"]
    assert phc["reason"].startswith("more than 200 m by road from the GPs' fibre")
    assert near.facilities.loc["phc-2", "routed"] == phc["routed"]  # the duplicate follows
    assert near.facilities.loc["bank", "routed"]  # 50 m off the road
    wider = forest_plan.plan(facility_options=FacilityOptions(reach_m=400))
    assert wider.facilities.loc["phc", "routed"]


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
    routes = gpd.read_file(out / "plan.gpkg", layer="routes")
    in_plan = village_plan.routes["facility_ids"].str.contains("phc").sum()
    assert routes["facility_ids"].fillna("").str.contains("phc").sum() == in_plan >= 2
    schedule = pd.read_csv(out / "rollout.csv")
    assert schedule["facilities_ready"].iloc[-1] == village_plan.facilities["routed"].sum()


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
    with pytest.raises(netplan.InputError, match="FacilityOptions.reach_m must be a value from 0"):
        FacilityOptions(reach_m=-1)
    code = cli_main(
        ["plan", "--sites", "x", "--pops", "y", "--roads", "z", "--out", str(tmp_path / "o")]
        + ["--facility-reach", "-500"]
    )
    assert code == 2
    assert "--facility-reach must be a value from 0 to 100000 m, got -500 m" in (
        capsys.readouterr().err
    )
    with pytest.raises(netplan.InputError, match="list of category names"):
        FacilityOptions(categories="PHC")  # type: ignore[arg-type]
    code = cli_main(
        ["plan", "--sites", "x", "--pops", "y", "--roads", "z", "--out", "o"]
        + ["--category", "sites:type"]
    )
    assert code == 2
    assert "write ROLE:CATEGORY with ROLE one of facilities" in capsys.readouterr().err


def test_ladakh_medical_and_education_facilities_are_connected(shared_data):
    """The issue's check on the real PMGSY data of Ladakh (1,003 facilities, FAC_CATEGO
    Medical, Education, Agro, Transport/Admin) with the Ladakh GPs, Medical and Education as the
    service points: every facility is listed, at least 90 % of the service points within 2 km of
    a road are connected, and the trench grows."""
    paths = netplan.datasets.ladakh_paths(shared_data)
    facilities = load_facilities(shared_data / "ladakh" / "Facilities_Ladakh.zip")
    assert facilities["category"].value_counts().to_dict() == {
        "Transport/Admin": 421,
        "Agro": 290,
        "Education": 152,
        "Medical": 140,
    }
    planner = netplan.Planner(
        paths["gps"], paths["pops"], paths["roads"], facilities=facilities, progress=False
    )
    alone = netplan.plan(paths["gps"], paths["pops"], paths["roads"], progress=False)
    p = planner.plan(facility_options=FacilityOptions(categories=("Medical", "Education")))
    table = p.facilities
    assert table.index.equals(facilities.index)
    assert (table.loc[~table["routed"], "reason"] != "").all()
    services = table["category"].isin(["Medical", "Education"])
    assert table.loc[~services, "reason"].str.contains("not among the categories").all()
    # within 2 km of a road, measured here on the raw road lines
    roads = load_roads(paths["roads"]).to_crs(planner.network.crs)
    points = facilities.geometry.to_crs(planner.network.crs)
    (at, _), distance = roads.sindex.nearest(
        points.to_numpy(), return_distance=True, return_all=False
    )
    assert at.tolist() == list(range(len(points)))
    near = services.to_numpy() & (distance <= 2000.0)
    assert near.sum() >= 250
    assert table["routed"].to_numpy()[near].mean() >= 0.9
    assert p.summary.loc["TOTAL", "trench_km"] > alone.summary.loc["TOTAL", "trench_km"]
    assert p.summary.loc["TOTAL", "routed"] == alone.summary.loc["TOTAL", "routed"]
    # connected ones have their own path (or a GP's), a PoP and a phase
    connected = table[table["routed"]]
    assert connected["pop_id"].notna().all() and connected["phase"].notna().all()
    own = connected[connected["served_by"] == ""]
    for facility_id, row in own.head(20).iterrows():
        path = _segments_of(p.routes, facility_id)
        assert path["length_m"].sum() == pytest.approx(row["route_m"])
        assert set(path["pop_id"]) == {row["pop_id"]}
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
    for row in ("LSK: 1 of 1 connected", "PHC: 2 of 2 connected", "no category: 0 of 1"):
        assert row in page
    assert "<img src=x" not in page  # escaped in tooltips and popups, JSON-quoted for search
    assert "Facilities connected" in page
