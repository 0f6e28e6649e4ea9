"""Roll-out by permission readiness: phases, ready months, the register's order, the schedule.

A hand-made network with one GP per case (clean, behind a forest, behind a highway crossing,
behind both), then the bundled sample checked the way a reviewer would: each GP's path rebuilt
from the routes table alone.
"""

from __future__ import annotations

import re

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

import netplan
from netplan import InputError, RowLayer
from netplan.cli import main as cli_main
from netplan.rollout import ROLLOUT_COLUMNS, LeadTimes

CRS = "EPSG:32644"
X0, Y0 = 500_000.0, 2_300_000.0


def _gdf(rows: dict, geoms: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=CRS)


def _line(*xy: tuple[float, float]) -> LineString:
    return LineString([(X0 + x, Y0 + y) for x, y in xy])


@pytest.fixture(scope="module")
def four_ways():
    """PoP at the origin, four roads of 2 km with a GP at each end.

    east: nothing on the way; north: through a forest (y 500..1500); west: across NH-9 (x=-1000);
    south: through a forest (y -1500..-500) and across NH-30 (y=-1800).
    """
    gps = _gdf(
        {"id": ["clean", "forest", "nh", "both"]},
        [Point(X0 + x, Y0 + y) for x, y in [(2000, 0), (0, 2000), (-2000, 0), (0, -2000)]],
    )
    pops = _gdf({"id": ["P"]}, [Point(X0, Y0)])
    ends = [(2000, 0), (0, 2000), (-2000, 0), (0, -2000)]
    roads = _gdf({"road_class": ["VR"] * 4}, [_line((0, 0), end) for end in ends])
    forest = _gdf(
        {"forest_id": ["RF-N", "RF-S"], "division": ["North", "South"]},
        [
            box(X0 - 300, Y0 + 500, X0 + 300, Y0 + 1500),
            box(X0 - 300, Y0 - 1500, X0 + 300, Y0 - 500),
        ],
    )
    highways = _gdf(
        {"ref": ["NH-9", "NH-30"]},
        [_line((-1000, -3000), (-1000, 3000)), _line((-600, -1800), (600, -1800))],
    )
    return gps, pops, roads, forest, highways


@pytest.fixture(scope="module")
def four_ways_plan(four_ways):
    gps, pops, roads, forest, highways = four_ways
    return netplan.plan(
        gps,
        pops,
        roads,
        forest=forest,
        highways=highways,
        lead_times={"forest": 18, "nh": 2},
        progress=False,
    )


def test_each_gp_gets_the_lead_time_of_what_its_path_needs(four_ways_plan):
    sites = four_ways_plan.sites
    assert sites["ready_month"].to_dict() == {"both": 18, "clean": 0, "forest": 18, "nh": 2}
    assert sites["phase"].to_dict() == {"both": 3, "clean": 1, "forest": 3, "nh": 2}
    register = four_ways_plan.permits.set_index("permit_id")
    needed = {gp: set(text.split(";")) - {""} for gp, text in sites["permits_needed"].items()}
    assert needed["clean"] == set()
    assert register.loc[list(needed["forest"]), "sub_authority"].tolist() == ["North"]
    assert register.loc[list(needed["nh"]), "sub_authority"].tolist() == ["NH-9"]
    assert sorted(register.loc[list(needed["both"]), "sub_authority"]) == ["NH-30", "South"]


def test_register_is_the_list_to_apply_from(four_ways_plan):
    register = four_ways_plan.permits
    # NH-9 and the northern division each let one GP light, NH-9 sooner; the southern GP needs
    # two items: the one expected sooner (NH-30) comes first, the division completes it
    assert register["sub_authority"].tolist() == ["NH-9", "North", "NH-30", "South"]
    assert register["priority"].tolist() == [1, 2, 3, 4]
    assert register["gps_blocked"].tolist() == [1, 1, 1, 1]
    assert register["gps_unblocked"].tolist() == [1, 1, 0, 1]
    assert register["lead_months"].tolist() == [2, 18, 2, 18]
    assert register["permit_id"].is_unique


