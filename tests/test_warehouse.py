"""frota warehouse end to end: replicate batch by batch, dbt build, compare every KPI mart with
an independent pandas computation over the operational tables, on DuckDB and PostgreSQL.

dbt is slow to start, so each backend builds once after three batches (full build), once more
after a fourth (incremental build), and once after a fifth in the original format (no
categoria) with the user's `[categories]` overrides changed (a full refresh); the tests read
what those three builds left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from click.testing import CliRunner
from report_support import query
from test_warehouse_support import MODELS, Fleet, at, compare, load_batch
from warehouse_oracle import MART_KEYS, Oracle, text

from frota.cli import cli
from frota.contract.categories import Categories
from frota.db import schema
from frota.db.engine import create_engine
from frota.db.migrate import upgrade_schema
from frota.warehouse import PROJECT_DIR, WarehouseResult, build_warehouse

BATCHES = [(30, 0, 220), (6, 14, 160), (3, 12, 140)]
INCREMENTAL = (2, 5, 25)
# The last batch: the original format, a year later (months no other batch touches).
ORIGINAL = (2, 6, 60)
# Overrides the last build gets: words the built-in rules leave at their fallback.
OVERRIDES = (
    ("status", "Parado", "inativo"),
    ("tipo_veiculo", "Bitruck", "cavalo_mecanico"),
    ("tipo_manutencao", "Higienização", "preventiva"),
    ("tipo_manutencao", "Freios", "preventiva"),
)
TABLES = ["dim_veiculos", "fct_manutencoes", "dim_datas", *MART_KEYS]
UNIT_TESTS = sum(
    len((yaml.safe_load(f.read_text(encoding="utf-8")) or {}).get("unit_tests", []))
    for f in (PROJECT_DIR / "models").rglob("*.yml")
)
assert "fct_visitas_oficina" in TABLES


def read_tables(warehouse_url: str, tables: list[str], schema: str = "analytics") -> dict:
    """Whole tables of the warehouse as DataFrames."""
    if warehouse_url.startswith("duckdb"):
        import duckdb

        con = duckdb.connect(warehouse_url.removeprefix("duckdb:///"), read_only=True)
        try:
            return {t: con.execute(f"select * from {schema}.{t}").df() for t in tables}
        finally:
            con.close()
    eng = sa.create_engine(warehouse_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with eng.connect() as conn:
            return {t: pd.read_sql(sa.text(f"select * from {schema}.{t}"), conn) for t in tables}
    finally:
        eng.dispose()


def views(warehouse_url: str) -> int:
    """How many views the analytics schema holds."""
    sql = (
        "select count(*) from information_schema.tables "
        "where table_schema = 'analytics' and table_type = 'VIEW'"
    )
    if warehouse_url.startswith("duckdb"):
        import duckdb

        con = duckdb.connect(warehouse_url.removeprefix("duckdb:///"), read_only=True)
        try:
            return con.execute(sql).fetchone()[0]
        finally:
            con.close()
    eng = sa.create_engine(warehouse_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with eng.connect() as conn:
            return conn.exec_driver_sql(sql).scalar_one()
    finally:
        eng.dispose()


@dataclass
class Built:
    """What one backend's session build left behind."""

    backend: str
    database_url: str
    warehouse_url: str
    runs: list[WarehouseResult] = field(default_factory=list)
    stages: dict[str, tuple[Oracle, dict]] = field(default_factory=dict)
    rewritten: int = 0
    maintenances: list[int] = field(default_factory=list)  # rows of each batch
    categories: pd.DataFrame | None = None  # raw.frota_categorias after the last build
    dbt_dir: Path = Path()


