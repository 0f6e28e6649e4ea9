"""The netplan command: outputs, one-line errors, no overwriting, no half-written results."""

from __future__ import annotations

import importlib
import signal
import subprocess
import sys
import threading
import time
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


def test_overwrite_replaces_only_netplans_files(tmp_path):
    out = tmp_path / "out"
    assert cli.main(["demo", "--out", str(out), "--quiet"]) == 0
    (out / "notes.txt").write_text("mine")  # the user's own file next to the plan
    assert cli.main(["demo", "--out", str(out), "--quiet", "--overwrite", "--no-map"]) == 0
    assert (out / "notes.txt").read_text() == "mine"
    # map.html was netplan's and this run writes none: gone, not left stale
    assert (out / "plan.gpkg").exists() and not (out / "map.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary folders


def test_overwrite_refuses_a_folder_netplan_did_not_write(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    assert cli.main(["demo", "--out", str(out), "--quiet", "--overwrite", "--no-map"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "netplan did not write it" in err
    assert [p.name for p in out.iterdir()] == ["stale.txt"]


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


# ------------------------------------------------------------------------- safe output folders
def _inputs_folder(tmp_path, sample_paths) -> Path:
    """A folder holding copies of the sample inputs, as a user's data folder would."""
    folder = tmp_path / "data"
    folder.mkdir()
    for path in sample_paths.values():
        (folder / path.name).write_bytes(path.read_bytes())
    return folder


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("out", [".", "..", "data", "data/gps.csv"])
def test_output_never_replaces_inputs_or_their_folders(
    tmp_path, sample_paths, monkeypatch, out, capsys
):
    data = _inputs_folder(tmp_path, sample_paths)
    monkeypatch.chdir(data if out in (".", "..") else tmp_path)
    before = _snapshot(tmp_path)
    args = ["plan", "--sites", str(data / "gps.csv"), "--pops", str(data / "pops.geojson")]
    args += ["--roads", str(data / "roads.parquet"), "--out", out, "--overwrite", "--quiet"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("netplan: error:") and len(err.splitlines()) == 1
    assert _snapshot(tmp_path) == before


def test_output_that_is_a_file_does_not_suggest_overwrite(tmp_path, sample_paths, capsys):
    target = tmp_path / "plan.csv"
    target.write_text("keep me")
    for extra in ([], ["--overwrite"]):
        assert cli.main(["demo", "--out", str(target), "--quiet", *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert "is an existing file, not a folder" in err and "overwrite" not in err
    assert target.read_text() == "keep me"


@pytest.mark.parametrize(
    "out, says",
    [("{file}/plan", "is a file, not a folder"), ("/proc/netplan-out", "virtual file system")],
)
def test_unwritable_output_is_refused_before_planning(tmp_path, monkeypatch, out, says, capsys):
    (tmp_path / "f").write_text("x")
    planner = importlib.import_module("netplan.planner")
    monkeypatch.setattr(planner, "plan", lambda *a, **k: pytest.fail("planned anyway"))
    assert cli.main(["demo", "--out", out.format(file=tmp_path / "f"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and len(err.splitlines()) == 1


OPTIONS = [
    "--heal-tolerance",
    "--max-spur",
    "--max-bridge",
    "--forest-penalty",
    "--crossing-penalty",
    "--along-penalty",
    "--forest-width",
    "--ring-size",
]


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "-1", "1e400"])
@pytest.mark.parametrize("option", OPTIONS)
def test_unbounded_numbers_are_refused_naming_the_option(tmp_path, option, value, capsys):
    out = tmp_path / "o"
    assert cli.main(["demo", "--out", str(out), "--quiet", f"{option}={value}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"netplan: error: {option} ") and len(err.splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize(
    "option, value, says",
    [
        ("--heal-tolerance", "50000", "at most 500 m"),
        ("--max-spur", "4426000", "at most 50000 m"),
        ("--forest-width", "0", "above 0"),
        ("--ring-size", "2.5", "whole number"),
    ],
)
def test_absurd_numbers_are_refused_with_the_reason(tmp_path, option, value, says, capsys):
    assert cli.main(["demo", "--out", str(tmp_path / "o"), "--quiet", option, value]) == 2
    err = capsys.readouterr().err.strip()
    assert option in err and says in err and len(err.splitlines()) == 1


def _run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "netplan.cli", *args], capture_output=True, text=True, cwd=cwd
    )


def test_infinite_option_in_a_real_process_is_one_line(tmp_path):
    run = _run_cli("demo", "--out", str(tmp_path / "o"), "--forest-penalty", "inf")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines() == [
        "netplan: error: --forest-penalty must be a finite number, got inf; give a value from "
        "0 to 1e+06"
    ]


def test_each_warning_is_printed_once(tmp_path, sample_paths):
    gps = pd.read_csv(sample_paths["gps"], dtype=str)
    far = pd.DataFrame([{"gp_id": "FAR1", "name": "Far", "lon": "82.9", "lat": "19.9"}])
    pd.concat([gps, far]).to_csv(tmp_path / "gps.csv", index=False)
    args = ["plan", "--sites", str(tmp_path / "gps.csv"), "--pops", str(sample_paths["pops"])]
    args += ["--roads", str(sample_paths["roads"]), "--out", str(tmp_path / "o"), "--quiet"]
    run = _run_cli(*args, "--no-map")
    assert run.returncode == 0, run.stderr
    lines = [line for line in run.stderr.splitlines() if "'FAR1'" in line]
    assert len(lines) == 1 and lines[0].startswith("WARNING netplan")
    assert "sys.exit" not in run.stderr and "warnings.warn" not in run.stderr


def test_start_up_imports_little():
    code = "import sys, netplan.cli; print(sorted({'geopandas', 'numba', 'pandas'} & set(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.stdout.strip() == "[]", run.stderr


def _interrupt_when(
    process: subprocess.Popen, marker: str | None, signum: int = signal.SIGINT
) -> str:
    """Send Ctrl-C (or ``signum``) once ``marker`` shows on stderr (None: 0.3 s in, while it
    imports); return all of stderr."""
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(iter(lambda: process.stderr.read(1), "")))
    reader.start()
    deadline = time.monotonic() + 120
    while marker is not None and marker not in "".join(seen) and time.monotonic() < deadline:
        time.sleep(0.01)
    if marker is None:
        time.sleep(0.3)
    process.send_signal(signum)
    process.wait(timeout=120)
    reader.join(timeout=10)
    return "".join(seen)


def test_lazy_package_keeps_its_names():
    code = (
        "import netplan, inspect\n"
        "assert inspect.isfunction(netplan.plan)\n"
        "import netplan.planner, netplan.result\n"
        "from netplan.result import Plan\n"
        "assert inspect.isfunction(netplan.plan) and netplan.Plan is Plan\n"
        "assert netplan.planner.Planner is netplan.Planner\n"
        "assert netplan.maps.__name__ == 'netplan.maps' and netplan.export.write_csv\n"
        "assert {'plan', 'maps', 'RowLayer', 'ParameterError'} <= set(dir(netplan))\n"
        "from netplan import datasets, steiner_tree\n"
        "print('ok')"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.stdout.strip() == "ok", run.stderr


@pytest.mark.parametrize(
    "marker",
    [
        None,
        "loaded 92 GPs",
        "road network:",
        "joint design",
        "INFO netplan.export: writing the plan",
    ],
    ids=["importing", "loading", "network", "design", "writing"],
)
def test_ctrl_c_prints_one_line_and_exits_130(tmp_path, marker):
    out = tmp_path / "o"
    # "importing": right after the command starts (--debug logs that), while it imports its
    # heavy dependencies
    debug = ["--debug"] if marker is None else []
    marker = "DEBUG netplan: starting" if marker is None else marker
    process = subprocess.Popen(
        [sys.executable, "-m", "netplan.cli", "demo", "--out", str(out), *debug],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    err = _interrupt_when(process, marker)
    lines = err.strip().splitlines()
    assert process.returncode == 130, err
    assert "Traceback" not in err and lines[-1].startswith("netplan: interrupted")
    assert sum("interrupted" in line for line in lines) == 1
    assert list(tmp_path.iterdir()) == []  # neither output nor temporary folder


def test_sigterm_while_writing_leaves_nothing_behind(tmp_path):
    out = tmp_path / "o"
    process = subprocess.Popen(
        [sys.executable, "-m", "netplan.cli", "demo", "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    err = _interrupt_when(process, "INFO netplan.export: writing the plan", signal.SIGTERM)
    assert process.returncode == 143, err
    assert err.strip().splitlines()[-1].startswith("netplan: terminated")
    assert "Traceback" not in err and list(tmp_path.iterdir()) == []


def test_written_files_are_listed_from_what_was_written(tmp_path, capsys):
    out = tmp_path / "o"
    code = cli.main(
        ["demo", "--out", str(out), "--no-map", "--permission-aware", "--topology", "ring"]
    )
    assert code == 0
    listed = capsys.readouterr().out.splitlines()[1]
    names = listed[listed.index("(") + 1 : -1].split(", ")
    assert "tradeoff.csv" in names and "rings.csv" in names
    assert sorted(names) == sorted(p.name for p in out.iterdir() if not p.name.startswith("."))


def test_layer_of_a_multi_layer_geopackage(tmp_path, sample_paths, capsys):
    table = pd.read_csv(sample_paths["gps"], dtype={"gp_id": str})
    geometry = gpd.points_from_xy(table["lon"], table["lat"])
    points = gpd.GeoDataFrame(table, geometry=geometry, crs="EPSG:4326")
    both = tmp_path / "both.gpkg"
    points.to_file(both, layer="gp_offices")
    points.iloc[:5].to_file(both, layer="schools")
    args = ["plan", "--sites", str(both), "--pops", str(sample_paths["pops"])]
    args += ["--roads", str(sample_paths["roads"]), "--quiet", "--no-map"]
    assert cli.main([*args, "--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert "--layer sites:" in err and "layer=" in err
    assert cli.main([*args, "--out", str(tmp_path / "b"), "--layer", "sites:gp_offices"]) == 0
    assert len(pd.read_csv(tmp_path / "b" / "sites.csv")) == 92


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
    assert openpyxl.load_workbook(out / "plan.xlsx").sheetnames == ["Summary", "BOQ", "Roll-out"]
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
