"""Time right-of-way annotation of the state-scale network (issue 4: under 60 s on 2 cores).

Loads ``cg_state`` (415,822 road lines, 1,848 forest polygons, national highways = roads with
``road_class == 'NH'``), projects to EPSG:32644 and times :func:`netplan.row.annotate_edges`.
A naive baseline (one ``unary_union`` of the forest, then ``intersection`` edge by edge) runs on a
sample and is scaled to the whole network for comparison; it is also checked against the fast
result on that sample.

Usage::

    python benchmarks/row_annotate.py [--data ../shared/data] [--baseline-fraction 0.02]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from netplan.row import RowLayer, annotate_edges

CRS = 32644


def _data_dir(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    env = os.environ.get("NETPLAN_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="shared data folder (default: ../shared/data)")
    parser.add_argument("--baseline-fraction", type=float, default=0.02)
    args = parser.parse_args(argv)
    folder = _data_dir(args.data) / "cg_state"
    if not (folder / "roads.parquet").exists():
        print(f"cg_state not found in {folder}; pass --data or set NETPLAN_SHARED_DATA")
        return 2

    t0 = time.perf_counter()
    roads = gpd.read_parquet(folder / "roads.parquet")
    forest = gpd.read_parquet(folder / "forest.parquet")
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    roads = roads.to_crs(CRS)
    forest = forest.to_crs(CRS)
    nh = roads.loc[roads["road_class"] == "NH", ["ref", "geometry"]]
    t_project = time.perf_counter() - t0
    print(f"roads {len(roads):,} lines, forest {len(forest):,} polygons, NH {len(nh):,} lines")
    print(f"load {t_load:.1f} s, project {t_project:.1f} s")

    layers = [RowLayer.forest(forest), RowLayer.national_highway(nh)]
    t0 = time.perf_counter()
    notes = annotate_edges(roads, layers, progress=False)
    t_fast = time.perf_counter() - t0
    n = len(roads)
    print(f"annotate_edges: {t_fast:.1f} s ({n / t_fast:,.0f} edges/s) "
          f"[target < 60 s: {'OK' if t_fast < 60 else 'TOO SLOW'}]")  # fmt: skip
    total_km = roads.length.sum() / 1000
    in_forest = notes["in_forest_m"].sum() / 1000
    print(
        f"  in forest {in_forest:,.0f} km of {total_km:,.0f} km ({100 * in_forest / total_km:.1f}%)"
    )
    print(
        f"  along NH {notes['along_nh_m'].sum() / 1000:,.0f} km (NH total {nh.length.sum() / 1000:,.0f} km)"
    )
    print(f"  NH crossings {notes['nh_crossings'].sum():,.1f} (edges with a crossing "
          f"{int((notes['nh_crossings'] > 0).sum()):,})")  # fmt: skip

    # naive baseline on a sample: union the forest once, intersect edge by edge
    rng = np.random.default_rng(0)
    k = max(1, int(n * args.baseline_fraction))
    sample = np.sort(rng.choice(n, size=k, replace=False))
    t0 = time.perf_counter()
    union = shapely.union_all(forest.geometry.values)
    lengths = [shapely.intersection(g, union).length for g in roads.geometry.values[sample]]
    t_base = time.perf_counter() - t0
    scaled = t_base * n / k
    diff = np.abs(np.asarray(lengths) - notes["in_forest_m"].to_numpy()[sample]).max()
    print(f"naive baseline (forest only, {k:,} edges = {100 * k / n:.0f}%): {t_base:.1f} s, "
          f"scaled to all edges {scaled:,.0f} s; fast/naive speed-up {scaled / t_fast:,.0f}x; "
          f"max |difference| {diff:.2e} m")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
