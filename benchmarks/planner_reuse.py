"""Build once, plan many: what a second variant costs on the state benchmark.

    python benchmarks/planner_reuse.py [--shared ../shared/data] [--pops N]

One run, on ``cg_state`` (9,356 real GPs, 149 real PoPs, synthetic roads and forest):

1. the first plan: ``Planner(...)`` (load, validate, network, right-of-way measures) and its first
   ``plan()`` (joint trees), timed together, as ``netplan.plan`` would take it;
2. second plans on the same planner: permission-aware, star, ring, and one PoP re-planned; each
   with its time and its ratio to the first plan's (the target for a second variant is <= 0.4);
3. the baseline: ``netplan.plan(..., costs=CostModel.permission_aware())`` from scratch, whose
   totals must equal the planner's permission-aware plan's.

The compiled kernels are loaded on the bundled sample first (not counted).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from cg_state import load, peak_mb

import netplan
from netplan import CostModel

SECOND_TARGET = 0.4


def _warm_up() -> None:
    sample = netplan.datasets.sample_paths()
    netplan.Planner(sample["gps"], sample["pops"], sample["roads"], progress=False).plan()


def _totals(plan: netplan.Plan) -> dict[str, float]:
    total = plan.summary.loc["TOTAL"]
    return {
        c: float(total[c]) for c in plan.summary.columns if np.issubdtype(type(total[c]), np.number)
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    parser.add_argument("--pops", type=int, default=0, help="only the first N PoPs' districts")
    args = parser.parse_args()
    gps, pops, roads, forest = load(args.shared, pops=args.pops).values()
    _warm_up()

    t0 = time.perf_counter()
    planner = netplan.Planner(gps, pops, roads, forest=forest, progress=False)
    built = time.perf_counter() - t0
    t1 = time.perf_counter()
    first = planner.plan()
    first_s = time.perf_counter() - t0
    print(
        f"first plan: {first_s:.1f} s (Planner built in {built:.1f} s, plan() "
        f"{time.perf_counter() - t1:.1f} s): {first}"
    )
    aware_costs = CostModel.permission_aware()
    second = {
        "permission-aware": lambda: planner.plan(costs=aware_costs),
        "star": lambda: planner.plan(topology="star"),
        "ring": lambda: planner.plan(topology="ring"),
        "one PoP re-planned": lambda: planner.plan(pops=[str(planner.pops.index[0])]),
    }
    plans = {}
    for name, make in second.items():
        t0 = time.perf_counter()
        plans[name] = make()
        seconds = time.perf_counter() - t0
        mark = "ok" if seconds <= SECOND_TARGET * first_s else "over"
        print(
            f"second plan, {name:>19}: {seconds:6.2f} s = {seconds / first_s:.2f} of the first "
            f"({mark} the {SECOND_TARGET} target): "
            f"{plans[name]}"
        )
    t0 = time.perf_counter()
    scratch = netplan.plan(gps, pops, roads, forest=forest, costs=aware_costs, progress=False)
    same = _totals(scratch) == _totals(plans["permission-aware"])
    print(
        f"baseline netplan.plan(permission-aware) from scratch: {time.perf_counter() - t0:.1f} s; "
        f"same totals as the planner's re-plan: {same}"
    )
    peak = peak_mb()
    print(f"peak memory {peak:.0f} MB")


if __name__ == "__main__":
    main()
