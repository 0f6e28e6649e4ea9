"""End-to-end plan of the Chhattisgarh state-scale benchmark (real GPs/PoPs, synthetic roads/forest).

    python benchmarks/state_plan.py [--shared ../shared/data] [--topology tree|star] [--pops N]

Prints the time of each stage (load, network, assignment + design + right-of-way, export-free) and
the plan's headline figures, and the same plan with ``topology="star"`` as the baseline measured in
the same run.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import geopandas as gpd

import netplan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    parser.add_argument(
        "--pops", type=int, default=0, help="only the first N PoPs (and their district's GPs)"
    )
    parser.add_argument("--skip-star", action="store_true")
    args = parser.parse_args()
    cg = args.shared / "cg_state"

    t0 = time.perf_counter()
    gps = gpd.read_parquet(cg / "gps.parquet")
    pops = gpd.read_parquet(cg / "pops.parquet")
    roads = gpd.read_parquet(cg / "roads.parquet")
    forest = gpd.read_parquet(cg / "forest.parquet")
    if args.pops:
        pops = pops.sort_values("pop_id").head(args.pops)
        gps = gps[gps["district"].isin(set(pops["district"]))]
    t_load = time.perf_counter() - t0
    print(
        f"loaded {len(gps)} GPs, {len(pops)} PoPs, {len(roads)} roads, {len(forest)} forest polygons in {t_load:.1f} s"
    )

    timings = {}
    plans = {}
    for topology in ["tree"] if args.skip_star else ["tree", "star"]:
        t0 = time.perf_counter()
        plans[topology] = netplan.plan(
            gps, pops, roads, forest=forest, topology=topology, progress=False
        )
        timings[topology] = time.perf_counter() - t0
        total = plans[topology].summary.loc["TOTAL"]
        print(
            f"{topology:>4}: {timings[topology]:7.1f} s  routed {int(total['routed'])}/{int(total['gps'])}"
            f"  trench {total['trench_km']:9.1f} km  forest {total['in_forest_km']:8.1f} km"
            f"  NH crossings {int(total['nh_crossings'])}  permit items {len(plans[topology].permits)}"
        )
    if "star" in plans:
        tree_km = plans["tree"].summary.loc["TOTAL", "trench_km"]
        star_km = plans["star"].summary.loc["TOTAL", "trench_km"]
        print(
            f"tree/star trench ratio {tree_km / star_km:.3f}; time ratio {timings['tree'] / timings['star']:.2f}"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory {peak:.0f} MB")


if __name__ == "__main__":
    main()
