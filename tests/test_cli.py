"""The netplan command: outputs, one-line errors, no overwriting, no half-written results."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import pytest

from netplan import cli

OUTPUTS = [
    "plan.gpkg",
    "summary.csv",
    "boq.csv",
    "plan.xlsx",
    "permits.csv",
    "permits.xlsx",
    "sites.csv",
    "plan.kml",
    "map.html",
]


def _plan(sites, sample_paths, out, *flags) -> int:
    """Run `netplan plan` with the sample PoPs and roads and the given sites file."""
    args = ["plan", "--sites", str(sites), "--pops", str(sample_paths["pops"])]
    args += ["--roads", str(sample_paths["roads"]), "--out", str(out), *flags]
    return cli.main(args)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "demo"
    assert cli.main(["demo", "--out", str(out), "--quiet"]) == 0
    return out


def test_demo_writes_every_output(demo_dir):
    for name in OUTPUTS:
        assert (demo_dir / name).stat().st_size > 0, name
    layers = {name for name, _ in pyogrio.list_layers(demo_dir / "plan.gpkg")}
    assert {"routes", "sites", "pops", "crossings", "permits"} <= layers
    sites = gpd.read_file(demo_dir / "plan.gpkg", layer="sites")
    assert len(sites) == 92
    summary = pd.read_csv(demo_dir / "summary.csv", dtype={"pop_id": str}).set_index("pop_id")
    routes = gpd.read_file(demo_dir / "plan.gpkg", layer="routes")
    assert summary.loc["TOTAL", "trench_km"] == pytest.approx(
        routes["length_m"].sum() / 1000, abs=1e-3
    )
    book = openpyxl.load_workbook(demo_dir / "permits.xlsx")
    assert book.sheetnames == ["Summary", "Forest Department", "NHAI - MoRTH"]
    html = (demo_dir / "map.html").read_text()
    assert "leaflet" in html.lower() and "Forest" in html
    kml = (demo_dir / "plan.kml").read_text()
    assert "<kml" in kml and "Placemark" in kml


def test_existing_output_is_not_overwritten(demo_dir, capsys):
    before = (demo_dir / "summary.csv").stat().st_mtime_ns
    assert cli.main(["demo", "--out", str(demo_dir), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("netplan: error:") and "--overwrite" in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert (demo_dir / "summary.csv").stat().st_mtime_ns == before


def test_overwrite_replaces(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    assert cli.main(["demo", "--out", str(out), "--quiet", "--overwrite", "--no-map"]) == 0
    assert not (out / "stale.txt").exists()
    assert (out / "plan.gpkg").exists() and not (out / "map.html").exists()


def test_bad_input_gives_one_line_error(tmp_path, sample_paths, capsys):
    bad = tmp_path / "gps.csv"
    bad.write_text("gp_id,name,longitude_typo,lat\n1,A,81.3,18.9\n")
    code = _plan(bad, sample_paths, tmp_path / "o", "--quiet")
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "gps.csv" in err and "lon" in err
    assert not (tmp_path / "o").exists()


def test_debug_shows_traceback(tmp_path, sample_paths, capsys):
    missing = tmp_path / "nope.geojson"
    code = _plan(missing, sample_paths, tmp_path / "o", "--debug")
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" in err and "nope.geojson" in err


def test_failure_while_writing_leaves_nothing(tmp_path, monkeypatch, capsys):
    import netplan.export

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(netplan.export, "write_register_xlsx", boom)
    out = tmp_path / "out"
    assert cli.main(["demo", "--out", str(out), "--quiet", "--no-map"]) == 1
    err = capsys.readouterr().err
    assert "disk full" in err and "--debug" in err
    assert list(tmp_path.iterdir()) == []  # neither the output nor a temporary folder


def test_console_script_entry_point(tmp_path):
    out = tmp_path / "o"
    run = subprocess.run(
        [sys.executable, "-m", "netplan.cli", "plan", "--help"], capture_output=True, text=True
    )
    assert run.returncode == 0 and "--sites" in run.stdout and "--row-layer" in run.stdout
    assert not out.exists()


def test_row_layer_and_permission_aware_from_the_command_line(tmp_path, sample_paths):
    roads = gpd.read_parquet(sample_paths["roads"])
    x0, y0, x1, y1 = roads.total_bounds
    from shapely.geometry import LineString

    rail = gpd.GeoDataFrame(
        {"zone": ["East Coast Railway"], "name": ["Kirandul <b>line</b>"]},
        geometry=[LineString([((x0 + x1) / 2, y0), ((x0 + x1) / 2, y1)])],
        crs=roads.crs,
    )
    rail_path = tmp_path / "railway.geojson"
    rail.to_file(rail_path)
    out = tmp_path / "out"
    code = cli.main(
        [
            "demo",
            "--out",
            str(out),
            "--quiet",
            "--no-map",
            "--permission-aware",
            "--row-layer",
            f"{rail_path}:line:Railways:zone",
        ]
    )
    assert code == 0
    permits = pd.read_csv(out / "permits.csv")
    railway = permits[permits["authority"] == "Railways"]
    assert len(railway) > 0 and set(railway["sub_authority"]) == {"East Coast Railway"}
    tradeoff = pd.read_csv(out / "tradeoff.csv", index_col=0)
    assert list(tradeoff.index) == ["without-penalties", "permission-aware", "difference"]
    # on the sample the detours add ~15 km and avoid ~16 km of forest and ~5 km along NHs (the
    # plan without penalties already avoids the NH crossings that HDD makes dear)
    assert tradeoff.loc["difference", "trench_km"] > 0
    assert tradeoff.loc["difference", "nh_crossings"] <= 0
    assert tradeoff.loc["difference", "in_forest_km"] < 0
    assert tradeoff.loc["difference", "along_nh_km"] < 0
    assert tradeoff.loc["difference", "cost"] > 0


def test_missing_file_is_a_one_line_input_error(tmp_path, sample_paths, capsys):
    code = _plan(tmp_path / "nope.csv", sample_paths, tmp_path / "o", "--quiet")
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith("netplan: error:") and "nope.csv" in err and "does not exist" in err


def test_column_overrides(tmp_path, sample_paths):
    gps = pd.read_csv(sample_paths["gps"], dtype={"gp_id": str})
    odd = gps.rename(
        columns={"gp_id": "FACILITY", "name": "VILLAGE", "lon": "X_DEG", "lat": "Y_DEG"}
    )
    odd.to_csv(tmp_path / "odd.csv", index=False)
    out = tmp_path / "out"
    code = _plan(
        tmp_path / "odd.csv",
        sample_paths,
        out,
        "--quiet",
        "--no-map",
        "--id",
        "sites:FACILITY",
        "--name",
        "sites:VILLAGE",
        "--lon",
        "sites:X_DEG",
        "--lat",
        "sites:Y_DEG",
        "--road-class",
        "road_class",
    )
    assert code == 0
    sites = pd.read_csv(out / "sites.csv", dtype={"site_id": str}).set_index("site_id")
    assert sorted(sites.index) == sorted(gps["gp_id"])
    assert set(sites["name"].fillna("")) == set(gps["name"].fillna(""))
    assert _plan(tmp_path / "odd.csv", sample_paths, tmp_path / "o2", "--id", "FACILITY") == 2


def test_buildable_plan_from_the_command_line(tmp_path, sample_paths, capsys):
    rates = tmp_path / "rates.csv"
    rates.write_text("item,unit,rate\naerial,km,40000\n")
    out = tmp_path / "out"
    args = ["--quiet", "--no-map", "--existing", str(sample_paths["existing"])]
    args += ["--power-lines", str(sample_paths["power_lines"]), "--rates", str(rates)]
    assert _plan(sample_paths["gps"], sample_paths, out, *args) == 0
    summary = pd.read_csv(out / "summary.csv", dtype={"pop_id": str}).set_index("pop_id")
    boq = pd.read_csv(out / "boq.csv", dtype={"pop_id": str})
    assert summary.loc["TOTAL", "existing_km"] > 0 and summary.loc["TOTAL", "aerial_km"] > 0
    assert (boq.loc[boq["item"] == "aerial", "rate"] == 40000).all()
    total = boq.loc[boq["pop_id"] == "TOTAL", "amount"].sum()
    assert summary.loc["TOTAL", "cost"] == pytest.approx(total, abs=0.01)
    assert openpyxl.load_workbook(out / "plan.xlsx").sheetnames == ["Summary", "BOQ"]
    # the length-only plan trenches more
    short = tmp_path / "short"
    assert _plan(sample_paths["gps"], sample_paths, short, *args, "--objective", "length") == 0
    length = pd.read_csv(short / "summary.csv", dtype={"pop_id": str}).set_index("pop_id")
    assert length.loc["TOTAL", "trench_km"] > summary.loc["TOTAL", "trench_km"]


def test_bad_rates_file_is_a_one_line_error(tmp_path, sample_paths, capsys):
    rates = tmp_path / "rates.csv"
    rates.write_text("item,rate\ntrench,-1\n")
    code = _plan(sample_paths["gps"], sample_paths, tmp_path / "o", "--rates", str(rates))
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "rates.csv row 2" in err and "'trench'" in err
    assert not (tmp_path / "o").exists()
