"""Partitioned plans: hand-made districts with known answers, the bundled sample split by block,
the merge of designed variants, and the same plan in-process and on a Dask LocalCluster."""

from __future__ import annotations

import dataclasses
import logging
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

import netplan
from netplan import CostModel, InputError, MissingColumnError, cli
from netplan._assemble import Designed
from netplan.partition import Partitioning, concat_designed

CRS = "EPSG:32644"
X0, Y0 = 500_000.0, 2_300_000.0


def _sites(rows, id_col):
    """Points from ``(id, district, x, y)`` rows (x, y in metres from the origin)."""
    return gpd.GeoDataFrame(
        {
            id_col: [r[0] for r in rows],
            "name": [r[0] for r in rows],
            "district": [r[1] for r in rows],
        },
        geometry=[Point(X0 + r[2], Y0 + r[3]) for r in rows],
        crs=CRS,
    )


@pytest.fixture(scope="module")
def districts():
    """Two districts side by side on one 40 km main road with 5 km branches at x = 5, 15, 25 and
    35 km. PoP PW (district West) at x = 10 km, PE (East) at x = 30 km. GP X is spelt " WEST "
    but sits at the top of the 25 km branch, 10 km by road from PE and 20 km from PW. GP N's
    district (North) has no PoP; GP B has no district. Forest of one division covers 2 km of
    the 5 km branch (West) and 2 km of the 35 km branch (East)."""
    main = [(0, 0), (40_000, 0)]
    branches = [[(x, 0), (x, 5_000)] for x in (5_000, 15_000, 25_000, 35_000)]
    roads = gpd.GeoDataFrame(
        {"road_class": ["MDR"] + ["VR"] * 4},
        geometry=[LineString([(X0 + x, Y0 + y) for x, y in line]) for line in [main, *branches]],
        crs=CRS,
    )
    gps = _sites(
        [
            ("W1", "West", 5_000, 5_000),
            ("W2", "west", 15_000, 5_000),
            ("X", " WEST ", 25_000, 5_000),
            ("E1", "East", 35_000, 5_000),
            ("N", "North", 35_000, 5_000),
            ("B", None, 15_000, 5_000),
        ],
        "gp_id",
    )
    pops = _sites([("PW", "West", 10_000, 0), ("PE", "East", 30_000, 0)], "pop_id")
    forest = gpd.GeoDataFrame(
        {"forest_id": ["F1", "F2"], "division": ["Test Division"] * 2},
        geometry=[
            box(X0 + 4_000, Y0 + 2_000, X0 + 6_000, Y0 + 4_000),
            box(X0 + 34_000, Y0 + 2_000, X0 + 36_000, Y0 + 4_000),
        ],
        crs=CRS,
    )
    return gps, pops, roads, forest


def _plan(districts, **kw):
    gps, pops, roads, forest = districts
    return netplan.plan(gps, pops, roads, forest=forest, highways=None, progress=False, **kw)


def test_partitions_keep_gps_with_their_own_pops(districts):
    whole = _plan(districts)
    part = _plan(districts, partition_by="district")
    # unpartitioned, X goes to PE (10 km by road): PW's tree 5+5+10 km, PE's 5+5+10 km
    assert whole.summary.loc["TOTAL", "trench_km"] == pytest.approx(40.0)
    # partitioned, X (" WEST ") goes to PW: branches 5, 15, 25 and main 5..25 km = 35 km;
    # PE serves E1 and N (nearest PoP of the PoP-less North): 5 km branch + 5 km of main
    assert part.summary.loc["PW", "trench_km"] == pytest.approx(35.0)
    assert part.summary.loc["PE", "trench_km"] == pytest.approx(10.0)
    assert part.summary.loc["TOTAL", "trench_km"] == pytest.approx(45.0)
    assert list(part.summary.index) == ["PE", "PW", "TOTAL"]
    sites = part.sites
    assert sites["routed"].all() and len(sites) == 6
    assert sites["pop_id"].to_dict() == {
        "B": "PW", "E1": "PE", "N": "PE", "W1": "PW", "W2": "PW", "X": "PW"
    }  # fmt: skip
    assert sites.loc[["X", "N", "B"], "partition"].tolist() == ["West", "East", "West"]
    assert part.pops["partition"].to_dict() == {"PE": "East", "PW": "West"}