def rewrite_maintenances(engine: sa.Engine, batch_id: str) -> int:
    """Move some maintenances to another vehicle under `batch_id`, as a batch rewriting them
    would: each is the only one of its (vehicle, month) group or its vehicle's only corrective
    one, so the incremental marts must drop the emptied groups. Returns how many moved."""
    m = schema.manutencoes
    with engine.begin() as conn:
        df = pd.read_sql(
            sa.select(
                m.c.id, m.c.placa_veiculo, m.c.data_manutencao, m.c.categoria, m.c.tipo_manutencao
            ),
            conn,
        )
        df["mes"] = pd.to_datetime(df["data_manutencao"]).dt.to_period("M")
        # The category the warehouse gives it (a missing one comes from tipo_manutencao).
        df["categoria"] = [
            text(c) or Categories().maintenance(text(t))
            for c, t in zip(df.categoria, df.tipo_manutencao, strict=True)
        ]
        alone = df.groupby(["placa_veiculo", "mes"])["id"].transform("size") == 1
        corr = df[df.categoria == "corretiva"]
        one_corr = corr[corr.groupby("placa_veiculo")["id"].transform("size") == 1]
        ids = sorted({*df[alone].id.head(2), *one_corr.id.head(2)})
        target = df.placa_veiculo.iloc[0]
        moved = 0
        for id_ in ids:
            moved += conn.execute(
                m.update()
                .where(m.c.id == id_, m.c.placa_veiculo != target, m.c.lote_id != batch_id)
                .values(placa_veiculo=target, lote_id=batch_id)
            ).rowcount
        # A writer that re-lineages rows counts them in its ledger entry: below the highest id
        # replicated, that count is how replication knows to read the batch whole.
        b = schema.batches
        conn.execute(
            b.update()
            .where(b.c.batch_id == batch_id)
            .values(manutencoes_inserted=b.c.manutencoes_inserted + moved)
        )
    return moved


