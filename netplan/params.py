"""Plan parameters as frozen dataclasses.

Every number that changes a plan lives here and is passed explicitly; there are no module-level
settings. All lengths are metres.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import numpy as np

from netplan._errors import InputError

__all__ = ["NetworkOptions", "CostModel", "DesignOptions", "Topology", "TOPOLOGIES"]


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
    """

    heal_tolerance_m: float = 20.0
    max_spur_m: float = 2000.0
    max_bridge_m: float = 1000.0

    def __post_init__(self) -> None:
        for name in ("heal_tolerance_m", "max_spur_m", "max_bridge_m"):
            value = getattr(self, name)
            if not value >= 0:
                raise ValueError(f"NetworkOptions.{name} must be >= 0 metres, got {value!r}")


@dataclass(frozen=True)
class CostModel:
    """Money and routing penalties of a plan.

    The router minimises *equivalent metres*: the length of each road edge plus the penalties
    below. With all penalties at zero (the default) routes are the shortest trench; with
    :meth:`permission_aware` they detour where a detour is cheaper than a permission.

    Parameters
    ----------
    trench_cost_per_m
        Cost of trenching and laying cable along a road, in currency per metre (default INR 250).
    offroad_cost_per_m
        Cost per metre of off-road spurs and cross-country bridge links (default INR 400).
    forest_penalty_per_m
        Equivalent metres added per metre inside a forest (or any area right-of-way layer).
    crossing_penalty_m
        Equivalent metres added per crossing of a national highway (or any line layer).
    along_highway_penalty_per_m
        Equivalent metres added per metre laid along a highway inside its corridor.
    offroad_penalty_per_m
        Equivalent metres added per metre of bridge link (spurs are unavoidable and not penalised).
    """

    trench_cost_per_m: float = 250.0
    offroad_cost_per_m: float = 400.0
    forest_penalty_per_m: float = 0.0
    crossing_penalty_m: float = 0.0
    along_highway_penalty_per_m: float = 0.0
    offroad_penalty_per_m: float = 0.0

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():
            if not value >= 0:
                raise ValueError(f"CostModel.{name} must be >= 0, got {value!r}")

    @classmethod
    def permission_aware(cls, **overrides: float) -> CostModel:
        """A cost model that avoids permissions where a modest detour does it.

        Defaults: each metre in forest counts as 3 m (a forest metre is worth up to 2 m of
        detour), each highway crossing as 2 km of detour, each metre along a highway as 2 m.
        """
        values = {
            "forest_penalty_per_m": 2.0,
            "crossing_penalty_m": 2000.0,
            "along_highway_penalty_per_m": 1.0,
        }
        values.update(overrides)
        return cls(**values)

    @property
    def is_length_only(self) -> bool:
        """True when no penalty is set, so routing minimises plain length."""
        return (
            self.forest_penalty_per_m == 0
            and self.crossing_penalty_m == 0
            and self.along_highway_penalty_per_m == 0
            and self.offroad_penalty_per_m == 0
        )


def _whole(value: object, minimum: int) -> bool:
    """Whether ``value`` is a whole number (not a bool) of at least ``minimum``."""
    return (
        not isinstance(value, bool)
        and isinstance(value, int | np.integer)
        and bool(value >= minimum)
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
    netplan._errors.InputError: pop_capacity must be a whole number of GPs >= 1 (or None), got 0
    >>> DesignOptions(topology="mesh")
    Traceback (most recent call last):
    ...
    netplan._errors.InputError: topology must be one of 'tree', 'star', 'ring'; got 'mesh'
    """

    topology: Topology = "tree"
    ring_size: int = 10
    ring_diversity: float = 2.0
    assign_by: str | None = None
    pop_key: str | None = None
    service_slack: float = 1.5
    service_margin_m: float = 5000.0
    pop_capacity: int | None = None
    joint: bool = True

    def __post_init__(self) -> None:
        if self.topology not in TOPOLOGIES:
            choices = ", ".join(repr(t) for t in TOPOLOGIES)
            raise InputError(f"topology must be one of {choices}; got {self.topology!r}")
        if not _whole(self.ring_size, 1):
            raise InputError(
                f"ring_size must be a whole number of GPs >= 1, got {self.ring_size!r}"
            )
        for name in ("ring_diversity", "service_margin_m"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and np.isfinite(value) and value >= 0):
                raise InputError(
                    f"DesignOptions.{name} must be a finite number >= 0, got {value!r}"
                )
        if not (np.isfinite(self.service_slack) and self.service_slack >= 1):
            raise InputError(
                f"DesignOptions.service_slack must be a finite number >= 1, got {self.service_slack!r}"
            )
        if self.pop_capacity is not None and not _whole(self.pop_capacity, 1):
            raise InputError(
                f"pop_capacity must be a whole number of GPs >= 1 (or None), got {self.pop_capacity!r}"
            )
        if not isinstance(self.joint, bool | np.bool_):
            raise InputError(f"joint must be True or False, got {self.joint!r}")
        for name in ("assign_by", "pop_key"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and value.strip()):
                raise InputError(f"{name} must be a column name, got {value!r}")

    @property
    def uses_joint_design(self) -> bool:
        """True when GPs are assigned and the trench designed as one problem (see ``joint``)."""
        return bool(self.joint) and self.assign_by is None and self.topology != "star"

    @classmethod
    def fields(cls) -> tuple[str, ...]:
        """The option names, as accepted by :meth:`netplan.Planner.plan` as keywords."""
        return tuple(f.name for f in dataclasses.fields(cls))
