"""Load the compiled (numba) search kernels before the real work starts.

numba compiles the kernels of :mod:`netplan.steiner`, :mod:`netplan.joint` and the ring legs
(:func:`netplan._csr.bounded_path`) on their first call after an install (about 20 s) and loads them from its cache in every later process (a fraction of
a second). While it loads, a Python exception raised by a signal handler (Ctrl-C) can be lost
inside a ctypes callback and leave numba half-initialised, so a later call crashes. The command
line therefore loads the kernels first, on a few small problems, while a Ctrl-C ends the process
at once (:func:`netplan.cli` does that).
"""

from __future__ import annotations

import numpy as np

__all__ = ["load_kernels"]

_SIDE = 7  # a 7 x 7 grid: small, but big enough for every search move


def _grid(side: int) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """A ``side`` x ``side`` grid graph with deterministic, distinct edge weights."""
    ids = np.arange(side * side).reshape(side, side)
    u = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    v = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    w = 1.0 + (np.arange(len(u)) * 7919 % 13) / 13.0
    return side * side, u.astype(np.int64), v.astype(np.int64), w


def load_kernels() -> None:
    """Run one small Steiner tree (exact and heuristic), Steiner forest (one tree and
    windows) and ring leg, so that every kernel they use is compiled or loaded from numba's
    cache."""
    from netplan._csr import arc_arrays, bounded_path
    from netplan.joint import steiner_forest
    from netplan.steiner import steiner_tree_arrays

    n, u, v, w = _grid(_SIDE)
    many = np.arange(1, n, 4)  # 12 terminals: the heuristic search
    steiner_tree_arrays(n, u, v, w, many)
    steiner_tree_arrays(n, u, v, w, many[:5])  # the exact dynamic programme
    roots = np.array([0, n - 1])
    steiner_forest(n, u, v, w, roots, many[1:-1])
    steiner_forest(n, u, v, w, roots, many[1:-1], max_single=2)  # windows
    work = np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    bounded_path(*arc_arrays(n, u, v), u, v, w, 0, n - 1, np.inf, *work)  # a ring's leg
