"""End-to-end plan of the Chhattisgarh state-scale benchmark (real GPs/PoPs, synthetic roads/forest).

    python benchmarks/state_plan.py [--shared ../shared/data] [--pops N] [--skip-star] [--map PATH]
                                    [--skip-utilities] [--skip-facilities]

Prints, for whole ``netplan.plan`` calls (load, network, assignment + design + right-of-way, no
export): the default plan (shared-trench trees, GPs assigned and trench designed jointly), and as
baselines measured in the same run the per-PoP trees (``joint=False``: nearest PoP first, then
one tree per PoP) and ``topology="star"``; with time and trench ratios and the peak memory.
The compiled kernels are loaded on the bundled sample first (not counted). On the default plan it
then prints the CPU time of the roll-out step (phases, register order, schedule) as a share of the
plan's, and writes its ``map.html`` (``--map``, default a temporary file), with the map's size and
the time to draw and write it.
Then the default plan again with SYNTHETIC existing fibre (along every NH) and power lines (along
40 % of the named MDR/ODR roads), generated here with the seeded generator of the bundled sample
(``data/make_sample_utilities.py``), timed (wall and CPU) beside the plain plan. Last, plans with and
without the 27 real district HQs as service points (own terminals of the joint design), in the order
without, with, with, without, printing the time ratio, the facilities connected and the trench
added (``--skip-facilities`` leaves this out).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import tempfile
import time
from pathlib import Path

import geopandas as gpd
from cg_state import load, peak_mb

import netplan
from netplan import rollout

VARIANTS = {
    "joint tree": {},
    "per-PoP tree": {"joint": False},
    "star": {"topology": "star"},
}


def _rollout_figures(tree: netplan.Plan, plan_cpu: float) -> None:
    """CPU time of the roll-out step (phases, register order, schedule) against the plan's."""
    c0 = time.process_time()
    rollout.plan_rollout(tree.routes, tree.sites, tree.permits, tree.layers)
    step = time.process_time() - c0
    print(
        f"roll-out (phases, register order, schedule): {step:.2f} s CPU, "
        f"{100 * step / plan_cpu:.1f} % of the tree plan's {plan_cpu:.1f} s CPU; "
        f"phase 1 {int((tree.sites['phase'] == 1).sum())} GPs, "
        f"last ready month {int(tree.rollout['month'].iloc[-1])}"
    )


def _facility_figures(layers: dict[str, gpd.GeoDataFrame], shared: Path, trench_km: float) -> None:
    """The default plan with and without the 27 real district HQs as service points, timed in
    the order without, with, with, without (so drift on a shared machine cancels): the time
    ratio, the facilities connected and the trench they add to the plan's ``trench_km``."""
    hq = gpd.read_file(shared / "chhattisgarh" / "district_hq.geojson")
    hq["category"] = "district HQ (hospital, Lok Seva Kendra)"
    facilities = netplan.load_facilities(hq, id_col="Dist_LGD", name_col="DTNAME")
    wall = {True: 0.0, False: 0.0}
    cpu = {True: 0.0, False: 0.0}
    for served in (False, True, True, False):
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        plan = netplan.plan(
            layers["gps"],
            layers["pops"],
            layers["roads"],
            forest=layers["forest"],
            facilities=facilities if served else None,
            progress=False,
        )
        wall[served] += time.perf_counter() - t0
        cpu[served] += time.process_time() - c0
        if served:
            table, total = plan.facilities, plan.summary.loc["TOTAL"]
        del plan
    print(
        f"with {len(table)} district HQs as service points: {wall[True] / 2:.1f} s "
        f"({cpu[True] / 2:.1f} s CPU) against {wall[False] / 2:.1f} s ({cpu[False] / 2:.1f} s CPU) "
        f"without, means of two runs each; time ratio {wall[True] / wall[False]:.3f} wall, "
        f"{cpu[True] / cpu[False]:.3f} CPU (limit 1.10 with the roll-out); "
        f"{int(table['routed'].sum())} connected ({int((table['served_by'] == '').sum())} own "
        f"terminals), trench +{total['trench_km'] - trench_km:.1f} km, GPs routed "
        f"{int(total['routed'])}"
    )


REPO = Path(__file__).resolve().parents[1]


