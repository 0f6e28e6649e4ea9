"""Time :func:`netplan.network.build_network` on the state-scale ``cg_state`` benchmark.

Usage::

    python benchmarks/network_build.py [path/to/shared/data]

Reads ``cg_state/roads.parquet`` (415,822 synthetic road lines), ``gps.parquet`` (9,356 real GP
offices) and ``pops.parquet`` (149 tehsil HQs), builds the network and prints the time, peak
memory and the build report. The road defects injected by the generator
(``road_defects.parquet``: gaps and overshoots) are printed for comparison with the healed count.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

import geopandas as gpd

from netplan.network import build_network


def _data_dir() -> Path:
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    env = os.environ.get("NETPLAN_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main() -> None:
    root = _data_dir() / "cg_state"
    t0 = time.perf_counter()
    roads = gpd.read_parquet(root / "roads.parquet")
    gps = gpd.read_parquet(root / "gps.parquet").set_index("gp_id")
    pops = gpd.read_parquet(root / "pops.parquet").set_index("pop_id")
    defects = gpd.read_parquet(root / "road_defects.parquet")
    t_read = time.perf_counter() - t0
    print(f"read {len(roads):,} roads, {len(gps):,} GPs, {len(pops):,} PoPs in {t_read:.1f} s")
    print("injected defects:", defects["defect"].value_counts().to_dict())

    t0 = time.perf_counter()
    net = build_network(roads, gps=gps, pops=pops, progress=False)
    t_build = time.perf_counter() - t0
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"build_network: {t_build:.1f} s, peak RSS {peak_gb:.2f} GB")
    print(net)
    for key, value in net.report.items():
        print(
            f"  {key:>20}: {value:,.3f}" if isinstance(value, float) else f"  {key:>20}: {value:,}"
        )
    print("GP status:", net.gps["status"].value_counts().to_dict())

    t0 = time.perf_counter()
    graph = net.graph
    print(
        f"networkx graph ({graph.number_of_nodes():,} nodes, {graph.number_of_edges():,} edges) "
        f"in {time.perf_counter() - t0:.1f} s"
    )


if __name__ == "__main__":
    main()
