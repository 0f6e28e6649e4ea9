"""Bundled sample data (see ``data/README.md`` for provenance and licences)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from netplan._errors import InputError

__all__ = ["data_dir", "sample_paths", "ladakh_paths", "load_sample"]


def data_dir() -> Path:
    """The repository's ``data/`` folder (netplan is installed from a checkout: ``pip install -e .``)."""
    folder = Path(__file__).resolve().parents[1] / "data"
    if not (folder / "sample").is_dir():
        raise InputError(
            f"bundled sample data not found at {folder}; install netplan from a git checkout "
            "with `pip install -e .` so that its data/ folder is next to the package"
        )
    return folder


def sample_paths() -> dict[str, Path]:
    """Paths of the Dantewada sample: real GPs and PoPs, synthetic roads, forest and utilities.

    Keys: ``gps`` (CSV), ``pops`` (GeoJSON), ``roads`` and ``forest`` (GeoParquet), ``highways``
    (GeoJSON), ``existing`` (SYNTHETIC existing fibre along the NHs, GeoJSON) and
    ``power_lines`` (SYNTHETIC 11 kV lines along some MDR/ODR roads, GeoJSON).

    Examples
    --------
    >>> sorted(sample_paths())
    ['existing', 'forest', 'gps', 'highways', 'pops', 'power_lines', 'roads']
    """
    folder = data_dir() / "sample"
    return {
        "gps": folder / "gps.csv",
        "pops": folder / "pops.geojson",
        "roads": folder / "roads.parquet",
        "forest": folder / "forest.parquet",
        "highways": folder / "highways.geojson",
        "existing": folder / "existing_fibre.geojson",
        "power_lines": folder / "power_lines.geojson",
    }


def ladakh_paths(shared: str | Path | None = None) -> dict[str, Path]:
    """Paths of the real Ladakh example: panchayat offices, block PoPs and PMGSY roads.

    The roads live in the shared data folder (``../shared/data/ladakh`` next to the checkout,
    or ``shared``).
    """
    folder = data_dir() / "ladakh"
    shared_dir = Path(shared) if shared else data_dir().parents[1] / "shared" / "data"
    return {
        "gps": folder / "panchayat_offices.geojson",
        "pops": folder / "pops.geojson",
        "roads": shared_dir / "ladakh" / "Road_DRRP_Ladakh.zip",
    }


def load_sample() -> dict[str, gpd.GeoDataFrame]:
    """The sample layers loaded and validated with :mod:`netplan.io`."""
    from netplan import io

    paths = sample_paths()
    return {
        "gps": io.load_sites(paths["gps"]),
        "pops": io.load_pops(paths["pops"]),
        "roads": io.load_roads(paths["roads"]),
        "forest": io.load_forest(paths["forest"]),
        "highways": io.load_highways(paths["highways"]),
        "existing": io.load_existing(paths["existing"]),
        "power_lines": io.load_power_lines(paths["power_lines"]),
    }
