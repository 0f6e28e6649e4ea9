"""The ``netplan`` command line.

    netplan plan --sites GPS --pops POPS --roads ROADS [--forest F] [--highways H] --out DIR
    netplan demo --out DIR

Errors print one line (``netplan: error: ...``) and exit non-zero (2 for bad input or options);
``--debug`` shows the traceback. Ctrl-C prints one line and exits 130. Warnings print once.
The output folder and every number are checked before any work.

This module imports little at start-up (``import netplan`` is lazy): the heavy libraries load
inside :func:`main`, where Ctrl-C and errors are handled.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import signal
import sys
import threading
import traceback
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from netplan._checks import Bounds, bounds_of, check_number
from netplan._errors import InputError, NetplanError, NetplanWarning

__all__ = ["main"]

log = logging.getLogger("netplan")

ROLES = ("sites", "pops", "roads", "forest", "highways", "facilities")
"""The input files of ``netplan plan``, as named in ``--layer ROLE:LAYER``."""

_NUMBER_OPTIONS = {
    "--heal-tolerance": ("netplan.params", "NetworkOptions", "heal_tolerance_m"),
    "--max-spur": ("netplan.params", "NetworkOptions", "max_spur_m"),
    "--max-bridge": ("netplan.params", "NetworkOptions", "max_bridge_m"),
    "--forest-penalty": ("netplan.params", "CostModel", "forest_penalty_per_m"),
    "--crossing-penalty": ("netplan.params", "CostModel", "crossing_penalty_m"),
    "--along-penalty": ("netplan.params", "CostModel", "along_highway_penalty_per_m"),
    "--forest-width": ("netplan.row", "RowLayer", "corridor_width_m"),
    "--reuse-corridor": ("netplan.params", "NetworkOptions", "reuse_corridor_m"),
    "--facility-colocated": ("netplan.facilities", "FacilityOptions", "colocated_m"),
    "--facility-reach": ("netplan.facilities", "FacilityOptions", "reach_m"),
    "--ring-size": ("netplan.params", "DesignOptions", "ring_size"),
    "--pop-capacity": ("netplan.params", "DesignOptions", "pop_capacity"),
    "--partition-buffer": ("netplan.partition", "Partitioning", "buffer_m"),
}
"""Numeric options and the dataclass field whose bounds they share."""
_WORKERS = Bounds(
    minimum=1,
    integer=True,
    maximum=1024,
    unit="workers",
    why="a local cluster runs on this machine; use --scheduler for a real cluster",
)


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line, like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"netplan: error: {message} (see '{self.prog} --help')\n")


def _check_numbers(args: argparse.Namespace) -> None:
    """Refuse NaN, infinite, negative and absurd numbers, naming the option (before any work)."""
    for option, (module, owner, field) in _NUMBER_OPTIONS.items():
        dest = option.lstrip("-").replace("-", "_")
        value = getattr(args, dest, None)  # ``demo`` has no facility options
        if value is not None:
            bounds = bounds_of(getattr(importlib.import_module(module), owner), field)
            setattr(args, dest, check_number(value, bounds, name=option))
    if getattr(args, "workers", None) is not None:
        args.workers = check_number(args.workers, _WORKERS, name="--workers")


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
        type=float,
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
        "--pop-capacity",
        type=float,
        metavar="N",
        help="most GPs one PoP may serve (a 'capacity' column on the PoPs overrides it per PoP)",
    )
    parser.add_argument(
        "--no-joint",
        action="store_true",
        help="assign each GP to its nearest PoP first, then design one tree per PoP (default: "
        "assignment and shared trench designed together, so GPs may join another PoP's trench)",
    )
    parser.add_argument(
        "--row-layer",
        action="append",
        default=[],
        metavar="FILE:KIND:AUTHORITY:ATTRIBUTE",
        help="extra right-of-way layer, e.g. rail.gpkg:line:Railways:zone (repeatable)",
    )
    numbers = {
        "--heal-tolerance": ("M", 20.0, "join road ends closer than this (m, default 20)"),
        "--max-spur": (
            "M",
            2000.0,
            "sites farther than this from a road are unroutable (m, default 2000)",
        ),
        "--max-bridge": (
            "M",
            1000.0,
            "longest off-road link joining road fragments (m, default 1000)",
        ),
    }
    for option, (metavar, default, text) in numbers.items():
        parser.add_argument(option, type=float, default=default, metavar=metavar, help=text)
    parser.add_argument(
        "--permission-aware",
        action="store_true",
        help="detour around forest and highways where that is cheaper than a permission",
    )
    penalties = {
        "--forest-penalty": ("M_PER_M", "extra equivalent metres per metre in forest"),
        "--crossing-penalty": ("M", "extra equivalent metres per highway crossing"),
        "--along-penalty": ("M_PER_M", "extra equivalent metres per metre along a highway"),
    }
    for option, (metavar, text) in penalties.items():
        parser.add_argument(
            option, type=float, metavar=metavar, help=f"{text} (implies --permission-aware)"
        )
    parser.add_argument(
        "--forest-width", type=float, metavar="M", help="corridor width for forest hectares (m)"
    )
    build = parser.add_argument_group(
        "buildable plan",
        "reuse of existing fibre and power poles, rates, what the router minimises",
    )
    build.add_argument(
        "--existing",
        metavar="PATH",
        help="existing fibre with spare fibres (lines): no new trench or cable along it",
    )
    build.add_argument(
        "--power-lines",
        metavar="PATH",
        help="electricity distribution lines (11 kV / LT) whose poles may carry aerial cable",
    )
    build.add_argument(
        "--reuse-corridor",
        type=float,
        default=30.0,
        metavar="M",
        help="a road runs along existing fibre or a power line within this distance (m, default 30)",
    )
    build.add_argument(
        "--rates",
        metavar="CSV",
        help="unit rates of the bill of quantities (columns item, rate[, unit]); default: the "
        "indicative rates of netplan.boq.Rates",
    )
    build.add_argument(
        "--objective",
        choices=["cost", "length"],
        default="cost",
        help="cost: minimise construction cost (default); length: the length-only plan",
    )
    rollout = parser.add_argument_group(
        "roll-out", "when permissions are expected; sets the phases, not the routes"
    )
    rollout.add_argument(
        "--lead-time",
        action="append",
        default=[],
        metavar="LAYER=MONTHS",
        help="months from applying to a right-of-way layer's permission, e.g. --lead-time "
        "forest=12 --lead-time nh=4 (repeatable; defaults: forest 12, nh 6, other layers 6)",
    )
    parser.add_argument("--crs", help="metric CRS to work in (default: UTM zone of the roads)")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an output folder netplan wrote before (only its own files in it)",
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
        type=float,
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
    parser = _Parser(prog="netplan", description="Plan rural optical-fibre routes along roads.")
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
    p.add_argument(
        "--facilities",
        metavar="PATH",
        help="public service points to plan with the GPs (hospitals, PHCs, schools, Lok Seva "
        "Kendras): points with a category column; every one is listed in facilities.csv",
    )
    p.add_argument(
        "--layer",
        action="append",
        default=[],
        metavar="ROLE:LAYER",
        help="layer of a multi-layer file (GeoPackage, OSM), e.g. --layer sites:gp_offices; "
        f"ROLE is one of {', '.join(ROLES)} (repeatable)",
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
            help=f"{what} column of the sites, pops or facilities file (ROLE is sites, pops or "
            "facilities)",
        )
    columns.add_argument(
        "--category",
        action="append",
        default=[],
        metavar="facilities:COLUMN",
        help="category column of the facilities file (default: detected, e.g. category, "
        "FAC_CATEGO, type)",
    )
    columns.add_argument("--road-class", metavar="COLUMN", help="road class column of --roads")
    services = p.add_argument_group("service points", "which facilities to connect")
    services.add_argument(
        "--facility-category",
        action="append",
        default=[],
        metavar="CATEGORY",
        help="connect only facilities of this category (repeatable; default: every category; "
        "the others are listed with the reason)",
    )
    services.add_argument(
        "--facility-colocated",
        type=float,
        default=25.0,
        metavar="M",
        help="a facility this close to a GP is served through the GP, and two of one category "
        "this close are one (m, default 25)",
    )
    services.add_argument(
        "--facility-reach",
        type=float,
        metavar="M",
        help="connect only facilities within M metres by road of the GPs' fibre (the trench "
        "planned for the GPs alone, and the PoPs); the others are listed with the reason "
        "(default: connect every facility the roads reach)",
    )
    _add_plan_options(p)
    _add_partition_options(p)
    d = sub.add_parser(
        "demo", help="plan the bundled Dantewada sample (real GPs, synthetic roads/forest)"
    )
    _add_plan_options(d)
    d.set_defaults(partition_by=None, workers=None, scheduler=None)
    return parser


def _costs(args: argparse.Namespace):
    from netplan.boq import Rates
    from netplan.params import CostModel

    money = {
        "rates": Rates.from_csv(args.rates) if args.rates else Rates(),
        "objective": args.objective,
    }
    overrides = {
        "forest_penalty_per_m": args.forest_penalty,
        "crossing_penalty_m": args.crossing_penalty,
        "along_highway_penalty_per_m": args.along_penalty,
    }
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if args.permission_aware or overrides:
        return CostModel.permission_aware(**overrides, **money)
    return CostModel(**money)


def _by_role(specs: Sequence[str], option: str, roles: Sequence[str], what: str) -> dict[str, str]:
    """``ROLE:VALUE`` options (``--id sites:FACILITY_I``, ``--layer roads:lines``) by role."""
    found: dict[str, str] = {}
    for spec in specs:
        role, sep, value = spec.partition(":")
        if not sep or role not in roles or not value:
            raise InputError(
                f"{option} {spec!r}: write ROLE:{what} with ROLE one of {', '.join(roles)}, "
                f"e.g. {option} {roles[0]}:{what}"
            )
        found[role] = value
    return found


def _column_overrides(args: argparse.Namespace, role: str) -> dict[str, str]:
    """``--id sites:FACILITY_I`` style options for one role, as loader keywords."""
    keywords = {"id": "id_col", "name": "name_col", "lon": "lon_col", "lat": "lat_col"}
    keywords["category"] = "category_col"
    found: dict[str, str] = {}
    for option, keyword in keywords.items():
        roles = ("facilities",) if option == "category" else ("sites", "pops", "facilities")
        given = _by_role(getattr(args, option), f"--{option}", roles, option.upper())
        if role in given:
            found[keyword] = given[role]
    return found


def _user_layers(args: argparse.Namespace) -> dict[str, Any]:
    """The inputs of ``netplan plan``: paths, or layers loaded here when options ask for it."""
    from netplan.io import (
        load_facilities,
        load_forest,
        load_highways,
        load_pops,
        load_roads,
        load_sites,
    )

    chosen = _by_role(args.layer, "--layer", ROLES, "LAYER")
    for role in chosen:
        if getattr(args, role) is None:
            raise InputError(f"--layer {role}:{chosen[role]} is given but --{role} is not")
    layers: dict[str, Any] = {}
    loader: Callable[..., Any]  # netplan.io's load_* functions (each with its own keywords)
    points = (("sites", load_sites), ("pops", load_pops), ("facilities", load_facilities))
    for role, loader in points:
        keywords = _column_overrides(args, role)
        if role in chosen:
            keywords["layer"] = chosen[role]
        path = getattr(args, role)
        layers[role] = loader(path, **keywords) if keywords and path is not None else path
    road_keywords = {"class_col": args.road_class} if args.road_class else {}
    if "roads" in chosen:
        road_keywords["layer"] = chosen["roads"]
    layers["roads"] = load_roads(args.roads, **road_keywords) if road_keywords else args.roads
    for role, loader in (("forest", load_forest), ("highways", load_highways)):
        path = getattr(args, role)
        layers[role] = loader(path, layer=chosen[role]) if role in chosen else path
    return layers


def _input_files(args: argparse.Namespace) -> list[str]:
    """The input paths named on the command line (the output may not be or hold one)."""
    if args.command == "demo":
        from netplan.datasets import sample_paths

        given = [args.existing, args.power_lines, args.rates]
        return [str(path) for path in sample_paths().values()] + [p for p in given if p]
    paths = [args.sites, args.pops, args.roads, args.forest, args.highways, args.facilities]
    paths += [args.existing, args.power_lines, args.rates]
    for spec in args.row_layer:  # FILE:kind:authority[:attribute], FILE may hold ':'
        tokens = spec.split(":")
        paths += [":".join(tokens[:-3]), ":".join(tokens[:-2])]
    return [path for path in paths if path]


def _facility_options(args: argparse.Namespace):
    """``--facility-category``, ``--facility-colocated`` and ``--facility-reach`` (``demo`` has
    none: defaults)."""
    from netplan.facilities import FacilityOptions

    categories = tuple(getattr(args, "facility_category", ())) or None
    return FacilityOptions(
        colocated_m=getattr(args, "facility_colocated", 25.0),
        categories=categories,
        reach_m=getattr(args, "facility_reach", None),
    )


def _lead_times(args: argparse.Namespace) -> dict[str, int]:
    """``--lead-time forest=12`` options as a mapping; layer names that cannot be layers of this
    plan and months that are not whole numbers from 0 to 240 fail here, before anything is
    loaded."""
    from netplan.params import check_months
    from netplan.row import RowLayer

    known = {"forest", "nh"} | {RowLayer.layer_name(spec) for spec in args.row_layer}
    found: dict[str, int] = {}
    for spec in args.lead_time:
        name, sep, value = (part.strip() for part in spec.partition("="))
        if not sep or not name:
            raise InputError(
                f"--lead-time {spec!r}: write LAYER=MONTHS, e.g. --lead-time forest=12"
            )
        if name not in known:
            raise InputError(
                f"--lead-time {spec!r}: unknown right-of-way layer {name!r}; the layers are "
                f"{', '.join(sorted(known))}"
            )
        try:
            number = float(value)
        except ValueError:
            raise InputError(
                f"--lead-time {spec!r}: the lead time must be a whole number of months, "
                f"got {value!r}"
            ) from None
        found[name] = check_months(number, what=f"lead time of layer {name!r}")
    return found


def _run(args: argparse.Namespace, stack: contextlib.ExitStack) -> int:
    from netplan._outputs import check_output_dir

    _check_numbers(args)
    check_output_dir(args.out, overwrite=args.overwrite, inputs=_input_files(args))
    _load_kernels()
    from netplan.rollout import LeadTimes

    lead_times = LeadTimes(_lead_times(args))
    facility_options = _facility_options(args)

    from netplan.datasets import sample_paths
    from netplan.export import written_files
    from netplan.params import NetworkOptions
    from netplan.planner import plan
    from netplan.row import RowLayer

    costs = _costs(args)  # a bad rates file fails before any loading
    if args.command == "demo":
        paths = sample_paths()
        layers = {role: paths.get("gps" if role == "sites" else role) for role in ROLES}
    else:
        layers = _user_layers(args)
    result = plan(
        layers["sites"],
        layers["pops"],
        layers["roads"],
        forest=layers["forest"],
        highways=layers["highways"],
        existing=args.existing,
        power_lines=args.power_lines,
        row_layers=[RowLayer.from_spec(spec) for spec in args.row_layer],
        facilities=layers["facilities"],
        facility_options=facility_options,
        topology=args.topology,
        ring_size=args.ring_size,
        assign_by=args.assign_by,
        pop_key=args.pop_key,
        pop_capacity=args.pop_capacity,
        joint=not args.no_joint,
        options=NetworkOptions(
            heal_tolerance_m=args.heal_tolerance,
            max_spur_m=args.max_spur,
            max_bridge_m=args.max_bridge,
            reuse_corridor_m=args.reuse_corridor,
        ),
        costs=costs,
        lead_times=lead_times,
        forest_width_m=args.forest_width,
        crs=args.crs,
        progress=not args.quiet,
        **_partitioning(args, stack),
    )
    _stop_if_signalled()
    out = result.to_file(args.out, overwrite=args.overwrite, map_html=not args.no_map)
    if not args.quiet:
        sys.stdout.write("\n".join(_report(result, out, written_files(out))) + "\n")
    return 0


def _report(result: Any, out: Path, files: Sequence[str]) -> list[str]:
    """The lines printed after a plan: headline figures and the files written."""
    total = result.summary.loc["TOTAL"]
    lines = [
        f"netplan: {int(total['routed'])} of {int(total['gps'])} GPs routed, "
        f"{total['trench_km']:.1f} km new trench, {total['aerial_km']:.1f} km aerial, "
        f"{total['existing_km']:.1f} km on existing fibre, cost INR {total['cost']:,.0f}, "
        f"{len(result.permits)} permit items",
        f"netplan: wrote {out}/ ({', '.join(files)})",
        f"netplan: {int(total['phase1_gps'])} GPs need no permission (phase 1); the last are "
        f"ready in month {int(total['last_ready_month'])} (rollout.csv)",
    ]
    if int(total["optical_fail"]):
        lines.append(
            f"netplan: {int(total['optical_fail'])} routed GPs over the optical budget: see "
            "sites.csv (optical_reason column)"
        )
    if int(total["unroutable"]):
        lines.append(
            f"netplan: {int(total['unroutable'])} GPs unroutable: see sites.csv (reason column)"
        )
    if result.facilities is not None:
        lines.append(
            f"netplan: {int(result.facilities['routed'].sum())} of {len(result.facilities)} "
            "facilities connected; the others are listed with a reason in facilities.csv"
        )
    return lines


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Other libraries' warnings as one log line (no source line)."""
    logging.getLogger("py.warnings").warning("%s: %s", category.__name__, message)


