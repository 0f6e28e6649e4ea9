"""A one-page HTML report of a plan for an officer: :func:`plan_report` (``Plan.to_report``).

The report is one self-contained file: inline CSS, charts as inline SVG drawn by matplotlib (no
GUI, no pyplot state), no script and no external address, so it opens offline, prints on A4 and
can be mailed. It states the headline totals (total trench first), charts km per PoP, permit items
per authority and the GPs' route lengths, tables every PoP and the permits by authority, and then
the optional sections of :data:`SECTIONS` (unroutable GPs, optical-budget failures, bill of
quantities, roll-out, facilities, the permission-aware trade-off), each of which leaves itself
out when the plan has no data for it. Every text that comes from input files (village, PoP,
forest-division and highway names) is HTML-escaped. The same plan gives the same bytes.
"""

from __future__ import annotations

import html
import io
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from netplan.row import permit_summary

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from netplan.result import Plan

__all__ = [
    "plan_report",
    "report_html",
    "Section",
    "SECTIONS",
    "CHARTS",
    "format_number",
    "html_table",
    "escape",
    "literal_text",
]

MAX_ROWS = 40
"""Longest table the report prints in full (longer ones show their first rows and say so)."""

MAX_BARS = 20
"""PoPs drawn in the km-per-PoP chart (those with the most km when there are more)."""

CHART_WIDTH_IN = 3.0
"""Width of each chart in inches (three side by side fill an A4 page)."""

_LABELS = {
    "gps": "GPs",
    "routed": "GPs routed",
    "unroutable": "GPs unroutable",
    "road_km": "road trench km",
    "spur_km": "off-road spur km",
    "bridge_km": "bridge link km",
    "trench_km": "trench km",
    "cost": "cost (INR)",
    "nh_crossings": "NH crossings",
    "along_nh_km": "along NH km",
    "ring_shared_km": "km run twice by rings",
    "optical_fail": "GPs over optical budget",
}


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""Control characters, which no report can show (they are dropped)."""


def escape(text: object) -> str:
    """``text`` safe inside HTML elements and attributes (control characters dropped).

    Examples
    --------
    >>> escape('<b>"Ram & Sons"</b>')
    '&lt;b&gt;&quot;Ram &amp; Sons&quot;&lt;/b&gt;'
    """
    return html.escape(_CONTROL.sub("", str(text)), quote=True)


def format_number(value: Any) -> str:
    """A figure as people read it: thousands separated, two decimals at most.

    Examples
    --------
    >>> [format_number(v) for v in [26675.31, 398.561, 0.6939, 12.0, float("nan"), True, "a"]]
    ['26,675', '398.56', '0.694', '12', '–', 'yes', 'a']
    """
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if not isinstance(value, int | float | np.number):
        return "–" if value is None or value is pd.NA else str(value)
    v = float(value)
    if math.isnan(v):
        return "–"
    if math.isinf(v) or v.is_integer() or abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:,.2f}" if abs(v) >= 1 else f"{v:.3g}"


def _label(column: str) -> str:
    return _LABELS.get(column, column.replace("_", " "))


def html_table(frame: pd.DataFrame, *, index: bool = True, max_rows: int = MAX_ROWS) -> str:
    """``frame`` as an HTML table, every cell escaped, numbers formatted and right-aligned;
    beyond ``max_rows`` rows the first ones and a note."""
    shown = frame.iloc[:max_rows]
    head = ([frame.index.name or ""] if index else []) + [str(c) for c in frame.columns]
    rows = []
    for key, row in zip(shown.index, shown.itertuples(index=False), strict=True):
        cells = [_cell(key, header=True)] if index else []
        cells += [_cell(v) for v in row]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    note = ""
    if len(frame) > max_rows:
        note = f'<p class="note">The first {max_rows} of {len(frame):,} rows.</p>'
    header = "".join(f"<th>{escape(h)}</th>" for h in head)
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>{note}"


def _cell(value: Any, *, header: bool = False) -> str:
    tag = "th" if header else "td"
    numeric = isinstance(value, int | float | np.number) and not isinstance(value, bool | np.bool_)
    cls = ' class="num"' if numeric else ""
    return f"<{tag}{cls}>{escape(format_number(value))}</{tag}>"


# ---------------------------------------------------------------------------------- charts
def literal_text(text: object) -> str:
    r"""Text that matplotlib shows as it is (a ``$`` would start mathtext).

    Examples
    --------
    >>> print(literal_text("Rs $5 and $6"))
    Rs \$5 and \$6
    """
    return _CONTROL.sub("", str(text)).replace("$", r"\$")


def _svg(fig: Figure, key: str) -> str:
    """``fig`` as an inline ``<svg>`` element: text kept as text, element ids unique to ``key``
    (several charts share one page), no date, no external namespace addresses."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": f"netplan-{key}"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    text = re.sub(r'\s+xmlns(?::\w+)?="[^"]*"', "", text)
    # ids unique on the page: prefix every id and every reference to one with the chart's key
    text = re.sub(r'\bid="', f'id="{key}-', text)
    text = text.replace("url(#", f"url(#{key}-").replace('href="#', f'href="#{key}-')
    return text.replace("<svg ", f'<svg role="img" aria-label="{key}" ', 1)


