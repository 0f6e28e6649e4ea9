"""netplan: plan rural optical-fibre networks along roads.

Load layers (:mod:`netplan.io`), build a routable road network (:func:`build_network`), design
shared-trench trees or stars per PoP (:func:`plan`), flag forest and highway permissions
(:mod:`netplan.row`), map and export the result (:class:`Plan`).

Names are imported on first use (PEP 562), so ``import netplan`` and the ``netplan`` command start
quickly; submodules are attributes too (``netplan.maps``, ``netplan.export``, ``netplan.planner``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from netplan._errors import (
    CoordinateError,
    CRSError,
    DisconnectedTerminalsError,
    DuplicateIdError,
    EmptyLayerError,
    EncodingError,
    ExtentError,
    GeometryTypeError,
    InputError,
    InputFileNotFoundError,
    InvalidGeometryError,
    MissingColumnError,
    NetplanError,
    NetplanWarning,
    OutputExistsError,
    OutputPathError,
    ParameterError,
)

if TYPE_CHECKING:
    # submodules, re-exported for type checkers
    from netplan import assign as assign
    from netplan import boq as boq
    from netplan import comparison as comparison
    from netplan import crs as crs
    from netplan import datasets as datasets
    from netplan import design as design
    from netplan import export as export
    from netplan import facilities as facilities
    from netplan import io as io
    from netplan import maps as maps
    from netplan import network as network
    from netplan import optical as optical
    from netplan import params as params
    from netplan import planner as planner
    from netplan import report as report
    from netplan import result as result
    from netplan import rollout as rollout
    from netplan import row as row
    from netplan import steiner as steiner
    from netplan.boq import BuildRules, Rates
    from netplan.comparison import compare
    from netplan.facilities import FacilityOptions
    from netplan.io import (
        load_existing,
        load_facilities,
        load_forest,
        load_highways,
        load_pops,
        load_power_lines,
        load_roads,
        load_sites,
    )
    from netplan.network import RoadNetwork, build_network
    from netplan.optical import OpticalBudget
    from netplan.params import CostModel, DesignOptions, NetworkOptions
    from netplan.planner import Planner, plan
    from netplan.result import Plan
    from netplan.rollout import LeadTimes
    from netplan.row import RowLayer
    from netplan.steiner import steiner_tree

__version__ = "0.1.0"

_NAMES = {
    "BuildRules": "netplan.boq",
    "Rates": "netplan.boq",
    "OpticalBudget": "netplan.optical",
    "load_existing": "netplan.io",
    "load_power_lines": "netplan.io",
    "FacilityOptions": "netplan.facilities",
    "LeadTimes": "netplan.rollout",
    "load_facilities": "netplan.io",
    "load_forest": "netplan.io",
    "load_highways": "netplan.io",
    "load_pops": "netplan.io",
    "load_roads": "netplan.io",
    "load_sites": "netplan.io",
    "RoadNetwork": "netplan.network",
    "build_network": "netplan.network",
    "CostModel": "netplan.params",
    "compare": "netplan.comparison",
    "NetworkOptions": "netplan.params",
    "DesignOptions": "netplan.params",
    "Plan": "netplan.result",
    "Planner": "netplan.planner",
    "plan": "netplan.planner",
    "RowLayer": "netplan.row",
    "steiner_tree": "netplan.steiner",
}
_SUBMODULES = frozenset(
    {"assign", "boq", "cli", "comparison", "crs", "datasets", "design", "export", "facilities",
     "io", "maps", "network", "optical", "params", "planner", "report", "result", "rollout", "row",
     "steiner"}
)  # fmt: skip

__all__ = [
    "BuildRules",
    "CRSError",
    "CoordinateError",
    "CostModel",
    "DesignOptions",
    "DisconnectedTerminalsError",
    "DuplicateIdError",
    "EmptyLayerError",
    "EncodingError",
    "ExtentError",
    "FacilityOptions",
    "GeometryTypeError",
    "InputError",
    "InputFileNotFoundError",
    "InvalidGeometryError",
    "LeadTimes",
    "MissingColumnError",
    "NetplanError",
    "NetplanWarning",
    "NetworkOptions",
    "OpticalBudget",
    "OutputExistsError",
    "OutputPathError",
    "ParameterError",
    "Plan",
    "Planner",
    "Rates",
    "RoadNetwork",
    "RowLayer",
    "build_network",
    "compare",
    "datasets",
    "load_existing",
    "load_facilities",
    "load_forest",
    "load_highways",
    "load_pops",
    "load_power_lines",
    "load_roads",
    "load_sites",
    "plan",
    "steiner_tree",
]


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*__all__, *_SUBMODULES, "__version__"})