def _setup_logging(args: argparse.Namespace) -> None:
    """Log lines for netplan's messages; each warning shown once (netplan's are logged, so their
    :class:`NetplanWarning` copies are ignored; other libraries' warnings become log lines)."""
    level = logging.DEBUG if args.debug else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    log.setLevel(level)
    warnings.simplefilter("ignore", NetplanWarning)
    warnings.showwarning = _show_warning


def _fail(message: str, *, debug: bool) -> None:
    """End any progress bar's line, then print ``message`` (and the traceback with --debug)."""
    tqdm_module = sys.modules.get("tqdm")
    if tqdm_module is not None:
        for bar in list(getattr(tqdm_module.tqdm, "_instances", ())):
            bar.close()
    if debug:
        traceback.print_exc()
    if not getattr(sys.stderr, "at_line_start", True):  # a bar cut short by the signal
        sys.stderr.write("\n")
    sys.stderr.write(message + "\n")


class _LineEnds:
    """``sys.stderr`` as seen by progress bars and logs, remembering whether the last text
    written ended its line, so that a final message never lands on the end of a bar that a
    signal interrupted mid-write."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.at_line_start = True

    def write(self, text: str) -> int:
        if text:
            self.at_line_start = text.endswith("\n")
        return self.stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


class _Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, a job scheduler), handled like Ctrl-C: outputs are cleaned up."""


