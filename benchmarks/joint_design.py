"""Trench of the joint design against per-PoP trees, a FiberPath-style greedy and one merged tree.

    python benchmarks/joint_design.py [--shared ../shared/data] [--cases sample ladakh three state]

For each case, on the plan's own road network and with plain lengths:

* ``per-PoP``: today's two stages, ``Planner.plan(joint=False)`` (each GP to its nearest PoP by
  road, then one Steiner tree per PoP);
* ``joint``: the default plan (assignment and trench as one Steiner forest rooted at the PoPs,
  :mod:`netplan.joint`);
* ``greedy``: the FiberPath-style baseline (:func:`netplan.joint.greedy_forest`): each GP joined
  along roads to the nearest point already connected, grown from all PoPs, nearest GP first;
* ``merged``: one Steiner tree (:func:`netplan.steiner_tree_arrays`) over every GP and a virtual
  root joined to every PoP at no cost (not on the state: too slow);
* ``windows``: :func:`netplan.joint.steiner_forest` with windows everywhere (``max_single=0``),
  what the decomposition used at state scale gives on each case.

Cases: the bundled sample; real Ladakh roads (``data/ladakh`` + ``<shared>/ladakh``); three
districts of the state benchmark (Raipur, Durg, Bilaspur: their GPs and PoPs on the state's
roads); the whole state. Prints km, ratios, times (the plans' times include flagging and
tables but not the length-weighted graph and nearest-PoP assignment they share, prepared once;
the greedy's, merged tree's and windows' are the graph work alone) and peak memory.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from cg_state import load, peak_mb

import netplan
from netplan.joint import greedy_forest, steiner_forest
from netplan.steiner import steiner_tree_arrays

DISTRICTS = ("Raipur", "Durg", "Bilaspur")


def _layers(case: str, shared: Path) -> dict:
    if case == "sample":
        paths = netplan.datasets.sample_paths()
        return {"gps": paths["gps"], "pops": paths["pops"], "roads": paths["roads"]}
    if case == "ladakh":
        return netplan.datasets.ladakh_paths(shared)
    districts = DISTRICTS if case == "three" else ()
    return load(shared, layers=("gps", "pops", "roads"), districts=districts)


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def _merged_tree(n: int, u, v, w, roots, terminals) -> float:
    """Weight of one Steiner tree over the terminals and a virtual root joined to every root."""
    hub = np.full(len(roots), n)
    tree = steiner_tree_arrays(
        n + 1,
        np.concatenate([u, hub]),
        np.concatenate([v, roots]),
        np.concatenate([w, np.zeros(len(roots))]),
        np.concatenate([[n], terminals]),
    )
    return float(np.concatenate([w, np.zeros(len(roots))])[tree].sum())


def run_case(case: str, shared: Path) -> dict:
    layers = _layers(case, shared)
    planner, t_build = _timed(netplan.Planner, **layers, progress=False)
    # what both variants share (the length-weighted graph, the nearest-PoP assignment) is
    # prepared once, outside the timings
    planner.assignment(netplan.DesignOptions(joint=False))
    per_pop, t_per_pop = _timed(planner.plan, joint=False)
    joint, t_joint = _timed(planner.plan)
    net = planner.network
    u, v, length = net.arrays()
    n = len(net.nodes)
    roots = np.unique(net.pops.loc[net.pops["status"] == "ok", "node"].astype(np.int64))
    routed = joint.sites.index[joint.sites["routed"]]
    terminals = net.gps.loc[routed, "node"].astype(np.int64).to_numpy()
    greedy, t_greedy = _timed(greedy_forest, n, u, v, length, roots, terminals)
    windows, t_windows = _timed(steiner_forest, n, u, v, length, roots, terminals, max_single=0)
    row = {
        "case": case,
        "gps": len(joint.sites),
        "pops": len(joint.pops),
        "build_s": t_build,
        "per_pop_km": float(per_pop.summary.loc["TOTAL", "trench_km"]),
        "per_pop_s": t_per_pop,
        "joint_km": float(joint.summary.loc["TOTAL", "trench_km"]),
        "joint_s": t_joint,
        "greedy_km": greedy.weight / 1000,
        "greedy_s": t_greedy,
        "windows_km": windows.weight / 1000,
        "windows_s": t_windows,
        "merged_km": np.nan,
        "merged_s": np.nan,
    }
    if case != "state":
        row["merged_km"], row["merged_s"] = _timed(_merged_tree, n, u, v, length, roots, terminals)
        row["merged_km"] /= 1000
    return row


def _print(rows: list[dict]) -> None:
    print()
    print(
        f"{'case':<8} {'GPs':>5} {'PoPs':>4} | {'per-PoP km':>10} {'joint km':>9} {'greedy km':>9}"
        f" {'merged km':>9} {'windows km':>10} | {'joint/per-PoP':>13} {'joint/greedy':>12}"
        f" {'joint/merged':>12} {'windows/merged':>14}"
    )
    for r in rows:
        print(
            f"{r['case']:<8} {r['gps']:>5} {r['pops']:>4} | {r['per_pop_km']:>10.1f} {r['joint_km']:>9.1f}"
            f" {r['greedy_km']:>9.1f} {r['merged_km']:>9.1f} {r['windows_km']:>10.1f} |"
            f" {r['joint_km'] / r['per_pop_km']:>13.3f} {r['joint_km'] / r['greedy_km']:>12.3f}"
            f" {r['joint_km'] / r['merged_km']:>12.4f} {r['windows_km'] / r['merged_km']:>14.4f}"
        )
    print()
    print(
        f"{'case':<8} | {'build s':>7} {'per-PoP s':>9} {'joint s':>7} {'ratio':>5} |"
        f" {'greedy s':>8} {'merged s':>8} {'windows s':>9}"
    )
    for r in rows:
        print(
            f"{r['case']:<8} | {r['build_s']:>7.1f} {r['per_pop_s']:>9.1f} {r['joint_s']:>7.1f}"
            f" {r['joint_s'] / r['per_pop_s']:>5.2f} | {r['greedy_s']:>8.2f} {r['merged_s']:>8.2f}"
            f" {r['windows_s']:>9.2f}"
        )


def _warm_up() -> None:
    """Load the compiled kernels (numba's disk cache) on the bundled sample."""
    sample = netplan.datasets.sample_paths()
    planner = netplan.Planner(sample["gps"], sample["pops"], sample["roads"], progress=False)
    planner.plan()
    net = planner.network
    u, v, length = net.arrays()
    nodes = net.gps["node"].dropna().astype(np.int64).to_numpy()
    roots = np.unique(net.pops["node"].dropna().astype(np.int64))
    steiner_forest(
        len(net.nodes), u, v, length, roots, nodes, max_single=0, capacity=[30] * len(roots)
    )
    greedy_forest(len(net.nodes), u, v, length, roots, nodes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    parser.add_argument(
        "--cases",
        nargs="+",
        default=["sample", "ladakh", "three", "state"],
        choices=["sample", "ladakh", "three", "state"],
    )
    args = parser.parse_args()
    t0 = time.perf_counter()
    _warm_up()
    print(f"kernels loaded on the sample in {time.perf_counter() - t0:.1f} s (not counted)")
    rows = []
    for case in args.cases:
        rows.append(run_case(case, args.shared))
        print(f"{case}: done")
    _print(rows)
    peak = peak_mb()
    print(f"\npeak memory {peak:.0f} MB")


if __name__ == "__main__":
    main()