def _new_figure(width: float, height: float) -> tuple[Figure, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)
    return fig, ax


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=9)
    ax.set_axis_off()


def km_per_pop_chart(plan: Plan) -> Figure:
    """Stacked bars of road trench, spur and bridge km per PoP, labelled by name (the PoPs with
    most km when there are more than :data:`MAX_BARS`)."""
    table = plan.summary.drop(index="TOTAL")
    parts = [c for c in ("road_km", "spur_km", "bridge_km") if c in table and table[c].any()]
    table = table[parts or ["trench_km"]]
    table = table.assign(_total=table.sum(axis=1)).sort_values("_total", ascending=False)
    shown = table.head(MAX_BARS).iloc[::-1].drop(columns="_total")
    fig, ax = _new_figure(CHART_WIDTH_IN, 1.4 + 0.17 * len(shown))
    if not len(shown):
        _empty(ax, "no PoPs")
        return fig
    names = plan.summary["name"].reindex(shown.index).fillna("").astype(str)
    labels = [literal_text((n or str(i))[:20]) for i, n in zip(shown.index, names, strict=True)]
    left = np.zeros(len(shown))
    for column, colour in zip(shown.columns, ("#2b6cb0", "#d69e2e", "#c53030"), strict=False):
        values = shown[column].to_numpy(dtype=float)
        ax.barh(range(len(shown)), values, left=left, color=colour, label=_label(column))
        left += values
    ax.set_yticks(range(len(shown)), labels)
    ax.set_xlabel("km", fontsize=8)
    more = f"\n({MAX_BARS} of {len(table)} PoPs, most km)" if len(table) > MAX_BARS else ""
    ax.set_title(f"km per PoP{more}", fontsize=9)
    _legend_below(ax)
    return fig


def _legend_below(ax: Any) -> None:
    if len(ax.get_legend_handles_labels()[0]) > 1:
        ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.22),
                  ncols=3)  # fmt: skip


def permits_chart(plan: Plan) -> Figure:
    """Permit items per authority, stacked by kind of item."""
    permits = plan.permits
    fig, ax = _new_figure(CHART_WIDTH_IN, 2.4)
    ax.set_title("permit items per authority", fontsize=9)
    if not len(permits):
        _empty(ax, "no permission needed")
        return fig
    counts = permits.groupby(["authority", "kind"]).size().unstack(fill_value=0)
    left = np.zeros(len(counts))
    for i, kind in enumerate(counts.columns):
        values = counts[kind].to_numpy(dtype=float)
        ax.barh(range(len(counts)), values, left=left, color=f"C{i % 10}", label=literal_text(kind))
        left += values
    ax.set_yticks(range(len(counts)), [literal_text(str(a)[:28]) for a in counts.index])
    ax.set_xlabel("items", fontsize=8)
    _legend_below(ax)
    return fig


