"""Bounds of every numeric parameter: finite, not negative, not absurd; one-line errors."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString

from netplan import (
    BuildRules,
    CostModel,
    InputError,
    NetworkOptions,
    OpticalBudget,
    Rates,
    RowLayer,
)
from netplan._checks import Bounds, bounded, bounds_of, check_fields, check_number
from netplan._errors import ParameterError

BAD = [math.inf, -math.inf, math.nan, -1.0, -1e-9, "20", None, True, np.float64("nan")]


def _numeric_fields(cls) -> list[str]:
    return [f.name for f in fields(cls) if "netplan_bounds" in f.metadata]


def _row_layer(**kwargs) -> RowLayer:
    data = gpd.GeoDataFrame(geometry=[LineString([(81, 18), (81.1, 18.1)])], crs="EPSG:4326")
    return RowLayer(data, "rail", "line", "Railways", **kwargs)


@pytest.mark.parametrize(
    "make, cls",
    [
        (NetworkOptions, NetworkOptions),
        (CostModel, CostModel),
        (_row_layer, RowLayer),
        (Rates, Rates),
        (BuildRules, BuildRules),
        (OpticalBudget, OpticalBudget),
    ],
)
def test_every_numeric_field_refuses_unbounded_values(make, cls):
    names = _numeric_fields(cls)
    assert names  # the dataclass declares its bounds
    for name in names:
        for value in BAD:
            if value is None and name in ("corridor_width_m", "min_along_m", "lead_time_months"):
                continue  # None means "the default" (width, lead time) for these
            with pytest.raises(ParameterError, match=rf"^{cls.__name__}\.{name} must be"):
                make(**{name: value})


def test_parameter_errors_are_input_errors_with_one_line():
    with pytest.raises(InputError) as info:
        NetworkOptions(heal_tolerance_m=math.inf)
    assert "\n" not in str(info.value) and isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "kwargs, says",
    [
        ({"heal_tolerance_m": 50_000}, r"too large \(at most 500 m\): healing joins"),
        ({"max_spur_m": 4_426_000}, "at most 50000 m"),
        ({"max_bridge_m": 1e7}, "at most 50000 m"),
    ],
)
def test_absurd_network_options_are_refused_with_the_reason(kwargs, says):
    with pytest.raises(ParameterError, match=says):
        NetworkOptions(**kwargs)


def test_absurd_costs_and_widths_are_refused():
    with pytest.raises(ParameterError, match="forest_penalty_per_m = 1e\\+300"):
        CostModel(forest_penalty_per_m=1e300)
    with pytest.raises(ParameterError, match="corridor_width_m = 5000 m is too large"):
        _row_layer(corridor_width_m=5000)
    with pytest.raises(ParameterError, match="corridor_width_m must be a value above 0"):
        _row_layer(corridor_width_m=0)
    with pytest.raises(ParameterError, match="CostModel.crossing_penalty_m must be"):
        CostModel.permission_aware(crossing_penalty_m=math.nan)


def test_good_values_are_kept_as_plain_floats():
    options = NetworkOptions(heal_tolerance_m=np.float32(15), max_spur_m=0, max_bridge_m=50_000)
    assert options == NetworkOptions(15.0, 0.0, 50_000.0)
    assert type(options.heal_tolerance_m) is float and type(options.max_spur_m) is float
    layer = _row_layer(join_gap_m=0)
    assert layer.corridor_width_m == 30.0 and layer.min_along_m == 30.0 and layer.join_gap_m == 0.0
    assert CostModel.permission_aware().penalised is True


def test_check_number_rules():
    whole = Bounds(minimum=1, integer=True, unit="GPs")
    assert check_number(3.0, whole, name="--ring-size") == 3
    assert type(check_number(3.0, whole, name="--ring-size")) is int
    with pytest.raises(ParameterError, match="--ring-size must be a whole number >= 1 GPs, got 0"):
        check_number(0, whole, name="--ring-size")
    with pytest.raises(ParameterError, match="got 2.5"):
        check_number(2.5, whole, name="--ring-size")
    positive = Bounds(positive=True, maximum=10.0, why="reason")
    assert check_number(10, positive, name="x") == 10.0
    with pytest.raises(ParameterError, match=r"^x = 10.5 is too large \(at most 10\): reason$"):
        check_number(10.5, positive, name="x")


def test_new_dataclasses_use_the_same_helper():
    @dataclass(frozen=True)
    class OpticalBudget:
        loss_db_per_km: float = bounded(0.35, maximum=5.0, why="no fibre loses that", unit="dB")
        splices: int = bounded(2, integer=True)

        def __post_init__(self) -> None:
            check_fields(self)

    assert OpticalBudget(0.25, 3).splices == 3
    with pytest.raises(ParameterError, match=r"OpticalBudget.loss_db_per_km = 9 dB is too large"):
        OpticalBudget(9.0)
    with pytest.raises(ParameterError, match="OpticalBudget.splices must be a whole number"):
        OpticalBudget(splices=1.5)
    assert bounds_of(OpticalBudget, "loss_db_per_km").maximum == 5.0
    with pytest.raises(KeyError):
        bounds_of(OpticalBudget, "colour")
