"""The report's charts as static SVG, drawn by matplotlib (docs/report.md says why: no
JavaScript, so the page renders the same in a browser, an e-mail attachment, a Drive preview
and on paper, and nothing can reach for a network).

Each function takes figures already aggregated by the warehouse and returns one `<svg>`
element: text stays text (selectable, in the page's font), element ids are salted per chart
so that several charts can live in one page.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from frota.report.fmt import Formatter

COLORS = {
    "preventiva": "#2e7d32",
    "corretiva": "#c62828",
    "outra": "#9e9e9e",
    "ativo": "#2e7d32",
    "em_manutencao": "#f9a825",
    "inativo": "#9e9e9e",
    "main": "#1565c0",
    "second": "#6a1b9a",
    "trend": "#424242",
}
WIDTH = 10.5  # inches at 72 dpi: the SVG is scaled to the column's width by CSS
_STYLE: dict[str, Any] = {
    "svg.fonttype": "none",  # text as <text>: smaller, selectable, the page's own font
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"],
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#e0e0e0",
    "axes.edgecolor": "#9e9e9e",
    "axes.axisbelow": True,
    "legend.frameon": False,
    "svg.hashsalt": "frota",
}
_SVG_START = re.compile(r"^.*?(<svg\b)", re.DOTALL)
_SIZE = re.compile(r'\s(width|height)="[^"]*pt"')


def _figure(height: float, rows: int = 1) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH, height), layout="constrained")
    axes = fig.subplots(rows, 1, sharex=True) if rows > 1 else fig.subplots()
    return fig, axes


def _svg(fig: Any, name: str) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = _SVG_START.sub(r"\1", buffer.getvalue(), count=1)
    # The viewBox stays; CSS gives the width (the chart follows the page, and the print).
    text = _SIZE.sub("", text, count=2)
    return text.replace("<svg ", f'<svg role="img" aria-label="{name}" ', 1)


def render(name: str, draw: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """Draw a chart with the report's style; its SVG text."""
    import matplotlib

    style: Any = {**_STYLE, "svg.hashsalt": f"frota-{name}"}
    with matplotlib.rc_context(style):
        fig = draw(*args, **kwargs)
        return _svg(fig, name)


def _month_axis(ax: Any, months: Sequence[date], fmt: Formatter) -> None:
    step = max(1, -(-len(months) // 12))  # at most 12 labels
    ticks = list(range(0, len(months), step))
    ax.set_xticks(ticks, [fmt.month_short(months[i]) for i in ticks])
    ax.set_xlim(-0.6, len(months) - 0.4)


def _from_zero(ax: Any, whole: bool) -> None:
    """The y axis of a quantity that is never negative (costs, days, counts), called after
    drawing: it starts at 0 (lower only where a drawn line dips below, e.g. a trend) and, when
    its labels show no decimals, ticks whole numbers up to at least 1, so that a period with
    nothing in it reads "0, 1" instead of "-0, -0, 0, 0, 0"."""
    from matplotlib.ticker import MaxNLocator

    low, high = ax.dataLim.intervaly
    top = ax.get_ylim()[1]
    bottom = min(0.0, low) if math.isfinite(low) else 0.0
    if whole:
        top = max(top, 1.0, high if math.isfinite(high) else 0.0)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(bottom, top)


def _money_axis(ax: Any, fmt: Formatter) -> None:
    from matplotlib.ticker import FuncFormatter

    _from_zero(ax, whole=True)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt.money(v, digits=0)))


def _percent_axis(ax: Any, fmt: Formatter) -> None:
    from matplotlib.ticker import FuncFormatter

    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt.percent(v, digits=0)))


def _number_axis(ax: Any, fmt: Formatter, digits: int = 0) -> None:
    from matplotlib.ticker import FuncFormatter

    _from_zero(ax, whole=digits == 0)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt.number(v, digits)))


def _legend(ax: Any, columns: int) -> None:
    """Above the plot, left: never over a bar or a line."""
    ax.legend(
        loc="lower left", bbox_to_anchor=(0, 1.0), ncols=columns, fontsize=9, borderaxespad=0.2
    )


# ---------------------------------------------------------------- the charts


def cost_by_category(
    months: Sequence[date],
    stacks: dict[str, Sequence[float]],  # label -> value per month, bottom first
    colors: Sequence[str],
    trend: tuple[str, Sequence[float]] | None,
    fmt: Formatter,
) -> Any:
    """Stacked monthly bars per category, and the trend line of the totals."""
    fig, ax = _figure(3.2)
    x = list(range(len(months)))
    bottom = [0.0] * len(months)
    for (label, values), color in zip(stacks.items(), colors, strict=True):
        ax.bar(x, values, bottom=bottom, color=color, label=label, width=0.7)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    if trend is not None:
        label, values = trend
        ax.plot(
            x[: len(values)],
            values,
            color=COLORS["trend"],
            linestyle="--",
            linewidth=1.5,
            label=label,
        )
    _month_axis(ax, months, fmt)
    _money_axis(ax, fmt)
    _legend(ax, 4)
    return fig


