"""Plan parameters as frozen dataclasses.

Every number that changes a plan lives here and is passed explicitly; there are no module-level
settings. All lengths are metres. Every number is checked when the dataclass is made (finite, not
negative, not absurd; see :mod:`netplan._checks`): a bad value raises
:class:`~netplan._errors.ParameterError` naming the field.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from netplan._checks import Bounds, bounded, check_fields, check_number
from netplan._errors import InputError, ParameterError
from netplan.boq import BuildRules, Rates

__all__ = [
    "NetworkOptions",
    "CostModel",
    "DesignOptions",
    "Topology",
    "TOPOLOGIES",
    "Objective",
    "OBJECTIVES",
    "check_months",
    "LEAD_MONTHS",
]


LEAD_MONTHS = Bounds(
    minimum=0.0,
    integer=True,
    maximum=240.0,
    why="a permission expected more than 20 years out is no schedule; give months",
    unit="months",
)
"""The allowed range of a permission's lead time (months)."""


def check_months(value: Any, *, what: str) -> int:
    """``value`` as a lead time: a whole number of months from 0 to 240.

    Parameters
    ----------
    value
        A number (``12``, ``12.0``); text is not taken.
    what
        The parameter as the user wrote it, for the message (e.g. "lead time of layer
        'forest'").

    Raises
    ------
    ParameterError
        Not a number, not whole, negative, not finite or absurdly large; the message names
        ``what``.

    Examples
    --------
    >>> check_months(12.0, what="lead time")
    12
    >>> check_months(-3, what="lead time of layer 'nh'")
    Traceback (most recent call last):
    ...
    netplan._errors.ParameterError: lead time of layer 'nh' must be a whole number from 0 to 240 months, got -3 months
    """
    return int(check_number(value, LEAD_MONTHS, name=what))


@dataclass(frozen=True)
class NetworkOptions:
    """How raw road lines become a routable network.

    Parameters
    ----------
    heal_tolerance_m
        Dangling line ends closer than this to another line or end are joined (gap healing).
    max_spur_m
        A GP or PoP farther than this from every road is unroutable ("too far from a road").
    max_bridge_m
        Longest cross-country link added to join a road fragment that holds no PoP to one that
        leads to a PoP. Such links are flagged ``kind="bridge"`` and need a field survey.
    reuse_corridor_m
        An edge runs *along* existing fibre or a power line where it lies within this distance of
        the line (default 30 m: a road's right of way either side of its centre line).
    reuse_share
        ...for more than this share of its length (default 0.5: most of it). Such an edge needs
        no new trench and cable (existing fibre) or may carry aerial cable (power line).
    """

    heal_tolerance_m: float = bounded(
        20.0,
        maximum=500.0,
        unit="m",
        why="healing joins dangling road ends as if the roads met there; gaps that wide are not "
        "digitising errors (cross-country links are max_bridge_m / --max-bridge)",
    )
    max_spur_m: float = bounded(
        2000.0,
        maximum=50_000.0,
        unit="m",
        why="a spur is a straight off-road trench from a site to its nearest road; sites that "
        "far from every road need a fuller road layer",
    )
    max_bridge_m: float = bounded(
        1000.0,
        maximum=50_000.0,
        unit="m",
        why="a bridge link is a straight cross-country trench between road fragments; gaps "
        "that wide mean the road layer lacks roads",
    )
    reuse_corridor_m: float = bounded(
        30.0,
        maximum=500.0,
        unit="m",
        why="a corridor that wide takes roads far from a line as running along it",
    )
    reuse_share: float = bounded(
        0.5,
        maximum=0.999,
        why="an edge cannot run along a line for more than all of its length",
    )

    def __post_init__(self) -> None:
        check_fields(self)


_MAX_PENALTY = 1e6
_MAX_CROSSING = 1e9
_PENALTY_WHY = (
    "a larger penalty changes no route (this one already avoids the permission wherever any "
    "detour exists) and only costs precision in route lengths"
)


Objective = Literal["cost", "length"]
OBJECTIVES: tuple[str, ...] = ("cost", "length")


