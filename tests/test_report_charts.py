"""The report's chart axes as a reader sees them: the y labels matplotlib writes into the SVG."""

from __future__ import annotations

import re
from datetime import date

import pytest

from frota.report import charts
from frota.report.fmt import Formatter

MONTHS = [date(2026, m, 1) for m in range(1, 13)]
_TICK = re.compile(r'<g id="ytick_\d+">.*?<text[^>]*>([^<]*)</text>', re.DOTALL)


def y_labels(svg: str) -> list[list[str]]:
    """Each plot's y tick labels, top plot first."""
    return [_TICK.findall(axes) for axes in svg.split('<g id="axes_')[1:]]


def quiet_stretch(fmt: Formatter) -> dict[str, str]:
    """Each chart over twelve months in which nothing happened: no cost, no day in the shop,
    no failure (what a report of a quiet year draws)."""
    return {
        "custos": charts.render(
            "custos", charts.cost_by_category, MONTHS, {"a": [0.0] * 12}, ["#000"], None, fmt
        ),
        "disponibilidade": charts.render(
            "disponibilidade", charts.availability, MONTHS, [1.0] * 12, [0.0] * 12, ("a", "b"), fmt
        ),
        "mtbf_mttr": charts.render(
            "mtbf_mttr", charts.mtbf_mttr, MONTHS, [None] * 12, [None] * 12, ("a", "b"), fmt
        ),
        "status": charts.render(
            "status", charts.status_area, MONTHS, {"ativo": [0] * 12}, ["#000"], fmt
        ),
    }


@pytest.mark.parametrize("lang", ["pt-BR", "en"])
def test_an_empty_stretch_reads_zero_then_one(lang: str) -> None:
    """Before, an all-zero chart read "-R$ 0, -R$ 0, R$ 0, R$ 0, R$ 0" (and "-0 … 0")."""
    fmt = Formatter(lang)
    zero = (fmt.money(0, digits=0), fmt.number(0, 0))
    for name, svg in quiet_stretch(fmt).items():
        for labels in y_labels(svg):
            assert len(labels) >= 2, name
            assert len(set(labels)) == len(labels), (name, labels)
            assert not [x for x in labels if x.lstrip().startswith(("-", "\u2212"))], labels
            assert labels[0] in zero or labels[-1] == fmt.percent(1.0, digits=0), (name, labels)


def test_costs_keep_their_scale_and_a_trend_below_zero() -> None:
    fmt = Formatter("en")
    costs = [1200.0, 800.0, 300.0, 0.0, 0.0, 0.0]
    trend = ("trend", [1300.0, 800.0, 300.0, -200.0, -700.0, -1200.0])
    svg = charts.render(
        "custos", charts.cost_by_category, MONTHS[:6], {"a": costs}, ["#000"], trend, fmt
    )
    (labels,) = y_labels(svg)
    assert labels[0].lstrip().startswith(("-", "\u2212"))  # the trend's dip stays in view
    assert fmt.money(0, digits=0) in labels
    assert len(set(labels)) == len(labels)