def horizontal_bars(
    labels: Sequence[str], values: Sequence[float], color: str, text: Callable[[float], str]
) -> Any:
    """One bar per label, first on top, each with its value (`text`) written at its end."""
    from matplotlib.ticker import FuncFormatter

    fig, ax = _figure(0.5 + 0.32 * max(len(labels), 1))
    y = list(range(len(labels)))[::-1]
    ax.barh(y, values, color=color, height=0.65)
    ax.set_yticks(y, labels)
    ax.grid(axis="x", color="#e0e0e0")
    ax.grid(axis="y", visible=False)
    for yi, v in zip(y, values, strict=True):
        ax.annotate(
            text(v), (v, yi), xytext=(4, 0), textcoords="offset points", va="center", fontsize=9
        )
    ax.margins(x=0.2)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: text(v)))
    return fig


def lines(
    months: Sequence[date],
    series: dict[str, Sequence[float | None]],
    colors: Sequence[str],
    fmt: Formatter,
    percent: bool = False,
    digits: int = 0,
) -> Any:
    """One line per series over the months (a gap where a value is missing)."""
    fig, ax = _figure(2.8)
    x = list(range(len(months)))
    for (label, values), color in zip(series.items(), colors, strict=True):
        y = [float("nan") if v is None else v for v in values]
        ax.plot(x, y, color=color, marker="o", markersize=3, linewidth=1.8, label=label)
    _month_axis(ax, months, fmt)
    if percent:
        _percent_axis(ax, fmt)
    else:
        _number_axis(ax, fmt, digits)
    _legend(ax, 3)
    return fig


def availability(
    months: Sequence[date],
    share: Sequence[float | None],
    downtime: Sequence[float],
    labels: tuple[str, str],
    fmt: Formatter,
) -> Any:
    """Availability (a line, top) and days in the shop (bars, bottom) per month."""
    fig, (top, bottom) = _figure(4.2, rows=2)
    x = list(range(len(months)))
    top.plot(
        x,
        [float("nan") if v is None else v for v in share],
        color=COLORS["main"],
        marker="o",
        markersize=3,
        linewidth=1.8,
    )
    top.set_title(labels[0], loc="left", fontsize=10)
    low = min((v for v in share if v is not None), default=0.0)
    top.set_ylim(max(0.0, low - 0.05), 1.0)
    from matplotlib.ticker import FuncFormatter

    top.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt.percent(v, digits=0)))
    bottom.bar(x, downtime, color=COLORS["corretiva"], width=0.7)
    bottom.set_title(labels[1], loc="left", fontsize=10)
    _number_axis(bottom, fmt)
    _month_axis(bottom, months, fmt)
    return fig


def mtbf_mttr(
    months: Sequence[date],
    mtbf: Sequence[float | None],
    mttr: Sequence[float | None],
    labels: tuple[str, str],
    fmt: Formatter,
) -> Any:
    """MTBF (top) and MTTR (bottom) in days per month."""
    fig, (top, bottom) = _figure(4.2, rows=2)
    x = list(range(len(months)))
    for ax, values, color, label in (
        (top, mtbf, COLORS["main"], labels[0]),
        (bottom, mttr, COLORS["second"], labels[1]),
    ):
        ax.plot(
            x,
            [float("nan") if v is None else v for v in values],
            color=color,
            marker="o",
            markersize=3,
            linewidth=1.8,
        )
        ax.set_title(label, loc="left", fontsize=10)
        _number_axis(ax, fmt, digits=0)
    _month_axis(bottom, months, fmt)
    return fig


def status_area(
    days: Sequence[date],
    stacks: dict[str, Sequence[int]],
    colors: Sequence[str],
    fmt: Formatter,
) -> Any:
    """Vehicles per status class, day by day, stacked."""
    fig, ax = _figure(2.8)
    x = list(range(len(days)))
    ax.stackplot(x, *stacks.values(), labels=list(stacks), colors=colors, linewidth=0)
    firsts = [i for i, d in enumerate(days) if d.day == 1] or [0]
    step = max(1, -(-len(firsts) // 12))
    ticks = firsts[::step]
    ax.set_xticks(ticks, [fmt.month_short(days[i]) for i in ticks])
    ax.set_xlim(0, max(len(days) - 1, 1))
    _number_axis(ax, fmt)
    _legend(ax, 3)
    return fig


def daily_bars(days: Sequence[date], values: Sequence[float], color: str, fmt: Formatter) -> Any:
    """One bar per day (the pipeline's rows per day)."""
    fig, ax = _figure(2.2)
    x = list(range(len(days)))
    ax.bar(x, values, color=color, width=0.8)
    step = max(1, -(-len(days) // 10))
    ticks = list(range(0, len(days), step))
    ax.set_xticks(
        ticks,
        [
            fmt.date(days[i])[:5] if fmt.lang == "pt-BR" else days[i].strftime("%m-%d")
            for i in ticks
        ],
    )
    ax.set_xlim(-0.6, len(days) - 0.4)
    _number_axis(ax, fmt)
    return fig