def test_merged_ids_are_unique_and_routes_name_their_partition(districts):
    part = _plan(districts, partition_by="district")
    routes = part.routes
    assert routes["segment_id"].tolist() == list(range(len(routes)))
    assert routes.columns.get_loc("partition") == routes.columns.get_loc("segment_id") + 1
    assert set(routes["partition"]) == {"East", "West"}
    # partitions sorted by value: East's segments come first
    assert routes["partition"].tolist() == sorted(routes["partition"])
    assert routes.groupby("pop_id")["partition"].nunique().eq(1).all()
    # every crossing points at segments of its own PoP
    by_segment = routes.set_index("segment_id")["pop_id"]
    for item in part.crossings.itertuples():
        segments = [int(s) for s in item.segment_ids.split(";")]
        assert int(item.segment_id) in segments
        assert set(by_segment.loc[segments]) == {item.pop_id}


def test_register_merges_one_division_across_partitions(districts):
    part = _plan(districts, partition_by="district")
    forest = part.permits[part.permits["layer"] == "forest"]
    assert len(forest) == 1  # one application for the division, not one per partition
    item = forest.iloc[0]
    assert item["sub_authority"] == "Test Division"
    assert item["length_km"] == pytest.approx(4.0)  # 2 km on each side
    assert item["area_ha"] == pytest.approx(0.4)  # 4 km x 1 m
    assert item["pop_ids"] == "PE;PW"
    assert item["feature_ids"] == "F1;F2"
    assert part.summary.loc["TOTAL", "in_forest_km"] == pytest.approx(4.0)


def test_unmatched_gps_listed_with_a_reason(districts):
    part = _plan(districts, partition_by="district", partition_unmatched="unrouted")
    sites = part.sites
    assert len(sites) == 6  # nothing lost
    assert (
        not sites.loc["N", "routed"]
        and "no PoP has its district 'North'" in sites.loc["N", "reason"]
    )
    assert not sites.loc["B", "routed"] and "no district value" in sites.loc["B", "reason"]
    assert sites.loc[["N", "B"], "partition"].tolist() == ["", ""]
    assert sites.drop(index=["N", "B"])["routed"].all()
    assert part.summary.loc["TOTAL", "unroutable"] == 2


def test_pops_without_value_and_unknown_column_are_clear_errors(districts):
    gps, pops, roads, forest = districts
    blank = pops.assign(district=["West", "  "])
    with pytest.raises(InputError, match=r"1 PoP\(s\) have no district value \(PE\)"):
        netplan.plan(gps, blank, roads, progress=False, partition_by="district")
    with pytest.raises(MissingColumnError) as err:
        netplan.plan(
            gps, pops.drop(columns="district"), roads, progress=False, partition_by="district"
        )
    message = str(err.value)
    assert "the PoP layer (columns: ['pop_id', 'name'])" in message
    assert "GP layer" not in message
    with pytest.raises(InputError, match="partition_buffer_m must be a"):
        netplan.Planner(
            gps,
            pops,
            roads,
            progress=False,
            partition_by="district",
            partition_buffer_m=float("nan"),
        )
    with pytest.raises(InputError, match="pass partition_by"):
        netplan.Planner(gps, pops, roads, progress=False, client=object())


