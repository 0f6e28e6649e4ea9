"""Bill of quantities: rates, construction rules, cable sizes, joints and the BOQ table.

One source of truth for money: every rupee of a plan is a BOQ row ``quantity x rate``; the
summary's ``cost`` is the sum of a PoP's rows, and the router minimises the same construction
cost (:func:`construction_costs`).

How a route is built (``method`` of each route segment):

* ``"existing"``: the segment runs along existing fibre with spare fibres (an existing line off
  the roads, or a road edge within ``NetworkOptions.reuse_corridor_m`` of one for more than
  ``reuse_share`` of its length): no trench, no new cable.
* ``"aerial"``: the segment runs along an electricity distribution line (same corridor rule):
  new cable on the poles, one attachment per ``BuildRules.pole_span_m``.
* ``"underground"``: trench, HDPE duct and cable; HDD of ``BuildRules.hdd_per_crossing_m`` at
  every crossing of a highway or other line right-of-way layer; route markers every
  ``BuildRules.marker_spacing_m``. Off-road spurs and bridge links are underground unless a power
  line or existing fibre runs along them; their trench is priced as its own item.

Each segment takes the cheapest method available on it at the plan's rates (existing << aerial <
underground at the defaults). Right-of-way flags do not depend on the method.

Joints (closures, and chambers where underground) are placed at branch points, at GP drops,
where new cable meets existing fibre, and at every cable-drum end: a run of new cable between
joints of length ``L`` laid ``n`` times needs ``n * (ceil(L / drum_length_m) - 1)`` drum joints.
Stars lay one cable per GP, so their branch points are not joints.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from netplan._checks import bounded, check_fields
from netplan._errors import InputError, InputFileNotFoundError, MissingColumnError

if TYPE_CHECKING:
    from netplan.params import CostModel

__all__ = [
    "Rates",
    "BuildRules",
    "METHODS",
    "CABLE_SIZES",
    "BOQ_COLUMNS",
    "cable_sizes",
    "construction_costs",
    "underground_cost_per_m",
    "size_routes",
    "joint_nodes",
    "bill_of_quantities",
    "add_boq_totals",
]

log = logging.getLogger(__name__)

METHODS: tuple[str, ...] = ("underground", "aerial", "existing")
"""Construction methods of a route segment."""

CABLE_SIZES: tuple[int, ...] = (24, 48, 96, 144, 288)
"""Standard optical cable sizes (fibres); each has a ``cable_<n>f`` rate."""

BOQ_COLUMNS = ["pop_id", "item", "unit", "quantity", "rate", "amount"]

_UNITS: dict[str, str] = {
    "trench": "km",
    "spur_trench": "km",
    "bridge_trench": "km",
    "bridge_survey": "each",
    "duct": "km",
    "hdd": "m",
    **{f"cable_{n}f": "km" for n in CABLE_SIZES},
    "aerial": "km",
    "pole_attachment": "each",
    "existing_fibre": "km",
    "joint_closure": "each",
    "joint_chamber": "each",
    "route_marker": "each",
}


_MAX_RATE = 1e9
"""No BOQ item costs more than this many INR per unit."""


def _rate(default: float, item: str) -> Any:
    """A rate field: INR per the item's unit, finite, >= 0."""
    per = "each" if _UNITS[item] == "each" else f"per {_UNITS[item]}"
    return bounded(
        default,
        maximum=_MAX_RATE,
        unit=f"INR {per}",
        why="no item of an OFC bill costs that much; give the rate in INR per unit",
    )