@pytest.fixture(
    scope="session", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def built(request, tmp_path_factory) -> Built:
    tmp: Path = tmp_path_factory.mktemp(f"wh-{request.param}")
    if request.param == "duckdb":
        warehouse_url = f"duckdb:///{tmp / 'warehouse.duckdb'}"
    else:
        warehouse_url = request.getfixturevalue("pg_database")
    database_url = f"sqlite:///{tmp / 'frota.db'}"
    engine = create_engine(database_url)
    upgrade_schema(engine)
    # Batches from 22:00 UTC on, an hour later each time: from the third on, they are late in
    # the evening in São Paulo, on the day before the UTC date.
    fleet = Fleet(seed=11, created=datetime(2024, 1, 10, 21, 0), visits=True)
    oracle = Oracle()
    b = Built(request.param, database_url, warehouse_url, dbt_dir=tmp / "dbt")
    stages = {len(BATCHES) - 1: "full", len(BATCHES): "incremental", len(BATCHES) + 1: "overrides"}
    for i, sizes in enumerate([*BATCHES, INCREMENTAL, ORIGINAL]):
        stage = stages.get(i)
        if stage == "overrides":
            fleet.created += timedelta(days=365)
            oracle.categories = Categories(OVERRIDES)
        # the original-format batch comes from another PC, whose exports have no
        # completion dates: its maintenances are same-day stays of unknown downtime
        source = "planilha" if stage == "overrides" else "test"
        batch = fleet.next_batch(*sizes, original=stage == "overrides", source=source)
        load_batch(engine, batch)
        b.maintenances.append(len(batch["manutencoes"]))
        if stage == "incremental":
            b.rewritten = rewrite_maintenances(engine, batch["batch_id"])
        oracle.record(engine, batch["batch_id"])
        b.runs.append(
            build_warehouse(
                at(database_url, warehouse_url, OVERRIDES if stage == "overrides" else ()),
                run_dbt=stage is not None,
                freshness=stage == "incremental",
                dbt_dir=tmp / "dbt",
            )
        )
        if stage:
            oracle.finish(engine)
            b.stages[stage] = (oracle.copy(), read_tables(warehouse_url, TABLES))
    b.categories = read_tables(warehouse_url, ["frota_categorias"], "raw")["frota_categorias"]
    engine.dispose()
    return b


STAGES = ["full", "incremental", "overrides"]


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("mart", list(MART_KEYS))
def test_kpi_mart_matches_independent_computation(built: Built, stage: str, mart: str) -> None:
    oracle, tables = built.stages[stage]
    compare(mart, tables[mart], getattr(oracle, mart)())


def test_a_vehicle_s_distance_is_whole_km(built: Built) -> None:
    """What a reader sees in mart_custo_por_km: the km between the first and the last reading
    (not 1999.9999999999993), and the cost per km of exactly that distance."""
    _oracle, tables = built.stages["full"]
    km = tables["mart_custo_por_km"]
    driven = km[km.km_final.notna()]
    assert len(driven) > 10 and (driven.km_percorridos > 0).any()
    assert list(driven.km_percorridos) == list((driven.km_final - driven.km_inicial).astype(float))
    with_km = driven[driven.km_percorridos > 0]
    cost = with_km.custo_total.astype(float) / with_km.km_percorridos
    assert list(with_km.custo_por_km) == list(cost)


def test_km_are_exact_to_the_metre(built: Built) -> None:
    """The monthly marts' km are decimals to the metre, not float shares (which summed to
    999.9999999999994 for 1000 km): read as a SQL user reads them, each month equals the oracle's
    odometer at the month's end minus at its start exactly, a vehicle's months add up to whole
    km, the fleet's month is exactly the sum of its vehicles', and so is a vehicle's period."""
    url, a = built.warehouse_url, "analytics"
    oracle, _ = built.stages["overrides"]  # the warehouse as the last build left it
    want = {k: c["km_exato"] for k, c in oracle.odometer_months().items() if c["km_exato"] > 0}
    months = query(
        url,
        f"SELECT placa, mes, km_percorridos FROM {a}.mart_custo_veiculo_mes "
        "WHERE km_percorridos > 0",
    )
    assert {(p, m): km for p, m, km in months} == want
    assert any(km != int(km) for _, _, km in months)  # a month's share of a stretch
    summed: dict[str, Decimal] = {}
    for placa, _, km in months:
        summed[placa] = summed.get(placa, Decimal(0)) + km
    assert len(summed) > 10 and all(km == int(km) for km in summed.values())
    by_vehicle = f"{a}.mart_disponibilidade_veiculo_mes"
    fleet = query(url, f"SELECT mes, km_percorridos FROM {a}.mart_disponibilidade_frota_mes")
    vehicles = query(url, f"SELECT mes, sum(km_percorridos) FROM {by_vehicle} GROUP BY mes")
    assert dict(fleet) == dict(vehicles) and any(km for _, km in fleet)
    totals = query(url, f"SELECT placa, km_percorridos FROM {a}.mart_mtbf_mttr")
    per_month = query(url, f"SELECT placa, sum(km_percorridos) FROM {by_vehicle} GROUP BY placa")
    assert dict(totals) == dict(per_month)


@pytest.mark.parametrize("stage", STAGES)
def test_dim_veiculos_history_matches(built: Built, stage: str) -> None:
    """Versions, their local validity (the first from the acquisition date) and classes."""
    oracle, tables = built.stages[stage]
    cols = ["placa", "versao", "status", "tipo_veiculo", "status_classe", "tipo_veiculo_classe"]
    cols += ["is_atual", "valido_de", "valido_ate"]
    actual = tables["dim_veiculos"][cols].sort_values(["placa", "versao"]).reset_index(drop=True)
    expected = oracle.dim()[cols].sort_values(["placa", "versao"]).reset_index(drop=True)
    for df in (actual, expected):
        for col in ("valido_de", "valido_ate"):
            df[col] = df[col].astype(str).str.slice(0, 19)
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False)
    assert (expected.versao > 1).sum() > 5, "the fixture should change some vehicles"


@pytest.mark.parametrize("stage", STAGES)
def test_fct_manutencoes_one_row_per_maintenance(built: Built, stage: str) -> None:
    oracle, tables = built.stages[stage]
    fct = tables["fct_manutencoes"].set_index("manutencao_id").sort_index()
    services = pd.DataFrame(oracle.services()).set_index("id").sort_index()
    assert list(fct.index) == list(services.index)
    assert list(fct.tipo_veiculo_no_servico) == list(services.tipo_veiculo)
    assert list(fct.versao_presumida) == list(services.versao_presumida)
    assert list(fct.conclusao_registrada) == list(services.registra_conclusao)