@dataclass(frozen=True)
class CostModel:
    """Money and routing penalties of a plan.

    Money comes from one place, the bill of quantities (:mod:`netplan.boq`): ``rates`` price
    every item and ``build`` sets the construction rules (fibres per site, drum length, pole
    span, HDD length per crossing, route-marker spacing). The summary's ``cost`` is the BOQ total.

    The router minimises *equivalent metres*. With ``objective="cost"`` (the default) an edge
    weighs its construction cost by the cheapest method available on it (existing fibre, aerial
    cable on electricity poles, or underground with HDD at highway and other line crossings),
    divided by the cost of one metre of underground build along a road (trench, duct, the
    smallest cable, route markers), so a plain road edge weighs its length. With
    ``objective="length"`` every edge weighs its length (the length-only plan). The penalties
    below are added on top, in metres; with :meth:`permission_aware` routes detour where a detour
    is cheaper than a permission.

    Parameters
    ----------
    rates
        Unit rates of the bill of quantities (:class:`netplan.boq.Rates`, indicative INR).
    build
        Construction rules (:class:`netplan.boq.BuildRules`).
    objective
        ``"cost"`` (minimise construction cost) or ``"length"`` (minimise route length).
    forest_penalty_per_m
        Equivalent metres added per metre inside a forest (or any area right-of-way layer).
    crossing_penalty_m
        Equivalent metres added per crossing of a national highway (or any line layer).
    along_highway_penalty_per_m
        Equivalent metres added per metre laid along a highway inside its corridor.
    offroad_penalty_per_m
        Equivalent metres added per metre of bridge link (spurs are unavoidable and not penalised).

    Examples
    --------
    >>> CostModel(objective="length").penalised
    False
    >>> CostModel.permission_aware().without_penalties() == CostModel()
    True
    """

    rates: Rates = dataclasses.field(default_factory=Rates)
    build: BuildRules = dataclasses.field(default_factory=BuildRules)
    objective: Objective = "cost"
    forest_penalty_per_m: float = bounded(0.0, maximum=_MAX_PENALTY, why=_PENALTY_WHY)
    crossing_penalty_m: float = bounded(0.0, maximum=_MAX_CROSSING, why=_PENALTY_WHY, unit="m")
    along_highway_penalty_per_m: float = bounded(0.0, maximum=_MAX_PENALTY, why=_PENALTY_WHY)
    offroad_penalty_per_m: float = bounded(0.0, maximum=_MAX_PENALTY, why=_PENALTY_WHY)

    def __post_init__(self) -> None:
        if not isinstance(self.rates, Rates):
            raise ParameterError(
                f"CostModel.rates must be a netplan.boq.Rates, got {type(self.rates).__name__}"
            )
        if not isinstance(self.build, BuildRules):
            raise ParameterError(
                f"CostModel.build must be a netplan.boq.BuildRules, got {type(self.build).__name__}"
            )
        if self.objective not in OBJECTIVES:
            raise ParameterError(
                f"CostModel.objective must be 'cost' or 'length', got {self.objective!r}"
            )
        check_fields(self)

    @classmethod
    def permission_aware(cls, **overrides: Any) -> CostModel:
        """A cost model that avoids permissions where a modest detour does it.

        Defaults: each metre in forest counts as 3 m (a forest metre is worth up to 2 m of
        detour), each highway crossing as 2 km of detour, each metre along a highway as 2 m.
        """
        values: dict[str, Any] = {
            "forest_penalty_per_m": 2.0,
            "crossing_penalty_m": 2000.0,
            "along_highway_penalty_per_m": 1.0,
        }
        values.update(overrides)
        return cls(**values)

    @property
    def penalised(self) -> bool:
        """True when a permission penalty is set (the plan then reports the trade-off)."""
        return any(getattr(self, name) for name in _PENALTIES)

    def without_penalties(self) -> CostModel:
        """The same rates, rules and objective with every penalty at zero."""
        zeros: dict[str, Any] = dict.fromkeys(_PENALTIES, 0.0)
        return dataclasses.replace(self, **zeros)


_PENALTIES = (
    "forest_penalty_per_m",
    "crossing_penalty_m",
    "along_highway_penalty_per_m",
    "offroad_penalty_per_m",
)


Topology = Literal["tree", "star", "ring"]
TOPOLOGIES: tuple[str, ...] = ("tree", "star", "ring")