def _synthetic_utilities(roads: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The sample's seeded SYNTHETIC existing-fibre and power-line generator, on these roads."""
    spec = importlib.util.spec_from_file_location(
        "make_sample_utilities", REPO / "data" / "make_sample_utilities.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.synthetic_utilities(roads)


def _line(name: str, seconds: float, cpu: float, plan: netplan.Plan) -> str:
    total = plan.summary.loc["TOTAL"]
    return (
        f"{name:>9}: {seconds:7.1f} s (cpu {cpu:6.1f} s)  routed {int(total['routed'])}/"
        f"{int(total['gps'])}  trench {total['trench_km']:9.1f} km  aerial "
        f"{total['aerial_km']:8.1f} km  existing {total['existing_km']:7.1f} km  cost INR "
        f"{total['cost'] / 1e7:8.1f} crore  optical fail {int(total['optical_fail'])}  "
        f"permit items {len(plan.permits)}"
    )


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
    parser.add_argument("--map", type=Path, default=None, help="write the state map here (kept)")
    parser.add_argument("--skip-star", action="store_true")
    parser.add_argument("--skip-utilities", action="store_true")
    parser.add_argument("--skip-facilities", action="store_true")
    args = parser.parse_args()
    print(f"kernels loaded on the sample in {_warm_up():.1f} s (not counted)")

    t0 = time.perf_counter()
    gps, pops, roads, forest = load(args.shared, pops=args.pops).values()
    t_load = time.perf_counter() - t0
    print(
        f"loaded {len(gps)} GPs, {len(pops)} PoPs, {len(roads)} roads, {len(forest)} forest polygons in {t_load:.1f} s"
    )

    timings = {}
    trench = {}
    default, default_cpu = None, 0.0
    layers = {"gps": gps, "pops": pops, "roads": roads, "forest": forest}
    for name, options in VARIANTS.items():
        if args.skip_star and name == "star":
            continue
        t0, c0 = time.perf_counter(), time.process_time()
        plan = netplan.plan(gps, pops, roads, forest=forest, progress=False, **options)
        timings[name] = time.perf_counter() - t0
        if default is None:
            default, default_cpu = plan, time.process_time() - c0
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
    _rollout_figures(default, default_cpu)
    _map_figures(default, timings[joint], args.map)
    if not args.skip_utilities:
        _utility_figures(gps, pops, roads, forest, default, timings[joint], default_cpu)
    trench_km = float(default.summary.loc["TOTAL", "trench_km"])
    del default  # the plans with facilities build their own networks
    if not args.skip_facilities:
        _facility_figures(layers, args.shared, trench_km)
    peak = peak_mb()
    print(f"peak memory {peak:.0f} MB (limit 2048)")


def _utility_figures(
    gps: gpd.GeoDataFrame,
    pops: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame,
    forest: gpd.GeoDataFrame,
    plain: netplan.Plan,
    plain_seconds: float,
    plain_cpu: float,
) -> None:
    """Plan again with synthetic existing fibre and power lines; print both plans and ratios."""
    t0 = time.perf_counter()
    existing, power = _synthetic_utilities(roads)
    print(
        f"SYNTHETIC utilities: {len(existing)} existing-fibre lines, {len(power)} power lines "
        f"generated in {time.perf_counter() - t0:.1f} s"
    )
    t0, c0 = time.perf_counter(), time.process_time()
    reuse = netplan.plan(
        gps, pops, roads, forest=forest, existing=existing, power_lines=power, progress=False
    )
    seconds, used = time.perf_counter() - t0, time.process_time() - c0
    print(_line("plain", plain_seconds, plain_cpu, plain))
    print(_line("utilities", seconds, used, reuse))
    cost = reuse.summary.loc["TOTAL", "cost"] / plain.summary.loc["TOTAL", "cost"]
    print(
        f"utilities/plain: time {seconds / plain_seconds:.2f}, cpu {used / plain_cpu:.2f}, "
        f"cost {cost:.3f}"
    )


def _map_figures(plan: netplan.Plan, plan_seconds: float, path: Path | None) -> None:
    """Draw and write the plan's map; print its size, the time and its ratio to the plan's."""
    with tempfile.TemporaryDirectory() as tmp:
        target = path if path is not None else Path(tmp) / "map.html"
        t0 = time.perf_counter()
        plan.to_html(target)
        seconds = time.perf_counter() - t0
        size_mb = target.stat().st_size / 1e6
    total = plan.summary.loc["TOTAL"]
    print(
        f" map: {size_mb:.1f} MB (limit 25 MB) for {int(total['gps'])} GPs, {len(plan.routes)} "
        f"route segments, {len(plan.crossings)} permission points; drawn and written in "
        f"{seconds:.1f} s = {seconds / plan_seconds:.3f} of the tree plan's time"
        + (f"; kept at {path}" if path is not None else "")
    )


if __name__ == "__main__":
    main()
