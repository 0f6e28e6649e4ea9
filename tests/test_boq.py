"""A buildable plan: existing fibre, aerial cable, cable sizes, optical budget, bill of quantities.

The hand-made cases are small road layouts whose answers were worked out by hand from the
documented rules (netplan.boq, netplan.optical) at the default indicative rates.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

import netplan
from netplan import BuildRules, CostModel, OpticalBudget, Rates
from netplan.boq import BOQ_COLUMNS, construction_costs, underground_cost_per_m

CRS = "EPSG:32644"
X0, Y0 = 500_000.0, 2_300_000.0


def _points(coords, prefix):
    return gpd.GeoDataFrame(
        {"id": [f"{prefix}{i}" for i in range(len(coords))]},
        geometry=[Point(X0 + x, Y0 + y) for x, y in coords],
        crs=CRS,
    )


def _lines(lines, classes=None, refs=None):
    n = len(lines)
    return gpd.GeoDataFrame(
        {"road_class": classes or ["VR"] * n, "ref": refs or [""] * n},
        geometry=[LineString([(X0 + x, Y0 + y) for x, y in line]) for line in lines],
        crs=CRS,
    )


def _items(plan, pop_id="TOTAL"):
    boq = plan.boq[plan.boq["pop_id"] == pop_id]
    return dict(zip(boq["item"], boq["quantity"], strict=True))


def _check_money(plan):
    """amount = quantity x rate on every row; the summary's cost is the BOQ's."""
    boq = plan.boq
    assert list(boq.columns) == BOQ_COLUMNS
    np.testing.assert_allclose(boq["quantity"] * boq["rate"], boq["amount"], atol=0.01)
    per_pop = boq[boq["pop_id"] != "TOTAL"].groupby("pop_id")["amount"].sum()
    for pop_id, cost in per_pop.items():
        assert plan.summary.loc[pop_id, "cost"] == pytest.approx(cost, abs=0.01)
    total = boq.loc[boq["pop_id"] == "TOTAL", "amount"].sum()
    assert plan.summary.loc["TOTAL", "cost"] == pytest.approx(total, abs=0.01)
    assert total == pytest.approx(per_pop.sum(), abs=0.1)


@pytest.fixture
def branches():
    """PoP at (0,0); road A east to (6000,0), road B north from (3000,0) to (3000,4000).
    Existing fibre 10 m beside A from 0 to 3000 m, and off the roads from (6000,0) south to
    (6000,-3000); an 11 kV line 15 m beside B. GPs at the end of A, of B and of the off-road
    fibre."""
    roads = _lines([[(0, 0), (6000, 0)], [(3000, 0), (3000, 4000)]])
    existing = _lines([[(0, 10), (3000, 10)], [(6000, 0), (6000, -3000)]])
    power = _lines([[(3015, 0), (3015, 4000)]])
    gps = _points([(6000, 0), (3000, 4000), (6000, -3000)], "gp")
    return gps, _points([(0, 0)], "pop"), roads, existing, power


def test_existing_aerial_and_new_trench_km(branches):
    gps, pops, roads, existing, power = branches
    p = netplan.plan(gps, pops, roads, existing=existing, power_lines=power, progress=False)
    by_method = p.routes.groupby("method")["length_m"].sum()
    assert by_method.to_dict() == pytest.approx(
        {"existing": 6000.0, "aerial": 4000.0, "underground": 3000.0}
    )
    # the off-road stretch of existing fibre is an edge of its own, and gp2 sits on it
    off_road = p.routes[p.routes["kind"] == "existing"]
    assert off_road["length_m"].tolist() == pytest.approx([3000.0])
    assert off_road["gp_ids"].tolist() == ["gp2"]
    total = p.summary.loc["TOTAL"]
    assert (total["trench_km"], total["aerial_km"], total["existing_km"]) == pytest.approx(
        (3.0, 4.0, 6.0)
    )
    assert total["route_km"] == pytest.approx(13.0)
    assert total["cable_km"] == pytest.approx(7.0)  # new cable only: aerial + underground


def test_bill_of_quantities_by_hand(branches):
    gps, pops, roads, existing, power = branches
    p = netplan.plan(gps, pops, roads, existing=existing, power_lines=power, progress=False)
    # joints: the branch point (3000,0), gp0's node (also where new cable meets the off-road
    # fibre), gp1 and gp2; drum joints (2 km drums) inside the 4 km aerial and 3 km trench runs
    # (one each); chambers where a joint touches trench: the branch, gp0 and the trench's drum
    assert _items(p, "pop0") == pytest.approx(
        {
            "trench": 3.0,
            "duct": 3.0,
            "cable_24f": 7.0,
            "aerial": 4.0,
            "pole_attachment": 80.0,  # 4000 m / 50 m spans
            "existing_fibre": 6.0,
            "joint_closure": 6.0,
            "joint_chamber": 3.0,
            "route_marker": 15.0,  # 3000 m / 200 m
        }
    )
    assert _items(p) == _items(p, "pop0")
    r = Rates()
    expected = (
        3 * (r.trench + r.duct)
        + 7 * r.cable_24f
        + 4 * r.aerial
        + 80 * r.pole_attachment
        + 6 * r.existing_fibre
        + 6 * r.joint_closure
        + 3 * r.joint_chamber
        + 15 * r.route_marker
    )
    assert p.summary.loc["TOTAL", "cost"] == pytest.approx(expected)
    _check_money(p)


def test_optical_budget_reach_and_loss(branches):
    gps, pops, roads, existing, power = branches
    p = netplan.plan(
        gps,
        pops,
        roads,
        existing=existing,
        power_lines=power,
        optical=OpticalBudget(reach_m=8000),
        progress=False,
    )
    sites = p.sites
    assert sites["fibre_path_m"].to_dict() == pytest.approx(
        {"gp0": 6000.0, "gp1": 7000.0, "gp2": 9000.0}
    )
    # 0.35 dB/km, 0.1 dB per splice (4, 4 and 6 joints on the paths), 2 x 0.5 dB connectors,
    # 17 dB splitter
    assert sites["optical_loss_db"].to_dict() == pytest.approx(
        {"gp0": 20.5, "gp1": 20.85, "gp2": 21.75}
    )
    assert sites["optical_ok"].to_dict() == {"gp0": True, "gp1": True, "gp2": False}
    assert "9.0 km is longer than the 8 km reach" in sites.loc["gp2", "optical_reason"]
    assert sites["routed"].all()  # flagged, still routed
    assert p.summary.loc["TOTAL", "optical_fail"] == 1
    # a tighter budget fails on loss instead
    tight = netplan.plan(
        gps, pops, roads, existing=existing, optical=OpticalBudget(budget_db=20.0), progress=False
    )
    assert not tight.sites["optical_ok"].any()
    assert "exceeds the 20 dB budget" in tight.sites.loc["gp0", "optical_reason"]


def test_loss_grows_with_path_length():
    roads = _lines([[(0, 0), (30_000, 0)]])
    gps = _points([(2_000, 0), (9_000, 0), (17_000, 0), (25_000, 0)], "gp")
    p = netplan.plan(gps, _points([(0, 0)], "pop"), roads, progress=False)
    ordered = p.sites.sort_values("fibre_path_m")
    assert ordered["fibre_path_m"].tolist() == pytest.approx([2000, 9000, 17000, 25000])
    assert ordered["optical_loss_db"].is_monotonic_increasing
    assert ordered["optical_ok"].tolist() == [True, True, True, False]


def test_cable_near_the_pop_is_at_least_the_cable_to_the_last_gp(branches):
    gps, pops, roads, existing, power = branches
    costs = CostModel(build=BuildRules(fibres_per_site=10))
    p = netplan.plan(gps, pops, roads, existing=existing, costs=costs, progress=False)
    fibres = p.routes.set_index("gps_served")["fibres"]
    # three GPs x 10 fibres = 30 -> 48F from the PoP; two GPs (20) and one GP -> 24F
    assert fibres[3] == 48
    assert fibres[2] == 24 and (fibres[1] == 24).all()
    assert p.routes["fibres"].iloc[0] == p.routes["fibres"].max()  # the PoP's segment
    items = _items(p)  # existing fibre carries no new cable
    assert items["cable_24f"] == pytest.approx(7.0)
    assert "cable_48f" not in items
    underground = netplan.plan(
        gps, pops, roads, costs=costs, existing=existing.iloc[1:], progress=False
    )
    assert _items(underground)["cable_48f"] == pytest.approx(3.0)


def test_ring_cable_sized_as_a_ring_and_checked_per_hop():
    """A 4 km square from the PoP round three GPs at its other corners."""
    roads = _lines([[(0, 0), (4000, 0), (4000, 4000), (0, 4000), (0, 0)]])
    gps = _points([(4000, 0), (4000, 4000), (0, 4000)], "gp")
    costs = CostModel(build=BuildRules(fibres_per_site=10))
    p = netplan.plan(
        gps, _points([(0, 0)], "pop"), roads, topology="ring", costs=costs, progress=False
    )
    # every metre of the ring carries all three GPs' fibres (30 -> 48F), the way round
    assert (p.routes["fibres"] == 48).all()
    assert p.routes["length_m"].sum() == pytest.approx(16_000)
    # each hop between routers is 4 km: 1.4 dB + 3 splices (drum joint, both ends) + 1 dB
    assert p.sites["fibre_path_m"].tolist() == pytest.approx([4000.0] * 3)
    assert p.sites["optical_loss_db"].tolist() == pytest.approx([2.7] * 3)
    assert p.sites["optical_ok"].all()
    short = netplan.plan(
        gps,
        _points([(0, 0)], "pop"),
        roads,
        topology="ring",
        optical=OpticalBudget(reach_m=3000),
        progress=False,
    )
    assert not short.sites["optical_ok"].any()
    assert "ring hop of 4.0 km" in short.sites["optical_reason"].iloc[0]
    # joints: three GP drops and one drum joint on each 4 km side
    assert _items(p)["joint_closure"] == 7
    _check_money(p)


def test_star_lays_one_cable_per_gp():
    roads = _lines([[(0, 0), (3000, 0)], [(1000, 0), (1000, 1000)]])
    gps = _points([(3000, 0), (1000, 1000)], "gp")
    p = netplan.plan(gps, _points([(0, 0)], "pop"), roads, topology="star", progress=False)
    shared = p.routes[p.routes["gps_served"] == 2]
    assert shared["cable_m"].tolist() == pytest.approx([2000.0])
    assert (p.routes["fibres"] == 24).all()
    # no branch joint for separate cables; each GP's cable ends in its drop; the 2 km run
    # from the PoP to (1000,0) carries two cables without a drum joint
    assert _items(p)["joint_closure"] == 2
    assert _items(p)["cable_24f"] == pytest.approx(5.0)


def _crossing_roads():
    return _lines([[(0, 0), (2000, 0)], [(1000, -5000), (1000, 5000)]], ["VR", "NH"], ["", "NH-30"])


def test_forced_highway_crossing_pays_hdd_unless_aerial():
    gps, pops = _points([(2000, 0)], "gp"), _points([(0, 0)], "pop")
    p = netplan.plan(gps, pops, _crossing_roads(), progress=False)
    assert p.summary.loc["TOTAL", "nh_crossings"] == 1
    assert _items(p)["hdd"] == pytest.approx(60.0)  # one crossing x 60 m
    _check_money(p)
    # on poles along the road the cable crosses overhead: no HDD, same NH crossing flagged
    power = _lines([[(0, 10), (2000, 10)]])
    aerial = netplan.plan(gps, pops, _crossing_roads(), power_lines=power, progress=False)
    assert set(aerial.routes["method"]) == {"aerial"}
    assert "hdd" not in _items(aerial)
    assert aerial.summary.loc["TOTAL", "nh_crossings"] == 1
    assert aerial.summary.loc["TOTAL", "cost"] < p.summary.loc["TOTAL", "cost"]


def test_router_detours_around_a_crossing_when_hdd_costs_more():
    """A short NH stub across the direct road; a road 100 m north goes round its end
    (200 m longer). HDD (60 m x INR 1,800) is dearer than 200 m of trench."""
    roads = _lines(
        [
            [(0, 0), (2000, 0)],
            [(1000, -50), (1000, 50)],
            [(0, 0), (0, 100), (2000, 100), (2000, 0)],
        ],
        ["VR", "NH", "VR"],
        ["", "NH-30", ""],
    )
    gps, pops = _points([(2000, 0)], "gp"), _points([(0, 0)], "pop")
    cheap = netplan.plan(gps, pops, roads, progress=False)
    short = netplan.plan(gps, pops, roads, costs=CostModel(objective="length"), progress=False)
    assert cheap.summary.loc["TOTAL", "route_km"] == pytest.approx(2.2)
    assert cheap.summary.loc["TOTAL", "nh_crossings"] == 0
    assert short.summary.loc["TOTAL", "route_km"] == pytest.approx(2.0)
    assert short.summary.loc["TOTAL", "nh_crossings"] == 1
    assert cheap.summary.loc["TOTAL", "cost"] < short.summary.loc["TOTAL", "cost"]


def test_router_prefers_aerial_and_existing_over_a_shorter_trench():
    """Direct road 3 km; a 4 km road round a bend carries a power line: aerial is cheaper."""
    roads = _lines([[(0, 0), (3000, 0)], [(0, 0), (0, 500), (3000, 500), (3000, 0)]])
    power = _lines([[(0, 0), (0, 510), (3000, 510), (3000, 0)]])
    gps, pops = _points([(3000, 0)], "gp"), _points([(0, 0)], "pop")
    p = netplan.plan(gps, pops, roads, power_lines=power, progress=False)
    assert p.summary.loc["TOTAL", "aerial_km"] == pytest.approx(4.0)
    assert p.summary.loc["TOTAL", "trench_km"] == pytest.approx(0.0)
    plain = netplan.plan(
        gps, pops, roads, power_lines=power, costs=CostModel(objective="length"), progress=False
    )
    assert plain.summary.loc["TOTAL", "trench_km"] == pytest.approx(3.0)
    assert p.summary.loc["TOTAL", "cost"] < plain.summary.loc["TOTAL", "cost"]


def test_forest_flags_do_not_depend_on_the_method():
    roads = _lines([[(0, 0), (2000, 0)]])
    forest = gpd.GeoDataFrame(geometry=[box(X0 + 500, Y0 - 300, X0 + 1500, Y0 + 300)], crs=CRS)
    gps, pops = _points([(2000, 0)], "gp"), _points([(0, 0)], "pop")
    buried = netplan.plan(gps, pops, roads, forest=forest, progress=False)
    power = _lines([[(0, 10), (2000, 10)]])
    aerial = netplan.plan(gps, pops, roads, forest=forest, power_lines=power, progress=False)
    assert set(aerial.routes["method"]) == {"aerial"}
    assert aerial.routes["in_forest_m"].sum() == pytest.approx(1000.0)
    assert buried.routes["in_forest_m"].sum() == pytest.approx(1000.0)
    assert len(aerial.permits) == len(buried.permits) == 1


def test_bridge_links_have_their_own_trench_and_a_survey():
    roads = _lines([[(0, 0), (1000, 0)], [(1500, 0), (3000, 0)]])
    p = netplan.plan(_points([(3000, 0)], "gp"), _points([(0, 0)], "pop"), roads, progress=False)
    items = _items(p)
    assert items["bridge_trench"] == pytest.approx(0.5)
    assert items["bridge_survey"] == 1
    assert items["trench"] == pytest.approx(2.5)
    assert items["duct"] == pytest.approx(3.0)


def test_construction_costs_per_edge():
    costs = CostModel()
    length = np.array([1000.0, 1000.0, 1000.0, 1000.0])
    kind = np.array(["road", "road", "road", "existing"], dtype=object)
    method, cost = construction_costs(
        length,
        kind,
        existing=np.array([False, False, True, False]),
        aerial=np.array([False, True, True, False]),
        crossings=np.zeros(4),
        costs=costs,
    )
    assert method.tolist() == [0, 1, 2, 2]  # underground, aerial, existing, existing
    assert cost[0] == pytest.approx(underground_cost_per_m(costs) * 1000)
    assert cost[2] < cost[1] < cost[0]  # existing << aerial < underground at the defaults


def test_rates_from_csv(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text('item,unit,rate\ntrench,km,"150,000"\nhdd,m,2500\n')
    rates = Rates.from_csv(path)
    assert rates.trench == 150_000 and rates.hdd == 2500 and rates.duct == Rates().duct
    template = tmp_path / "template.csv"
    Rates().to_frame().to_csv(template, index=False)
    assert Rates.from_csv(template) == Rates()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("item,rate\ntrenching,100\n", "rates.csv row 2: unknown item 'trenching'"),
        ("item,rate\ntrench,\n", "rates.csv row 2: item 'trench' has no rate"),
        ("item,rate\nduct,50\ntrench,-5\n", "rates.csv row 3: rate of 'trench' must be a finite"),
        ("item,rate\ntrench,cheap\n", "rates.csv row 2: rate of 'trench' is not a number: 'cheap'"),
        ("item,rate\ntrench,inf\n", "rate of 'trench' must be a finite number"),
        ("item,unit,rate\nhdd,km,5\n", "item 'hdd' is counted in 'm', not 'km'"),
        ("item,rate\ntrench,1\ntrench,2\n", "item 'trench' is given twice"),
        ("name,cost\ntrench,1\n", "has no column 'item'"),
    ],
)
def test_bad_rates_file_gives_one_line_error(tmp_path, text, message):
    path = tmp_path / "rates.csv"
    path.write_text(text)
    with pytest.raises(netplan.InputError) as info:
        Rates.from_csv(path)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_parameters_are_refused():
    with pytest.raises(netplan.InputError, match="objective"):
        CostModel(objective="money")
    with pytest.raises(netplan.InputError, match="fibres_per_site"):
        BuildRules(fibres_per_site=0)
    with pytest.raises(netplan.InputError, match="budget_db"):
        OpticalBudget(budget_db=float("nan"))
    with pytest.raises(netplan.ParameterError, match="Rates.aerial must be a finite number"):
        Rates(aerial=float("inf"))


def test_bad_utility_layers_get_clear_errors(branches, tmp_path):
    gps, pops, roads, existing, _ = branches
    with pytest.raises(netplan.CRSError):
        netplan.plan(
            gps, pops, roads, existing=existing.set_crs(None, allow_override=True), progress=False
        )
    polygons = gpd.GeoDataFrame(geometry=[box(X0, Y0, X0 + 10, Y0 + 10)], crs=CRS)
    with pytest.raises(netplan.GeometryTypeError, match="power lines"):
        netplan.plan(gps, pops, roads, power_lines=polygons, progress=False)
    far = existing.to_crs(4326).translate(xoff=40.0)
    with pytest.raises(netplan.ExtentError, match="existing fibre"):
        netplan.plan(gps, pops, roads, existing=gpd.GeoDataFrame(geometry=far), progress=False)
    empty = tmp_path / "empty.geojson"
    existing.iloc[:0].to_file(empty)
    with pytest.raises(netplan.EmptyLayerError):
        netplan.plan(gps, pops, roads, existing=empty, progress=False)
    with pytest.raises(netplan.InputFileNotFoundError):
        netplan.plan(gps, pops, roads, power_lines=tmp_path / "nope.gpkg", progress=False)


def test_sample_with_existing_fibre_and_power_lines(sample_paths, tmp_path):
    planner = netplan.Planner(
        sample_paths["gps"],
        sample_paths["pops"],
        sample_paths["roads"],
        forest=sample_paths["forest"],
        existing=sample_paths["existing"],
        power_lines=sample_paths["power_lines"],
        progress=False,
    )
    reuse = planner.plan()
    plain = netplan.plan(
        sample_paths["gps"], sample_paths["pops"], sample_paths["roads"], progress=False
    )
    total, before = reuse.summary.loc["TOTAL"], plain.summary.loc["TOTAL"]
    assert total["existing_km"] > 10 and total["aerial_km"] > 50
    assert total["trench_km"] < before["trench_km"]
    assert total["cost"] < 0.9 * before["cost"]
    assert total["trench_km"] + total["aerial_km"] + total["existing_km"] == pytest.approx(
        total["route_km"]
    )
    assert {
        "trench",
        "duct",
        "aerial",
        "pole_attachment",
        "existing_fibre",
        "joint_closure",
    } <= set(reuse.boq["item"])
    assert any(reuse.boq["item"].str.startswith("cable_"))
    _check_money(reuse)
    # a GP that fails the budget is still routed and counted
    failing = reuse.sites[~reuse.sites["optical_ok"]]
    assert failing["routed"].all()
    assert total["optical_fail"] == len(failing)
    assert (failing["optical_reason"] != "").all()
    # the length-only plan remains available and is shorter but dearer
    short = planner.plan(costs=CostModel(objective="length"))
    assert short.summary.loc["TOTAL", "route_km"] < total["route_km"]
    assert short.summary.loc["TOTAL", "cost"] > total["cost"]
    # files: boq.csv and a workbook with a BOQ sheet; the GeoPackage carries the new columns
    out = reuse.to_file(tmp_path / "out", map_html=False)
    boq = pd.read_csv(out / "boq.csv", dtype={"pop_id": str})
    assert list(boq.columns) == BOQ_COLUMNS and len(boq) == len(reuse.boq)
    book = openpyxl.load_workbook(out / "plan.xlsx")
    assert book.sheetnames == ["Summary", "BOQ", "Roll-out"]
    assert book["BOQ"].max_row == len(reuse.boq) + 1
    routes = gpd.read_file(out / "plan.gpkg", layer="routes")
    assert {"method", "fibres", "from_node", "to_node"} <= set(routes.columns)
    sites = gpd.read_file(out / "plan.gpkg", layer="sites")
    assert {"fibre_path_m", "optical_loss_db", "optical_ok", "optical_reason"} <= set(sites.columns)
    kml = (out / "plan.kml").read_text()
    assert "aerial" in kml and "existing" in kml and "F cable" in kml
    report = (out / "report.html").read_text()
    assert "Bill of quantities" in report and "GPs over the optical budget" in report
    # the comparison of scenarios takes the BOQ total, which is the summary's cost
    table = netplan.compare({"reuse": reuse, "length": short})
    assert table.loc["boq_total", "reuse"] == pytest.approx(total["cost"], abs=0.01)


def test_utility_layers_with_partitions_are_refused(branches):
    gps, pops, roads, existing, power = branches
    with pytest.raises(netplan.InputError, match="cannot be planned with partition_by yet"):
        netplan.Planner(gps, pops, roads, existing=existing, partition_by="id", progress=False)
