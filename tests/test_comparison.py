"""netplan.compare: plans side by side, on a hand-made case with known figures and on the sample."""

from __future__ import annotations

import copy

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

import netplan
from netplan import CostModel, InputError
from netplan.comparison import BOQ_TOTAL, DEFAULT_CHART, PERMIT_ITEMS, Comparison

CRS = "EPSG:32644"
X0, Y0 = 500_000.0, 2_300_000.0


@pytest.fixture(scope="module")
def detour_plans() -> dict[str, netplan.Plan]:
    """PoP at (0,0), GP at (2000,0): the direct road (2000 m) crosses 1000 m of forest; the
    detour north of it is 3200 m. Length-only takes the forest, permission-aware the detour."""
    site = {"id": ["gp0"], "name": ["GP 0"]}
    gps = gpd.GeoDataFrame(site, geometry=[Point(X0 + 2000, Y0)], crs=CRS)
    pops = gpd.GeoDataFrame({"id": ["pop0"], "name": ["PoP"]}, geometry=[Point(X0, Y0)], crs=CRS)
    lines = [[(0, 0), (2000, 0)], [(0, 0), (0, 600), (2000, 600), (2000, 0)]]
    roads = gpd.GeoDataFrame(
        {"road_class": ["VR", "VR"], "ref": ["", ""], "name": ["direct", "detour"]},
        geometry=[LineString([(X0 + x, Y0 + y) for x, y in line]) for line in lines],
        crs=CRS,
    )
    forest = gpd.GeoDataFrame(
        {"forest_id": ["RF-7"], "division": ["North Division"]},
        geometry=[box(X0 + 500, Y0 - 300, X0 + 1500, Y0 + 300)],
        crs=CRS,
    )
    planner = netplan.Planner(gps, pops, roads, forest=forest, progress=False)
    return {
        "shortest": planner.plan(),
        "avoid forest": planner.plan(costs=CostModel(forest_penalty_per_m=2.0)),
    }


@pytest.fixture(scope="module")
def sample_plans(sample_paths) -> dict[str, netplan.Plan]:
    planner = netplan.Planner(
        sample_paths["gps"],
        sample_paths["pops"],
        sample_paths["roads"],
        forest=sample_paths["forest"],
        progress=False,
    )
    return {"tree": planner.plan(), "ring": planner.plan(topology="ring")}


def test_hand_made_figures(detour_plans):
    table = netplan.compare(detour_plans)
    assert isinstance(table, Comparison)
    assert list(table.columns) == ["shortest", "avoid forest"]
    assert table.loc["trench_km"].tolist() == pytest.approx([2.0, 3.2])
    assert table.loc["in_forest_km"].tolist() == pytest.approx([1.0, 0.0])
    assert table.loc["routed"].tolist() == [1.0, 1.0]
    assert table.loc["unroutable"].tolist() == [0.0, 0.0]
    # one forest application for the shortest plan, none (0, not missing) for the detour
    assert table.loc[PERMIT_ITEMS].tolist() == [1.0, 0.0]
    assert table.loc[f"{PERMIT_ITEMS}: Forest Department"].tolist() == [1.0, 0.0]
    # cost is the bill of quantities at the default rates, by hand: per km of road 225,000 (trench
    # 120,000, duct 60,000, 24F cable 45,000), a route marker per 200 m (700), a joint closure and
    # chamber at the GP (20,000) and one more inside the 3.2 km run of the detour (2 km drums)
    assert table.loc["cost"].tolist() == pytest.approx([477_000.0, 771_200.0])
    assert table.loc[BOQ_TOTAL].tolist() == pytest.approx([477_000.0, 771_200.0])


def test_relative_to_a_baseline(detour_plans):
    table = netplan.compare(detour_plans)
    ratio = table.relative_to("shortest")
    assert ratio.loc["trench_km"].tolist() == pytest.approx([1.0, 1.6])
    assert ratio.loc["in_forest_km", "avoid forest"] == pytest.approx(0.0)
    assert np.isnan(ratio.loc["unroutable", "avoid forest"])  # 0 / 0 has no ratio
    diff = table.relative_to("shortest", how="difference")
    assert diff.loc["trench_km"].tolist() == pytest.approx([0.0, 1.2])
    assert diff.loc[PERMIT_ITEMS, "avoid forest"] == -1.0
    with pytest.raises(InputError, match="'tree' is not a scenario.*shortest, avoid forest"):
        table.relative_to("tree")
    with pytest.raises(InputError, match="how='share'"):
        table.relative_to("shortest", how="share")