@dataclass(frozen=True)
class Rates:
    """Unit rates of the bill of quantities, in INR per unit.

    The defaults are **indicative** (round figures of the order of Indian OFC tenders, for
    trying netplan); replace them with the schedule of rates of your tender, in Python
    (``Rates(trench=140_000)``) or from a CSV (:meth:`from_csv`, ``--rates rates.csv``).

    ====================  ======  ===========  ==================================================
    item                  unit    default INR  what
    ====================  ======  ===========  ==================================================
    ``trench``            km      120,000      trench along a road (1.65 m deep), backfill,
                                               reinstatement
    ``spur_trench``       km      150,000      cross-country trench of an off-road spur to a site
    ``bridge_trench``     km      180,000      cross-country trench of a bridge link between road
                                               fragments
    ``bridge_survey``     each    25,000       field survey of one bridge link
    ``duct``              km      60,000       40 mm HDPE duct, supplied and laid (underground)
    ``hdd``               m       1,800        horizontal directional drilling under a crossing
    ``cable_24f``         km      45,000       24-fibre cable, supplied and installed
    ``cable_48f``         km      60,000       48-fibre cable
    ``cable_96f``         km      90,000       96-fibre cable
    ``cable_144f``        km      120,000      144-fibre cable
    ``cable_288f``        km      200,000      288-fibre cable
    ``aerial``            km      30,000       stringing on electricity poles: suspension and
                                               tension hardware, earthing
    ``pole_attachment``   each    500          one pole carrying the cable (clamp, owner's fee)
    ``existing_fibre``    km      10,000       use of spare fibres in existing cable: testing,
                                               splicing in, right-of-use charges
    ``joint_closure``     each    8,000        joint closure with splicing
    ``joint_chamber``     each    12,000       pre-cast chamber of an underground joint
    ``route_marker``      each    700          route marker of underground cable
    ====================  ======  ===========  ==================================================

    Examples
    --------
    >>> Rates().unit("hdd"), Rates(trench=140_000).trench
    ('m', 140000.0)
    >>> Rates(trench=-1)
    Traceback (most recent call last):
    ...
    netplan._errors.ParameterError: Rates.trench must be a value from 0 to 1e+09 INR per km, got -1 INR per km
    """

    trench: float = _rate(120_000.0, "trench")
    spur_trench: float = _rate(150_000.0, "spur_trench")
    bridge_trench: float = _rate(180_000.0, "bridge_trench")
    bridge_survey: float = _rate(25_000.0, "bridge_survey")
    duct: float = _rate(60_000.0, "duct")
    hdd: float = _rate(1_800.0, "hdd")
    cable_24f: float = _rate(45_000.0, "cable_24f")
    cable_48f: float = _rate(60_000.0, "cable_48f")
    cable_96f: float = _rate(90_000.0, "cable_96f")
    cable_144f: float = _rate(120_000.0, "cable_144f")
    cable_288f: float = _rate(200_000.0, "cable_288f")
    aerial: float = _rate(30_000.0, "aerial")
    pole_attachment: float = _rate(500.0, "pole_attachment")
    existing_fibre: float = _rate(10_000.0, "existing_fibre")
    joint_closure: float = _rate(8_000.0, "joint_closure")
    joint_chamber: float = _rate(12_000.0, "joint_chamber")
    route_marker: float = _rate(700.0, "route_marker")

    def __post_init__(self) -> None:
        check_fields(self)

    @staticmethod
    def items() -> tuple[str, ...]:
        """The BOQ items, in BOQ order."""
        return tuple(f.name for f in dataclasses.fields(Rates))

    @staticmethod
    def unit(item: str) -> str:
        """The unit an item is counted in (``km``, ``m`` or ``each``)."""
        return _UNITS[item]

    def cable(self, fibres: int) -> float:
        """Rate per km of a standard cable size."""
        return float(getattr(self, f"cable_{int(fibres)}f"))

    def to_frame(self) -> pd.DataFrame:
        """The rates as a table with columns ``item``, ``unit``, ``rate`` (a template CSV)."""
        return pd.DataFrame(
            {
                "item": list(self.items()),
                "unit": [self.unit(i) for i in self.items()],
                "rate": [getattr(self, i) for i in self.items()],
            }
        )

    @classmethod
    def from_csv(cls, path: str | PathLike[str]) -> Rates:
        """Read rates from a CSV with columns ``item`` and ``rate`` (and optionally ``unit``).

        Items not in the file keep their default. Write a template with
        ``Rates().to_frame().to_csv("rates.csv", index=False)``.

        Raises
        ------
        InputError
            The file is missing or unreadable, a column is missing, an item is unknown or
            repeated, a rate is missing, not a number or negative, or a unit differs from the
            item's unit (each message names the file row).
        """
        path = Path(path)
        if not path.is_file():
            raise InputFileNotFoundError(f"rates file {path} does not exist; check the path")
        try:
            table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputError(f"rates file {path.name} cannot be read as CSV ({exc})") from exc
        return cls.from_frame(table, source=path.name)

    @classmethod
    def from_frame(cls, table: pd.DataFrame, *, source: str = "rates table") -> Rates:
        """Rates from a table with columns ``item``, ``rate`` and optionally ``unit``."""
        columns = {str(c).strip().lower(): c for c in table.columns}
        missing = [c for c in ("item", "rate") if c not in columns]
        if missing:
            raise MissingColumnError(
                f"{source} has no column {missing[0]!r} (columns: {list(table.columns)}); "
                "give columns item, rate (and optionally unit)"
            )
        values: dict[str, float] = {}
        for pos, row in enumerate(table.to_dict("records")):
            where = f"{source} row {pos + 2}"  # header is line 1
            item = str(row[columns["item"]]).strip()
            values[item] = _parse_rate(row, columns, item, where, seen=values)
        return cls(**values)


