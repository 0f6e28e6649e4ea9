"""Reader for Steiner tree instances in the PACE 2018 (SteinLib-like) ``.gr`` format.

Used by the benchmark ``benchmarks/steiner_pace.py`` and by the tests; not part of the public API.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from netplan._errors import InputError

__all__ = ["PaceInstance", "read_pace", "read_optima"]


@dataclass(frozen=True)
class PaceInstance:
    """A Steiner tree instance on nodes ``0..n_nodes-1`` (the file's 1-based ids minus one).

    Attributes
    ----------
    name
        File name without ``.gz`` (e.g. ``"instance001.gr"``), as in ``track1.csv``.
    n_nodes
        Number of nodes.
    u, v
        Edge end nodes (0-based int64 arrays).
    w
        Edge weights (float64 array).
    terminals
        Terminal nodes (0-based int64 array, file order).
    """

    name: str
    n_nodes: int
    u: np.ndarray
    v: np.ndarray
    w: np.ndarray
    terminals: np.ndarray

    def to_networkx(self):
        """Return the instance as a :class:`networkx.Graph` with edge attribute ``weight``.

        Parallel edges keep the lighter one.
        """
        import networkx as nx

        graph = nx.Graph()
        graph.add_nodes_from(range(self.n_nodes))
        order = np.argsort(-self.w, kind="stable")  # heaviest first, lightest written last
        graph.add_weighted_edges_from(
            zip(self.u[order].tolist(), self.v[order].tolist(), self.w[order].tolist(), strict=True)
        )
        return graph


def read_pace(path: str | Path) -> PaceInstance:
    """Read a PACE 2018 ``.gr`` file (optionally gzipped).

    Parameters
    ----------
    path
        ``*.gr`` or ``*.gr.gz`` file.

    Returns
    -------
    PaceInstance
        The graph and terminals, with 0-based node ids.

    Raises
    ------
    InputError
        If the file is not in the expected format (the message names the file and line).
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    n_nodes = None
    edges: list[tuple[int, int, float]] = []
    terminals: list[int] = []
    with opener(path, "rt", encoding="ascii", errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            parts = line.split()
            if not parts:
                continue
            key = parts[0].lower()
            try:
                if key == "nodes":
                    n_nodes = int(parts[1])
                elif key == "e":
                    edges.append((int(parts[1]) - 1, int(parts[2]) - 1, float(parts[3])))
                elif key == "t":
                    terminals.append(int(parts[1]) - 1)
            except (IndexError, ValueError) as exc:
                raise InputError(
                    f"{path}: line {lineno} ({line.strip()!r}) is not a valid PACE line; "
                    "expected 'Nodes n', 'E u v w' or 'T v'"
                ) from exc
    if n_nodes is None:
        raise InputError(f"{path}: no 'Nodes n' line; is this a PACE .gr file?")
    arr = np.array(edges, dtype=float).reshape(-1, 3)
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    return PaceInstance(
        name=name,
        n_nodes=n_nodes,
        u=arr[:, 0].astype(np.int64),
        v=arr[:, 1].astype(np.int64),
        w=arr[:, 2].copy(),
        terminals=np.array(terminals, dtype=np.int64),
    )


def read_optima(path: str | Path) -> dict[str, float]:
    """Read ``track1.csv`` (columns ``paceName,opt``) into ``{name: optimum}``."""
    out: dict[str, float] = {}
    with open(path, encoding="utf-8") as fh:
        next(fh, None)
        for line in fh:
            parts = line.strip().split(",")
            if len(parts) >= 2 and parts[1]:
                out[parts[0]] = float(parts[1])
    return out
