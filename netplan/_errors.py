"""Exception hierarchy.

Every error netplan raises on purpose derives from :class:`NetplanError`, so a caller (or the CLI)
can catch them all at once. The subclasses also derive from the matching built-in exception, so
``except ValueError`` keeps working for code that does not know about netplan.

Messages follow one rule: name the file, the row or feature, and the fix.
"""

from __future__ import annotations

__all__ = [
    "NetplanError",
    "NetplanWarning",
    "InputError",
    "ParameterError",
    "InputFileNotFoundError",
    "EmptyLayerError",
    "MissingColumnError",
    "CRSError",
    "CoordinateError",
    "GeometryTypeError",
    "InvalidGeometryError",
    "DuplicateIdError",
    "EncodingError",
    "ExtentError",
    "DisconnectedTerminalsError",
    "OutputExistsError",
    "OutputPathError",
]


class NetplanError(Exception):
    """Base class of every error netplan raises on purpose."""


class NetplanWarning(UserWarning):
    """A problem netplan fixed or worked around (logged as well; the CLI shows it once)."""


class InputError(NetplanError, ValueError):
    """An input file or table cannot be used as given."""


class ParameterError(InputError):
    """A numeric parameter is not a number, infinite, NaN, out of range or absurd."""


class InputFileNotFoundError(InputError, FileNotFoundError):
    """An input file does not exist."""


class EmptyLayerError(InputError):
    """A layer holds no features (or none with a geometry)."""


class MissingColumnError(InputError, KeyError):
    """A required column (id, lon/lat, attribute) is missing."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class CRSError(InputError):
    """A layer has no coordinate reference system, or one that cannot be used."""


class CoordinateError(InputError):
    """Coordinates are out of range, swapped (lat/lon), or not numbers."""


class GeometryTypeError(InputError, TypeError):
    """A layer holds the wrong kind of geometry (e.g. polygons where points are expected)."""


class InvalidGeometryError(InputError):
    """Geometries are missing or invalid and cannot be repaired safely."""


class DuplicateIdError(InputError):
    """Two or more features share an id that must be unique."""


class EncodingError(InputError, UnicodeError):
    """A text file is not in a readable encoding."""


class ExtentError(InputError):
    """Sites lie outside the area covered by the road layer."""


class DisconnectedTerminalsError(NetplanError, ValueError):
    """Terminals of a Steiner tree lie in different connected components."""


class OutputExistsError(NetplanError, FileExistsError):
    """The output location exists and may not be replaced.

    Either overwriting was not asked for, or the location is not a folder netplan wrote (a file,
    a symlink, a folder holding other files, the current or home folder, an input's folder).
    """


class OutputPathError(NetplanError, OSError):
    """The output folder cannot be created or written (a file in the way, read-only or virtual)."""
