"""Partitioned plans of the Chhattisgarh state benchmark: whole, partitioned in one process, Dask.

    python benchmarks/state_partitioned.py [--shared ../shared/data] [--by district] [--workers 2]

One run plans the state three ways, each in a fresh process so that its peak memory is its own:

* ``whole``: ``netplan.plan(gps, pops, roads, forest=forest)``, the baseline;
* ``partitioned``: the same with ``partition_by="district"``, partitions one after another;
* ``dask``: the same with ``client=Client(LocalCluster(n_workers=2, threads_per_worker=1))``
  (the cluster is started before the clock starts, as a user's cluster would be).

The layers are read from GeoParquet before the clock starts. Prints, side by side: wall time,
CPU seconds (of the planning process and, for Dask, of its workers too: on a shared machine the
wall time depends on what else runs, the CPU time much less), peak resident memory of the
planning process and of each Dask worker, trench km and GPs routed, with ratios against the whole
plan and against the in-process partitioned plan, and whether the Dask plan's totals equal the
in-process partitioned plan's.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
import time
from pathlib import Path

MODES = ("whole", "partitioned", "dask")


def _peak_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    """CPU seconds (user + system) this process has used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _child(mode: str, shared: Path, by: str, workers: int) -> dict:
    """Plan once in this (fresh) process; return the figures."""
    from cg_state import load

    import netplan

    logging.basicConfig(level=logging.ERROR)
    gps, pops, roads, forest = load(shared).values()
    loaded_mb = _peak_mb()
    kwargs: dict = {} if mode == "whole" else {"partition_by": by}
    cluster = client = None
    if mode == "dask":
        from distributed import Client, LocalCluster

        for name in list(logging.root.manager.loggerDict):  # the cluster's own INFO lines
            if name.startswith("distributed"):
                logging.getLogger(name).setLevel(logging.ERROR)
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
        kwargs["client"] = client
    workers_cpu = client.run(_cpu_s) if client is not None else {}
    cpu0, t0 = _cpu_s(), time.perf_counter()
    plan = netplan.plan(gps, pops, roads, forest=forest, progress=False, **kwargs)
    seconds, cpu = time.perf_counter() - t0, _cpu_s() - cpu0
    worker_mb = []
    if client is not None:
        worker_mb = sorted(v / 1024 for v in client.run(_peak_kib).values())
        cpu += sum(v - workers_cpu[k] for k, v in client.run(_cpu_s).items())
        client.close()
        cluster.close()
    total = plan.summary.loc["TOTAL"]
    return {
        "mode": mode,
        "seconds": seconds,
        "cpu_s": cpu,
        "loaded_mb": loaded_mb,
        "peak_mb": _peak_mb(),
        "worker_mb": worker_mb,
        "trench_km": float(total["trench_km"]),
        "routed": int(total["routed"]),
        "gps": int(total["gps"]),
        "permits": len(plan.permits),
        "total": {k: (v if isinstance(v, str) else float(v)) for k, v in total.items()},
    }


def _peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _run(mode: str, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--child", mode, "--shared", str(args.shared)]
    command += ["--by", args.by, "--workers", str(args.workers)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"{mode} run failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _report(runs: dict[str, dict], workers: int) -> None:
    whole, part, dask = (runs[m] for m in MODES)
    print(
        f"{'':>12} {'time s':>8} {'CPU s':>8} {'peak MB':>8} {'workers MB':>12} "
        f"{'trench km':>10} {'routed':>11}"
    )
    for r in (whole, part, dask):
        workers_mb = "/".join(f"{m:.0f}" for m in r["worker_mb"]) or "-"
        print(
            f"{r['mode']:>12} {r['seconds']:8.1f} {r['cpu_s']:8.1f} {r['peak_mb']:8.0f} "
            f"{workers_mb:>12} {r['trench_km']:10.1f} {r['routed']:>5}/{r['gps']:<5}"
        )
    print(f"inputs loaded before planning: {whole['loaded_mb']:.0f} MB in each process")
    print(
        f"partitioned / whole: time {part['seconds'] / whole['seconds']:.2f}, "
        f"CPU {part['cpu_s'] / whole['cpu_s']:.2f}, "
        f"peak memory {part['peak_mb'] / whole['peak_mb']:.2f}, "
        f"trench {part['trench_km'] / whole['trench_km']:.4f}, "
        f"routed {part['routed'] - whole['routed']:+d}"
    )
    busiest = max(dask["worker_mb"] + [dask["peak_mb"]])
    print(
        f"dask ({workers} workers) / partitioned: time {dask['seconds'] / part['seconds']:.2f}, "
        f"CPU {dask['cpu_s'] / part['cpu_s']:.2f}; "
        f"dask / whole: time {dask['seconds'] / whole['seconds']:.2f}, "
        f"largest process {busiest / whole['peak_mb']:.2f} of the whole plan's peak"
    )
    same = dask["total"] == part["total"]
    print(f"dask totals equal the in-process partitioned totals: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_shared = Path(__file__).resolve().parents[2] / "shared" / "data"
    parser.add_argument("--shared", type=Path, default=default_shared)
    parser.add_argument("--by", default="district", help="partition column (default district)")
    parser.add_argument("--workers", type=int, default=2, help="Dask workers (default 2)")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.shared, args.by, args.workers)))
        return
    runs = {}
    for mode in MODES:
        runs[mode] = _run(mode, args)
        print(f"{mode}: {runs[mode]['seconds']:.1f} s", flush=True)
    _report(runs, args.workers)


if __name__ == "__main__":
    main()