def _parse_rate(
    row: dict[str, Any], columns: dict[str, Any], item: str, where: str, *, seen: dict
) -> float:
    """One row of a rates table, checked."""
    known = Rates.items()
    if item not in known:
        raise InputError(f"{where}: unknown item {item!r}; the items are {', '.join(known)}")
    if item in seen:
        raise InputError(f"{where}: item {item!r} is given twice; keep one rate per item")
    if "unit" in columns:
        unit = str(row[columns["unit"]]).strip()
        if unit and unit.lower() != Rates.unit(item):
            raise InputError(
                f"{where}: item {item!r} is counted in {Rates.unit(item)!r}, not {unit!r}; "
                "convert the rate"
            )
    text = str(row[columns["rate"]]).strip().replace(",", "")
    if not text:
        raise InputError(f"{where}: item {item!r} has no rate; give a number >= 0 or drop the row")
    try:
        rate = float(text)
    except ValueError:
        raise InputError(f"{where}: rate of {item!r} is not a number: {text!r}") from None
    if not (np.isfinite(rate) and rate >= 0):
        raise InputError(f"{where}: rate of {item!r} must be a finite number >= 0, got {text}")
    return rate


@dataclass(frozen=True)
class BuildRules:
    """How a route turns into quantities (documented defaults of an OFC planning engineer).

    Parameters
    ----------
    fibres_per_site
        Fibres each served site (GP) needs through every cable between it and its PoP (default
        2: one working, one spare). A segment's cable has the smallest standard size holding the
        fibres of the sites it serves downstream (:data:`CABLE_SIZES`, 24 minimum); above 288,
        several 288-fibre cables.
    drum_length_m
        Cable length on one drum (default 2,000 m); a joint at every drum end.
    pole_span_m
        Distance between electricity poles (default 50 m, LT and 11 kV lines in villages);
        aerial cable needs one attachment per span.
    hdd_per_crossing_m
        HDD length under one highway (or other line layer) crossing (default 60 m: an NH right
        of way with margins).
    marker_spacing_m
        One route marker per this length of underground route (default 200 m).

    Examples
    --------
    >>> BuildRules(fibres_per_site=4).fibres_per_site
    4
    >>> BuildRules(drum_length_m=0)
    Traceback (most recent call last):
    ...
    netplan._errors.ParameterError: BuildRules.drum_length_m must be a value above 0 and at most 12000 m, got 0 m
    """

    fibres_per_site: int = bounded(
        2,
        minimum=1,
        integer=True,
        maximum=288,
        unit="fibres",
        why="a site needing more fibres than the largest cable holds is not a GP drop",
    )
    drum_length_m: float = bounded(
        2000.0,
        positive=True,
        maximum=12_000.0,
        unit="m",
        why="optical cable drums hold at most a few km",
    )
    pole_span_m: float = bounded(
        50.0,
        positive=True,
        maximum=500.0,
        unit="m",
        why="distribution-line poles stand closer than that",
    )
    hdd_per_crossing_m: float = bounded(
        60.0,
        maximum=2000.0,
        unit="m",
        why="a drilled crossing that long is a separate river or rail project",
    )
    marker_spacing_m: float = bounded(
        200.0,
        positive=True,
        maximum=10_000.0,
        unit="m",
        why="route markers stand every few hundred metres",
    )

    def __post_init__(self) -> None:
        check_fields(self)