def test_routes_carry_the_earliest_phase_they_serve(four_ways_plan):
    routes = four_ways_plan.routes
    first_gp = routes["gp_ids"].str.split(";").str[0]
    phase_of = four_ways_plan.sites["phase"]
    assert (routes["phase"].to_numpy() == phase_of.loc[first_gp].to_numpy()).all()
    assert set(routes["phase"]) == {1, 2, 3}


def test_schedule_rises_to_the_routed_count_and_the_whole_trench(four_ways_plan):
    schedule = four_ways_plan.rollout
    assert list(schedule.columns) == ROLLOUT_COLUMNS
    assert schedule["month"].tolist() == list(range(19))
    assert schedule.set_index("month")["gps_ready"].loc[[0, 1, 2, 17, 18]].tolist() == [
        1,
        1,
        2,
        2,
        4,
    ]
    assert schedule["gps_ready"].is_monotonic_increasing
    assert schedule["gps_ready"].iloc[-1] == int(four_ways_plan.sites["routed"].sum())
    assert schedule["trench_km"].iloc[-1] == pytest.approx(8.0, abs=1e-6)
    assert schedule.set_index("month")["trench_km"].loc[[0, 2]].tolist() == pytest.approx(
        [2.0, 4.0]
    )
    assert schedule["permits_granted"].iloc[[0, 2, 18]].tolist() == [0, 2, 4]
    total = four_ways_plan.summary.loc["TOTAL"]
    assert (total["phase1_gps"], total["waiting_gps"], total["last_ready_month"]) == (1, 3, 18)


def test_default_lead_times_and_a_layer_of_its_own(four_ways):
    gps, pops, roads, forest, highways = four_ways
    assert RowLayer.forest(forest).lead_months == 12
    assert RowLayer.national_highway(highways).lead_months == 6
    canal = RowLayer(highways, "canal", "line", "Irrigation Department")
    assert canal.lead_months == 6
    planner = netplan.Planner(gps, pops, roads, forest=forest, highways=highways, progress=False)
    p = planner.plan()
    assert p.lead_times == {"forest": 12, "nh": 6}
    assert p.sites["ready_month"].to_dict() == {"both": 12, "clean": 0, "forest": 12, "nh": 6}
    # the same routes with other lead times: phases change, routes do not
    q = planner.plan(lead_times={"nh": 24})
    assert q.sites["phase"].to_dict() == {"both": 3, "clean": 1, "forest": 2, "nh": 3}
    assert q.routes["length_m"].sum() == pytest.approx(p.routes["length_m"].sum())