def test_partition_far_from_every_road_lists_its_sites_as_the_whole_plan_does(districts):
    gps, pops, roads, forest = districts
    # district South lies 21 km south of the main road, beyond the 10 km buffer
    gps = pd.concat([gps, _sites([("S1", "South", 5_000, -21_000)], "gp_id")])
    pops = pd.concat([pops, _sites([("PS", "South", 6_000, -21_000)], "pop_id")])
    whole = netplan.plan(gps, pops, roads, progress=False)
    part = netplan.plan(gps, pops, roads, progress=False, partition_by="district")
    assert part.sites.loc["S1", "reason"] == whole.sites.loc["S1", "reason"]
    assert part.pops.loc["PS", "reason"] == whole.pops.loc["PS", "reason"]
    assert part.sites.loc["S1", "reason"].startswith("farther than 2000 m from any road")
    assert not part.pops.loc["PS", "routed"]


def test_only_selected_pops_and_their_partitions(districts):
    gps, pops, roads, forest = districts
    planner = netplan.Planner(
        gps, pops, roads, forest=forest, progress=False, partition_by="district"
    )
    east = planner.plan(pops=["PE"])
    assert list(east.summary.index) == ["PE", "TOTAL"]
    assert set(east.routes["partition"]) == {"East"}
    assert east.summary.loc["TOTAL", "trench_km"] == pytest.approx(10.0)
    assert "partitions by 'district'" in repr(planner)
    with pytest.raises(InputError, match=r"split into partitions \(partition_by=\)"):
        planner.weights(CostModel())


def test_permission_aware_partitioned_plan_has_a_tradeoff(districts):
    part = _plan(districts, partition_by="district", costs=CostModel.permission_aware())
    assert part.tradeoff is not None
    # no detour exists on these roads: both variants lay the same 4 km in forest
    assert part.tradeoff.loc["difference", "in_forest_km"] == pytest.approx(0.0)
    assert part.tradeoff.loc["without-penalties", "trench_km"] == pytest.approx(45.0)


# ------------------------------------------------------------------------------ the sample
@pytest.fixture(scope="module")
def sample_layers():
    """The bundled sample; its PoPs are block HQs, so they get a block column from their names
    (the GPs' block Kuakonda is spelt Kuwakonda by the PoP: those GPs have no PoP by name)."""
    from netplan.datasets import sample_paths

    paths = sample_paths()
    pops = netplan.load_pops(paths["pops"])
    pops["block"] = pops["name"]
    return {
        "gps": paths["gps"],
        "pops": pops,
        "roads": paths["roads"],
        "forest": paths["forest"],
        "highways": paths["highways"],
    }


def _sample_plan(layers, **kw):
    return netplan.plan(
        layers["gps"],
        layers["pops"],
        layers["roads"],
        forest=layers["forest"],
        highways=layers["highways"],
        progress=False,
        **kw,
    )


@pytest.fixture(scope="module")
def sample_whole(sample_layers):
    return _sample_plan(sample_layers)


@pytest.fixture(scope="module")
def sample_by_block(sample_layers):
    return _sample_plan(sample_layers, partition_by="block")


def test_sample_by_block_loses_no_gp(sample_layers, sample_whole, sample_by_block):
    sites = sample_by_block.sites
    assert sites.index.equals(sample_whole.sites.index)
    assert (sites["routed"] | sites["reason"].ne("")).all()
    assert sites["routed"].sum() >= sample_whole.sites["routed"].sum()
    # the GPs of blocks without a PoP of that name were planned with their nearest PoP
    unmatched = ~sites["partition"].isin(["Dantewada", "Geedam", "Katekalyan", "Kuwakonda"])
    assert not unmatched.any()
    # a partition keeps its GPs on its own PoPs: within a few per cent of the plan that also
    # assigns each GP first (to its nearest PoP), and never shorter than the joint plan of all
    whole_km = sample_whole.summary.loc["TOTAL", "trench_km"]
    part_km = sample_by_block.summary.loc["TOTAL", "trench_km"]
    nearest_first = _sample_plan(sample_layers, joint=False).summary.loc["TOTAL", "trench_km"]
    assert abs(part_km / nearest_first - 1) <= 0.03
    assert part_km >= whole_km - 1e-6


