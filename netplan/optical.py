"""Optical budget: will every GP's link work?

Trees and stars are GPON: one optical line terminal at the PoP reaches each GP's ONT through
the cable of the design and a splitter. A GP's ``fibre_path_m`` is the cable length from its PoP
along the design (``route_m``); its loss is

    fibre_path_km x fibre_loss_db_per_km + splices x splice_loss_db
    + connectors x connector_loss_db + splitter_loss_db

with one splice at every joint the GP's fibres pass on the way (branch points and GP drops of a
tree, joints where new cable meets existing fibre, drum-end joints, and the GP's own drop; see
:mod:`netplan.boq`). Existing fibre is taken to have the same loss per km as new cable.

Rings are IP-MPLS rings with a router at every GP, so each **hop** between neighbouring routers
(PoP to the first GP, GP to GP, last GP back to the PoP) is its own point-to-point link, checked
against the same budget and reach without a splitter. A hop's splices are the drum joints along
it and a joint at each end. A ring GP's ``fibre_path_m`` and ``optical_loss_db`` are those of the
worse of its two hops; both must pass for the ring to survive a cut.

A GP that fails is still routed: it is flagged (``optical_ok=False`` and ``optical_reason``) in
``sites``, counted in the summary (``optical_fail``) and marked on the map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from netplan._checks import bounded, check_fields
from netplan.boq import BuildRules, cable_runs, joint_nodes, run_table

__all__ = ["OpticalBudget", "OPTICAL_COLUMNS", "optical_check", "add_optical_totals"]

OPTICAL_COLUMNS = ["fibre_path_m", "optical_loss_db", "optical_ok", "optical_reason"]


_OPTICS_WHY = "no optical access link has figures like that; check the unit"


@dataclass(frozen=True)
class OpticalBudget:
    """The optical power budget every GP's link is checked against.

    Defaults are GPON class B+ (ITU-T G.984.2): a 28 dB budget and 20 km logical reach, with
    single-mode fibre at 1310 nm.

    Parameters
    ----------
    budget_db
        Largest loss between the transmitter and the receiver (28 dB, class B+).
    reach_m
        Longest fibre path (20 km).
    fibre_loss_db_per_km
        Attenuation of the cable (0.35 dB/km at 1310 nm).
    splice_loss_db
        Loss of one fusion splice (0.1 dB); one splice per joint on the path.
    connector_loss_db
        Loss of one connector pair (0.5 dB).
    connectors
        Connector pairs on a path (2: the PoP's and the GP's patch panels).
    splitter_loss_db
        Loss of the GPON splitters on a tree or star path (17 dB: 1:32 split). Ring hops run
        router to router, without a splitter.

    Examples
    --------
    >>> OpticalBudget().budget_db, OpticalBudget(reach_m=10_000).reach_m
    (28.0, 10000.0)
    """

    budget_db: float = bounded(28.0, maximum=60.0, unit="dB", why=_OPTICS_WHY)
    reach_m: float = bounded(20_000.0, maximum=200_000.0, unit="m", why=_OPTICS_WHY)
    fibre_loss_db_per_km: float = bounded(0.35, maximum=10.0, unit="dB/km", why=_OPTICS_WHY)
    splice_loss_db: float = bounded(0.1, maximum=5.0, unit="dB", why=_OPTICS_WHY)
    connector_loss_db: float = bounded(0.5, maximum=5.0, unit="dB", why=_OPTICS_WHY)
    connectors: int = bounded(2, integer=True, maximum=20, why=_OPTICS_WHY)
    splitter_loss_db: float = bounded(17.0, maximum=40.0, unit="dB", why=_OPTICS_WHY)

    def __post_init__(self) -> None:
        check_fields(self)

    def loss_db(
        self, path_m: np.ndarray, splices: np.ndarray, *, splitter: bool = True
    ) -> np.ndarray:
        """Loss of paths of these lengths with these splices.

        Examples
        --------
        >>> OpticalBudget().loss_db(np.array([10_000.0]), np.array([5])).round(2).tolist()
        [22.0]
        """
        loss = np.asarray(path_m, dtype=float) / 1000 * self.fibre_loss_db_per_km
        loss = loss + np.asarray(splices, dtype=float) * self.splice_loss_db
        loss = loss + self.connectors * self.connector_loss_db
        return loss + (self.splitter_loss_db if splitter else 0.0)

    def reasons(self, path_m: np.ndarray, loss_db: np.ndarray, what: str) -> np.ndarray:
        """Why each path fails ("" where it passes)."""
        out = []
        for path, loss in zip(np.asarray(path_m, float), np.asarray(loss_db, float), strict=True):
            why = []
            if path > self.reach_m:
                why.append(
                    f"{what} of {path / 1000:.1f} km is longer than the "
                    f"{self.reach_m / 1000:g} km reach"
                )
            if loss > self.budget_db:
                why.append(f"loss {loss:.1f} dB exceeds the {self.budget_db:g} dB budget")
            out.append("; ".join(why))
        return np.asarray(out, dtype=object)


def _splices_to_nodes(
    routes: pd.DataFrame, drops: pd.DataFrame, roots: pd.Series, *, topology: str, build: BuildRules
) -> dict[tuple[str, int], float]:
    """Splices from each PoP to every node of its tree or star design.

    A segment adds one splice when it ends at a joint the passing fibres are spliced at, and a
    run's drum joints when it is the run's last segment. Segments come breadth first from the
    PoP (as :func:`netplan._routes.routes_frame` orders them).
    """
    nodes = joint_nodes(routes, drops, roots, topology=topology)
    runs = cable_runs(routes, nodes)
    drum = run_table(routes, runs, build)["drum"]
    pop = routes["pop_id"].astype(str).to_numpy()
    start = routes["from_node"].to_numpy(np.int64)
    end = routes["to_node"].to_numpy(np.int64)
    key = pd.MultiIndex.from_arrays([pop, end])
    info = nodes.reindex(key)
    through = info["through"].to_numpy(dtype=bool)
    run_ends = ~((info["degree"] == 2) & ~info["joint"] & ~info["root"]).to_numpy()
    add = through + np.where(run_ends, drum.reindex(runs).to_numpy(), 0.0)
    total: dict[tuple[str, int], float] = {(str(p), int(n)): 0.0 for p, n in roots.items()}
    for p, a, b, extra in zip(
        pop.tolist(), start.tolist(), end.tolist(), add.tolist(), strict=True
    ):
        total[(p, b)] = total.get((p, a), 0.0) + extra
    return total


def _tree_paths(
    sites: pd.DataFrame,
    routes: pd.DataFrame,
    drops: pd.DataFrame,
    roots: pd.Series,
    *,
    topology: str,
    budget: OpticalBudget,
    build: BuildRules,
) -> pd.DataFrame:
    """fibre_path_m, loss and reason of the routed GPs of a tree or star."""
    spliced = _splices_to_nodes(routes, drops, roots, topology=topology, build=build)
    splices = np.asarray(
        [
            spliced.get((str(p), int(n)), 0.0)
            for p, n in zip(drops["pop_id"], drops["node"], strict=True)
        ]
    )
    if topology == "star":  # the GP's own cable ends in its drop joint
        splices = splices + 1
    path = sites["route_m"].reindex(drops.index).to_numpy(dtype=float)
    loss = budget.loss_db(path, splices)
    return pd.DataFrame(
        {
            "fibre_path_m": path,
            "optical_loss_db": loss,
            "optical_reason": budget.reasons(path, loss, "fibre path"),
        },
        index=drops.index,
    )


def _ring_paths(hops: pd.DataFrame, *, budget: OpticalBudget, build: BuildRules) -> pd.DataFrame:
    """The worse hop of each routed ring GP (columns ``hop_in_m``, ``hop_out_m``)."""
    # a GP at the PoP's own node is on no ring: no hop
    worst = np.fmax(hops["hop_in_m"].to_numpy(float), hops["hop_out_m"].to_numpy(float))
    worst = np.nan_to_num(worst, nan=0.0)
    splices = np.ceil(worst / build.drum_length_m - 1e-9) + 1
    loss = budget.loss_db(worst, splices, splitter=False)
    return pd.DataFrame(
        {
            "fibre_path_m": worst,
            "optical_loss_db": loss,
            "optical_reason": budget.reasons(worst, loss, "ring hop"),
        },
        index=hops.index,
    )


def optical_check(
    sites: pd.DataFrame,
    routes: pd.DataFrame,
    assignment: pd.DataFrame,
    roots: pd.Series,
    *,
    topology: str,
    budget: OpticalBudget,
    build: BuildRules,
) -> pd.DataFrame:
    """``sites`` with :data:`OPTICAL_COLUMNS` (see the module docs).

    Parameters
    ----------
    sites
        The plan's sites (``routed``, ``pop_id``, ``route_m``).
    routes
        Route segments with ``pop_id``, ``from_node``, ``to_node``, ``method``, ``length_m``,
        ``cable_m``.
    assignment
        Every GP's ``node`` and, for rings, ``hop_in_m`` and ``hop_out_m``.
    roots
        Each PoP's node.
    topology, budget, build
        The design topology, the optical budget and the build rules (drum length).
    """
    routed = sites.index[sites["routed"].to_numpy(dtype=bool)]
    drops = pd.DataFrame(
        {"pop_id": sites.loc[routed, "pop_id"], "node": assignment["node"].reindex(routed)}
    )
    if topology == "ring":
        checked = _ring_paths(assignment.loc[routed], budget=budget, build=build)
    elif len(routed):
        checked = _tree_paths(
            sites, routes, drops, roots, topology=topology, budget=budget, build=build
        )
    else:
        checked = pd.DataFrame(
            columns=["fibre_path_m", "optical_loss_db", "optical_reason"], index=routed
        )
    out = sites.copy()
    out["fibre_path_m"] = checked["fibre_path_m"].reindex(out.index).astype(float).round(1)
    out["optical_loss_db"] = checked["optical_loss_db"].reindex(out.index).astype(float).round(2)
    reason = checked["optical_reason"].reindex(out.index)
    out["optical_ok"] = (reason == "").fillna(False).astype(bool).to_numpy()
    out["optical_reason"] = reason.fillna("not routed").astype(str)
    return out


def add_optical_totals(summary: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    """The summary with ``optical_fail``: routed GPs over the optical budget or reach."""
    summary = summary.copy()
    failing = sites["routed"] & ~sites["optical_ok"]
    per_pop = failing.groupby(sites["pop_id"]).sum()
    summary["optical_fail"] = per_pop.reindex(summary.index).fillna(0).astype(int)
    summary.loc["TOTAL", "optical_fail"] = int(failing.sum())
    return summary
