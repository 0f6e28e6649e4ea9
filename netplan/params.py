"""Plan parameters as frozen dataclasses.

Every number that changes a plan lives here and is passed explicitly; there are no module-level
settings. All lengths are metres.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["NetworkOptions", "CostModel"]


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
