"""Every figure of the report, read from the warehouse's marts (docs/warehouse.md, "The marts
the report reads"): all the SQL of the report is here, aggregated in the warehouse, so that a
renamed mart or column is a one-line change.

Each section reads its marts; a mart the warehouse does not have (an older frota built it, or
it was never built) makes that section `Unavailable` with the reason — shown on the page and
by the command — never a silent blank.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from frota.report.period import Period, month_start
from frota.report.warehouse import QueryError, WarehouseReader

A = "analytics"
# The marts each section reads (a missing one makes the section unavailable).
MARTS = {
    "costs": ("mart_custo_veiculo_mes",),
    "cost_per_km": ("mart_custo_veiculo_mes", "dim_veiculos"),
    "preventive": ("mart_participacao_preventiva",),
    "availability": ("mart_disponibilidade_frota_mes",),
    "top_vehicles": ("mart_custo_veiculo_mes", "dim_veiculos"),
    "status": ("mart_status_frota",),
}
TOP_N = 10
STATUS_CLASSES = ("ativo", "em_manutencao", "inativo")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Unavailable:
    """Why a section could not be read."""

    reason: str


@dataclass(frozen=True)
class MonthCost:
    mes: date
    preventiva: Decimal
    corretiva: Decimal
    total: Decimal
    km: float

    @property
    def outra(self) -> Decimal:
        """Cost of no category (0 while every maintenance is classified)."""
        return self.total - self.preventiva - self.corretiva


def per_km(custo: Decimal, km: float) -> float | None:
    """R$ per km; None without km driven (never a division by zero shown as 0)."""
    return float(custo) / km if km > 0 else None


@dataclass(frozen=True)
class TypeCostPerKm:
    tipo_veiculo: str
    custo: Decimal
    km: float

    @property
    def custo_por_km(self) -> float | None:
        return per_km(self.custo, self.km)


@dataclass(frozen=True)
class MonthPreventive:
    mes: date
    qtd_preventiva: int
    qtd_corretiva: int
    custo_preventiva: Decimal
    custo_corretiva: Decimal
    visitas_preventivas: int
    visitas_corretivas: int


@dataclass(frozen=True)
class MonthAvailability:
    mes: date
    dias_na_frota: int
    dias_parado: int
    dias_operacao: int
    qtd_falhas: int
    qtd_reparos: int
    dias_reparo: int
    km: float


@dataclass(frozen=True)
class VehicleCost:
    placa: str
    tipo_veiculo: str | None
    status: str | None
    status_classe: str | None
    qtd_manutencoes: int
    custo: Decimal
    km: float

    @property
    def custo_por_km(self) -> float | None:
        return per_km(self.custo, self.km)


@dataclass(frozen=True)
class DayStatus:
    data: date
    counts: dict[str, int]  # status_classe -> vehicles


@dataclass
class KpiData:
    """The fleet KPIs of one period; a section is a list, or Unavailable."""

    period: Period
    data_inicio: date | None  # the first day the warehouse has maintenance records for
    data_referencia: date | None  # "today" as the data know it (the newest batch)
    months: list[date] = field(default_factory=list)  # the period's months that have data
    # Why these months: "asked" (--period), else the default's anchor (PeriodBasis).
    basis: str = "asked"
    anchor: date | None = None  # the day the default period ends on
    costs: list[MonthCost] | Unavailable = field(default_factory=list)
    cost_per_km: list[TypeCostPerKm] | Unavailable = field(default_factory=list)
    preventive: list[MonthPreventive] | Unavailable = field(default_factory=list)
    availability: list[MonthAvailability] | Unavailable = field(default_factory=list)
    top_vehicles: list[VehicleCost] | Unavailable = field(default_factory=list)
    status: list[DayStatus] | Unavailable = field(default_factory=list)

    def unavailable(self) -> dict[str, str]:
        """Section -> why it could not be read."""
        return {
            name: value.reason
            for name in MARTS
            if isinstance(value := getattr(self, name), Unavailable)
        }


T = TypeVar("T")


def _section(
    wh: WarehouseReader, tables: set[str], name: str, read: Callable[[], list[T]]
) -> list[T] | Unavailable:
    missing = [m for m in MARTS[name] if f"{A}.{m}" not in tables]
    if missing:
        return Unavailable(
            f"the warehouse has no {', '.join(f'{A}.{m}' for m in missing)}: build it with "
            "`frota warehouse` from this version of frota"
        )
    try:
        return read()
    except QueryError as exc:
        return Unavailable(
            f"the warehouse could not answer ({exc}): rebuild it with "
            "`frota warehouse --full-refresh` from this version of frota"
        )


def read_period_bounds(wh: WarehouseReader, tables: set[str]) -> tuple[date | None, date | None]:
    """(data_inicio, data_referencia) of int_periodo; (None, None) before any maintenance."""
    if f"{A}.int_periodo" not in tables:
        return None, None
    rows = wh.rows(f"SELECT data_inicio, data_referencia FROM {A}.int_periodo")
    return (rows[0][0], rows[0][1]) if rows else (None, None)


def read_newest_maintenance(wh: WarehouseReader, tables: set[str]) -> date | None:
    """The newest day a maintenance happened on: a shop visit's entry or exit date (open
    visits count by their entry); None without any."""
    if f"{A}.fct_visitas_oficina" not in tables:
        return None
    try:
        rows = wh.rows(f"SELECT max(data_entrada), max(data_saida) FROM {A}.fct_visitas_oficina")
    except QueryError:
        return None
    days = [d for d in (rows[0] if rows else ()) if d is not None]
    return max(days, default=None)


def default_period(
    wh: WarehouseReader, tables: set[str], referencia: date | None
) -> tuple[Period, str, date]:
    """(period, basis, anchor): the twelve months up to the newest maintenance (basis
    "maintenance"), not to the newest batch — an export of 2024 published today reports 2024;
    without maintenances, up to the reference date ("reference"), else today ("today")."""
    newest = read_newest_maintenance(wh, tables)
    if newest is not None:
        anchor, basis = (min(newest, referencia) if referencia else newest), "maintenance"
    elif referencia is not None:
        anchor, basis = referencia, "reference"
    else:
        anchor, basis = date.today(), "today"
    return Period.ending(anchor), basis, anchor


def read_kpis(wh: WarehouseReader, period: Period | None) -> KpiData:
    """The KPI sections of `period` (default: `default_period`)."""
    tables = wh.tables()
    inicio, referencia = read_period_bounds(wh, tables)
    basis, anchor = "asked", None
    if period is None:
        period, basis, anchor = default_period(wh, tables, referencia)
    data = KpiData(period, inicio, referencia, basis=basis, anchor=anchor)
    if inicio is not None and referencia is not None:
        data.months = [
            m for m in period.months() if month_start(inicio) <= m <= month_start(referencia)
        ]
    args = (period.start, period.end)
    data.costs = _section(wh, tables, "costs", lambda: _costs(wh, args))
    data.cost_per_km = _section(wh, tables, "cost_per_km", lambda: _cost_per_km(wh, args))
    data.preventive = _section(wh, tables, "preventive", lambda: _preventive(wh, args))
    data.availability = _section(wh, tables, "availability", lambda: _availability(wh, args))
    data.top_vehicles = _section(wh, tables, "top_vehicles", lambda: _top_vehicles(wh, args))
    data.status = _section(wh, tables, "status", lambda: _status(wh, args))
    return data


Span = tuple[date, date]


def _num(value: Any) -> Decimal:
    return ZERO if value is None else Decimal(value)


def _costs(wh: WarehouseReader, span: Span) -> list[MonthCost]:
    rows = wh.rows(
        f"""SELECT mes, sum(custo_preventiva), sum(custo_corretiva), sum(custo_total),
                   sum(km_percorridos)
            FROM {A}.mart_custo_veiculo_mes WHERE mes BETWEEN ? AND ?
            GROUP BY mes ORDER BY mes""",
        span,
    )
    return [MonthCost(m, _num(p), _num(c), _num(t), float(k or 0)) for m, p, c, t, k in rows]


def _cost_per_km(wh: WarehouseReader, span: Span) -> list[TypeCostPerKm]:
    # The vehicle's current type (dim_veiculos.is_atual): the fleet as the manager knows it.
    rows = wh.rows(
        f"""SELECT coalesce(v.tipo_veiculo, ''), sum(m.custo_total), sum(m.km_percorridos)
            FROM {A}.mart_custo_veiculo_mes AS m
            LEFT JOIN {A}.dim_veiculos AS v ON v.placa = m.placa AND v.is_atual
            WHERE m.mes BETWEEN ? AND ?
            GROUP BY coalesce(v.tipo_veiculo, '') ORDER BY 1""",
        span,
    )
    return [TypeCostPerKm(t, _num(c), float(k or 0)) for t, c, k in rows]


def _preventive(wh: WarehouseReader, span: Span) -> list[MonthPreventive]:
    rows = wh.rows(
        f"""SELECT mes, qtd_preventiva, qtd_corretiva, custo_preventiva, custo_corretiva,
                   qtd_visitas_preventivas, qtd_visitas_corretivas
            FROM {A}.mart_participacao_preventiva WHERE mes BETWEEN ? AND ? ORDER BY mes""",
        span,
    )
    return [
        MonthPreventive(m, int(qp), int(qc), _num(cp), _num(cc), int(vp), int(vc))
        for m, qp, qc, cp, cc, vp, vc in rows
    ]


def _availability(wh: WarehouseReader, span: Span) -> list[MonthAvailability]:
    rows = wh.rows(
        f"""SELECT mes, dias_na_frota, dias_parado, dias_operacao, qtd_falhas, qtd_reparos,
                   dias_reparo, km_percorridos
            FROM {A}.mart_disponibilidade_frota_mes WHERE mes BETWEEN ? AND ? ORDER BY mes""",
        span,
    )
    return [
        MonthAvailability(m, int(a), int(b), int(c), int(d), int(e), int(f), float(k or 0))
        for m, a, b, c, d, e, f, k in rows
    ]


def _top_vehicles(wh: WarehouseReader, span: Span) -> list[VehicleCost]:
    rows = wh.rows(
        f"""SELECT m.placa, v.tipo_veiculo, v.status, v.status_classe,
                   sum(m.qtd_manutencoes), sum(m.custo_total), sum(m.km_percorridos)
            FROM {A}.mart_custo_veiculo_mes AS m
            LEFT JOIN {A}.dim_veiculos AS v ON v.placa = m.placa AND v.is_atual
            WHERE m.mes BETWEEN ? AND ?
            GROUP BY m.placa, v.tipo_veiculo, v.status, v.status_classe
            HAVING sum(m.custo_total) > 0
            ORDER BY sum(m.custo_total) DESC, m.placa LIMIT {TOP_N}""",
        span,
    )
    return [
        VehicleCost(p, t, s, c, int(n or 0), _num(custo), float(k or 0))
        for p, t, s, c, n, custo, k in rows
    ]


def _status(wh: WarehouseReader, span: Span) -> list[DayStatus]:
    rows = wh.rows(
        f"""SELECT data, status_classe, qtd_veiculos FROM {A}.mart_status_frota
            WHERE data BETWEEN ? AND ? ORDER BY data, status_classe""",
        span,
    )
    days: dict[date, dict[str, int]] = {}
    for day, classe, n in rows:
        days.setdefault(day, dict.fromkeys(STATUS_CLASSES, 0))[classe] = int(n)
    return [DayStatus(day, counts) for day, counts in days.items()]


# ---------------------------------------------------------------- what the warehouse received


@dataclass(frozen=True)
class ReplicatedBatch:
    batch_id: str
    source: str
    created_at: datetime
    loaded_at: datetime | None
    rows: int


def read_batches(wh: WarehouseReader, since: datetime) -> list[ReplicatedBatch] | Unavailable:
    """The batches the warehouse replicated that were loaded since `since` (naive UTC)."""
    if "raw.frota_replicated_batches" not in wh.tables():
        return Unavailable("the warehouse has no ledger yet: build it with `frota warehouse`")
    rows = wh.rows(
        """SELECT batch_id, source, created_at, loaded_at,
                  coalesce(veiculos_rows, 0) + coalesce(manutencoes_rows, 0)
           FROM raw.frota_replicated_batches WHERE loaded_at >= ? ORDER BY loaded_at""",
        (since,),
    )
    return [ReplicatedBatch(b, s, c, lo, int(n)) for b, s, c, lo, n in rows]


def read_last_build(wh: WarehouseReader) -> datetime | None:
    """When dbt last built the warehouse successfully (naive UTC)."""
    if "raw.frota_dbt_builds" not in wh.tables():
        return None
    rows = wh.rows("SELECT max(built_at) FROM raw.frota_dbt_builds")
    return rows[0][0] if rows else None
