"""Replication from a MariaDB or PostgreSQL operational database, read as a SELECT-only user
(the analytics user of `frota db grants`): `raw` equals the source row for row (DECIMAL and DATE
come back as Decimal and date), a rerun copies nothing, and the KPI marts match the independent
pandas computation. generate → publish → load → warehouse; one dbt build per server.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, time
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa
from test_warehouse import TABLES, read_tables
from test_warehouse_support import at, compare
from warehouse_oracle import MART_KEYS, Oracle

from frota.config import Settings
from frota.contract import MANUTENCOES
from frota.db.engine import create_engine
from frota.db.grants import grants_sql
from frota.db.migrate import upgrade_schema
from frota.generate import generate_batch
from frota.load import load_pending
from frota.publish import publish_outbox
from frota.warehouse import build_warehouse, replicate_only
from frota.warehouse.raw import REPLICATION_SEQ, history_columns

WINDOWS = [(date(2026, 5, 31), 90), (date(2026, 6, 30), 30)]
TODAY = date(2026, 6, 30)


def analytics_statements(dialect: str, database: str, user: str, password: str) -> list[str]:
    """`frota db grants`' statements for the analytics user, for a throwaway user.

    Skipped: comments, and PostgreSQL's default privileges for tables frota_admin creates
    later (here the tables exist already; the `ON ALL TABLES` grant covers them).
    """
    out = []
    for line in grants_sql(dialect, database).splitlines():
        if "frota_analytics" not in line or line.startswith("--") or "FOR ROLE" in line:
            continue
        line = line.replace("frota_loader, ", "")  # a role this test does not create
        line = line.replace("frota_analytics", user).replace("<ANALYTICS_PASSWORD>", password)
        out.append(line.rstrip(";"))
    return out


@pytest.fixture(
    params=[
        pytest.param("mysql", marks=pytest.mark.mysql),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
def server(request: pytest.FixtureRequest):
    """(admin URL, read-only analytics URL) of a fresh operational database with the schema."""
    admin_url = request.getfixturevalue(f"{request.param}_url")
    admin = create_engine(admin_url)
    upgrade_schema(admin)
    user, password = f"frota_an_{secrets.token_hex(4)}", secrets.token_hex(12)
    url = sa.make_url(admin_url)
    statements = analytics_statements(admin.dialect.name, url.database, user, password)
    assert any("GRANT SELECT" in s for s in statements)
    with admin.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))
    readonly = url.set(username=user, password=password).render_as_string(hide_password=False)
    try:
        yield admin_url, readonly
    finally:
        with admin.begin() as conn:
            if admin.dialect.name == "mysql":
                conn.execute(sa.text(f"DROP USER IF EXISTS '{user}'@'%'"))
            else:  # a role's grants must go before the role (roles are server-wide)
                conn.exec_driver_sql(f'DROP OWNED BY "{user}"')
                conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{user}"')
        admin.dispose()


def _rows(conn, sql: str) -> list[tuple]:
    """All rows of a query, on a SQLAlchemy or a DuckDB connection."""
    run = conn.exec_driver_sql if isinstance(conn, sa.Connection) else conn.execute
    return [tuple(r) for r in run(sql).fetchall()]


def assert_raw_equals_source(admin: sa.Engine, warehouse: Path) -> None:
    """raw.manutencoes (each record's latest copy: an updated record also has the copy its
    batch first wrote) and raw.frota_veiculos_historico are the operational tables row for row,
    values and types alike."""
    m_cols = ", ".join(c.name for c in MANUTENCOES.columns)
    h_cols = ", ".join(history_columns()[:-1])
    with admin.connect() as conn:
        src_m = {r[0]: r for r in _rows(conn, f"select {m_cols} from manutencoes")}
        src_h = {r[0]: r for r in _rows(conn, f"select {h_cols} from frota_veiculos_historico")}
        batches = conn.exec_driver_sql("select count(*) from frota_batches").scalar()
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        raw_m = _rows(
            con,
            f"select {m_cols} from raw.manutencoes qualify row_number() over (partition by id "
            f"order by {REPLICATION_SEQ} desc, _mudanca_id desc) = 1",
        )
        copies = con.execute("select count(*) from raw.manutencoes").fetchone()[0]
        changes = con.execute(
            "select count(*) from raw.manutencoes where _mudanca is not null"
        ).fetchone()[0]
        raw_h = _rows(con, f"select {h_cols} from raw.frota_veiculos_historico")
        ledger = con.execute("select count(*) from raw.frota_replicated_batches").fetchone()[0]
    finally:
        con.close()
    assert len(raw_m) == len(src_m) > 100
    assert copies == len(src_m) + changes  # one copy per record, one per change to it
    assert {r[0]: r for r in raw_m} == src_m
    assert len(raw_h) == len(src_h) > 25
    assert {r[0]: r for r in raw_h} == src_h
    assert ledger == batches == len(WINDOWS)


def test_replicates_from_server_as_read_only_user(server, tmp_path: Path) -> None:
    admin_url, readonly_url = server
    settings = Settings(
        landing=str(tmp_path / "landing"),
        database=admin_url,
        outbox=str(tmp_path / "outbox"),
        source="test",
    )
    warehouse = tmp_path / "warehouse.duckdb"
    warehouse_url = f"duckdb:///{warehouse}"
    admin = create_engine(admin_url)
    oracle, copied = Oracle(), 0
    for i, (until, days) in enumerate(WINDOWS):
        generate_batch(Path(settings.outbox), seed=5, vehicles=25, until=until, days=days)
        now = datetime.combine(until, time(22, 0), tzinfo=UTC)
        (published,) = publish_outbox(settings, now=now)
        assert len(load_pending(settings, today=TODAY).loaded) == 1
        oracle.record(admin, published.batch_id)
        if i < len(WINDOWS) - 1:  # replicated batch by batch, as a daily warehouse run would
            copied += replicate_only(at(readonly_url, warehouse_url)).rows["manutencoes"]
    result = build_warehouse(
        at(readonly_url, warehouse_url), freshness=False, dbt_dir=tmp_path / "dbt"
    )
    assert result.batches_replicated == 1 and result.tests_failed == 0
    assert copied + result.rows_replicated["manutencoes"] > 100

    assert_raw_equals_source(admin, warehouse)
    again = build_warehouse(at(readonly_url, warehouse_url), run_dbt=False)
    assert again.batches_replicated == 0
    assert again.rows_replicated == {"veiculos": 0, "manutencoes": 0}

    oracle.finish(admin)
    tables = read_tables(warehouse_url, TABLES)
    for mart in MART_KEYS:
        compare(mart, tables[mart], getattr(oracle, mart)())

    # The URL replication used is read-only: the server refuses its writes.
    reader = create_engine(readonly_url)
    try:
        with pytest.raises(sa.exc.DBAPIError, match=r"(?i)denied"), reader.begin() as conn:
            conn.exec_driver_sql("INSERT INTO veiculos (placa) VALUES ('ZZZ9Z99')")
    finally:
        reader.dispose()
        admin.dispose()
