"""Fault 6: nothing inside a batch transaction commits implicitly (MySQL DDL, TRUNCATE, LOCK
TABLES…). Proof on the real engines: at every checkpoint inside the transaction another
connection still sees none of the batch, the load connection is still in its transaction,
and the statement log holds no statement that would commit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from faultkit import make_batches

from frota import faults
from frota.config import Settings
from frota.db.engine import create_engine
from frota.load import load_pending

# Statements that commit implicitly in MySQL/MariaDB (temporary tables excepted).
IMPLICIT = re.compile(
    r"^\s*(ALTER|CREATE|DROP|RENAME|TRUNCATE|LOCK\s+TABLES|UNLOCK\s+TABLES|GRANT|REVOKE|"
    r"ANALYZE|OPTIMIZE|REPAIR|START\s+TRANSACTION|BEGIN|SET\s+AUTOCOMMIT\s*=\s*1)\b",
    re.I,
)
# (SQLite and PostgreSQL have no DROP TEMPORARY: a drop in their temporary schema is one.)
TEMPORARY = re.compile(
    r"^\s*((CREATE|DROP)\s+TEMPORARY\s+TABLE|DROP\s+TABLE\s+(IF\s+EXISTS\s+)?(temp|pg_temp)\.)",
    re.I,
)
BEGIN = re.compile(r"^\s*BEGIN", re.I)  # SQLite's BEGIN IMMEDIATE opens the transaction


def _in_transaction(conn: sa.Connection) -> bool:
    dialect = conn.dialect.name
    if dialect == "mysql":
        return conn.exec_driver_sql("SELECT @@in_transaction").scalar() == 1
    if dialect == "postgresql":
        sql = "SELECT pg_current_xact_id_if_assigned() IS NOT NULL"
        return bool(conn.exec_driver_sql(sql).scalar())
    return bool(conn.connection.dbapi_connection.in_transaction)


def test_no_statement_in_the_batch_transaction_commits(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing, ids = make_batches(tmp_path, vehicles=10, days=60)
    engine = create_engine(db_url)
    from frota.db.migrate import upgrade_schema

    upgrade_schema(engine)
    # A plain engine: frota's SQLite engine would queue its reads behind the load.
    observer = sa.create_engine(db_url)
    seen: list[tuple[str, int, int, bool]] = []
    statements: list[str] = []

    def checkpoint(phase: str, conn=None) -> None:
        if phase == "before_tx":
            statements.clear()
            return
        with observer.connect() as other:
            committed = other.execute(sa.text("SELECT COUNT(*) FROM frota_batches")).scalar()
            rows = other.execute(sa.text("SELECT COUNT(*) FROM veiculos")).scalar()
        seen.append((phase, committed, rows, _in_transaction(conn)))
        if phase == "before_commit":
            body = statements[1:] if statements and BEGIN.match(statements[0]) else statements
            bad = [s for s in body if IMPLICIT.match(s) and not TEMPORARY.match(s)]
            assert bad == [], bad
            # Nothing of this batch is visible to anyone else until COMMIT.
            assert committed == len([p for p in seen if p[0] == "before_commit"]) - 1

    def log_statement(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", log_statement)
    monkeypatch.setattr(faults, "checkpoint", checkpoint)
    try:
        result = load_pending(Settings(landing=landing, database=db_url))
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", log_statement)
        observer.dispose()
        engine.dispose()
    assert [b.batch_id for b in result.loaded] == ids
    assert {p for p, *_ in seen} == {"mid_insert", "after_inserts", "before_commit"}
    # (MySQL and PostgreSQL open the transaction at its first write, hence not mid_insert.)
    assert all(in_tx for p, *_, in_tx in seen if p != "mid_insert"), seen
    # The first batch inserts vehicles: from outside there are none until its COMMIT.
    assert [rows for _, _, rows, _ in seen[:3]] == [0, 0, 0], seen
    # The ledger count seen from outside only grows between batches, never inside one.
    by_batch = [c for p, c, _, _ in seen if p == "mid_insert"]
    assert by_batch == list(range(len(ids)))