def test_sample_chainage_is_measured_along_the_whole_highway(sample_whole, sample_by_block):
    """A partition keeps every line of a highway ref it touches, so a crossing at the same
    place has the same chainage as in the unpartitioned plan."""
    key = ["sub_authority", "kind", "lon", "lat"]
    a = sample_whole.crossings[sample_whole.crossings["layer"] == "nh"]
    b = sample_by_block.crossings[sample_by_block.crossings["layer"] == "nh"]
    same = a.merge(b, on=key, suffixes=("_whole", "_part"))
    assert len(same) >= 2
    np.testing.assert_allclose(same["chainage_km_whole"], same["chainage_km_part"])


def test_sample_rings_keep_pointing_at_their_segments(sample_layers):
    part = _sample_plan(sample_layers, partition_by="block", topology="ring", ring_size=6)
    rings = part.rings
    assert rings.index.is_unique and len(rings)
    on_routes = {r for v in part.routes["ring_ids"].dropna() for r in v.split(";") if r}
    assert on_routes == set(rings.index)
    assert part.summary.loc["TOTAL", "rings"] == len(rings)


def test_small_buffer_warns_that_routes_reach_its_edge(sample_layers, caplog):
    with caplog.at_level(logging.WARNING, logger="netplan.partition"):
        _sample_plan(sample_layers, partition_by="block", partition_buffer_m=1_000)
    assert "near the edge of its roads (partition_buffer_m=1000)" in caplog.text


def test_plan_does_not_depend_on_input_order(sample_layers, sample_by_block):
    shuffled = dict(sample_layers)
    gps = netplan.load_sites(sample_layers["gps"])
    shuffled["gps"] = gps.iloc[::-1]
    shuffled["pops"] = sample_layers["pops"].iloc[::-1]
    again = _sample_plan(shuffled, partition_by="block")
    pd.testing.assert_frame_equal(again.summary, sample_by_block.summary)
    pd.testing.assert_frame_equal(again.routes, sample_by_block.routes)


# ------------------------------------------------------------------------------- Dask
@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def test_cluster_gives_the_in_process_plan(sample_layers, sample_by_block, client):
    planner = netplan.Planner(
        sample_layers["gps"],
        sample_layers["pops"],
        sample_layers["roads"],
        forest=sample_layers["forest"],
        highways=sample_layers["highways"],
        progress=False,
        partition_by="block",
        client=client,
    )
    on_cluster = planner.plan()
    for table in ("summary", "routes", "sites", "pops", "crossings", "permits"):
        pd.testing.assert_frame_equal(
            getattr(on_cluster, table), getattr(sample_by_block, table), obj=table
        )
    # the partition planners stay on the workers: a second variant designs on them
    kept = dict(planner.partitions._planners)
    assert all(f.status == "finished" for f in kept.values())
    star = planner.plan(topology="star")
    assert planner.partitions._planners == kept
    in_process = _sample_plan(sample_layers, partition_by="block", topology="star")
    pd.testing.assert_frame_equal(star.routes, in_process.routes)


# ------------------------------------------------------------------------------- merge
def test_designed_fields_are_known_to_the_merge():
    """A new field of Designed must be merged per partition: check concat_designed (re-based
    ids, a partition column?) and add it here."""
    assert [f.name for f in dataclasses.fields(Designed)] == [
        "assignment", "routes", "crossings", "route_m", "pop_status", "rings", "facilities"
    ]  # fmt: skip


def _designed(pop: str, n: int) -> Designed:
    routes = gpd.GeoDataFrame(
        {"pop_id": [pop] * n, "segment_id": np.arange(n), "edge_id": np.arange(n)},
        geometry=[LineString([(0, i), (1, i)]) for i in range(n)],
        crs="EPSG:4326",
    )
    crossings = gpd.GeoDataFrame(
        {"pop_id": [pop], "segment_id": [n - 1], "segment_ids": [";".join(map(str, range(n)))]},
        geometry=[Point(0, 0)],
        crs="EPSG:4326",
    )
    gp = pd.Index([f"{pop}-gp"], name="site_id")
    return Designed(
        assignment=pd.DataFrame(
            {"pop_id": [pop], "network_m": [1.0], "reason": [""], "spur_m": [0.0]}, index=gp
        ),
        routes=routes,
        crossings=crossings,
        route_m=pd.Series([1.0], index=gp),
        pop_status=pd.DataFrame({"status": ["ok"], "reason": [""]}, index=[pop]),
        rings=pd.DataFrame(),
    )


