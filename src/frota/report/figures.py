"""The headline figure of each KPI over the report's period: sums of the monthly rows the
warehouse aggregated, then one ratio (never a mean of monthly ratios, docs/warehouse.md)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from frota.report.data import (
    STATUS_CLASSES,
    ZERO,
    DayStatus,
    MonthAvailability,
    MonthCost,
    MonthPreventive,
)


def ratio(numerator: float | Decimal, denominator: float | Decimal) -> float | None:
    return float(numerator) / float(denominator) if denominator else None


def trend_per_month(values: list[float]) -> float | None:
    """Least-squares slope of consecutive monthly values (change per month); None below 3."""
    n = len(values)
    if n < 3:
        return None
    mean_x, mean_y = (n - 1) / 2, sum(values) / n
    sxx = sum((x - mean_x) ** 2 for x in range(n))
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values))
    return sxy / sxx


@dataclass(frozen=True)
class CostFigures:
    total: Decimal
    preventiva: Decimal
    corretiva: Decimal
    outra: Decimal
    km: float
    trend: float | None  # R$ per month, from the monthly totals

    @property
    def custo_por_km(self) -> float | None:
        return ratio(self.total, self.km) if self.km > 0 else None


def cost_figures(months: list[MonthCost], complete: int | None = None) -> CostFigures:
    """Sums over `months`; the trend over the first `complete` of them (default all): a month
    still under way would pull it down."""
    complete = len(months) if complete is None else complete
    return CostFigures(
        total=sum((m.total for m in months), ZERO),
        preventiva=sum((m.preventiva for m in months), ZERO),
        corretiva=sum((m.corretiva for m in months), ZERO),
        outra=sum((m.outra for m in months), ZERO),
        km=sum(m.km for m in months),
        trend=trend_per_month([float(m.total) for m in months[:complete]]),
    )


@dataclass(frozen=True)
class PreventiveFigures:
    by_services: float | None
    by_cost: float | None
    by_visits: float | None


def preventive_figures(months: list[MonthPreventive]) -> PreventiveFigures:
    qp = sum(m.qtd_preventiva for m in months)
    qc = sum(m.qtd_corretiva for m in months)
    cp = sum((m.custo_preventiva for m in months), ZERO)
    cc = sum((m.custo_corretiva for m in months), ZERO)
    vp = sum(m.visitas_preventivas for m in months)
    vc = sum(m.visitas_corretivas for m in months)
    return PreventiveFigures(ratio(qp, qp + qc), ratio(cp, cp + cc), ratio(vp, vp + vc))


@dataclass(frozen=True)
class AvailabilityFigures:
    availability: float | None
    dias_parado: int
    dias_na_frota: int
    falhas: int
    mtbf_dias: float | None
    mtbf_km: float | None
    mttr_dias: float | None


def availability_figures(months: list[MonthAvailability]) -> AvailabilityFigures:
    na_frota = sum(m.dias_na_frota for m in months)
    operacao = sum(m.dias_operacao for m in months)
    falhas = sum(m.qtd_falhas for m in months)
    km = sum(m.km for m in months)
    return AvailabilityFigures(
        availability=ratio(operacao, na_frota),
        dias_parado=sum(m.dias_parado for m in months),
        dias_na_frota=na_frota,
        falhas=falhas,
        mtbf_dias=ratio(operacao, falhas),
        mtbf_km=ratio(km, falhas) if km > 0 else None,
        mttr_dias=ratio(sum(m.dias_reparo for m in months), sum(m.qtd_reparos for m in months)),
    )


def latest_status(days: list[DayStatus]) -> DayStatus | None:
    """The fleet on the last day of the period that has data."""
    return days[-1] if days else None


def status_total(day: DayStatus) -> int:
    return sum(day.counts.get(c, 0) for c in STATUS_CLASSES)