_SIGNALLED: list[int] = []
"""Signals received during this run. A handler's exception can be lost (raised inside a ctypes
callback, e.g. while numba loads its cached kernels, it is only printed), so the run also checks
this list before writing anything (:func:`_stop_if_signalled`)."""


def _on_signal(signum: int, frame: Any) -> NoReturn:
    _SIGNALLED.append(signum)
    raise _Terminated if signum == signal.SIGTERM else KeyboardInterrupt


def _load_kernels() -> None:
    """Load (the first time: compile) the search kernels while a Ctrl-C or SIGTERM ends the
    process at once with its one line: an interrupt inside numba's loading could otherwise be
    lost and leave it half-initialised (see :mod:`netplan._kernels`). Nothing is written yet."""
    from netplan._kernels import load_kernels

    if threading.current_thread() is not threading.main_thread():
        load_kernels()
        return

    def stop(signum: int, frame: Any) -> NoReturn:
        term = signum == signal.SIGTERM
        _fail(
            f"netplan: {'terminated' if term else 'interrupted'} (nothing was written)", debug=False
        )
        sys.stderr.flush()
        os._exit(143 if term else 130)

    log.debug("loading the search kernels (compiled once after installing, about 20 s)")
    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        load_kernels()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _run_interruptible(args: argparse.Namespace, stack: contextlib.ExitStack) -> int:
    """:func:`_run`, where an error raised because a signal arrived (numba reports an interrupt
    inside a compiled call as ``SystemError``) is that signal."""
    try:
        return _run(args, stack)
    except Exception:
        if _SIGNALLED:
            _stop_if_signalled()
        raise