@dataclass(frozen=True)
class DesignOptions:
    """How each PoP's routes are designed: the one place that checks design choices.

    Parameters
    ----------
    topology
        ``"tree"``: shared-trench Steiner trees; ``"star"``: independent shortest paths to the
        nearest PoP, one cable per GP; ``"ring"``: rings of at most ``ring_size`` GPs that leave
        the PoP and come back to it another way where the roads allow (see
        :mod:`netplan.design`).
    ring_size
        Most GP locations on one ring (GPs at one spot are one stop).
    ring_diversity
        A ring's later legs pay ``1 + ring_diversity`` times the length of roads the ring
        already uses, so the way back takes other roads where it can (0: plain shortest legs).
    assign_by
        A GP column naming each GP's PoP (e.g. ``"block"``), matched against ``pop_key`` of the
        PoPs; None assigns by road distance.
    pop_key
        The PoP column matched against ``assign_by`` (default: a PoP column of the same name,
        else the PoP ids, else their names).
    service_slack, service_margin_m
        A PoP's design considers the road nodes within ``service_slack`` times the road distance
        to its farthest GP plus ``service_margin_m`` (larger: slower, rarely shorter).
    pop_capacity
        The most GPs one PoP may serve (e.g. its OLT ports); a ``capacity`` column on the PoPs
        overrides it per PoP. GPs over capacity move to the PoP that adds the least trench;
        those no PoP with room can take are listed with a reason. None: no limit.
    joint
        With trees and rings and no ``assign_by``: assign GPs and design the trench as one
        problem, so a GP may join another PoP's trench (:mod:`netplan.joint`). False: each GP
        to its nearest PoP by road first, then one tree per PoP (kept for comparison).

    Examples
    --------
    >>> DesignOptions(topology="ring", ring_size=8).ring_size
    8
    >>> DesignOptions(pop_capacity=0)
    Traceback (most recent call last):
    ...
    netplan._errors.ParameterError: DesignOptions.pop_capacity must be a whole number from 1 to 1e+06 GPs, got 0 GPs
    >>> DesignOptions(topology="mesh")
    Traceback (most recent call last):
    ...
    netplan._errors.InputError: topology must be one of 'tree', 'star', 'ring'; got 'mesh'
    """

    topology: Topology = "tree"
    ring_size: int = bounded(
        10,
        minimum=1,
        integer=True,
        maximum=1000,
        unit="GPs",
        why="a ring that long is no longer a ring of neighbouring GPs",
    )
    ring_diversity: float = bounded(
        2.0,
        maximum=1000.0,
        why="beyond this the way back already avoids the way out wherever the roads allow",
    )
    assign_by: str | None = None
    pop_key: str | None = None
    service_slack: float = bounded(
        1.5,
        minimum=1.0,
        maximum=10.0,
        why="a service area that wide is the whole network; use a smaller slack",
    )
    service_margin_m: float = bounded(
        5000.0,
        maximum=100_000.0,
        unit="m",
        why="a margin that wide is the whole network; use a smaller margin",
    )
    pop_capacity: int | None = bounded(
        None,
        minimum=1,
        integer=True,
        maximum=1_000_000,
        unit="GPs",
        why="no PoP serves that many GPs; leave pop_capacity=None for no limit",
    )
    joint: bool = True

    def __post_init__(self) -> None:
        if self.topology not in TOPOLOGIES:
            choices = ", ".join(repr(t) for t in TOPOLOGIES)
            raise InputError(f"topology must be one of {choices}; got {self.topology!r}")
        check_fields(self)
        if not isinstance(self.joint, bool | np.bool_):
            raise InputError(f"DesignOptions.joint must be True or False, got {self.joint!r}")
        for name in ("assign_by", "pop_key"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and value.strip()):
                raise InputError(f"DesignOptions.{name} must be a column name, got {value!r}")

    @property
    def uses_joint_design(self) -> bool:
        """True when GPs are assigned and the trench designed as one problem (see ``joint``)."""
        return bool(self.joint) and self.assign_by is None and self.topology != "star"

    @classmethod
    def fields(cls) -> tuple[str, ...]:
        """The option names, as accepted by :meth:`netplan.Planner.plan` as keywords."""
        return tuple(f.name for f in dataclasses.fields(cls))
