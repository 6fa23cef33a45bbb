"""The real hand-off: generate → publish → load → build_warehouse, then every KPI mart against
the independent pandas computation over the operational tables (DuckDB; PostgreSQL is covered
by test_warehouse.py with the same oracle)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from test_warehouse import TABLES, read_tables
from test_warehouse_support import MODELS, compare
from warehouse_oracle import MART_KEYS, Oracle

from frota.config import Settings
from frota.db.engine import create_engine
from frota.db.migrate import upgrade_schema
from frota.generate import generate_batch
from frota.load import load_pending
from frota.publish import publish_outbox
from frota.warehouse import build_warehouse

WINDOWS = [(date(2024, 6, 30), 240), (date(2024, 7, 31), 31), (date(2024, 8, 31), 31)]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wh-pipeline")
    settings = Settings(
        landing=str(tmp / "landing"),
        database=f"sqlite:///{tmp / 'frota.db'}",
        warehouse=f"duckdb:///{tmp / 'warehouse.duckdb'}",
        outbox=str(tmp / "outbox"),
        source="test",
        log_dir=str(tmp / "logs"),
    )
    engine = create_engine(settings.database)
    upgrade_schema(engine)
    oracle, runs = Oracle(), []
    for i, (until, days) in enumerate(WINDOWS):
        generate_batch(Path(settings.outbox), seed=3, vehicles=60, until=until, days=days)
        now = datetime.combine(until, time(22, 0), tzinfo=UTC)
        (published,) = publish_outbox(settings, now=now)
        loaded = load_pending(settings)
        assert len(loaded.loaded) == 1
        oracle.record(engine, published.batch_id)
        last = i == len(WINDOWS) - 1
        runs.append(
            build_warehouse(
                settings,
                run_dbt=last,
                freshness=False,
                dbt_dir=tmp / "dbt",
            )
        )
    oracle.finish(engine)
    engine.dispose()
    return oracle, read_tables(settings.warehouse, TABLES), runs, settings


def test_pipeline_builds(pipeline) -> None:
    _, tables, runs, _ = pipeline
    assert [r.batches_replicated for r in runs] == [1, 1, 1]
    assert runs[-1].tests_failed == 0 and runs[-1].models_built == MODELS
    assert len(tables["fct_manutencoes"]) > 100


@pytest.mark.parametrize("mart", list(MART_KEYS))
def test_pipeline_kpis_match_independent_computation(pipeline, mart: str) -> None:
    oracle, tables, _, _ = pipeline
    compare(mart, tables[mart], getattr(oracle, mart)())


def test_every_step_is_in_the_run_history(pipeline) -> None:
    from frota.observe.runs import Query, read_runs

    *_, built, settings = pipeline
    history = read_runs(settings, Query()).runs
    assert sorted(r.step for r in history) == ["load"] * 3 + ["publish"] * 3 + ["warehouse"] * 3
    warehouse = sorted((r for r in history if r.step == "warehouse"), key=lambda r: r.started_at)
    assert [r.counts["batches_replicated"] for r in warehouse] == [1, 1, 1]
    assert [r.counts["rows_replicated"] for r in warehouse] == [
        sum(b.rows_replicated.values()) for b in built
    ]
    assert warehouse[-1].counts["models_built"] == MODELS
    assert {(r.role, r.status) for r in warehouse} == {("analytics", "ok")}


def test_the_warehouse_lag_is_read_from_the_built_warehouse(pipeline) -> None:
    from frota.observe.check import run_checks
    from frota.observe.metrics import exposition
    from frota.warehouse.replicate import replicated_batch_ids

    *_, settings = pipeline
    held = replicated_batch_ids(settings)
    assert held is not None and len(held) == len(WINDOWS)
    report = run_checks(settings, "analytics", warehouse=replicated_batch_ids)
    [lag] = [r for r in report.results if r.name == "warehouse_lag"]
    assert lag.status == "OK" and "holds every loaded batch" in lag.summary
    text = exposition(settings, "analytics", replicated_batch_ids)
    assert "frota_warehouse_lag_batches 0.0" in text


def test_the_report_is_in_the_run_history(pipeline, tmp_path) -> None:
    from frota.observe.runs import Query, read_runs
    from frota.report import build_report

    *_, settings = pipeline
    written = build_report(settings, tmp_path / "relatorio.html")
    [run] = read_runs(settings, Query(step="report")).runs
    assert (run.role, run.status) == ("analytics", "ok")
    assert run.counts["bytes"] == written.bytes == (tmp_path / "relatorio.html").stat().st_size
