"""End-to-end plan of the Chhattisgarh state-scale benchmark (real GPs/PoPs, synthetic roads/forest).

    python benchmarks/state_plan.py [--shared ../shared/data] [--pops N] [--skip-star]

Prints, for whole ``netplan.plan`` calls (load, network, assignment + design + right-of-way, no
export): the default plan (shared-trench trees, GPs assigned and trench designed jointly), and as
baselines measured in the same run the per-PoP trees (``joint=False``: nearest PoP first, then
one tree per PoP) and ``topology="star"``; with time and trench ratios and the peak memory.
The compiled kernels are loaded on the bundled sample first (not counted).
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import geopandas as gpd

import netplan

VARIANTS = {
    "joint tree": {},
    "per-PoP tree": {"joint": False},
    "star": {"topology": "star"},
}


def _warm_up() -> float:
    """Load the compiled kernels (numba cache) on the bundled sample; returns seconds."""
    t0 = time.perf_counter()
    sample = netplan.datasets.sample_paths()
    planner = netplan.Planner(sample["gps"], sample["pops"], sample["roads"], progress=False)
    planner.plan()
    planner.plan(joint=False)
    return time.perf_counter() - t0


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
    print(f"kernels loaded on the sample in {_warm_up():.1f} s (not counted)")

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
    trench = {}
    for name, options in VARIANTS.items():
        if args.skip_star and name == "star":
            continue
        t0 = time.perf_counter()
        plan = netplan.plan(gps, pops, roads, forest=forest, progress=False, **options)
        timings[name] = time.perf_counter() - t0
        total = plan.summary.loc["TOTAL"]
        trench[name] = float(total["trench_km"])
        print(
            f"{name:>12}: {timings[name]:7.1f} s  routed {int(total['routed'])}/{int(total['gps'])}"
            f"  trench {total['trench_km']:9.1f} km  forest {total['in_forest_km']:8.1f} km"
            f"  NH crossings {int(total['nh_crossings'])}  permit items {len(plan.permits)}"
        )
        del plan
    joint, per_pop = "joint tree", "per-PoP tree"
    print(
        f"joint / per-PoP trees: time ratio {timings[joint] / timings[per_pop]:.2f} (limit 1.25), "
        f"trench ratio {trench[joint] / trench[per_pop]:.3f}"
    )
    if "star" in trench:
        print(f"joint tree / star trench ratio {trench[joint] / trench['star']:.3f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory {peak:.0f} MB (limit 2048)")


if __name__ == "__main__":
    main()
