"""How a Dask worker should get its partition's roads: scattered once, or read from the file.

    python benchmarks/partition_transfer.py [--shared ../shared/data] [--by district] [--workers 2]

Builds the planner (road network) of every district of the Chhattisgarh state benchmark on a
LocalCluster of two single-threaded workers, four ways, each on a fresh cluster:

* ``scatter all``: the client loads and validates the whole road layer and scatters it once
  (``client.scatter(..., broadcast=False)``: a worker that lacks it fetches it from a peer, once);
  each task selects its partition's roads from it (netplan's way:
  ``Planner(..., partition_by=..., client=...)``);
* ``tiles``: the same, but the layer is scattered as a grid of tiles of about 5,000 lines (one
  ``scatter`` call; each tile goes to one worker) and each task receives only the tiles whose
  bounds meet its region's;
* ``read file``: each task reads ``roads.parquet`` as delivered (one row group, no bounding-box
  column, so it reads the whole file), keeps its partition's roads and validates them;
* ``read bbox``: each task reads only the row groups of its extent from a copy of the file
  sorted along a Hilbert curve and written with a bounding-box covering column
  (``read_parquet(bbox=...)``); writing that copy is timed apart.

Prints wall time, CPU seconds of the client and the workers, each worker's peak memory and the
network sizes (the same in all three).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import resource
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from cg_state import load

import netplan
from netplan import partition as part
from netplan.params import NetworkOptions


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _edges(planner) -> int:
    return len(planner.network.edges)


def _read_and_build(path: str, bbox: bool, small: part.Loaded, key: str, gp_ids, pop_ids, buffer_m):
    """A task that reads its own roads from the file, then selects and builds as netplan does."""
    gps, pops = small.gps.loc[gp_ids], small.pops.loc[pop_ids]
    region = part.partition_region(gps, pops, buffer_m)
    box = tuple(region.to_crs(4326).total_bounds)
    roads = gpd.read_parquet(path, bbox=box) if bbox else gpd.read_parquet(path)
    roads = netplan.load_roads(roads.cx[box[0] : box[2], box[1] : box[3]])
    loaded = part.Loaded(small.gps, small.pops, roads, small.layers)
    data = part.partition_data(loaded, key, gp_ids, pop_ids, buffer_m)
    return _edges(part.build_partition(data, options=NetworkOptions(), crs=None))


def _select_and_build(loaded: part.Loaded, key: str, gp_ids, pop_ids, buffer_m):
    """A task that selects its partition from the whole scattered layers and builds it."""
    data = part.partition_data(loaded, key, gp_ids, pop_ids, buffer_m)
    return part.build_partition(data, options=NetworkOptions(), crs=None)


def _scatter_all(client, layers: dict, by: str) -> list:
    planner = netplan.Planner(
        layers["gps"], layers["pops"], layers["roads"], forest=layers["forest"], progress=False,
        partition_by=by, client=client,
    )  # fmt: skip
    return list(planner.partitions._planners.values())


def _tile_members(roads: gpd.GeoDataFrame, lines_per_tile: int = 5_000) -> list[np.ndarray]:
    """Positions of the lines of each cell of a square grid (a line in the cell of its centre)."""
    b = roads.bounds.to_numpy()
    centre = np.column_stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2])
    side = int(np.ceil(np.sqrt(len(roads) / lines_per_tile)))
    low, span = centre.min(axis=0), np.ptp(centre, axis=0)
    cell = np.minimum((side * (centre - low) / span).astype(int), side - 1)
    code = cell[:, 1] * side + cell[:, 0]
    order = np.argsort(code, kind="stable")
    _, starts = np.unique(code[order], return_index=True)
    return np.split(order, starts[1:])


def _build_from_tiles(small: part.Loaded, tiles: list, key: str, gp_ids, pop_ids, buffer_m):
    roads = pd.concat(tiles).sort_index()
    return _select_and_build(
        dataclasses.replace(small, roads=roads), key, gp_ids, pop_ids, buffer_m
    )


def _tiles(client, layers: dict, by: str) -> list:
    planner = netplan.Planner(
        layers["gps"], layers["pops"], layers["roads"], forest=layers["forest"], progress=False,
        partition_by=by,
    )  # fmt: skip
    parts = planner.partitions
    roads = parts._loaded.roads.reset_index(drop=True)
    members = _tile_members(roads)
    boxes = np.array([roads.iloc[m].total_bounds for m in members])
    small = client.scatter(dataclasses.replace(parts._loaded, roads=roads.iloc[:0]), hash=False)
    tiles = client.scatter([roads.iloc[m] for m in members], broadcast=False, hash=False)
    futures = []
    for key in parts.keys:
        gp_ids, pop_ids = list(parts.members.gp_ids(key)), list(parts.members.pop_ids(key))
        region = part.partition_region(
            parts._loaded.gps.loc[gp_ids], parts._loaded.pops.loc[pop_ids], parts.scheme.buffer_m
        )
        w, s, e, n = region.to_crs(roads.crs).total_bounds
        hit = (boxes[:, 0] <= e) & (boxes[:, 2] >= w) & (boxes[:, 1] <= n) & (boxes[:, 3] >= s)
        futures.append(
            client.submit(
                _build_from_tiles,
                small,
                [tiles[t] for t in np.flatnonzero(hit)],
                key,
                gp_ids,
                pop_ids,
                parts.scheme.buffer_m,
                pure=False,
                priority=len(gp_ids),
            )  # fmt: skip
        )
    return futures


def _run(way: str, layers: dict, path: Path, args: argparse.Namespace) -> dict:
    from distributed import Client, LocalCluster

    for name in list(logging.root.manager.loggerDict):  # the cluster's own INFO lines
        if name.startswith("distributed"):
            logging.getLogger(name).setLevel(logging.ERROR)
    with (
        LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        workers_cpu = client.run(_cpu_s)
        cpu0, t0 = _cpu_s(), time.perf_counter()
        if way in ("scatter all", "tiles"):
            futures = (_scatter_all if way == "scatter all" else _tiles)(client, layers, args.by)
            edges = client.gather([client.submit(_edges, f, pure=False) for f in futures])
        else:
            small, members, keys = _small_layers(layers, path.parent / "roads.parquet", args.by)
            small_f = client.scatter(small, broadcast=True, hash=False)
            futures = [
                client.submit(
                    _read_and_build,
                    str(path),
                    way == "read bbox",
                    small_f,
                    key,
                    list(members.gp_ids(key)),
                    list(members.pop_ids(key)),
                    args.buffer,
                    pure=False,
                    priority=len(members.gp_ids(key)),
                )  # fmt: skip
                for key in keys
            ]
            edges = client.gather(futures)
        seconds, client_cpu = time.perf_counter() - t0, _cpu_s() - cpu0
        worker_cpu = sum(v - workers_cpu[k] for k, v in client.run(_cpu_s).items())
        worker_mb = sorted(client.run(_peak_mb).values())
    return {
        "way": way,
        "seconds": seconds,
        "client_cpu": client_cpu,
        "worker_cpu": worker_cpu,
        "worker_mb": worker_mb,
        "edges": int(np.sum(edges)),
    }


def _small_layers(layers: dict, roads_path: Path, by: str):
    """What the client loads when tasks read their own roads: sites, forest and the national
    highways (read with a filter on the road class), not the road layer."""
    nh = netplan.io.highways_from_roads(
        netplan.load_roads(gpd.read_parquet(roads_path, filters=[("road_class", "==", "NH")]))
    )
    row_layers = (
        netplan.RowLayer.forest(netplan.load_forest(layers["forest"])),
        netplan.RowLayer.national_highway(nh),
    )
    gps = netplan.load_sites(layers["gps"], str_columns=("*",))
    pops = netplan.load_pops(layers["pops"], str_columns=("*",))
    members = part.membership(gps, pops, part.Partitioning(by))
    return part.Loaded(gps, pops, nh.iloc[:0], row_layers), members, members.keys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_shared = Path(__file__).resolve().parents[2] / "shared" / "data"
    parser.add_argument("--shared", type=Path, default=default_shared)
    parser.add_argument("--by", default="district")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--buffer", type=float, default=part.DEFAULT_BUFFER_M)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    layers = load(args.shared)
    cg = args.shared / "cg_state"
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        roads = layers["roads"]
        sorted_copy = Path(tmp) / "roads.parquet"
        roads.iloc[np.argsort(roads.hilbert_distance().to_numpy(), kind="stable")].to_parquet(
            sorted_copy, write_covering_bbox=True, row_group_size=10_000
        )
        print(f"bbox-covering, Hilbert-sorted copy written in {time.perf_counter() - t0:.1f} s")
        runs = [
            _run("scatter all", layers, cg / "roads.parquet", args),
            _run("tiles", layers, cg / "roads.parquet", args),
            _run("read file", layers, cg / "roads.parquet", args),
            _run("read bbox", layers, sorted_copy, args),
        ]
    print(
        f"{'':>11} {'time s':>8} {'client CPU s':>13} {'workers CPU s':>14} {'workers MB':>12} {'edges':>9}"
    )
    for r in runs:
        mb = "/".join(f"{m:.0f}" for m in r["worker_mb"])
        print(
            f"{r['way']:>11} {r['seconds']:8.1f} {r['client_cpu']:13.1f} {r['worker_cpu']:14.1f} "
            f"{mb:>12} {r['edges']:9d}"
        )
    base = runs[0]
    for r in runs[1:]:
        total, total0 = r["client_cpu"] + r["worker_cpu"], base["client_cpu"] + base["worker_cpu"]
        print(
            f"{r['way']} / scatter all: time {r['seconds'] / base['seconds']:.2f}, CPU {total / total0:.2f}"
        )


if __name__ == "__main__":
    main()
