"""Plans side by side: :func:`compare` and the :class:`Comparison` table it returns.

A planner tries variants of one network (tree or ring, permission-aware or not, ...) and wants
their headline figures next to each other. :func:`compare` takes the ``TOTAL`` row of each plan's
summary — every numeric column, so figures that new features add to the summary appear without
any change here — plus the permit items per authority and, when a plan has a bill of quantities,
its total.

The table has **one row per figure and one column per scenario**: a handful of scenarios against
twenty-odd figures reads down the page in a notebook without horizontal scrolling, adding a
scenario adds a column, and each row (one figure) compares like with like.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from netplan._errors import InputError
from netplan.report import format_number, literal_text
from netplan.result import Plan

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["compare", "Comparison", "DEFAULT_CHART"]

PERMIT_ITEMS = "permit_items"
"""Row of the total number of permit items; per authority: ``"permit_items: <authority>"``."""

BOQ_TOTAL = "boq_total"
"""Row of the bill of quantities' total amount (plans that have a ``boq``)."""

DEFAULT_CHART = ("trench_km", "in_forest_km", "nh_crossings", PERMIT_ITEMS, "cost")
"""Figures :meth:`Comparison.chart` draws by default (those present in the table)."""


class Comparison(pd.DataFrame):
    """Headline figures of several plans: one row per figure, one column per scenario.

    A :class:`pandas.DataFrame` of floats (NaN where a figure does not apply to a scenario,
    e.g. ``rings`` of a tree). It displays rounded (thousands separated, at most two
    decimals); the values themselves are exact.
    """

    @property
    def _constructor(self) -> type[Comparison]:
        return Comparison

    def _formatted(self) -> pd.DataFrame:
        return pd.DataFrame(self).map(format_number)

    def __repr__(self) -> str:
        return repr(self._formatted())

    def _repr_html_(self) -> str | None:
        return self._formatted()._repr_html_()

    def relative_to(
        self, baseline: str, *, how: Literal["ratio", "difference"] = "ratio"
    ) -> Comparison:
        """Every scenario against ``baseline``: ``value / baseline`` or ``value - baseline``.

        A ratio to a baseline of zero is NaN.

        Parameters
        ----------
        baseline
            Name of the baseline scenario (a column).
        how
            ``"ratio"`` or ``"difference"``.

        Examples
        --------
        >>> c = Comparison({"tree": [100.0, 0.0], "star": [160.0, 2.0]},
        ...                index=["trench_km", "nh_crossings"])
        >>> c.relative_to("tree")["star"].tolist()
        [1.6, nan]
        >>> c.relative_to("tree", how="difference")["star"].tolist()
        [60.0, 2.0]
        """
        self._check_scenario(baseline)
        if how not in ("ratio", "difference"):
            raise InputError(f"how={how!r}: choose 'ratio' or 'difference'")
        base = self[baseline]
        if how == "difference":
            return self.sub(base, axis=0)
        return self.div(base.where(base != 0), axis=0)

    def chart(
        self, figures: Sequence[str] | None = None, *, relative_to: str | None = None
    ) -> Figure:
        """Bar charts of the scenarios.

        Without ``relative_to``: one small panel per figure with the absolute value of each
        scenario (figures have different units, so each panel has its own scale). With
        ``relative_to``: one panel, each figure as the ratio of every scenario to that baseline
        (1 = as the baseline).

        Parameters
        ----------
        figures
            Rows to draw; default :data:`DEFAULT_CHART` (trench km, km in forest, NH crossings,
            permit items, cost), those present in the table.
        relative_to
            A scenario to divide by.

        Returns
        -------
        matplotlib.figure.Figure
            Shown inline in Jupyter; ``fig.savefig("compare.png")`` writes it. It is not kept
            open by pyplot.
        """
        import matplotlib.pyplot as plt

        rows = self._chart_rows(figures)
        if relative_to is not None:
            fig, ax = plt.subplots(figsize=(1.2 + 1.1 * len(rows) * max(1, self.shape[1] / 3), 3.6))
            _relative_bars(ax, self.relative_to(relative_to).loc[rows], relative_to)
        else:
            ncols = min(3, len(rows))
            nrows = math.ceil(len(rows) / ncols)
            fig, axes = plt.subplots(
                nrows, ncols, figsize=(3.6 * ncols, 2.8 * nrows), squeeze=False
            )
            for ax, row in zip(axes.flat, rows, strict=False):
                _absolute_bars(ax, self.loc[row], row)
            for ax in axes.flat[len(rows) :]:
                ax.set_visible(False)
        fig.tight_layout()
        plt.close(fig)
        return fig

    def _chart_rows(self, figures: Sequence[str] | None) -> list[str]:
        if figures is not None:
            return _pick(self.index, figures)
        rows = [f for f in DEFAULT_CHART if f in self.index]
        if not rows:
            raise InputError("no figures to chart: pass figures=[...] (rows of the comparison)")
        return rows

    def _check_scenario(self, name: str) -> None:
        if name not in self.columns:
            raise InputError(
                f"{name!r} is not a scenario of this comparison; its scenarios are "
                f"{', '.join(map(str, self.columns))}"
            )