# ------------------------------------------------------------------------------ routing costs
def underground_cost_per_m(costs: CostModel) -> float:
    """Cost of one metre of underground build along a road: trench, duct, the smallest cable
    and route markers. The router's unit: an edge's weight is its cost in these metres."""
    r, b = costs.rates, costs.build
    per_km = r.trench + r.duct + r.cable(CABLE_SIZES[0])
    return per_km / 1000 + r.route_marker / b.marker_spacing_m


def construction_costs(
    length: np.ndarray,
    kind: np.ndarray,
    *,
    existing: np.ndarray,
    aerial: np.ndarray,
    crossings: np.ndarray,
    costs: CostModel,
) -> tuple[np.ndarray, np.ndarray]:
    """The cheapest construction method of every edge and its cost (INR).

    Parameters
    ----------
    length
        Edge lengths (m).
    kind
        Edge kinds ("road", "spur", "bridge", "existing").
    existing, aerial
        Whether existing fibre / a power line runs along each edge.
    crossings
        Crossings of highway and other line layers per edge (HDD when underground).
    costs
        The rates and build rules.

    Returns
    -------
    method, cost
        Index into :data:`METHODS` and cost of every edge (ties go to reuse: existing, then
        aerial, then underground).

    Examples
    --------
    >>> from netplan.params import CostModel
    >>> m, c = construction_costs(np.array([1000.0, 1000.0]), np.array(["road", "road"]),
    ...     existing=np.array([False, False]), aerial=np.array([False, True]),
    ...     crossings=np.array([1.0, 1.0]), costs=CostModel())
    >>> [METHODS[i] for i in m], c.round().tolist()
    (['underground', 'aerial'], [336500.0, 85000.0])
    """
    r, b = costs.rates, costs.build
    km = np.asarray(length, dtype=float) / 1000
    kind = np.asarray(kind, dtype=object)
    cable = r.cable(CABLE_SIZES[0])
    trench = np.select(
        [kind == "spur", kind == "bridge"], [r.spur_trench, r.bridge_trench], r.trench
    )
    survey = np.where(kind == "bridge", r.bridge_survey, 0.0)
    under = km * (trench + r.duct + cable) + km * 1000 / b.marker_spacing_m * r.route_marker
    under += np.asarray(crossings, dtype=float) * b.hdd_per_crossing_m * r.hdd
    under = np.where(kind == "existing", np.inf, under)
    air = km * (r.aerial + cable) + km * 1000 / b.pole_span_m * r.pole_attachment
    air = np.where(np.asarray(aerial, dtype=bool), air, np.inf)
    reuse = np.where(
        np.asarray(existing, dtype=bool) | (kind == "existing"), km * r.existing_fibre, np.inf
    )
    stacked = np.stack([reuse, air, under])  # ties go to reuse
    pick = np.argmin(stacked, axis=0)
    method = np.array([2, 1, 0], dtype=np.int8)[pick]
    return method, stacked[pick, np.arange(len(km))] + survey