def test_the_data_exercise_every_rule(built: Built) -> None:
    """The fixture's data hold what each KPI must get right: visits of several services,
    open visits, maintenances without completion dates (another source), batches late in
    the local evening (the next day in UTC)."""
    oracle, tables = built.stages["overrides"]
    visits = oracle.visits()
    assert sum(len(v.servicos) > 1 for v in visits) >= 10
    assert sum(v.saida is None for v in visits) >= 5
    assert sum(all(not s["registra_conclusao"] for s in v.servicos) for v in visits) >= 10
    rows = sum(
        (s["data_conclusao"] - s["data_manutencao"]).days
        for v in visits
        for s in v.servicos
        if s["data_conclusao"]
    )
    merged = sum(oracle.visit_days(v) for v in visits if v.saida is not None)
    assert merged < rows, "counting per row would overstate downtime"
    local_days = {oracle.local(b["at"]).date() for b in oracle.batches.values()}
    assert local_days != {b["at"].date() for b in oracle.batches.values()}


def test_fleet_status_covers_every_local_day(built: Built) -> None:
    oracle, tables = built.stages["overrides"]
    status = tables["mart_status_frota"]
    start, reference = oracle.period()
    days = pd.to_datetime(status.data).dt.date
    assert days.min() == start and days.max() == reference
    assert len(status) == 3 * ((reference - start).days + 1)
    last = max(oracle.batches.values(), key=lambda b: b["at"])["at"]
    assert reference == oracle.local(last).date() != last.date()  # 02:00 UTC: the day before


def test_dim_datas_brazilian_calendar(built: Built) -> None:
    dias = built.stages["full"][1]["dim_datas"]
    dias["data"] = pd.to_datetime(dias["data"])
    day = dias.set_index("data").sort_index()
    assert day.loc["2024-03-29", "nome_feriado"] == "Sexta-feira Santa"  # Easter 2024-03-31
    assert day.loc["2024-03-29", "feriado_nacional"]
    assert not day.loc["2024-03-29", "dia_util"]
    assert day.loc["2024-02-13", "tipo_feriado"] == "ponto facultativo"  # Carnaval
    assert day.loc["2024-05-30", "nome_feriado"] == "Corpus Christi"
    assert day.loc["2025-04-18", "nome_feriado"] == "Sexta-feira Santa"  # Easter 2025-04-20
    assert day.loc["2024-11-20", "feriado_nacional"]
    assert not bool(day.loc["2023-11-20", "feriado_nacional"])
    assert day.loc["2024-03-01", "nome_mes"] == "março"
    assert day.loc["2024-03-02", "nome_dia_semana"] == "sábado"
    assert day.index.is_unique and day.index.to_series().diff().dropna().dt.days.eq(1).all()


def test_replication_counts_and_summary(built: Built) -> None:
    sizes = [*BATCHES, INCREMENTAL, ORIGINAL]
    assert [r.batches_replicated for r in built.runs] == [1] * len(sizes)
    copied = list(built.maintenances)
    copied[len(BATCHES)] += built.rewritten  # the rewritten maintenances come again with it
    assert built.rewritten >= 2
    assert [r.rows_replicated["manutencoes"] for r in built.runs] == copied
    full, incremental, overrides = built.runs[len(BATCHES) - 1 :]
    for run in (full, incremental, overrides):
        assert run.dbt_ran and run.tests_failed == 0
    assert full.models_built == overrides.models_built == MODELS == 23
    # An incremental build leaves the views as built; every data test still runs (only the
    # unit tests, which test the project, are left out).
    assert incremental.models_built == MODELS - views(built.warehouse_url) == 15
    assert incremental.tests_passed == full.tests_passed - UNIT_TESTS >= 25
    # The first build, and a changed category, rebuild every model; the others are incremental.
    assert (full.full_refresh, incremental.full_refresh, overrides.full_refresh) == (
        True,
        False,
        True,
    )


