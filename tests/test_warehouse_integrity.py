"""A failed `integridade` dbt test says which model broke which check — not only dbt's hashed
test name and "Got 2 results": a warehouse built by the real pipeline, a raw row made to break
two checks, `frota warehouse --full-refresh` in English and in Portuguese, DuckDB and
PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from report_support import build_pipeline

from frota.cli import main

HISTORY = "raw.frota_veiculos_historico"


def break_a_vehicle_state(warehouse: str) -> None:
    """One state copied (its key twice), and both copies given an unknown `aplicacao`."""
    sql = [
        f"INSERT INTO {HISTORY} SELECT * FROM {HISTORY} WHERE id = (SELECT min(id) FROM {HISTORY})",
        f"UPDATE {HISTORY} SET aplicacao = 'bogus' WHERE id = (SELECT min(id) FROM {HISTORY})",
    ]
    if warehouse.startswith("duckdb"):
        import duckdb

        con = duckdb.connect(warehouse.removeprefix("duckdb:///"))
        for statement in sql:
            con.execute(statement)
        con.close()
        return
    engine = sa.create_engine(warehouse.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        for statement in sql:
            conn.execute(sa.text(statement))
    engine.dispose()


def test_a_failed_integrity_test_names_the_model_and_the_checks(
    fresh_warehouse: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = build_pipeline(tmp_path, fresh_warehouse, vehicles=3, days=20)
    break_a_vehicle_state(fresh_warehouse)
    monkeypatch.setenv("FROTA_CACHE_DIR", str(tmp_path / "cache"))
    said = {}
    for lang in ("en", "pt-BR"):
        with pytest.raises(SystemExit) as exit_:
            main(
                [
                    *("--lang", lang, "--warehouse", settings.warehouse),
                    *("--database", settings.database, "--landing", settings.landing),
                    *("warehouse", "--full-refresh"),
                ]
            )
        printed = capsys.readouterr()
        assert exit_.value.code == 8
        said[lang] = " ".join((printed.out + printed.err).split())
    assert (
        "model stg_frota__veiculos: aplicacao has a value not accepted in 2 rows, "
        "duplicate key (historico_id) in 1 row" in said["en"]
    )
    assert (
        "modelo stg_frota__veiculos: aplicacao tem um valor não aceito em 2 linhas, "
        "chave duplicada (historico_id) em 1 linha" in said["pt-BR"]
    )