def test_every_summary_figure_and_ring_rows(sample_plans):
    table = netplan.compare(sample_plans)
    numeric = []  # every plan's numeric summary figures, in order of first appearance
    for plan in sample_plans.values():
        numeric += [
            c
            for c in plan.summary.columns
            if pd.api.types.is_numeric_dtype(plan.summary[c]) and c not in numeric
        ]
    for name, plan in sample_plans.items():
        total = plan.summary.loc["TOTAL"]
        for column in numeric:
            expected = total[column] if column in total else np.nan
            assert table.loc[column, name] == pytest.approx(expected, nan_ok=True)
        assert table.loc[PERMIT_ITEMS, name] == len(plan.permits)
        by_authority = plan.permits.groupby("authority").size()
        for authority, items in by_authority.items():
            assert table.loc[f"{PERMIT_ITEMS}: {authority}", name] == items
    # rings apply to the ring plan only
    assert np.isnan(table.loc["rings", "tree"])
    assert table.loc["rings", "ring"] == len(sample_plans["ring"].rings)
    # summary figures first, then the permit rows, then the bill of quantities' total
    rows = list(table.index)
    assert rows[: len(numeric)] == numeric
    assert rows[len(numeric)] == PERMIT_ITEMS
    assert rows[-1] == BOQ_TOTAL
    assert table.loc[BOQ_TOTAL].tolist() == pytest.approx(table.loc["cost"].tolist())


def test_figures_other_features_add_appear(sample_plans):
    tree = copy.copy(sample_plans["tree"])
    tree.summary = tree.summary.assign(rollout_km=[1.0] * (len(tree.summary) - 1) + [12.5])
    boq = pd.DataFrame(
        {
            "pop_id": ["03369", "03369", "TOTAL", "TOTAL"],
            "item": ["trench", "cable", "trench", "cable"],
            "unit": ["m", "m", "m", "m"],
            "quantity": [10.0, 10.0, 100.0, 200.0],
            "rate": [2.0, 1.0, 2.0, 1.0],
            "amount": [20.0, 10.0, 200.0, 200.0],
        }
    )
    tree.boq = boq
    table = netplan.compare({"tree": tree, "ring": sample_plans["ring"]})
    assert table.loc["rollout_km"].tolist() == pytest.approx([12.5, np.nan], nan_ok=True)
    assert table.loc[BOQ_TOTAL, "tree"] == 400.0  # the TOTAL rows only
    ring_cost = sample_plans["ring"].summary.loc["TOTAL", "cost"]
    assert table.loc[BOQ_TOTAL, "ring"] == pytest.approx(ring_cost)
    assert list(table.index)[-1] == BOQ_TOTAL


def test_choosing_figures_and_bad_input(sample_plans):
    table = netplan.compare(sample_plans, figures=["cost", "trench_km"])
    assert list(table.index) == ["cost", "trench_km"]
    assert isinstance(table.loc[["cost"]], Comparison)
    with pytest.raises(InputError, match=r"\['trench_m'\] are not in the comparison.*trench_km"):
        netplan.compare(sample_plans, figures=["trench_m"])
    with pytest.raises(InputError, match="mapping of scenario names"):
        netplan.compare({})
    with pytest.raises(InputError, match="mapping of scenario names"):
        netplan.compare([sample_plans["tree"]])
    with pytest.raises(InputError, match="scenario 'star' is a DataFrame, not a netplan Plan"):
        netplan.compare({"tree": sample_plans["tree"], "star": sample_plans["tree"].summary})


def test_display_is_rounded_values_exact(sample_plans):
    table = netplan.compare(sample_plans)
    cost = table.loc["cost", "tree"]
    assert cost != round(cost)  # the value is exact ...
    assert f"{cost:,.0f}" in table._repr_html_()  # ... and shown rounded
    assert f"{cost:,.0f}" in repr(table.loc[["cost"]])


def test_chart_absolute_panels(sample_plans):
    table = netplan.compare(sample_plans)
    open_before = plt.get_fignums()
    fig = table.chart()
    assert plt.get_fignums() == open_before  # not kept open by pyplot
    panels = [ax for ax in fig.axes if ax.get_visible()]
    drawn = [f for f in DEFAULT_CHART if f in table.index]
    assert [ax.get_title() for ax in panels] == drawn
    for ax, figure in zip(panels, drawn, strict=True):
        heights = [bar.get_height() for bar in ax.patches]
        assert heights == pytest.approx(table.loc[figure].tolist())
    # a figure that does not apply to a scenario draws no bar for it (not a bar of zero)
    (ax,) = [ax for ax in table.chart(["rings"]).axes if ax.get_visible()]
    heights = [bar.get_height() for bar in ax.patches]
    assert np.isnan(heights[0]) and heights[1] == len(sample_plans["ring"].rings)


def test_chart_relative(sample_plans):
    table = netplan.compare(sample_plans)
    fig = table.chart(["trench_km", "cost"], relative_to="tree")
    (ax,) = fig.axes
    heights = [bar.get_height() for bar in ax.patches]
    ratio = table.relative_to("tree")
    expected = [1.0, 1.0, ratio.loc["trench_km", "ring"], ratio.loc["cost", "ring"]]
    assert heights == pytest.approx(expected)  # tree's bars, then ring's
    assert ax.get_legend() is not None
    with pytest.raises(InputError, match="figures \\['km'\\] are not in the comparison"):
        table.chart(["km"])
