"""Bounds of numeric parameters: one rule for every dataclass field and command-line option.

A frozen dataclass declares the range of each numeric field with :func:`bounded` and calls
:func:`check_fields` in ``__post_init__``; the command line builds its option types from the same
declarations (:func:`bounds_of`, :func:`check_number`), so a value is refused by the same rule,
with the same reason, whether it comes from Python or from ``netplan plan``. A refusal is a
:class:`~netplan._errors.ParameterError` naming the parameter as the user wrote it
(``NetworkOptions.heal_tolerance_m`` or ``--heal-tolerance``).

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Budget:
...     loss_db: float = bounded(0.35, maximum=10.0, why="no fibre loses that much per km", unit="dB")
...     def __post_init__(self) -> None:
...         check_fields(self)
>>> Budget(0.25).loss_db
0.25
>>> Budget(float("inf"))
Traceback (most recent call last):
...
netplan._errors.ParameterError: Budget.loss_db must be a finite number, got inf; give a value from 0 to 10 dB
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field, fields
from typing import Any

from netplan._errors import ParameterError

__all__ = ["Bounds", "bounded", "bounds_of", "check_fields", "check_number"]

_KEY = "netplan_bounds"


@dataclass(frozen=True)
class Bounds:
    """The allowed range of one number.

    Parameters
    ----------
    minimum
        Smallest allowed value.
    positive
        The minimum itself is not allowed (``value > minimum``).
    maximum
        Largest sensible value, or None for no limit beyond being finite. Larger values are
        refused with ``why``.
    why
        Why a value above ``maximum`` makes no sense (a sentence for the error message).
    integer
        Whole numbers only.
    unit
        Unit shown after numbers in messages (``"m"``, ``"GPs"``).
    """

    minimum: float = 0.0
    positive: bool = False
    maximum: float | None = None
    why: str = ""
    integer: bool = False
    unit: str = ""

    def describe(self) -> str:
        """The allowed range in words, e.g. ``"a value from 0 to 500 m"``."""
        unit = f" {self.unit}" if self.unit else ""
        low = f"{self.minimum:g}"
        kind = "a whole number" if self.integer else "a value"
        if self.maximum is None:
            relation = ">" if self.positive else ">="
            return f"{kind} {relation} {low}{unit}"
        if self.positive:
            return f"{kind} above {low} and at most {self.maximum:g}{unit}"
        return f"{kind} from {low} to {self.maximum:g}{unit}"


def bounded(default: Any, **bounds: Any) -> Any:
    """A dataclass field with ``default`` whose value must lie within :class:`Bounds` ``bounds``.

    Use it as ``heal_tolerance_m: float = bounded(20.0, maximum=500.0, why=..., unit="m")`` and
    call :func:`check_fields` in ``__post_init__``. A default of None means "not set": None is
    then accepted (and not checked).
    """
    return field(default=default, metadata={_KEY: Bounds(**bounds)})


def bounds_of(cls: type, name: str) -> Bounds:
    """The :class:`Bounds` declared for field ``name`` of dataclass ``cls``."""
    for f in fields(cls):
        if f.name == name and _KEY in f.metadata:
            return f.metadata[_KEY]
    raise KeyError(f"{cls.__name__}.{name} declares no bounds")


def check_number(value: Any, bounds: Bounds, *, name: str) -> float | int:
    """Return ``value`` as a float (an int for ``bounds.integer``) if it lies within ``bounds``.

    Parameters
    ----------
    value
        The number given.
    bounds
        Its allowed range.
    name
        The parameter as the user wrote it, for the message (``"--max-spur"``,
        ``"NetworkOptions.max_spur_m"``).

    Raises
    ------
    ParameterError
        When ``value`` is not a real number (booleans and text included), is NaN or infinite,
        lies below the minimum, is not whole where it must be, or exceeds the maximum (the
        message then gives the reason).
    """
    wanted = bounds.describe()
    unit = f" {bounds.unit}" if bounds.unit else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(f"{name} must be a number, got {value!r}; give {wanted}")
    number = float(value)
    if math.isnan(number):
        raise ParameterError(f"{name} must be a number, got nan; give {wanted}")
    if math.isinf(number):
        raise ParameterError(f"{name} must be a finite number, got {number:g}; give {wanted}")
    too_low = number <= bounds.minimum if bounds.positive else number < bounds.minimum
    if too_low:
        raise ParameterError(f"{name} must be {wanted}, got {number:g}{unit}")
    if bounds.integer and not number.is_integer():
        raise ParameterError(f"{name} must be {wanted}, got {number:g}")
    if bounds.maximum is not None and number > bounds.maximum:
        raise ParameterError(
            f"{name} = {number:g}{unit} is too large (at most {bounds.maximum:g}{unit}): "
            f"{bounds.why}"
        )
    return int(number) if bounds.integer else number


def check_fields(obj: Any) -> None:
    """Check every field of dataclass instance ``obj`` declared with :func:`bounded`.

    Values are normalised in place (numpy scalars and ints become floats, integer fields ints),
    so a frozen dataclass holds plain Python numbers. None is accepted only where the field's
    default is None (meaning "not set").

    Raises
    ------
    ParameterError
        Naming the field as ``ClassName.field``.
    """
    for f in fields(obj):
        bounds = f.metadata.get(_KEY)
        value = getattr(obj, f.name)
        if bounds is None or (value is None and f.default is None):
            continue
        checked = check_number(value, bounds, name=f"{type(obj).__name__}.{f.name}")
        object.__setattr__(obj, f.name, checked)
