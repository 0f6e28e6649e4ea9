"""netplan: plan rural optical-fibre networks along roads.

Load layers (:mod:`netplan.io`), build a routable road network (:func:`build_network`), design
shared-trench trees or stars per PoP (:func:`plan`), flag forest and highway permissions
(:mod:`netplan.row`), map and export the result (:class:`Plan`).
"""

from __future__ import annotations

from netplan import datasets
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
    OutputExistsError,
)
from netplan.boq import BuildRules, Rates
from netplan.io import (
    load_existing,
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
from netplan.row import RowLayer
from netplan.steiner import steiner_tree

__version__ = "0.1.0"

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
    "GeometryTypeError",
    "InputError",
    "InputFileNotFoundError",
    "InvalidGeometryError",
    "MissingColumnError",
    "NetplanError",
    "NetworkOptions",
    "OpticalBudget",
    "OutputExistsError",
    "Plan",
    "Planner",
    "Rates",
    "RoadNetwork",
    "RowLayer",
    "build_network",
    "datasets",
    "load_existing",
    "load_forest",
    "load_highways",
    "load_pops",
    "load_power_lines",
    "load_roads",
    "load_sites",
    "plan",
    "steiner_tree",
]
