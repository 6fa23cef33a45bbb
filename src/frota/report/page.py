"""The page: each KPI section as a chart, its figures and its one-line definition, rendered
with the Jinja2 template `templates/report.html.j2` (styles inline, nothing fetched).

Every figure is written as `<span class="fig" data-kpi=NAME data-value=EXACT>shown</span>`:
the number a person reads, and the exact value a test compares with the warehouse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import frota.report.charts as charts
from frota.i18n import N_
from frota.report.data import (
    STATUS_CLASSES,
    KpiData,
    MonthAvailability,
    MonthCost,
    Unavailable,
)
from frota.report.figures import (
    availability_figures,
    cost_figures,
    latest_status,
    preventive_figures,
    status_total,
)
from frota.report.fmt import Formatter
from frota.report.period import month_end


@dataclass(frozen=True)
class Figure:
    """A headline figure: label, the name tests find it by, its exact value and its text."""

    label: str
    kpi: str
    value: Any
    text: str

    @property
    def raw(self) -> str:
        if self.value is None:
            return ""
        return str(self.value) if isinstance(self.value, Decimal | int | str) else repr(self.value)


@dataclass
class Table:
    columns: list[str]
    numeric: list[bool]
    rows: list[list[str]]
    kpi: str = ""  # data-kpi of the table (its cells carry data-value)
    values: list[list[Any]] = field(default_factory=list)
    status_column: int | None = None  # its cells are styled by their value (status-OK, …)


@dataclass
class Section:
    id: str
    title: str
    definition: str
    figures: list[Figure] = field(default_factory=list)
    chart: str | None = None
    table: Table | None = None
    empty: str | None = None  # shown instead of the chart: no data in the period
    unavailable: str | None = None  # why the section could not be read
    notes: list[str] = field(default_factory=list)
    warnings: dict[str, str] = field(default_factory=dict)  # part -> why it cannot be read


class Page:
    """Builds the sections of one report in one language."""

    def __init__(self, fmt: Formatter, t: Callable[[str], str]) -> None:
        self.fmt, self.t = fmt, t

    def fig(self, label: str, kpi: str, value: Any, text: str) -> Figure:
        return Figure(self.t(label), kpi, value, text)

    def section(self, id_: str, title: str, definition: str) -> Section:
        return Section(id_, self.t(title), self.t(definition))

    def kpi_sections(self, data: KpiData) -> list[Section]:
        return [
            self.costs(data),
            self.cost_per_km(data),
            self.preventive(data),
            self.availability(data),
            self.mtbf_mttr(data),
            self.top_vehicles(data),
            self.status(data),
        ]

    def _nothing(self, section: Section, rows: Unavailable | list[Any], empty: str) -> Section:
        """The section when there is nothing to draw: why it could not be read, or `empty`."""
        if isinstance(rows, Unavailable):
            section.unavailable = rows.reason
        else:
            section.empty = self.t(empty)
        return section

    # ------------------------------------------------------------ costs

    def costs(self, data: KpiData) -> Section:
        s = self.section(
            "custos",
            N_("Maintenance cost per month"),
            N_(
                "Σ cost of the maintenances whose service date falls in the month, by category "
                "(the row's own, else that of its maintenance type); the trend is the "
                "least-squares line of the monthly totals of the complete months."
            ),
        )
        rows = data.costs
        if isinstance(rows, Unavailable) or not rows:
            return self._nothing(s, rows, N_("No maintenance in this period."))
        by_month = {r.mes: r for r in rows}
        months = data.months or [r.mes for r in rows]
        full = [by_month.get(m) or MonthCost(m, *(Decimal(0),) * 3, 0.0) for m in months]
        ref = data.data_referencia
        complete = sum(1 for r in full if ref is None or month_end(r.mes) <= ref)
        f = cost_figures(full, complete)
        money, t = self.fmt.money, self.t
        per_month = t(N_("{amount} per month"))
        trend = None if f.trend is None else per_month.format(amount=money(f.trend))
        s.figures = [
            self.fig(N_("Total cost"), "custo_total", f.total, money(f.total)),
            self.fig(N_("Preventive"), "custo_preventiva", f.preventiva, money(f.preventiva)),
            self.fig(N_("Corrective"), "custo_corretiva", f.corretiva, money(f.corretiva)),
            self.fig(N_("Other"), "custo_outra", f.outra, money(f.outra)),
            self.fig(N_("Trend"), "tendencia_mensal", f.trend, trend or "–"),
            self.fig(
                N_("Cost per km (fleet)"),
                "custo_por_km_frota",
                f.custo_por_km,
                money(f.custo_por_km),
            ),
        ]
        stacks = {
            t(N_("Preventive")): [float(r.preventiva) for r in full],
            t(N_("Corrective")): [float(r.corretiva) for r in full],
        }
        colors = [charts.COLORS["preventiva"], charts.COLORS["corretiva"]]
        if f.outra:
            stacks[t(N_("Other"))] = [float(r.outra) for r in full]
            colors.append(charts.COLORS["outra"])
        line = None
        if f.trend is not None:  # the least-squares line through the complete months
            mean = sum(float(r.total) for r in full[:complete]) / complete
            mid = (complete - 1) / 2
            line = (t(N_("Trend")), [mean + f.trend * (i - mid) for i in range(complete)])
        s.chart = charts.render(
            "custos", charts.cost_by_category, months, stacks, colors, line, self.fmt
        )
        return s

    # ------------------------------------------------------------ cost per km by type

    def cost_per_km(self, data: KpiData) -> Section:
        s = self.section(
            "custo_por_km",
            N_("Cost per km by vehicle type"),
            N_(
                "Σ maintenance cost ÷ Σ km driven in the period (odometer readings interpolated "
                "day by day; out-of-sequence readings left out), by the vehicle's current type."
            ),
        )
        rows = data.cost_per_km
        if isinstance(rows, Unavailable) or not rows:
            return self._nothing(s, rows, N_("No maintenance in this period."))
        money, km = self.fmt.money, self.fmt.km
        ordered = sorted(rows, key=lambda r: (r.custo_por_km is None, -(r.custo_por_km or 0)))
        names = [r.tipo_veiculo or self.t(N_("(no type)")) for r in ordered]
        s.table = Table(
            [
                self.t(c)
                for c in (N_("Vehicle type"), N_("Cost"), N_("Distance"), N_("Cost per km"))
            ],
            [False, True, True, True],
            [
                [n, money(r.custo), km(r.km), money(r.custo_por_km)]
                for n, r in zip(names, ordered, strict=True)
            ],
            kpi="custo_por_km_tipo",
            values=[
                [n, r.custo, r.km, r.custo_por_km] for n, r in zip(names, ordered, strict=True)
            ],
        )
        pairs = list(zip(names, ordered, strict=True))
        drawn = [(n, r.custo_por_km) for n, r in pairs if r.custo_por_km]
        if drawn:
            s.chart = charts.render(
                "custo_por_km",
                charts.horizontal_bars,
                [n for n, _ in drawn],
                [v for _, v in drawn],
                charts.COLORS["main"],
                money,
            )
        return s

    # ------------------------------------------------------------ preventive share

    def preventive(self, data: KpiData) -> Section:
        s = self.section(
            "preventiva",
            N_("Preventive share"),
            N_(
                "Preventive services ÷ all services; by cost, preventive cost ÷ all cost; by "
                "visits, shop visits without a corrective service ÷ all visits."
            ),
        )
        rows = data.preventive
        if isinstance(rows, Unavailable) or not rows:
            return self._nothing(s, rows, N_("No maintenance in this period."))
        f = preventive_figures(rows)
        pct = self.fmt.percent
        s.figures = [
            self.fig(N_("by services"), "preventiva_servicos", f.by_services, pct(f.by_services)),
            self.fig(N_("by cost"), "preventiva_custo", f.by_cost, pct(f.by_cost)),
            self.fig(N_("by visits"), "preventiva_visitas", f.by_visits, pct(f.by_visits)),
        ]
        by_month = {r.mes: r for r in rows}
        months = data.months or [r.mes for r in rows]

        def share(m: date, a: str, b: str) -> float | None:
            r = by_month.get(m)
            if r is None:
                return None
            num, other = getattr(r, a), getattr(r, b)
            return float(num) / float(num + other) if num + other else None

        series = {
            self.t(N_("by services")): [
                share(m, "qtd_preventiva", "qtd_corretiva") for m in months
            ],
            self.t(N_("by cost")): [
                share(m, "custo_preventiva", "custo_corretiva") for m in months
            ],
            self.t(N_("by visits")): [
                share(m, "visitas_preventivas", "visitas_corretivas") for m in months
            ],
        }
        colors = [charts.COLORS["preventiva"], charts.COLORS["main"], charts.COLORS["second"]]
        s.chart = charts.render(
            "preventiva", charts.lines, months, series, colors, self.fmt, percent=True
        )
        return s

    # ------------------------------------------------------------ availability, MTBF/MTTR

    def _availability_months(
        self, data: KpiData, rows: list[MonthAvailability]
    ) -> tuple[list[date], dict[date, MonthAvailability]]:
        return data.months or [r.mes for r in rows], {r.mes: r for r in rows}

    def availability(self, data: KpiData) -> Section:
        s = self.section(
            "disponibilidade",
            N_("Availability and downtime"),
            N_(
                "(days in the fleet − days in the shop) ÷ days in the fleet; downtime counted per "
                "shop visit (overlapping stays merged), open visits up to the reference date."
            ),
        )
        rows = data.availability
        if isinstance(rows, Unavailable) or not rows:
            return self._nothing(s, rows, N_("No vehicle data in this period."))
        f = availability_figures(rows)
        s.figures = [
            self.fig(
                N_("Availability"),
                "disponibilidade",
                f.availability,
                self.fmt.percent(f.availability),
            ),
            self.fig(
                N_("Days in the shop"), "dias_parado", f.dias_parado, self.fmt.number(f.dias_parado)
            ),
            self.fig(
                N_("Vehicle-days in the fleet"),
                "dias_na_frota",
                f.dias_na_frota,
                self.fmt.number(f.dias_na_frota),
            ),
        ]
        months, by = self._availability_months(data, rows)
        share = [
            (by[m].dias_operacao / by[m].dias_na_frota) if m in by and by[m].dias_na_frota else None
            for m in months
        ]
        down = [float(by[m].dias_parado) if m in by else 0.0 for m in months]
        labels = (self.t(N_("Availability")), self.t(N_("Days in the shop")))
        s.chart = charts.render(
            "disponibilidade", charts.availability, months, share, down, labels, self.fmt
        )
        return s

    def mtbf_mttr(self, data: KpiData) -> Section:
        s = self.section(
            "mtbf_mttr",
            N_("MTBF and MTTR"),
            N_(
                "MTBF = operating days ÷ failures (shop visits with a corrective service), the "
                "time since the last failure included; MTTR = days in the shop of the closed "
                "failure visits ÷ their number."
            ),
        )
        rows = data.availability
        if isinstance(rows, Unavailable) or not rows:
            return self._nothing(s, rows, N_("No vehicle data in this period."))
        f = availability_figures(rows)
        days = self.fmt.days
        s.figures = [
            self.fig(N_("MTBF (days)"), "mtbf_dias", f.mtbf_dias, days(f.mtbf_dias)),
            self.fig(N_("MTBF (km)"), "mtbf_km", f.mtbf_km, self.fmt.km(f.mtbf_km)),
            self.fig(N_("MTTR (days)"), "mttr_dias", f.mttr_dias, days(f.mttr_dias)),
            self.fig(N_("Failures"), "qtd_falhas", f.falhas, self.fmt.number(f.falhas)),
        ]
        months, by = self._availability_months(data, rows)

        def per(m: date, num: str, den: str) -> float | None:
            r = by.get(m)
            return getattr(r, num) / getattr(r, den) if r and getattr(r, den) else None

        mtbf = [per(m, "dias_operacao", "qtd_falhas") for m in months]
        mttr = [per(m, "dias_reparo", "qtd_reparos") for m in months]
        labels = (self.t(N_("MTBF (days)")), self.t(N_("MTTR (days)")))
        s.chart = charts.render("mtbf_mttr", charts.mtbf_mttr, months, mtbf, mttr, labels, self.fmt)
        return s

    # ------------------------------------------------------------ top vehicles, status

    def top_vehicles(self, data: KpiData) -> Section:
        s = self.section(
            "maiores_custos",
            N_("The 10 vehicles with the highest cost"),
            N_(
                "The vehicles with the highest maintenance cost in the period, with their type "
                "and status today; cost per km = their cost ÷ their km in the period."
            ),
        )
        rows = data.top_vehicles
        if isinstance(rows, Unavailable) or not rows:
            return self._nothing(s, rows, N_("No maintenance in this period."))
        f = self.fmt
        plates = [show_plate(r.placa) for r in rows]
        s.table = Table(
            [
                self.t(c)
                for c in (
                    N_("Plate"),
                    N_("Type"),
                    N_("Status"),
                    N_("Services"),
                    N_("Cost"),
                    N_("Distance"),
                    N_("Cost per km"),
                )
            ],
            [False, False, False, True, True, True, True],
            [
                [
                    p,
                    r.tipo_veiculo or "–",
                    r.status or "–",
                    f.number(r.qtd_manutencoes),
                    f.money(r.custo),
                    f.km(r.km),
                    f.money(r.custo_por_km),
                ]
                for p, r in zip(plates, rows, strict=True)
            ],
            kpi="maiores_custos",
            values=[
                [
                    r.placa,
                    r.tipo_veiculo,
                    r.status,
                    r.qtd_manutencoes,
                    r.custo,
                    r.km,
                    r.custo_por_km,
                ]
                for r in rows
            ],
        )
        s.chart = charts.render(
            "maiores_custos",
            charts.horizontal_bars,
            plates,
            [float(r.custo) for r in rows],
            charts.COLORS["corretiva"],
            lambda v: f.money(v, digits=0),
        )
        return s

    def status(self, data: KpiData) -> Section:
        s = self.section(
            "situacao",
            N_("Fleet status"),
            N_(
                "Vehicles whose state at the end of each local day is active, in maintenance or "
                "inactive (the categories of the status words, with the [categories] overrides)."
            ),
        )
        rows = data.status
        if isinstance(rows, Unavailable) or not rows:
            return self._nothing(s, rows, N_("No vehicle data in this period."))
        last = latest_status(rows)
        assert last is not None
        names = dict(
            zip(STATUS_CLASSES, (N_("Active"), N_("In maintenance"), N_("Inactive")), strict=True)
        )
        total = self.t(N_("{vehicles} (on {date})")).format(
            vehicles=self.fmt.number(status_total(last)), date=self.fmt.date(last.data)
        )
        s.figures = [
            self.fig(
                names[c], f"situacao_{c}", last.counts[c], f"{self.fmt.number(last.counts[c])}"
            )
            for c in STATUS_CLASSES
        ]
        s.figures.append(
            self.fig(
                N_("Vehicles"),
                "situacao_total",
                status_total(last),
                total,
            )
        )
        stacks = {self.t(names[c]): [d.counts[c] for d in rows] for c in STATUS_CLASSES}
        colors = [charts.COLORS[c] for c in STATUS_CLASSES]
        s.chart = charts.render(
            "situacao", charts.status_area, [d.data for d in rows], stacks, colors, self.fmt
        )
        return s


def show_plate(placa: str) -> str:
    """`ABC1234` (old format) is written `ABC-1234`; Mercosul plates as they are."""
    if len(placa) == 7 and placa[:3].isalpha() and placa[3:].isdigit():
        return f"{placa[:3]}-{placa[3:]}"
    return placa