def _stop_if_signalled() -> None:
    """Raise again a Ctrl-C or SIGTERM whose exception was swallowed on its way up."""
    if signal.SIGTERM in _SIGNALLED:
        raise _Terminated
    if _SIGNALLED:
        raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``netplan`` command."""
    _SIGNALLED.clear()
    if threading.current_thread() is not threading.main_thread():
        return _main(argv)
    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    stderr, sys.stderr = sys.stderr, _LineEnds(sys.stderr)
    try:
        return _main(argv)
    finally:
        sys.stderr = stderr
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _main(argv: Sequence[str] | None) -> int:
    debug = False
    try:
        with warnings.catch_warnings():
            try:
                args = _parser().parse_args(argv)
            except SystemExit as exc:  # --help, or a usage error already printed
                return exc.code if isinstance(exc.code, int) else 2
            debug = args.debug
            _setup_logging(args)
            log.debug("starting: netplan %s", " ".join(map(str, argv or sys.argv[1:])))
            with contextlib.ExitStack() as stack:  # closes a Dask cluster started for --workers
                return _run_interruptible(args, stack)
    except NetplanError as exc:
        _fail(f"netplan: error: {exc}", debug=debug)
        return 2
    except _Terminated:
        _fail("netplan: terminated (nothing half-written is left behind)", debug=False)
        return 143
    except KeyboardInterrupt:
        _fail("netplan: interrupted (nothing half-written is left behind)", debug=False)
        return 130
    except Exception as exc:  # noqa: BLE001 - one line for users, traceback with --debug
        message = f"{type(exc).__name__}: {exc} (run again with --debug for details)"
        _fail(f"netplan: error: {message}", debug=debug)
        return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