def _unit(values: pd.Series) -> tuple[float, str]:
    """Divisor and suffix that keep a panel's labels short: millions and billions."""
    largest = float(np.nanmax(np.abs(values.to_numpy(dtype=float)), initial=0.0))
    for divisor, suffix in ((1e9, " bn"), (1e6, " M")):
        if largest >= divisor:
            return divisor, suffix
    return 1.0, ""


def _x_labels(ax, names: Sequence[object]) -> None:
    labels = [literal_text(n) for n in names]
    slanted = max(map(len, labels), default=0) > 8
    ax.set_xticks(range(len(labels)), labels, fontsize=8, rotation=20 if slanted else 0,
                  ha="right" if slanted else "center")  # fmt: skip


def _absolute_bars(ax, values: pd.Series, figure: str) -> None:
    divisor, suffix = _unit(values)
    colours = [f"C{i % 10}" for i in range(len(values))]
    bars = ax.bar(range(len(values)), values.to_numpy(dtype=float), color=colours)
    labels = [format_number(v / divisor) + (suffix if pd.notna(v) else "") for v in values]
    ax.bar_label(bars, labels=labels, fontsize=8)
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{v / divisor:,g}{suffix}")
    _x_labels(ax, values.index)
    ax.set_title(literal_text(figure), fontsize=10)
    ax.margins(y=0.15)
    if not (values < 0).any():
        ax.set_ylim(bottom=0)
    ax.spines[["top", "right"]].set_visible(False)


def _relative_bars(ax, ratios: pd.DataFrame, baseline: str) -> None:
    n = ratios.shape[1]
    width = 0.8 / n
    x = np.arange(len(ratios))
    for i, scenario in enumerate(ratios.columns):
        ax.bar(
            x + (i - (n - 1) / 2) * width,
            ratios[scenario].to_numpy(dtype=float),
            width,
            label=literal_text(scenario),
            color=f"C{i % 10}",
        )
    ax.axhline(1.0, color="0.3", linewidth=0.8)
    ax.set_xticks(x, [literal_text(f) for f in ratios.index], fontsize=8)
    ax.set_ylabel(literal_text(f"ratio to {baseline}"))
    ax.legend(fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)


def _figures(plan: Plan) -> dict[str, float]:
    """The headline figures of one plan, in table order."""
    total = plan.summary.loc["TOTAL"]
    out: dict[str, float] = {}
    for column, value in total.items():
        if pd.api.types.is_numeric_dtype(plan.summary[column]):
            out[str(column)] = float(value)
    out[PERMIT_ITEMS] = float(len(plan.permits))
    if len(plan.permits):
        for authority, items in plan.permits.groupby("authority", sort=True).size().items():
            out[f"{PERMIT_ITEMS}: {authority}"] = float(items)
    boq = getattr(plan, "boq", None)
    if boq is not None:
        out[BOQ_TOTAL] = _boq_total(boq)
    return out


