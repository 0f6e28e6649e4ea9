"""Outputs: spreadsheet-safe tables, valid KML, one GeoPackage schema, safe output folders."""

from __future__ import annotations

import csv
import json
import os
import signal
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Polygon

import netplan
from netplan import _outputs
from netplan._errors import NetplanWarning, OutputExistsError, OutputPathError
from netplan.export import (
    MANIFEST_NAME,
    atomic_output_dir,
    check_output_dir,
    neutralise,
    neutralise_text,
    write_csv,
    write_register_csv,
    write_register_xlsx,
    write_xlsx,
    written_files,
)
from netplan.row import CROSSING_COLUMNS, PERMIT_COLUMNS

HOSTILE = [
    '=HYPERLINK("http://evil.example","click")',
    "+SUM(1,2)",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "\uff1d1+1",  # full-width equals sign
    "  =1+1",
]
TRIGGERS = tuple("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
PLAIN_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"


def _formula_like(text: str) -> bool:
    import re

    stripped = text.lstrip(" \u00a0\u3000")
    return stripped.startswith(TRIGGERS) and not re.match(PLAIN_NUMBER, text.strip())


def _csv_cells(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [cell for row in csv.reader(handle) for cell in row]


def _xlsx_cells(path: Path) -> list:
    book = openpyxl.load_workbook(path)
    return [cell for sheet in book for row in sheet.iter_rows() for cell in row]


# ------------------------------------------------------------------------------ neutralising
@pytest.mark.parametrize("text", HOSTILE)
def test_formula_text_gets_a_leading_quote(text):
    assert neutralise_text(text) == "'" + text


@pytest.mark.parametrize("text", ["NH-30", "Kuakonda", "", "-5", "+91", "1e-3", "-0.25", "a=b"])
def test_ordinary_text_and_numbers_in_text_are_kept(text):
    assert neutralise_text(text) == text


def test_neutralise_keeps_numbers_numeric():
    frame = pd.DataFrame(
        {
            "name": ["=1+1", "ok", None],
            "km": [-1.5, 2.0, np.nan],
            "n": [-3, 0, 4],
            "f": [True, False, True],
        },
        index=pd.Index(["@id", "b", "c"], name="site_id"),
    )
    frame.columns = ["name", "km", "n", "=f"]
    out = neutralise(frame)
    assert out["name"].tolist()[:2] == ["'=1+1", "ok"] and pd.isna(out["name"].iloc[2])
    assert out["km"].dtype == float and out["km"].iloc[0] == -1.5
    assert out["n"].dtype == np.int64 and out["n"].iloc[0] == -3
    assert list(out.index) == ["'@id", "b", "c"] and out.index.name == "site_id"
    assert list(out.columns) == ["name", "km", "n", "'=f"]
    assert frame["name"].iloc[0] == "=1+1"  # the input is not changed


def test_csv_has_no_formula_and_keeps_negative_numbers(tmp_path):
    frame = pd.DataFrame({"name": HOSTILE, "value": np.linspace(-4, 4, len(HOSTILE))})
    path = write_csv(frame, tmp_path / "t.csv", index=False)
    cells = _csv_cells(path)
    assert not [c for c in cells if _formula_like(c)]
    back = pd.read_csv(path)
    assert back["value"].tolist() == pytest.approx(frame["value"].tolist())
    assert back["value"].min() == -4.0
    assert back["name"].tolist() == ["'" + text for text in HOSTILE]


def test_xlsx_has_no_formula_cell(tmp_path):
    frame = pd.DataFrame({"name": HOSTILE, "value": np.linspace(-4, 4, len(HOSTILE))})
    path = write_xlsx({"=Sheet": frame, "Other/[x]": frame.iloc[:2]}, tmp_path / "t.xlsx")
    cells = _xlsx_cells(path)
    assert cells and not [c for c in cells if c.data_type == "f"]
    assert not [c for c in cells if isinstance(c.value, str) and _formula_like(c.value)]
    numbers = [c.value for c in cells if c.data_type == "n" and c.value is not None]
    assert min(numbers) == -4.0  # negative numbers stay numbers
    assert openpyxl.load_workbook(path).sheetnames == ["=Sheet", "Other--x-"]


def test_sheet_names_are_valid_and_unique(tmp_path):
    permits = pd.DataFrame(
        {
            "authority": ["A/B:C*D?[E]" + "x" * 40, "A/B:C*D?[E]" + "x" * 40 + "y", "Summary"],
            "layer": ["l1", "l2", "l3"],
            "sub_authority": ["", "", ""],
            "kind": ["crossing"] * 3,
            "length_km": [0.0] * 3,
            "area_ha": [np.nan] * 3,
            "crossings": [1] * 3,
            "over_threshold": [False] * 3,
        }
    )
    book = openpyxl.load_workbook(write_register_xlsx(permits, tmp_path / "x.xlsx"))
    names = book.sheetnames
    assert names[0] == "Summary" and len(set(n.lower() for n in names)) == 4
    assert all(len(n) <= 31 and not set(n) & set("[]:*?/\\") for n in names)
    assert book[names[-1]]["A2"].value == "Summary"  # the authority called "Summary" has a sheet


def test_register_writers_neutralise_authority_and_division_names(tmp_path):
    permits = pd.DataFrame(
        {c: [None, None] for c in PERMIT_COLUMNS}
        | {
            "authority": ["=Forest", "@NH"],
            "sub_authority": ["-Bastar+1", "NH-30"],
            "kind": ["area", "crossing"],
            "length_km": [-0.0, 1.25],
            "crossings": [0, 1],
        }
    )
    csv_path = write_register_csv(permits, tmp_path / "permits.csv")
    xlsx_path = write_register_xlsx(permits, tmp_path / "permits.xlsx")
    assert not [c for c in _csv_cells(csv_path) if _formula_like(c)]
    cells = _xlsx_cells(xlsx_path)
    assert not [c for c in cells if c.data_type == "f"]
    assert "'-Bastar+1" in {c.value for c in cells} and "NH-30" in {c.value for c in cells}


def test_control_characters_are_removed_with_a_warning(tmp_path):
    frame = pd.DataFrame({"name": ["a\x00b", "ok\x07", "fine"]})
    with pytest.warns(NetplanWarning, match=r"t\.csv: removed NUL.*column 'name' rows 1, 2"):
        path = write_csv(frame, tmp_path / "t.csv", index=False)
    assert pd.read_csv(path)["name"].tolist() == ["ab", "ok", "fine"]


# ------------------------------------------------------------------------ names entering
def test_loaders_remove_control_characters_once_per_layer(tmp_path):
    path = tmp_path / "gps.csv"
    path.write_text(
        'id,name,block,lon,lat\n1,"A\x00B",Geedam,81.4,18.9\n2,ok,"Kua\x1bkonda",81.5,18.8\n'
        '3,"C\x07",x,81.6,18.7\n'
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gps = netplan.load_sites(path)
    messages = [str(w.message) for w in caught if issubclass(w.category, NetplanWarning)]
    assert messages == [
        "gps.csv: removed NUL and other control characters (which KML cannot hold and "
        "GeoPackage cuts text at) from the GPs: column 'name' rows 1, 3; column 'block' row 2"
    ]
    assert gps["name"].tolist() == ["AB", "ok", "C"] and gps["block"].tolist()[1] == "Kuakonda"


def test_layers_given_in_python_are_cleaned_too():
    frame = gpd.GeoDataFrame(
        {"name": ["tab\tkept", "nul\x00gone"]},
        geometry=gpd.points_from_xy([81.4, 81.5], [18.9, 18.8]),
        crs=4326,
    )
    with pytest.warns(NetplanWarning, match="the given GeoDataFrame: removed NUL"):
        gps = netplan.load_sites(frame)
    assert gps["name"].tolist() == ["tab\tkept", "nulgone"]


# ------------------------------------------------------------------------------- whole plans
HOSTILE_NAME = "Bade\x00pal ]]> & <b>\"q\"\x07 '=cmd'"
CLEAN_NAME = "Badepal ]]> & <b>\"q\" '=cmd'"


@pytest.fixture(scope="module")
def hostile_plan(sample_paths):
    """The sample with hostile GP names and a forest layer built in Python (no loader)."""
    gps = pd.read_csv(sample_paths["gps"], dtype={"gp_id": str})
    gps.loc[0, "name"] = HOSTILE_NAME
    gps.loc[1, "name"] = '=HYPERLINK("http://evil")'
    gps.loc[2, "name"] = "-2+3"
    gps = gpd.GeoDataFrame(gps, geometry=gpd.points_from_xy(gps["lon"], gps["lat"]), crs=4326)
    forest = gpd.read_parquet(sample_paths["forest"])
    divisions = ["=Div\x00ision", "@Range\x01", "+North"]
    forest["division"] = [divisions[i % 3] for i in range(len(forest))]
    with pytest.warns(NetplanWarning, match=r"layer 'forest': removed NUL.*'division' rows 1"):
        layer = netplan.RowLayer.forest(forest, authority="-Forest Dept")
    with pytest.warns(NetplanWarning, match=r"removed NUL.*GPs: column 'name' row 1$"):
        return netplan.plan(
            gps, sample_paths["pops"], sample_paths["roads"], row_layers=[layer], progress=False
        )


@pytest.fixture(scope="module")
def hostile_out(hostile_plan, tmp_path_factory):
    out = tmp_path_factory.mktemp("hostile") / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("error", NetplanWarning)  # cleaned once, where the text came in
        hostile_plan.to_file(out, map_html=False)
    return out


def test_kml_parses_whatever_the_names(hostile_out):
    root = ET.parse(hostile_out / "plan.kml").getroot()
    names = [e.text for e in root.iter("{http://www.opengis.net/kml/2.2}name")]
    assert CLEAN_NAME in names and '=HYPERLINK("http://evil")' in names


def test_names_round_trip_into_the_geopackage(hostile_out):
    sites = gpd.read_file(hostile_out / "plan.gpkg", layer="sites")
    assert CLEAN_NAME in set(sites["name"])  # not cut at the NUL
    permits = gpd.read_file(hostile_out / "plan.gpkg", layer="permits")
    assert {"=Division", "@Range"} <= set(permits["sub_authority"])


def test_no_spreadsheet_cell_of_the_plan_is_a_formula(hostile_out):
    csvs = sorted(hostile_out.glob("*.csv"))
    assert {p.name for p in csvs} >= {"sites.csv", "permits.csv", "summary.csv"}
    for path in csvs:
        assert not [c for c in _csv_cells(path) if _formula_like(c)], path.name
    cells = _xlsx_cells(hostile_out / "permits.xlsx")
    assert not [c for c in cells if c.data_type == "f"]
    assert not [c for c in cells if isinstance(c.value, str) and _formula_like(c.value)]
    sites = pd.read_csv(hostile_out / "sites.csv", dtype={"site_id": str})
    assert "'-2+3" in set(sites["name"]) and sites["network_m"].dtype == float


def test_plan_without_row_layers_has_every_gpkg_layer(sample_paths, tmp_path):
    roads = gpd.read_parquet(sample_paths["roads"])
    roads = roads[~roads["road_class"].isin(["NH"]) & ~roads["ref"].fillna("").str.startswith("NH")]
    p = netplan.plan(sample_paths["gps"], sample_paths["pops"], roads, progress=False)
    assert not p.layers
    out = p.to_file(tmp_path / "out", map_html=False)
    layers = dict(pyogrio.list_layers(out / "plan.gpkg"))
    assert set(layers) == {"routes", "sites", "pops", "crossings", "permits"}
    fields = {
        name: set(pyogrio.read_info(out / "plan.gpkg", layer=name)["fields"]) for name in layers
    }
    assert set(CROSSING_COLUMNS) <= fields["crossings"] and set(PERMIT_COLUMNS) <= fields["permits"]
    assert len(gpd.read_file(out / "plan.gpkg", layer="permits")) == 0
    assert layers["crossings"] == "Point" and layers["permits"] == "Point"


def test_plan_knows_its_inputs(hostile_plan, sample_paths):
    assert hostile_plan.inputs == (
        sample_paths["pops"].absolute(),
        sample_paths["roads"].absolute(),
    )
    loaded = netplan.load_roads(sample_paths["roads"])
    from netplan.planner import _input_paths

    assert _input_paths(loaded, None, str(sample_paths["gps"])) == (
        sample_paths["roads"].resolve(),
        sample_paths["gps"].absolute(),
    )


def test_to_file_refuses_an_input_folder(hostile_plan, sample_paths):
    with pytest.raises(OutputExistsError, match="holds the input pops.geojson"):
        hostile_plan.to_file(sample_paths["pops"].parent, overwrite=True)


# --------------------------------------------------------------------------- output folders
def _write(directory: Path, files: dict[str, str], **kwargs) -> Path:
    with atomic_output_dir(directory, **kwargs) as tmp:
        for name, text in files.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_text(text)
    return directory


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".netplan-" in p.name)


def test_new_folder_gets_a_manifest_of_what_was_written(tmp_path):
    out = _write(tmp_path / "a" / "b" / "out", {"x.csv": "1\n", "sub/y.txt": "yy"}, overwrite=False)
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    assert manifest["tool"] == "netplan" and manifest["version"] == netplan.__version__
    assert [(f["path"], f["bytes"]) for f in manifest["files"]] == [("sub/y.txt", 2), ("x.csv", 2)]
    assert written_files(out) == ["sub/y.txt", "x.csv"]
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o777 & ~umask  # not mkdtemp's 0700


def test_existing_empty_folder_is_used(tmp_path):
    (tmp_path / "out").mkdir()
    _write(tmp_path / "out", {"x.csv": "1"}, overwrite=False)
    assert written_files(tmp_path / "out") == ["x.csv"]


@pytest.mark.parametrize("overwrite", [False, True])
def test_folder_netplan_did_not_write_is_never_replaced(tmp_path, overwrite):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.docx").write_text("years of work")
    with pytest.raises(OutputExistsError, match="netplan did not write it"):
        _write(out, {"x.csv": "1"}, overwrite=overwrite)
    assert [p.name for p in out.iterdir()] == ["thesis.docx"] and _leftovers(tmp_path) == []


def test_netplan_folder_needs_overwrite(tmp_path):
    out = _write(tmp_path / "out", {"x.csv": "old"}, overwrite=False)
    with pytest.raises(OutputExistsError, match="overwrite=True"):
        _write(out, {"x.csv": "new"}, overwrite=False)
    assert (out / "x.csv").read_text() == "old"


def test_overwrite_replaces_only_netplans_own_files(tmp_path):
    out = _write(
        tmp_path / "out", {"x.csv": "old", "old.kml": "k", "t/z.txt": "z"}, overwrite=False
    )
    (out / "notes.txt").write_text("mine")
    (out / "project").mkdir()
    (out / "project" / "plan.qgz").write_text("qgis")
    (out / "empty").mkdir()
    (out / "t" / "mine.txt").write_text("mine too")
    (out / "link").symlink_to("notes.txt")
    _write(out, {"x.csv": "new", "y.csv": "y"}, overwrite=True)
    assert (out / "x.csv").read_text() == "new" and (out / "y.csv").read_text() == "y"
    assert not (out / "old.kml").exists() and not (out / "t" / "z.txt").exists()
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "project" / "plan.qgz").read_text() == "qgis"
    assert (out / "t" / "mine.txt").read_text() == "mine too"
    assert (out / "empty").is_dir() and os.readlink(out / "link") == "notes.txt"
    assert written_files(out) == ["x.csv", "y.csv"]
    assert _leftovers(tmp_path) == []


def test_a_file_of_the_user_with_an_output_name_is_not_replaced(tmp_path):
    out = _write(tmp_path / "out", {"x.csv": "old"}, overwrite=False)
    (out / "map.html").write_text("my own map")
    with pytest.raises(OutputExistsError, match="map.html .* was not written by netplan"):
        _write(out, {"x.csv": "new", "map.html": "netplan's map"}, overwrite=True)
    assert (out / "map.html").read_text() == "my own map" and (out / "x.csv").read_text() == "old"
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_failed_run_leaves_previous_output_and_no_temporary_folder(tmp_path, error):
    out = _write(tmp_path / "out", {"x.csv": "old"}, overwrite=False)
    with pytest.raises(error), atomic_output_dir(out, overwrite=True) as tmp:
        (tmp / "x.csv").write_text("half")
        raise error()
    assert (out / "x.csv").read_text() == "old" and _leftovers(tmp_path) == []
    with pytest.raises(error), atomic_output_dir(tmp_path / "n" / "new", overwrite=False):
        raise error()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # created parents removed too


def test_ctrl_c_during_the_swap_waits_for_it(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with _outputs._interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            done = True  # reached: the interrupt waits for the block to end
    assert done


def test_symlink_is_refused(tmp_path):
    out = _write(tmp_path / "out", {"x.csv": "old"}, overwrite=False)
    (tmp_path / "link").symlink_to(out)
    with pytest.raises(OutputExistsError, match="symbolic link"):
        _write(tmp_path / "link", {"x.csv": "new"}, overwrite=True)
    assert (out / "x.csv").read_text() == "old"


def test_protected_folders_are_refused(tmp_path, monkeypatch):
    home = tmp_path / "home" / "me"
    work = home / "work"
    work.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    cases = {".": "is the current folder", "..": "holds the current folder", "/": "holds the"}
    for directory, why in cases.items():
        with pytest.raises(OutputExistsError, match=why):
            check_output_dir(directory, overwrite=True)
    monkeypatch.chdir(tmp_path)
    for directory, why in {"~": "is your home folder", "home": "holds your home folder"}.items():
        with pytest.raises(OutputExistsError, match=why):
            check_output_dir(directory, overwrite=True)
    data = tmp_path / "data"
    data.mkdir()
    (data / "gps.csv").write_text("x")
    (data / "plan.txt").write_text("y")  # would also be "not netplan's"; the input comes first
    with pytest.raises(OutputExistsError, match="holds the input gps.csv"):
        check_output_dir("data", overwrite=True, inputs=["data/gps.csv"])
    with pytest.raises(OutputExistsError, match="is an existing file"):
        check_output_dir("data/gps.csv", overwrite=True, inputs=["data/gps.csv"])


def test_protected_even_when_netplan_wrote_it(tmp_path, monkeypatch):
    out = _write(tmp_path / "out", {"x.csv": "old"}, overwrite=False)
    monkeypatch.chdir(out)
    with pytest.raises(OutputExistsError, match="is the current folder"):
        _write(Path("."), {"x.csv": "new"}, overwrite=True)
    assert (out / "x.csv").read_text() == "old"


def test_unwritable_places_are_refused_early(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputPathError, match="is a file, not a folder"):
        check_output_dir(tmp_path / "file" / "out", overwrite=False)
    if Path("/proc/self/mounts").exists():
        with pytest.raises(OutputPathError, match="virtual file system 'proc'"):
            check_output_dir("/proc/netplan/out", overwrite=False)

    class ReadOnly:
        f_flag = os.ST_RDONLY

    monkeypatch.setattr(os, "statvfs", lambda path: ReadOnly())
    with pytest.raises(OutputPathError, match="read-only file system"):
        check_output_dir(tmp_path / "out", overwrite=False)


@pytest.mark.parametrize(
    "manifest, says",
    [
        ("{not json", "cannot use"),
        (json.dumps({"tool": "other", "files": []}), "not written by netplan"),
        (
            json.dumps({"tool": "netplan", "files": [{"path": "../victim.txt"}]}),
            "not a file inside",
        ),
        (json.dumps({"tool": "netplan", "files": [{"path": "/etc/passwd"}]}), "not a file inside"),
    ],
)
def test_a_forged_or_broken_manifest_protects_the_folder(tmp_path, manifest, says):
    out = tmp_path / "out"
    out.mkdir()
    (out / MANIFEST_NAME).write_text(manifest)
    (tmp_path / "victim.txt").write_text("keep")
    with pytest.raises(OutputExistsError, match=says):
        _write(out, {"x.csv": "new"}, overwrite=True)
    assert (tmp_path / "victim.txt").read_text() == "keep" and (out / MANIFEST_NAME).exists()


def test_open_geopackage_is_not_replaced(tmp_path):
    out = _write(tmp_path / "out", {"plan.gpkg": "db"}, overwrite=False)
    (out / "plan.gpkg-wal").write_text("open in QGIS")
    with pytest.raises(OutputExistsError, match="open in another program"):
        _write(out, {"plan.gpkg": "new db"}, overwrite=True)
    assert (out / "plan.gpkg").read_text() == "db"


def test_changed_output_is_kept_beside_the_new_one(tmp_path, caplog):
    out = _write(tmp_path / "out", {"x.csv": "old", "y.csv": "y"}, overwrite=False)
    (out / "x.csv").write_text("edited by hand")
    with caplog.at_level("WARNING", logger="netplan"):
        _write(out, {"x.csv": "new", "y.csv": "y"}, overwrite=True)
    assert "x.csv was changed after netplan wrote it; kept as x.changed.csv" in caplog.text
    assert (out / "x.csv").read_text() == "new"
    assert (out / "x.changed.csv").read_text() == "edited by hand"
    assert not (out / "y.changed.csv").exists()
    (out / "x.csv").write_text("edited again")
    _write(out, {"x.csv": "newer"}, overwrite=True)
    assert (out / "x.changed.csv").read_text() == "edited by hand"  # the user's now: kept
    assert (out / "x.changed-2.csv").read_text() == "edited again"
    assert written_files(out) == ["x.csv"] and _leftovers(tmp_path) == []


def test_overwrite_keeps_files_of_a_real_plan(hostile_plan, tmp_path):
    out = hostile_plan.to_file(tmp_path / "out", map_html=False)
    (out / "my-notes.txt").write_text("survey on Tuesday")
    polygon = gpd.GeoDataFrame(geometry=[Polygon([(81, 18), (81.1, 18), (81, 18.1)])], crs=4326)
    polygon.to_file(out / "my-areas.gpkg")
    hostile_plan.to_file(out, overwrite=True, map_html=False)
    assert (out / "my-notes.txt").read_text() == "survey on Tuesday"
    assert len(gpd.read_file(out / "my-areas.gpkg")) == 1
    assert "plan.gpkg" in written_files(out) and "my-notes.txt" not in written_files(out)


def test_sigterm_during_the_swap_waits_for_it():
    received = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    try:
        with _outputs._interrupts_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            assert received == []  # held
        assert received == [signal.SIGTERM]  # then handled as before
    finally:
        signal.signal(signal.SIGTERM, previous)
