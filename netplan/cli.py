"""The ``netplan`` command line.

    netplan plan --sites GPS --pops POPS --roads ROADS [--forest F] [--highways H] --out DIR
    netplan demo --out DIR

Errors print one line (``netplan: error: ...``) and exit non-zero; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from netplan._errors import NetplanError

__all__ = ["main"]

log = logging.getLogger("netplan")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _add_plan_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument(
        "--topology",
        choices=["tree", "star", "ring"],
        default="tree",
        help="tree: shared-trench Steiner tree per PoP (default); star: independent shortest "
        "paths; ring: rings of GPs from the PoP back to it, for redundancy",
    )
    parser.add_argument(
        "--ring-size",
        type=_positive_int,
        default=10,
        metavar="N",
        help="most GPs on one ring with --topology ring (default 10)",
    )
    parser.add_argument(
        "--assign-by",
        metavar="COLUMN",
        help="assign GPs to PoPs by this GP column (default: nearest PoP by road)",
    )
    parser.add_argument(
        "--pop-key", metavar="COLUMN", help="PoP column matched against --assign-by"
    )
    parser.add_argument(
        "--row-layer",
        action="append",
        default=[],
        metavar="FILE:KIND:AUTHORITY:ATTRIBUTE",
        help="extra right-of-way layer, e.g. rail.gpkg:line:Railways:zone (repeatable)",
    )
    parser.add_argument(
        "--heal-tolerance",
        type=float,
        default=20.0,
        metavar="M",
        help="join road ends closer than this (m, default 20)",
    )
    parser.add_argument(
        "--max-spur",
        type=float,
        default=2000.0,
        metavar="M",
        help="sites farther than this from a road are unroutable (m, default 2000)",
    )
    parser.add_argument(
        "--max-bridge",
        type=float,
        default=1000.0,
        metavar="M",
        help="longest off-road link joining road fragments (m, default 1000)",
    )
    parser.add_argument(
        "--permission-aware",
        action="store_true",
        help="detour around forest and highways where that is cheaper than a permission",
    )
    parser.add_argument(
        "--forest-penalty",
        type=float,
        metavar="M_PER_M",
        help="extra equivalent metres per metre in forest (implies --permission-aware)",
    )
    parser.add_argument(
        "--crossing-penalty",
        type=float,
        metavar="M",
        help="extra equivalent metres per highway crossing (implies --permission-aware)",
    )
    parser.add_argument(
        "--along-penalty",
        type=float,
        metavar="M_PER_M",
        help="extra equivalent metres per metre along a highway (implies --permission-aware)",
    )
    parser.add_argument(
        "--forest-width", type=float, metavar="M", help="corridor width for forest hectares (m)"
    )
    parser.add_argument("--crs", help="metric CRS to work in (default: UTM zone of the roads)")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing output folder"
    )
    parser.add_argument("--no-map", action="store_true", help="do not write map.html")
    parser.add_argument("--quiet", action="store_true", help="no progress bars, warnings only")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")


def _add_partition_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "partitions",
        "split a large area by a column of the sites and PoPs; plan the parts one after another "
        "(less memory) or in parallel on Dask (pip install 'netplan[dask]')",
    )
    group.add_argument(
        "--partition-by",
        metavar="COLUMN",
        help="column that both the sites and the PoPs carry (e.g. district); GPs go only to PoPs "
        "of their own partition",
    )
    group.add_argument(
        "--partition-buffer",
        type=float,
        metavar="M",
        help="a partition's roads are those within this distance of its sites (m, default 10000)",
    )
    group.add_argument(
        "--partition-unmatched",
        choices=["nearest", "unrouted"],
        default="nearest",
        help="GPs whose value no PoP carries: plan them with their nearest PoP's partition "
        "(default) or list them as unroutable",
    )
    engine = group.add_mutually_exclusive_group()
    engine.add_argument(
        "--workers",
        type=_positive_int,
        metavar="N",
        help="plan the partitions on a local Dask cluster of N worker processes",
    )
    engine.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="plan the partitions on an existing Dask cluster (e.g. tcp://10.0.0.5:8786)",
    )


def _partitioning(args: argparse.Namespace, stack: contextlib.ExitStack) -> dict:
    """The partition keywords of ``plan`` (a Dask client from --workers or --scheduler is closed
    with ``stack``)."""
    if args.partition_by is None and args.workers is None and args.scheduler is None:
        return {}
    keywords = {
        "partition_by": args.partition_by,
        "partition_unmatched": args.partition_unmatched,
        "client": _dask_client(args, stack),
    }
    if args.partition_buffer is not None:
        keywords["partition_buffer_m"] = args.partition_buffer
    return keywords


def _dask_client(args: argparse.Namespace, stack: contextlib.ExitStack):
    """The Dask client asked for by --workers or --scheduler, or None."""
    from netplan._errors import InputError

    if args.workers is None and args.scheduler is None:
        return None
    option = "--workers" if args.workers is not None else "--scheduler"
    if args.partition_by is None:
        raise InputError(f"{option} plans partitions on Dask: add --partition-by COLUMN")
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise InputError(
            f"{option} needs Dask, which is not installed: pip install 'netplan[dask]'"
        ) from exc
    if not args.debug:  # the cluster's own INFO lines
        logging.getLogger("distributed").setLevel(logging.WARNING)
    if args.scheduler is not None:
        return stack.enter_context(Client(args.scheduler))
    cluster = stack.enter_context(
        LocalCluster(n_workers=args.workers, threads_per_worker=1, dashboard_address=None)
    )
    return stack.enter_context(Client(cluster))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netplan", description="Plan rural optical-fibre routes along roads."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("plan", help="plan routes for your own layers")
    p.add_argument(
        "--sites",
        required=True,
        help="GP points (CSV lon/lat, GeoJSON, Shapefile, GPKG, GeoParquet)",
    )
    p.add_argument("--pops", required=True, help="PoP points")
    p.add_argument("--roads", required=True, help="road lines (any vector format or .osm.pbf)")
    p.add_argument("--forest", help="forest polygons (Forest Department permission)")
    p.add_argument(
        "--highways", help="national highway lines with a 'ref' (default: NH roads of --roads)"
    )
    columns = p.add_argument_group(
        "columns", "override the detected columns (ROLE:COLUMN, e.g. --id sites:FACILITY_I)"
    )
    for option, what in (
        ("--id", "id"),
        ("--name", "name"),
        ("--lon", "longitude"),
        ("--lat", "latitude"),
    ):
        columns.add_argument(
            option,
            action="append",
            default=[],
            metavar="ROLE:COLUMN",
            help=f"{what} column of the sites or pops file (ROLE is sites or pops)",
        )
    columns.add_argument("--road-class", metavar="COLUMN", help="road class column of --roads")
    _add_plan_options(p)
    _add_partition_options(p)
    d = sub.add_parser(
        "demo", help="plan the bundled Dantewada sample (real GPs, synthetic roads/forest)"
    )
    _add_plan_options(d)
    d.set_defaults(partition_by=None, workers=None, scheduler=None)
    return parser


def _costs(args: argparse.Namespace):
    from netplan.params import CostModel

    overrides = {
        "forest_penalty_per_m": args.forest_penalty,
        "crossing_penalty_m": args.crossing_penalty,
        "along_highway_penalty_per_m": args.along_penalty,
    }
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if args.permission_aware or overrides:
        return CostModel.permission_aware(**overrides)
    return CostModel()


def _column_overrides(args: argparse.Namespace, role: str) -> dict[str, str]:
    """``--id sites:FACILITY_I`` style options for one role, as loader keywords."""
    from netplan._errors import InputError

    keywords = {"id": "id_col", "name": "name_col", "lon": "lon_col", "lat": "lat_col"}
    found: dict[str, str] = {}
    for option, keyword in keywords.items():
        for spec in getattr(args, option):
            target, sep, column = spec.partition(":")
            if not sep or target not in ("sites", "pops") or not column:
                raise InputError(
                    f"--{option} {spec!r}: write ROLE:COLUMN with ROLE 'sites' or 'pops', "
                    f"e.g. --{option} sites:{option.upper()}"
                )
            if target == role:
                found[keyword] = column
    return found


def _load_points(args: argparse.Namespace, role: str, path: str):
    """The sites or PoPs path, loaded here only when columns are overridden."""
    from netplan.io import load_pops, load_sites

    overrides = _column_overrides(args, role)
    if not overrides:
        return path
    return (load_sites if role == "sites" else load_pops)(path, **overrides)


def _run(args: argparse.Namespace, stack: contextlib.ExitStack) -> int:
    from netplan.datasets import sample_paths
    from netplan.export import check_output_dir
    from netplan.io import load_roads
    from netplan.params import NetworkOptions
    from netplan.planner import plan
    from netplan.row import RowLayer

    check_output_dir(args.out, overwrite=args.overwrite)
    if args.command == "demo":
        paths = sample_paths()
        layers = {
            "gps": paths["gps"],
            "pops": paths["pops"],
            "roads": paths["roads"],
            "forest": paths["forest"],
            "highways": paths["highways"],
        }
    else:
        layers = {
            "gps": _load_points(args, "sites", args.sites),
            "pops": _load_points(args, "pops", args.pops),
            "roads": load_roads(args.roads, class_col=args.road_class)
            if args.road_class
            else args.roads,
            "forest": args.forest,
            "highways": args.highways,
        }
    result = plan(
        layers["gps"],
        layers["pops"],
        layers["roads"],
        forest=layers["forest"],
        highways=layers["highways"],
        row_layers=[RowLayer.from_spec(spec) for spec in args.row_layer],
        topology=args.topology,
        ring_size=args.ring_size,
        assign_by=args.assign_by,
        pop_key=args.pop_key,
        options=NetworkOptions(
            heal_tolerance_m=args.heal_tolerance,
            max_spur_m=args.max_spur,
            max_bridge_m=args.max_bridge,
        ),
        costs=_costs(args),
        forest_width_m=args.forest_width,
        crs=args.crs,
        progress=not args.quiet,
        **_partitioning(args, stack),
    )
    out = result.to_file(args.out, overwrite=args.overwrite, map_html=not args.no_map)
    total = result.summary.loc["TOTAL"]
    lines = [
        f"netplan: {int(total['routed'])} of {int(total['gps'])} GPs routed, "
        f"{total['trench_km']:.1f} km trench, {len(result.permits)} permit items",
        f"netplan: wrote {out}/ (plan.gpkg, summary.csv, permits.csv, permits.xlsx, sites.csv, plan.kml"
        + ("" if args.no_map else ", map.html")
        + ")",
    ]
    if int(total["unroutable"]):
        lines.append(
            f"netplan: {int(total['unroutable'])} GPs unroutable: see sites.csv (reason column)"
        )
    if not args.quiet:
        sys.stdout.write("\n".join(lines) + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``netplan`` command."""
    args = _parser().parse_args(argv)
    level = logging.DEBUG if args.debug else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    log.setLevel(level)
    if not args.debug:
        logging.captureWarnings(True)
    try:
        with contextlib.ExitStack() as stack:  # closes a Dask cluster started for --workers
            return _run(args, stack)
    except NetplanError as exc:
        if args.debug:
            traceback.print_exc()
        sys.stderr.write(f"netplan: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("netplan: interrupted; no output written\n")
        return 130
    except Exception as exc:  # noqa: BLE001 - one line for users, traceback with --debug
        if args.debug:
            traceback.print_exc()
        sys.stderr.write(
            f"netplan: error: {type(exc).__name__}: {exc} (run again with --debug for details)\n"
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