@pytest.mark.parametrize(
    ("lead_times", "message"),
    [
        ({"rail": 3}, "unknown right-of-way layer(s) ['rail']"),
        ({"forest": -1}, "lead time of layer 'forest' must be a whole number from 0 to 240 months"),
        ({"nh": "soon"}, "lead time of layer 'nh' must be a number, got 'soon'"),
        ({"forest": 600}, "is too large (at most 240 months)"),
        ({"nh": 2.5}, "got 2.5"),
        ([("nh", 2)], "lead_times must map layer names to months"),
    ],
)
def test_bad_lead_times_are_one_line_errors(four_ways, lead_times, message):
    gps, pops, roads, forest, highways = four_ways
    with pytest.raises(InputError, match=re.escape(message)):
        netplan.plan(gps, pops, roads, forest=forest, lead_times=lead_times, progress=False)
    with pytest.raises(InputError, match="RowLayer.lead_time_months must be a whole number"):
        RowLayer.forest(forest, lead_time_months=-2)


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("rail=3", "unknown right-of-way layer 'rail'"),
        ("forest=-4", "lead time of layer 'forest' must be a whole number from 0 to 240 months"),
        ("nh=soon", "the lead time must be a whole number of months, got 'soon'"),
        ("forest", "write LAYER=MONTHS"),
    ],
)
def test_cli_bad_lead_time_is_one_line(tmp_path, capsys, flag, message):
    assert cli_main(["demo", "--out", str(tmp_path / "out"), "--lead-time", flag]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err
    assert not (tmp_path / "out").exists()


def test_outputs_hold_the_roll_out(four_ways_plan, tmp_path):
    out = four_ways_plan.to_file(tmp_path / "plan", map_html=False)
    rollout = pd.read_csv(out / "rollout.csv")
    assert rollout["gps_ready"].iloc[-1] == 4
    sites = pd.read_csv(out / "sites.csv", index_col="site_id", keep_default_na=False)
    assert sites.loc["nh", "phase"] == 2 and sites.loc["clean", "permits_needed"] == ""
    book = openpyxl.load_workbook(out / "plan.xlsx")
    assert book.sheetnames == ["Summary", "BOQ", "Roll-out"]
    assert [c.value for c in book["Roll-out"][1]] == ROLLOUT_COLUMNS
    register = pd.read_csv(out / "permits.csv")
    assert register["priority"].tolist() == [1, 2, 3, 4]
    routes = gpd.read_file(out / "plan.gpkg", layer="routes")
    assert sorted(routes["phase"].unique()) == [1, 2, 3]


def _paths_from_routes(routes: pd.DataFrame) -> dict[str, list[int]]:
    """Each GP's path as a reviewer rebuilds it: the segments whose gp_ids hold it."""
    paths: dict[str, list[int]] = {}
    for position, text in enumerate(routes["gp_ids"]):
        for gp in str(text).split(";"):
            if gp:
                paths.setdefault(gp, []).append(position)
    return paths


def test_sample_phases_match_the_routes_table(sample_paths):
    p = netplan.plan(
        sample_paths["gps"],
        sample_paths["pops"],
        sample_paths["roads"],
        forest=sample_paths["forest"],
        highways=sample_paths["highways"],
        lead_times={"forest": 18, "nh": 2},
        progress=False,
    )
    routes = p.routes.reset_index(drop=True)
    forest = routes["in_forest_m"].to_numpy() > 0
    nh = (routes["nh_crossings"].to_numpy() > 0) | (routes["along_nh_m"].to_numpy() > 0)
    routed = p.sites[p.sites["routed"]]
    paths = _paths_from_routes(routes)
    for gp, site in routed.iterrows():
        path = paths[gp]
        expected = max(18 * forest[path].any(), 2 * nh[path].any())
        assert site["ready_month"] == expected, gp
        assert (site["phase"] == 1) == (not forest[path].any() and not nh[path].any()), gp
    assert 0 < (routed["phase"] == 1).sum() < len(routed)
    assert p.rollout["gps_ready"].iloc[-1] == len(routed)
    # the register and the GPs agree on who waits for what
    waiting = routed["permits_needed"].str.split(";").explode()
    waiting = waiting[waiting != ""]
    counts = waiting.value_counts()
    register = p.permits.set_index("permit_id")
    assert set(counts.index) == set(register.index)
    assert (register["gps_blocked"] == counts.reindex(register.index)).all()
    for item, row in register.iterrows():
        assert set(row["gp_ids"].split(";")) == set(waiting.index[waiting == item])
    # gps_unblocked adds up to the GPs that wait on anything
    assert register["gps_unblocked"].sum() == (routed["phase"] > 1).sum()


def test_lead_times_mapping_is_frozen_and_checked():
    lead = LeadTimes({"forest": 12.0})
    assert lead.months == {"forest": 12}
    with pytest.raises(TypeError):
        lead.months["nh"] = 3  # type: ignore[index]


def test_map_colours_routes_by_phase(four_ways_plan):
    from netplan.maps import PHASE_COLORS

    page = four_ways_plan.explore(color_by="phase", tiles=None).get_root().render()
    assert "phase 1: no permission needed" in page and "phase 3" in page
    assert all(color in page for color in PHASE_COLORS[:3])
    assert "phase 1 (no permission)" in page and "month 18" in page  # the totals panel
