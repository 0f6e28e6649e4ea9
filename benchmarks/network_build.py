"""Time :func:`netplan.network.build_network` on the state-scale ``cg_state`` benchmark.

Usage::

    python benchmarks/network_build.py [path/to/shared/data]

Reads ``cg_state/roads.parquet`` (415,822 synthetic road lines), ``gps.parquet`` (9,356 real GP
offices) and ``pops.parquet`` (149 tehsil HQs), builds the network and prints the time, peak
memory and the build report. The road defects injected by the generator
(``road_defects.parquet``: gaps and overshoots) are printed for comparison with the healed count.

Baseline, measured in the same run on a ~10 % subset of the roads: GEOS noding of all lines at once
(``shapely.node``) plus a networkx graph of the noded pieces (no healing, no snapping), against
``build_network`` on the same subset.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely

from netplan.network import build_network


def _baseline(roads: gpd.GeoDataFrame) -> tuple[float, int]:
    """GEOS noding of the whole layer plus a networkx graph of the pieces: seconds, edges."""
    t0 = time.perf_counter()
    noded = shapely.node(shapely.multilinestrings(roads.geometry.to_numpy()))
    pieces = shapely.get_parts(noded)
    start = np.round(shapely.get_coordinates(shapely.get_point(pieces, 0)), 3)
    end = np.round(shapely.get_coordinates(shapely.get_point(pieces, -1)), 3)
    graph = nx.Graph()
    graph.add_edges_from(
        (tuple(a), tuple(b), {"length": float(length)})
        for a, b, length in zip(start, end, shapely.length(pieces), strict=True)
    )
    return time.perf_counter() - t0, graph.number_of_edges()


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

    x0, y0, x1, y1 = roads.total_bounds
    box = shapely.box(x0, y0, x0 + (x1 - x0) * 0.32, y0 + (y1 - y0) * 0.32)
    subset = roads[roads.intersects(box)].to_crs(net.crs)
    t_base, base_edges = _baseline(subset)
    t0 = time.perf_counter()
    sub_net = build_network(subset, progress=False)
    t_ours = time.perf_counter() - t0
    print(
        f"subset of {len(subset):,} lines: baseline shapely.node + networkx {t_base:.1f} s "
        f"({base_edges:,} edges); build_network {t_ours:.1f} s ({len(sub_net.edges):,} edges, "
        f"{sub_net.report['healed_gaps']} gaps healed); ratio baseline/ours {t_base / t_ours:.2f}"
    )

    t0 = time.perf_counter()
    graph = net.graph
    print(
        f"networkx graph ({graph.number_of_nodes():,} nodes, {graph.number_of_edges():,} edges) "
        f"in {time.perf_counter() - t0:.1f} s"
    )


if __name__ == "__main__":
    main()
