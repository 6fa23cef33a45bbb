"""What the report tests share: a warehouse built by the real pipeline (generate → publish →
load → build_warehouse), the figures the page shows read back from its HTML, and the same
figures computed a second, simpler way — straight from the fact tables and other marts than
the report reads — with a hand-written pt-BR formatting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from statistics import linear_regression
from typing import Any

from batchkit import write_batch_dir

from frota.config import Settings
from frota.db.engine import create_engine
from frota.db.migrate import upgrade_schema
from frota.generate import generate_batch
from frota.landing import open_landing
from frota.load import load_pending
from frota.publish import publish_dir, publish_outbox
from frota.warehouse import build_warehouse

UNTIL = date(2025, 6, 20)  # the simulated fleet's last day: June 2025 is a month under way


# Maintenance rows the quarantine holds: two for a vehicle that never arrives, one without a
# plate, one dated in the future (canonical CSV lines, a batch of their own).
HELD_LINES = [
    "ZZZ0Z00,Revisão,2025-06-01,100.00,,preventiva,",
    "ZZZ0Z00,Freios,2025-06-02,200.00,,corretiva,",
    ",Pneus,2025-06-03,300.00,,corretiva,",
    "ZZZ0Z00,Lavagem,2099-01-01,50.00,,,",
]


def build_pipeline(
    tmp: Path, warehouse: str, *, vehicles: int = 30, days: int = 420, held: bool = False
) -> Settings:
    """A fleet of `vehicles` over `days`, loaded and built into `warehouse`; `held`: with a
    batch (published an hour before the fleet's) whose rows the quarantine holds."""
    settings = Settings(
        landing=str(tmp / "landing"),
        database=f"sqlite:///{tmp / 'frota.db'}",
        warehouse=warehouse,
        outbox=str(tmp / "outbox"),
        source="test",
        log_dir=str(tmp / "logs"),
    )
    engine = create_engine(settings.database)
    upgrade_schema(engine)
    engine.dispose()
    generate_batch(Path(settings.outbox), seed=11, vehicles=vehicles, until=UNTIL, days=days)
    publish_outbox(settings, now=datetime.combine(UNTIL, time(21, 0), tzinfo=UTC))
    if held:
        folder = write_batch_dir(tmp / "held", None, HELD_LINES)
        when = datetime.combine(UNTIL, time(20, 0), tzinfo=UTC)
        publish_dir(folder, open_landing(settings.landing), settings.source, now=when)
    assert len(load_pending(settings).loaded) == 1 + held
    build_warehouse(settings, freshness=False, dbt_dir=tmp / "dbt")
    return settings


# ---------------------------------------------------------------- what the page shows


MARKERS = ("data-empty", "data-unavailable", "data-unreachable", "data-chart", "data-table")


class _Figures(HTMLParser):
    """`data-kpi` elements: kpi -> (data-value, text shown); `data-*` markers."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[str, tuple[str, str]] = {}
        self.markers: dict[str, list[str]] = {}
        self._open: list[tuple[str, str, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        for key in MARKERS:
            if key in a:
                self.markers.setdefault(key, []).append(a[key])
        if "data-kpi" in a:
            self._open.append((a["data-kpi"], a.get("data-value", ""), []))

    def handle_data(self, data: str) -> None:
        for _, _, text in self._open:
            text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._open and tag in ("span", "strong"):
            kpi, value, text = self._open.pop()
            self.figures[kpi] = (value, "".join(text).strip())


def page_figures(html: str) -> tuple[dict[str, tuple[str, str]], dict[str, list[str]]]:
    parser = _Figures()
    parser.feed(html)
    return parser.figures, parser.markers


# ---------------------------------------------------------------- the second computation


def query(warehouse: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if warehouse.startswith("duckdb"):
        import duckdb

        con = duckdb.connect(warehouse.removeprefix("duckdb:///"), read_only=True)
        try:
            return con.execute(sql, list(params)).fetchall()
        finally:
            con.close()
    import psycopg

    url = warehouse.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as con:
        return con.execute(sql.replace("?", "%s"), params).fetchall()


@dataclass(frozen=True)
class Expected:
    custo_total: Decimal
    custo_preventiva: Decimal
    custo_corretiva: Decimal
    custo_por_km_frota: float
    preventiva_servicos: float
    preventiva_custo: float
    preventiva_visitas: float
    disponibilidade: float
    dias_parado: int
    mtbf_dias: float
    mttr_dias: float
    qtd_falhas: int
    top: list[tuple[str, Decimal, str | None, str | None]]  # placa, custo, tipo, status
    situacao: dict[str, int]
    referencia: date
    dias_na_frota: int
    mtbf_km: float
    tendencia_mensal: float  # R$ per month over the complete months
    por_tipo: dict[str, tuple[Decimal, float]]  # current type -> (cost, km)
    por_placa: dict[str, tuple[int, float]]  # plate -> (maintenances, km)


def expected(warehouse: str, first: date, last_day: date) -> Expected:
    """The report's figures for [first, last_day], from fct_manutencoes, fct_visitas_oficina,
    dim_veiculos and the per-vehicle marts (the page reads the monthly and fleet marts)."""
    a, span = "analytics", (first, last_day)
    (ref,) = query(warehouse, f"SELECT data_referencia FROM {a}.int_periodo")[0]
    costs = dict(
        query(
            warehouse,
            f"SELECT categoria, sum(custo) FROM {a}.fct_manutencoes "
            "WHERE data_manutencao BETWEEN ? AND ? GROUP BY categoria",
            span,
        )
    )
    counts = dict(
        query(
            warehouse,
            f"SELECT categoria, count(*) FROM {a}.fct_manutencoes "
            "WHERE data_manutencao BETWEEN ? AND ? GROUP BY categoria",
            span,
        )
    )
    visits = dict(
        query(
            warehouse,
            f"SELECT corretiva, count(*) FROM {a}.fct_visitas_oficina "
            "WHERE data_entrada BETWEEN ? AND ? GROUP BY corretiva",
            span,
        )
    )
    month_span = (first.replace(day=1), last_day)
    (na_frota, parado, operacao, falhas, reparos, dias_reparo, km) = (
        float(v)
        for v in query(
            warehouse,
            f"SELECT sum(dias_na_frota), sum(dias_parado), sum(dias_operacao), sum(qtd_falhas), "
            f"sum(qtd_reparos), sum(dias_reparo), sum(km_percorridos) "
            f"FROM {a}.mart_disponibilidade_veiculo_mes WHERE mes BETWEEN ? AND ?",
            month_span,
        )[0]
    )  # PostgreSQL sums bigints as numeric
    top = query(
        warehouse,
        f"""SELECT f.placa, sum(f.custo), v.tipo_veiculo, v.status
            FROM {a}.fct_manutencoes AS f
            LEFT JOIN {a}.dim_veiculos AS v ON v.placa = f.placa AND v.is_atual
            WHERE f.data_manutencao BETWEEN ? AND ?
            GROUP BY f.placa, v.tipo_veiculo, v.status ORDER BY 2 DESC, 1 LIMIT 10""",
        span,
    )
    by_type = query(
        warehouse,
        f"""SELECT coalesce(v.tipo_veiculo, ''), sum(f.custo)
            FROM {a}.fct_manutencoes AS f
            LEFT JOIN {a}.dim_veiculos AS v ON v.placa = f.placa AND v.is_atual
            WHERE f.data_manutencao BETWEEN ? AND ? GROUP BY 1""",
        span,
    )
    km_by_plate = {
        p: float(k or 0)
        for p, k in query(
            warehouse,
            f"SELECT placa, sum(km_percorridos) FROM {a}.mart_disponibilidade_veiculo_mes "
            "WHERE mes BETWEEN ? AND ? GROUP BY placa",
            month_span,
        )
    }
    types = dict(
        query(warehouse, f"SELECT placa, tipo_veiculo FROM {a}.dim_veiculos WHERE is_atual")
    )
    km_by_type: dict[str, float] = {}
    for plate, k in km_by_plate.items():
        km_by_type[types.get(plate) or ""] = km_by_type.get(types.get(plate) or "", 0.0) + k
    services = dict(
        query(
            warehouse,
            f"SELECT placa, count(*) FROM {a}.fct_manutencoes "
            "WHERE data_manutencao BETWEEN ? AND ? GROUP BY placa",
            span,
        )
    )
    daily = query(
        warehouse,
        f"SELECT data_manutencao, sum(custo) FROM {a}.fct_manutencoes "
        "WHERE data_manutencao BETWEEN ? AND ? GROUP BY data_manutencao",
        span,
    )
    day = min(ref, last_day)
    status = dict(
        query(
            warehouse,
            f"SELECT status_classe, count(*) FROM {a}.dim_veiculos "
            "WHERE dia_inicio <= ? AND ? < dia_fim GROUP BY status_classe",
            (day, day),
        )
    )
    total = sum(costs.values(), Decimal(0))
    prev, corr = costs.get("preventiva", Decimal(0)), costs.get("corretiva", Decimal(0))
    n_prev, n_corr = counts.get("preventiva", 0), counts.get("corretiva", 0)
    v_prev, v_corr = visits.get(False, 0), visits.get(True, 0)
    return Expected(
        custo_total=total,
        custo_preventiva=prev,
        custo_corretiva=corr,
        custo_por_km_frota=float(total) / km,
        preventiva_servicos=n_prev / (n_prev + n_corr),
        preventiva_custo=float(prev) / float(prev + corr),
        preventiva_visitas=v_prev / (v_prev + v_corr),
        disponibilidade=operacao / na_frota,
        dias_parado=int(parado),
        mtbf_dias=operacao / falhas,
        mttr_dias=dias_reparo / reparos,
        qtd_falhas=int(falhas),
        top=[(p, Decimal(c), t, s) for p, c, t, s in top],
        situacao={c: int(status.get(c, 0)) for c in ("ativo", "em_manutencao", "inativo")},
        referencia=ref,
        dias_na_frota=int(na_frota),
        mtbf_km=km / falhas,
        tendencia_mensal=monthly_slope(daily, first, ref),
        por_tipo={t: (Decimal(c), km_by_type.get(t, 0.0)) for t, c in by_type},
        por_placa={p: (int(n), km_by_plate.get(p, 0.0)) for p, n in services.items()},
    )


def monthly_slope(daily: list[tuple[date, Any]], first: date, ref: date) -> float:
    """The least-squares slope (statistics.linear_regression) of the monthly cost totals of the
    complete months from `first` on: those that end on or before the reference date."""
    months, month = [], first.replace(day=1)
    while last_day_of(month) <= ref:
        months.append(month)
        month = last_day_of(month) + timedelta(days=1)
    totals = dict.fromkeys(months, 0.0)
    for day, cost in daily:
        if day.replace(day=1) in totals:
            totals[day.replace(day=1)] += float(cost)
    return linear_regression(range(len(months)), [totals[m] for m in months]).slope


def brl(value: Decimal | float, digits: int = 2) -> str:
    """R$ 1.234,56 written by hand (not by Babel), with the no-break space after R$."""
    sign = "-" if value < 0 else ""
    text = f"{abs(value):,.{digits}f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return f"{sign}R$\xa0{text}"


def br_number(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}".replace(",", "_").replace(".", ",").replace("_", ".")


def br_percent(value: float) -> str:
    return br_number(value * 100, 1) + "%"


def br_date(day: date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


def last_day_of(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