def test_a_run_with_nothing_new_leaves_dbt_alone(built: Built) -> None:
    """Nothing replicated since the last build, same project, same words: no dbt build."""
    settings = at(built.database_url, built.warehouse_url, OVERRIDES)
    again = build_warehouse(settings, freshness=False, dbt_dir=built.dbt_dir)
    assert again.up_to_date and not again.dbt_ran and again.batches_replicated == 0
    after = read_tables(built.warehouse_url, list(MART_KEYS))
    for name, table in built.stages["overrides"][1].items():
        if name in MART_KEYS:
            keys = MART_KEYS[name]
            pd.testing.assert_frame_equal(
                after[name].sort_values(keys).reset_index(drop=True),
                table.sort_values(keys).reset_index(drop=True),
            )


def test_select_and_full_refresh_from_the_command_line(built: Built) -> None:
    """`frota warehouse --full-refresh --select NODE` rebuilds just that node; a selected
    build is not recorded, so the next whole run still finds the models up to date."""
    args = ["--database", built.database_url, "--warehouse", built.warehouse_url, "warehouse"]
    env = {"FROTA_CACHE_DIR": str(built.dbt_dir.parent / "cache")}
    result = CliRunner().invoke(
        cli, [*args, "--full-refresh", "--select", "dim_datas"], env=env, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "dbt: 1 models built" in result.output and "full refresh" in result.output
    bad = CliRunner().invoke(cli, [*args, "--no-dbt", "--select", "dim_datas"])
    assert bad.exit_code == 2 and "--no-dbt" in bad.output


def test_rerun_replicates_nothing(built: Built) -> None:
    again = build_warehouse(at(built.database_url, built.warehouse_url), run_dbt=False)
    assert again.batches_replicated == 0
    assert again.rows_replicated == {"veiculos": 0, "manutencoes": 0}
    raw = read_tables(built.warehouse_url, ["manutencoes", "frota_replicated_batches"], "raw")
    assert len(raw["frota_replicated_batches"]) == len(BATCHES) + 2
    assert raw["manutencoes"]["id"].duplicated().sum() == built.rewritten


def test_categories_come_from_python_with_the_overrides(built: Built) -> None:
    """Every word of the raw layer, classified by frota.contract.categories with the overrides
    of the last build, is what dbt joined; the built-in words classify what dbt's old rules
    got wrong ("Roubado" is inactive, "Aguardando peça" in the shop)."""
    cats = Categories(OVERRIDES)
    rows = built.categories
    expected = [cats.category(c, w) for c, w in zip(rows.coluna, rows.palavra, strict=True)]
    assert list(rows.categoria) == expected
    assert list(rows.categoria_construida) == expected  # the last build succeeded
    assert {"Roubado", "Aguardando peça", "Parado"} <= set(rows.palavra)
    dim = built.stages["overrides"][1]["dim_veiculos"]
    classes = dict(zip(dim.status, dim.status_classe, strict=True))
    assert (classes["Roubado"], classes["Aguardando peça"], classes["Parado"]) == (
        "inativo",
        "em_manutencao",
        "inativo",
    )


@pytest.mark.parametrize("mart", ["mart_participacao_preventiva", "mart_status_frota"])
def test_an_override_changes_the_mart(built: Built, mart: str) -> None:
    oracle, tables = built.stages["overrides"]
    without = oracle.copy(categories=Categories())  # built-in categories only
    assert not getattr(without, mart)().equals(getattr(oracle, mart)())
    compare(mart, tables[mart], getattr(oracle, mart)())


def test_original_format_data_gets_preventive_shares(built: Built) -> None:
    oracle, tables = built.stages["overrides"]
    m = oracle.manutencoes
    original = m[m.lote_id == m.lote_id.max()]
    months = {pd.Timestamp(day.replace(day=1)) for day in original.data_manutencao}
    share = tables["mart_participacao_preventiva"]
    share = share[pd.to_datetime(share.mes).isin(months)]
    assert len(share) == len(months) >= 2
    assert share.participacao_preventiva_qtd.notna().all()
    assert share.participacao_preventiva_custo.notna().all()
    assert (share.qtd_categoria_inferida == share.qtd_preventiva + share.qtd_corretiva).all()