def test_concat_rebases_segment_ids_in_every_table():
    merged = concat_designed([("a", _designed("P1", 2)), ("b", _designed("P2", 3))])
    assert merged.routes["segment_id"].tolist() == [0, 1, 2, 3, 4]
    assert merged.routes["edge_id"].tolist() == [0, 1, 0, 1, 2]  # partition-local
    assert merged.routes["partition"].tolist() == ["a", "a", "b", "b", "b"]
    assert merged.crossings["segment_id"].tolist() == [1, 4]
    assert merged.crossings["segment_ids"].tolist() == ["0;1", "2;3;4"]
    assert merged.assignment.index.tolist() == ["P1-gp", "P2-gp"]
    assert isinstance(merged.routes, gpd.GeoDataFrame) and merged.routes.crs == "EPSG:4326"


def test_concat_fails_loudly_on_what_it_cannot_merge():
    @dataclasses.dataclass(frozen=True)
    class WithExtra(Designed):
        extra: dict = dataclasses.field(default_factory=dict)

    a, b = (
        WithExtra(**dataclasses.asdict(_designed(p, 1)) | {"extra": {"k": 1}}) for p in ("P1", "P2")
    )
    with pytest.raises(TypeError, match="Designed.extra is a dict"):
        concat_designed([("a", a), ("b", b)])
    with pytest.raises(ValueError, match="partitions overlap: Designed.assignment repeats ids"):
        concat_designed([("a", _designed("P1", 1)), ("b", _designed("P1", 1))])


def test_partitioning_checks_its_options():
    assert Partitioning("district").unmatched == "nearest"
    with pytest.raises(InputError, match="partition_unmatched must be"):
        Partitioning("district", unmatched="drop")
    with pytest.raises(InputError, match="partition_by must be a column name"):
        Partitioning(" ")


# ------------------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def district_files(districts, tmp_path_factory):
    folder = tmp_path_factory.mktemp("districts")
    gps, pops, roads, forest = districts
    paths = {}
    for name, frame in (("gps", gps), ("pops", pops), ("roads", roads), ("forest", forest)):
        paths[name] = folder / f"{name}.gpkg"
        frame.to_file(paths[name])
    return paths


def _cli(files, out, *flags):
    args = ["plan", "--sites", str(files["gps"]), "--pops", str(files["pops"])]
    args += ["--roads", str(files["roads"]), "--forest", str(files["forest"])]
    return cli.main([*args, "--out", str(out), "--quiet", *flags])


def test_cli_partitions(district_files, tmp_path):
    assert _cli(district_files, tmp_path / "p", "--partition-by", "district") == 0
    summary = pd.read_csv(tmp_path / "p" / "summary.csv", index_col=0)
    assert summary.loc["TOTAL", "trench_km"] == pytest.approx(45.0)
    sites = pd.read_csv(tmp_path / "p" / "sites.csv", index_col=0, dtype={"partition": str})
    assert sites.loc["N", "partition"] == "East"


def test_cli_dask_options_need_partition_by_and_dask(district_files, tmp_path, capsys, monkeypatch):
    assert _cli(district_files, tmp_path / "a", "--workers", "2") == 2
    err = capsys.readouterr().err
    assert (
        err.strip()
        == "netplan: error: --workers plans partitions on Dask: add --partition-by COLUMN"
    )
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if Dask were not installed
    assert (
        _cli(
            district_files, tmp_path / "b", "--partition-by", "district", "--scheduler", "tcp://x:1"
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "--scheduler needs Dask, which is not installed: pip install 'netplan[dask]'" in err
    assert len(err.strip().splitlines()) == 1