def route_length_chart(plan: Plan) -> Figure:
    """Histogram of the routed GPs' distance from their PoP along the design."""
    km = plan.sites.loc[plan.sites["routed"], "route_m"].dropna().to_numpy(dtype=float) / 1000
    fig, ax = _new_figure(CHART_WIDTH_IN, 2.4)
    ax.set_title("GPs by route length from their PoP", fontsize=9)
    if not len(km):
        _empty(ax, "no routed GPs")
        return fig
    ax.hist(km, bins=min(20, max(5, len(km) // 5)), color="#2b6cb0")
    ax.set_xlabel("km along the route", fontsize=8)
    ax.set_ylabel("GPs", fontsize=8)
    return fig


CHARTS: tuple[Callable[[Plan], Figure], ...] = (km_per_pop_chart, permits_chart, route_length_chart)
"""The charts of the report, in order."""


# ---------------------------------------------------------------------------------- sections
@dataclass(frozen=True)
class Section:
    """A part of the report: its title and a builder giving its HTML, or ``None`` to leave the
    section out (its data is absent from the plan)."""

    title: str
    build: Callable[[Plan], str | None]


def _headline(plan: Plan) -> str:
    total = plan.summary.loc["TOTAL"]
    lead = (
        f'<p class="lead">Total trench: <b>{format_number(total["trench_km"])} km</b> '
        f"to {format_number(total['routed'])} of {format_number(total['gps'])} GPs from "
        f"{len(plan.pops):,} PoPs; {len(plan.permits):,} permit items.</p>"
    )
    numeric = [c for c in plan.summary.columns if pd.api.types.is_numeric_dtype(plan.summary[c])]
    boxes = "".join(
        f"<div><span>{escape(_label(str(c)))}</span><b>{escape(format_number(total[c]))}</b></div>"
        for c in numeric
    )
    return f'{lead}<div class="figures">{boxes}</div>'


def _charts(plan: Plan) -> str:
    figures = "".join(f"<figure>{_svg(chart(plan), chart.__name__)}</figure>" for chart in CHARTS)
    return f'<div class="charts">{figures}</div>'


def _pop_columns(summary: pd.DataFrame) -> list[str]:
    """Columns of the per-PoP table: counts, trench, right-of-way figures, features' counts, cost."""
    row_of_way = [c for c in summary.columns if re.fullmatch(r"in_\w+_km|\w+_crossings", str(c))]
    wanted = ["name", "gps", "routed", "unroutable", "trench_km", *row_of_way]
    wanted += ["existing_km", "aerial_km", "optical_fail", "rings", "cost"]
    return [c for c in dict.fromkeys(wanted) if c in summary.columns]


def _per_pop(plan: Plan) -> str:
    table = plan.summary[_pop_columns(plan.summary)]
    return html_table(table.rename(columns=_label), max_rows=len(table))


def _permits(plan: Plan) -> str:
    if not len(plan.permits):
        return "<p>No route needs a permission.</p>"
    table = permit_summary(plan.permits).drop(columns="layer").rename(columns=_label)
    note = ""
    if table["over threshold"].any():
        note = (
            '<p class="note">"over threshold": the forest area of the division exceeds the '
            "general-approval limit; the application goes the full way.</p>"
        )
    return html_table(table, index=False) + note


def _unroutable(plan: Plan) -> str | None:
    lost = plan.unroutable
    if not len(lost):
        return None
    return html_table(lost[["name", "pop_id", "reason"]])


def _optical(plan: Plan) -> str | None:
    sites = plan.sites
    if "optical_ok" not in sites.columns:
        return None
    routed = sites["routed"] if "routed" in sites.columns else True  # unrouted GPs are not checked
    failed = sites[sites["optical_ok"].eq(False) & routed]
    if not len(failed):
        return "<p>Every routed GP is within the optical budget.</p>"
    columns = ["name", "pop_id", "fibre_path_m", "optical_loss_db", "optical_reason"]
    return html_table(failed[[c for c in columns if c in failed.columns]])


def _boq(plan: Plan) -> str | None:
    boq = getattr(plan, "boq", None)
    if boq is None:
        return None
    table = boq.reset_index() if "pop_id" not in boq.columns else boq
    totals = table[table["pop_id"].astype(str) == "TOTAL"]
    shown = (totals if len(totals) else table).drop(columns="pop_id")
    total = f"<p>Total amount: <b>{format_number(shown['amount'].sum())}</b></p>"
    return total + html_table(shown, index=False)


_APPLY_FIRST = 10
"""Permit items listed in the report's roll-out section (the register has them all)."""


def _rollout(plan: Plan) -> str | None:
    """The phases (months when GPs can be lit) and the permits to apply for first."""
    rollout = getattr(plan, "rollout", None)
    if rollout is None or not len(rollout):
        return None
    steps = rollout[rollout["gps_new"] > 0]
    phases = steps[["phase", "month", "gps_new", "gps_ready", "trench_km"]].rename(
        columns={
            "month": "ready in month",
            "gps_new": "GPs lit",
            "gps_ready": "GPs lit so far",
            "trench_km": "trench km buildable so far",
        }
    )
    html = html_table(phases, index=False)
    items = plan.permits
    if len(items) and "priority" in items.columns:
        columns = ["priority", "permit_id", "authority", "sub_authority", "kind", "lead_months",
                   "gps_unblocked", "gps_blocked"]  # fmt: skip
        first = items.sort_values("priority").head(_APPLY_FIRST)
        html += f"<p>Apply first (the {len(first)} items of {len(items)} that light most GPs "
        html += "soonest; the full list is the permit register):</p>"
        html += html_table(first[[c for c in columns if c in first.columns]], index=False)
    return html


def _frame_section(attribute: str) -> Callable[[Plan], str | None]:
    def build(plan: Plan) -> str | None:
        frame = getattr(plan, attribute, None)
        if frame is None:
            return None
        if "geometry" in frame.columns:
            frame = pd.DataFrame(frame.drop(columns="geometry"))
        return html_table(frame)

    build.__name__ = f"_{attribute}"
    return build


SECTIONS: tuple[Section, ...] = (
    Section("Headline totals", _headline),
    Section("Charts", _charts),
    Section("Per PoP", _per_pop),
    Section("Permits by authority", _permits),
    Section("Unroutable GPs", _unroutable),
    Section("GPs over the optical budget", _optical),
    Section("Bill of quantities (totals)", _boq),
    Section("Roll-out", _rollout),
    Section("Facilities", _frame_section("facilities")),
    Section("Permission-aware trade-off", _frame_section("tradeoff")),
)
"""The report's sections in order; optional ones return ``None`` when the plan lacks their data."""


# ---------------------------------------------------------------------------------- page
_CSS = """
@page { size: A4; margin: 10mm; }
body { font: 9.5pt/1.35 "DejaVu Sans", "Segoe UI", Arial, sans-serif; color: #1a202c;
       max-width: 190mm; margin: 0 auto; padding: 6px; }
h1 { font-size: 15pt; margin: 0; } h2 { font-size: 11pt; margin: 12px 0 4px;
     border-bottom: 1px solid #cbd5e0; break-after: avoid; }
.sub, .note { color: #4a5568; font-size: 8pt; } .lead { font-size: 11pt; margin: 4px 0; }
.figures { display: grid; grid-template-columns: repeat(4, 1fr); gap: 2px 12px; font-size: 8pt; }
.figures div { display: flex; justify-content: space-between; border-bottom: 1px dotted #cbd5e0; }
.charts { display: grid; grid-template-columns: repeat(3, 1fr); gap: 6px; align-items: start; }
figure { margin: 0; break-inside: avoid; } figure svg { width: 100%; height: auto; }
table { border-collapse: collapse; font-size: 7.5pt; break-inside: auto; }
th, td { padding: 1px 5px; border-bottom: 1px solid #e2e8f0; text-align: left; }
.num { text-align: right; font-variant-numeric: tabular-nums; } thead th { background: #edf2f7; }
"""


def _subtitle(plan: Plan) -> str:
    import netplan

    routing = "length-only" if plan.costs.objective == "length" else "construction-cost"
    routing += " routing" + (", permission-aware" if plan.costs.penalised else "")
    inputs = ", ".join(p.name for p in plan.inputs)
    text = f"netplan {netplan.__version__} · {plan.topology} design · {routing}"
    return text + (f" · inputs: {inputs}" if inputs else "")


def report_html(plan: Plan, *, title: str | None = None) -> str:
    """The report of ``plan`` as one HTML document (see :func:`plan_report`)."""
    title = title or f"Fibre plan: {plan.topology}"
    parts = []
    for section in SECTIONS:
        body = section.build(plan)
        if body is not None:
            parts.append(f"<section><h2>{escape(section.title)}</h2>{body}</section>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f'<h1>{escape(title)}</h1><p class="sub">{escape(_subtitle(plan))}</p>'
        + "\n".join(parts)
        + "</body></html>\n"
    )


def plan_report(plan: Plan, path: str | PathLike[str], *, title: str | None = None) -> Path:
    """Write a one-page, self-contained HTML report of ``plan`` for an officer.

    Parameters
    ----------
    plan
        The plan.
    path
        The ``.html`` file to write (replaced if it exists).
    title
        Heading of the report; default ``"Fibre plan: <topology>"``.

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import tempfile, netplan
    >>> sample = netplan.datasets.sample_paths()
    >>> plan = netplan.plan(sample["gps"], sample["pops"], sample["roads"], progress=False)
    >>> out = plan_report(plan, Path(tempfile.mkdtemp()) / "report.html")
    >>> text = out.read_text(encoding="utf-8")
    >>> "Total trench" in text, text.count("<svg")
    (True, 3)
    """
    path = Path(path)
    path.write_text(report_html(plan, title=title), encoding="utf-8")
    return path