# ------------------------------------------------------------------------------ cable sizes
def cable_sizes(fibres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Standard cable size holding ``fibres`` and the number of such cables.

    Examples
    --------
    >>> size, count = cable_sizes(np.array([2, 24, 25, 150, 600]))
    >>> size.tolist(), count.tolist()
    ([24, 24, 48, 288, 288], [1, 1, 1, 1, 3])
    """
    fibres = np.asarray(fibres, dtype=np.int64)
    sizes = np.asarray(CABLE_SIZES, dtype=np.int64)
    index = np.minimum(np.searchsorted(sizes, fibres, side="left"), len(sizes) - 1)
    size = sizes[index]
    count = np.maximum(-(-fibres // size), 1)
    return size, count


def _largest_ring(ring_ids: pd.Series, rings: pd.DataFrame | None) -> np.ndarray:
    """The GP count of the largest ring through each segment (``ring_ids``: ids joined by
    ";"; 0 where none is known)."""
    ring_gps = rings["n_gps"] if rings is not None else pd.Series(dtype=np.int64)
    ids = pd.Series(ring_ids.to_numpy()).astype(str).str.split(";").explode()
    gps = ids.map(ring_gps).where(ids != "").fillna(0).astype(np.int64)
    return gps.groupby(level=0).max().reindex(range(len(ring_ids)), fill_value=0).to_numpy()


def size_routes(
    routes: pd.DataFrame, rings: pd.DataFrame | None, *, topology: str, build: BuildRules
) -> pd.DataFrame:
    """Routes with ``fibres`` (the size of each cable laid in the segment) and ``cable_m``
    (length x cables laid) from the sites each segment serves.

    Trees: one cable per segment sized for the sites (GPs and service points) served
    downstream. Stars: one cable per site.
    Rings: a ring's cable carries the fibres of every GP on the ring all the way round; a road
    that several rings (or one ring twice) run over carries one cable per pass, each counted at
    the size of the largest ring through it.
    """
    out = routes.copy()
    if not len(out):
        out["fibres"] = pd.Series(dtype=np.int64)
        return out
    length = out["length_m"].to_numpy(dtype=float)
    served = out["gps_served"].to_numpy(dtype=np.int64)
    if "facilities_served" in out.columns:  # service points take fibres like GPs
        served = served + out["facilities_served"].to_numpy(dtype=np.int64)
    per_site = build.fibres_per_site
    if topology == "star":
        size, count = cable_sizes(np.full(len(out), per_site))
        passes = served
    elif topology == "ring":
        size, count = cable_sizes(_largest_ring(out["ring_ids"], rings) * per_site)
        passes = np.rint(out["cable_m"].to_numpy(dtype=float) / length).astype(np.int64)
    else:
        size, count = cable_sizes(served * per_site)
        passes = np.ones(len(out), dtype=np.int64)
    out["fibres"] = size
    out["cable_m"] = length * passes * count
    return out


# ------------------------------------------------------------------------------ joints
def _ends(routes: pd.DataFrame) -> pd.DataFrame:
    """Both ends of every segment: position, PoP, node, and the segment's build."""
    seg = np.arange(len(routes))
    method = routes["method"].to_numpy()
    return pd.DataFrame(
        {
            "seg": np.concatenate([seg, seg]),
            "pop_id": np.concatenate([routes["pop_id"].to_numpy()] * 2),
            "node": np.concatenate(
                [routes["from_node"].to_numpy(np.int64), routes["to_node"].to_numpy(np.int64)]
            ),
            "new": np.concatenate([method != "existing"] * 2),
            "under": np.concatenate([method == "underground"] * 2),
        }
    )


def joint_nodes(
    routes: pd.DataFrame, drops: pd.DataFrame, roots: pd.Series, *, topology: str
) -> pd.DataFrame:
    """Every node of the design with its role.

    Parameters
    ----------
    routes
        Route segments with ``pop_id``, ``from_node``, ``to_node``, ``method``.
    drops
        Routed GPs: ``pop_id`` and ``node``.
    roots
        Each PoP's node.
    topology
        Stars lay one cable per GP, so their branch points are not joints.

    Returns
    -------
    pandas.DataFrame
        Index ``(pop_id, node)``: ``degree``, ``drop``, ``branch``, ``transition`` (existing fibre
        meets new cable), ``root``, ``joint`` (drop, branch or transition, not the root),
        ``chamber`` (a joint touching an underground segment), ``through`` (a joint the fibres
        of a GP passing through it are spliced at).
    """
    ends = _ends(routes)
    g = ends.groupby(["pop_id", "node"], sort=True)
    nodes = pd.DataFrame(
        {
            "degree": g.size(),
            "has_new": g["new"].any(),
            "has_old": ~g["new"].all(),
            "under": g["under"].any(),
        }
    )
    keys = pd.MultiIndex.from_arrays([drops["pop_id"].astype(str), drops["node"].astype(np.int64)])
    nodes["drop"] = nodes.index.isin(keys)
    root_keys = pd.MultiIndex.from_arrays([roots.index.astype(str), roots.to_numpy(np.int64)])
    nodes["root"] = nodes.index.isin(root_keys)
    nodes["branch"] = (nodes["degree"] >= 3) & (topology != "star")
    nodes["transition"] = nodes["has_new"] & nodes["has_old"]
    nodes["joint"] = (nodes["drop"] | nodes["branch"] | nodes["transition"]) & ~nodes["root"]
    nodes["chamber"] = nodes["joint"] & nodes["under"]
    nodes["through"] = (
        nodes["joint"] if topology != "star" else nodes["transition"] & ~nodes["root"]
    )
    return nodes.drop(columns=["has_new", "has_old", "under"])


def cable_runs(routes: pd.DataFrame, nodes: pd.DataFrame) -> np.ndarray:
    """Run label of every segment: segments joined at nodes that are not joints, the root or
    branch points (a run is a stretch of cable between joints)."""
    n = len(routes)
    if not n:
        return np.zeros(0, dtype=np.int64)
    ends = _ends(routes)
    key = pd.MultiIndex.from_arrays([ends["pop_id"], ends["node"]])
    info = nodes.reindex(key)
    passing = ((info["degree"] == 2) & ~info["joint"] & ~info["root"]).to_numpy()
    pair = ends.loc[passing].sort_values(["pop_id", "node", "seg"])
    segs = pair["seg"].to_numpy()
    a, b = segs[0::2], segs[1::2]
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _drum_joints(length: np.ndarray, drum_m: float) -> np.ndarray:
    """Joints inside a run of cable of each length (one at every drum end)."""
    return np.maximum(np.ceil(np.asarray(length, dtype=float) / drum_m - 1e-9) - 1, 0)


def run_table(routes: pd.DataFrame, runs: np.ndarray, build: BuildRules) -> pd.DataFrame:
    """Per run: PoP, length, cables laid, new or existing, mostly underground, drum joints per
    fibre path (``drum``) and for the cables laid (``drum_new``: new cable only)."""
    frame = pd.DataFrame(
        {
            "run": runs,
            "pop_id": routes["pop_id"].to_numpy(),
            "length_m": routes["length_m"].to_numpy(dtype=float),
            "cable_m": routes["cable_m"].to_numpy(dtype=float),
            "new": (routes["method"] != "existing").to_numpy(),
            "under_m": np.where(
                routes["method"] == "underground", routes["length_m"].to_numpy(dtype=float), 0.0
            ),
        }
    )
    table = frame.groupby("run").agg(
        pop_id=("pop_id", "first"),
        length_m=("length_m", "sum"),
        cable_m=("cable_m", "sum"),
        new=("new", "all"),
        under_m=("under_m", "sum"),
    )
    cables = np.rint(table["cable_m"] / table["length_m"]).astype(np.int64)
    table["drum"] = _drum_joints(table["length_m"].to_numpy(), build.drum_length_m)
    table["drum_new"] = np.where(table["new"], cables * table["drum"], 0)
    table["mostly_under"] = table["under_m"] * 2 >= table["length_m"]
    return table


# ------------------------------------------------------------------------------ the BOQ
def _per_pop_lengths(
    routes: pd.DataFrame, line_layers: list[str], build: BuildRules
) -> pd.DataFrame:
    """Length-like quantities per PoP (km, m, counts of links)."""
    method = routes["method"]
    kind = routes["kind"]
    length = routes["length_m"].astype(float)
    under = method == "underground"
    crossings = sum(
        (routes[f"{name}_crossings"].astype(float) for name in line_layers),
        pd.Series(0.0, index=routes.index),
    )
    new = method != "existing"
    parts = {
        "trench": length.where(under & (kind == "road"), 0.0) / 1000,
        "spur_trench": length.where(under & (kind == "spur"), 0.0) / 1000,
        "bridge_trench": length.where(under & (kind == "bridge"), 0.0) / 1000,
        "bridge_survey": (kind == "bridge").astype(float),
        "duct": length.where(under, 0.0) / 1000,
        "hdd": crossings.where(under, 0.0) * build.hdd_per_crossing_m,
        "aerial": length.where(method == "aerial", 0.0) / 1000,
        "existing_fibre": length.where(~new, 0.0) / 1000,
        "_aerial_m": length.where(method == "aerial", 0.0),
        "_under_m": length.where(under, 0.0),
    }
    for size in CABLE_SIZES:
        mine = new & (routes["fibres"] == size)
        parts[f"cable_{size}f"] = routes["cable_m"].astype(float).where(mine, 0.0) / 1000
    table = pd.DataFrame(parts).groupby(routes["pop_id"].to_numpy()).sum()
    table["pole_attachment"] = np.ceil(table.pop("_aerial_m") / build.pole_span_m - 1e-9)
    table["route_marker"] = np.ceil(table.pop("_under_m") / build.marker_spacing_m - 1e-9)
    return table


def _per_pop_joints(
    routes: pd.DataFrame, drops: pd.DataFrame, roots: pd.Series, *, topology: str, build: BuildRules
) -> pd.DataFrame:
    """Joint closures and chambers per PoP."""
    nodes = joint_nodes(routes, drops, roots, topology=topology)
    runs = run_table(routes, cable_runs(routes, nodes), build)
    at_nodes = nodes.groupby(level="pop_id")[["joint", "chamber"]].sum()
    drums = (
        runs.assign(drum_chamber=np.where(runs["mostly_under"], runs["drum_new"], 0))
        .groupby("pop_id")[["drum_new", "drum_chamber"]]
        .sum()
    )
    drums = drums.reindex(at_nodes.index, fill_value=0)
    return pd.DataFrame(
        {
            "joint_closure": at_nodes["joint"] + drums["drum_new"],
            "joint_chamber": at_nodes["chamber"] + drums["drum_chamber"],
        }
    )


def bill_of_quantities(
    routes: pd.DataFrame,
    drops: pd.DataFrame,
    roots: pd.Series,
    *,
    pop_ids: Any,
    line_layers: list[str],
    costs: CostModel,
    topology: str,
) -> pd.DataFrame:
    """The bill of quantities: rows per PoP and item, then ``TOTAL`` rows per item.

    Parameters
    ----------
    routes
        Sized route segments (:func:`size_routes`) with ``method``, ``from_node``, ``to_node``
        and a ``<layer>_crossings`` column per line right-of-way layer.
    drops
        Routed GPs (``pop_id``, ``node``).
    roots
        Each PoP's node.
    pop_ids
        The PoPs of the plan (in order; a PoP without routes has no rows).
    line_layers
        Names of the line right-of-way layers (their crossings need HDD when underground).
    costs
        Rates and build rules.
    topology
        The design topology.

    Returns
    -------
    pandas.DataFrame
        Columns ``pop_id, item, unit, quantity, rate, amount`` (INR); ``amount = quantity x
        rate`` on every row; items with a zero quantity are left out.
    """
    items = list(Rates.items())
    if len(routes):
        table = _per_pop_lengths(routes, line_layers, costs.build)
        table = table.join(
            _per_pop_joints(routes, drops, roots, topology=topology, build=costs.build)
        )
    else:
        table = pd.DataFrame(columns=items, dtype=float)
    order = [str(p) for p in pop_ids]
    table = table.reindex(index=order, columns=items).fillna(0.0).round(6)
    long = table.stack().rename("quantity").reset_index()
    long.columns = ["pop_id", "item", "quantity"]
    total = table.sum().round(6).rename("quantity").reset_index().rename(columns={"index": "item"})
    total.insert(0, "pop_id", "TOTAL")
    boq = pd.concat([long, total], ignore_index=True)
    boq = boq[boq["quantity"] > 0].reset_index(drop=True)
    boq["unit"] = boq["item"].map(Rates.unit)
    boq["rate"] = boq["item"].map(lambda i: getattr(costs.rates, i)).astype(float)
    boq["amount"] = (boq["quantity"] * boq["rate"]).round(2)
    return boq[BOQ_COLUMNS]


def add_boq_totals(summary: pd.DataFrame, boq: pd.DataFrame) -> pd.DataFrame:
    """The summary with ``cost``: each PoP's BOQ amount, and the BOQ's ``TOTAL`` rows in the
    total row."""
    summary = summary.copy()
    cost = boq.groupby("pop_id")["amount"].sum()
    summary["cost"] = cost.reindex(summary.index).fillna(0.0).round(2)
    return summary