def _boq_total(boq: pd.DataFrame) -> float:
    """The total amount of a bill of quantities (its ``TOTAL`` rows when it has them)."""
    table = boq.reset_index() if "pop_id" not in boq.columns else boq
    totals = table[table["pop_id"].astype(str) == "TOTAL"] if "pop_id" in table else table.iloc[:0]
    return float((totals if len(totals) else table)["amount"].sum())


def _row_order(figures: Iterable[dict[str, float]]) -> list[str]:
    """Summary figures (in the order the plans list them), then permit items (total, then
    per authority, sorted), then the BOQ total."""
    seen: dict[str, None] = {}
    for one in figures:
        seen.update(dict.fromkeys(one))
    permits = sorted(r for r in seen if r.startswith(f"{PERMIT_ITEMS}: "))
    tail = [PERMIT_ITEMS, *permits, BOQ_TOTAL]
    return [r for r in seen if r not in tail] + [r for r in tail if r in seen]


def _pick(index: pd.Index, figures: Sequence[str] | str) -> list[str]:
    """``figures`` checked against the rows of a comparison."""
    wanted = [figures] if isinstance(figures, str) else list(figures)
    unknown = [f for f in wanted if f not in index]
    if unknown or not wanted:
        what = f"figures {unknown} are not in the comparison" if wanted else "no figures chosen"
        raise InputError(f"{what}; its figures are {', '.join(map(str, index))}")
    return wanted


def compare(plans: Mapping[str, Plan], *, figures: Sequence[str] | None = None) -> Comparison:
    """The headline figures of several plans side by side.

    Parameters
    ----------
    plans
        Scenario name → :class:`~netplan.result.Plan`, in the order the columns should have.
    figures
        Keep only these rows (e.g. ``["trench_km", "cost"]``); default every figure.

    Returns
    -------
    Comparison
        One row per figure, one column per scenario: every numeric column of each plan's
        ``TOTAL`` summary row (GPs, routed, unroutable, km of trench, spurs, bridges, cable,
        forest km and ha, NH crossings, cost, ring counts, and any figure other features add),
        then ``permit_items`` and ``permit_items: <authority>`` (0 where a scenario needs none),
        and ``boq_total`` when a plan has a bill of quantities. NaN where a figure does not
        apply to a scenario.

    Raises
    ------
    InputError
        No plans, something that is not a plan, or an unknown figure.

    Examples
    --------
    >>> import netplan
    >>> sample = netplan.datasets.sample_paths()
    >>> planner = netplan.Planner(sample["gps"], sample["pops"], sample["roads"],
    ...                           forest=sample["forest"], progress=False)
    >>> table = netplan.compare({"tree": planner.plan(), "star": planner.plan(topology="star")})
    >>> list(table.columns)
    ['tree', 'star']
    >>> bool(table.loc["trench_km", "tree"] < table.loc["trench_km", "star"])
    True
    """
    if not isinstance(plans, Mapping) or not plans:
        raise InputError("compare() needs a mapping of scenario names to plans, e.g. {'tree': p}")
    for name, plan in plans.items():
        if not isinstance(plan, Plan):
            raise InputError(
                f"scenario {name!r} is a {type(plan).__name__}, not a netplan Plan; pass the "
                "result of netplan.plan() or Planner.plan()"
            )
    columns = {str(name): _figures(plan) for name, plan in plans.items()}
    table = Comparison(pd.DataFrame(columns, index=_row_order(columns.values()), dtype=float))
    permits = [r for r in table.index if r.startswith(f"{PERMIT_ITEMS}: ")]
    table.loc[permits] = table.loc[permits].fillna(0.0)
    if figures is not None:
        table = table.loc[_pick(table.index, figures)]
    table.columns.name = "scenario"
    table.index.name = "figure"
    return table
