"""Maintenance identity, updates and retirements (DESIGN §5b, CONTRACT-identity).

- manutencoes: `id_origem` (the source's work-order number, a contract column), `chave` (the
  record's identity, UNIQUE: frota.contract.identity), `retirada_lote`/`retirada_em` (a
  retired record: the batch that retired it, and when).
- frota_manutencoes_historico: every update, retirement and restoration of a record, with the
  batch that made it and the record's full image.
- frota_batches: manutencoes_updated, manutencoes_retired, manutencoes_present.

Existing rows have no work-order number: each gets the fingerprint key of its business cells,
with k = its rank among the identical rows of the table, in id order. Rows an overlapping
export doubled before this revision stay two records (every row intact); a later batch matches
them as the first and second occurrences.

Every step checks first (frota.db.ddl); the backfill fills what is still empty and then ranks
every row from scratch (deterministic), so a rerun after a kill on MariaDB finishes the job.

Revision ID: 0005_maintenance_identity
Revises: 0004_run_history
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from hashlib import blake2b
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from frota.db import ddl

revision = "0005_maintenance_identity"
down_revision = "0004_run_history"
branch_labels = None
depends_on = None

PAGE = 1000
TABLE = "manutencoes"
HISTORY = "frota_manutencoes_historico"
# The business columns in canonical CSV order, and the key recipe as of this revision (frozen
# here: the keys stored must not move; frota.contract.identity computes the same).
BUSINESS = (
    "placa_veiculo",
    "tipo_manutencao",
    "data_manutencao",
    "custo",
    "quilometragem",
    "categoria",
    "data_conclusao",
)
PRINT_LENGTH = 41  # "f" + 40 hex digits


def _timestamp() -> sa.types.TypeEngine:
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")


def _mysql_options() -> dict[str, str]:
    bind = op.get_bind()
    if bind.dialect.name != "mysql":
        return {}
    options = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}
    found = bind.execute(
        sa.text("SELECT COUNT(*) FROM information_schema.COLLATIONS WHERE COLLATION_NAME = :c"),
        {"c": "utf8mb4_0900_ai_ci"},
    ).scalar()
    if found:
        options["mysql_collate"] = "utf8mb4_0900_ai_ci"
    return options


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def _fingerprint(cells: Sequence[str]) -> str:
    return "f" + blake2b("\x1f".join(cells).encode(), digest_size=20).hexdigest()


def upgrade() -> None:
    ddl.add_column(TABLE, sa.Column("id_origem", sa.String(64)))
    ddl.add_column(TABLE, sa.Column("chave", sa.String(64)))
    ddl.add_column(TABLE, sa.Column("retirada_lote", sa.String(64)))
    ddl.add_column(TABLE, sa.Column("retirada_em", _timestamp()))
    for column in ("manutencoes_updated", "manutencoes_retired", "manutencoes_present"):
        ddl.add_column(
            "frota_batches", sa.Column(column, sa.Integer(), nullable=False, server_default="0")
        )
    ddl.create_table(
        HISTORY,
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("chave", sa.String(64), nullable=False),
        sa.Column("lote_id", sa.String(64), nullable=False),
        sa.Column("mudanca", sa.String(10), nullable=False),
        sa.Column("registrado_em", _timestamp(), nullable=False),
        sa.Column("placa_veiculo", sa.String(10)),
        sa.Column("tipo_manutencao", sa.String(100)),
        sa.Column("data_manutencao", sa.Date()),
        sa.Column("custo", sa.Numeric(10, 2)),
        sa.Column("quilometragem", sa.Integer()),
        sa.Column("categoria", sa.String(20)),
        sa.Column("data_conclusao", sa.Date()),
        sa.Column("id_origem", sa.String(64)),
        **_mysql_options(),
    )
    ddl.create_index(f"ix_{HISTORY}_lote", HISTORY, ["lote_id"])
    if not ddl.has_index(TABLE, "uq_manutencoes_chave"):
        _backfill_prints()
        _rank_identical_rows()
        with op.batch_alter_table(TABLE) as batch:  # SQLite rebuilds the table for this
            batch.alter_column("chave", existing_type=sa.String(64), nullable=False)
        ddl.create_index("uq_manutencoes_chave", TABLE, ["chave"], unique=True)


def _maintenances() -> sa.TableClause:
    return sa.table(
        TABLE,
        sa.column("id", sa.Integer()),
        sa.column("placa_veiculo", sa.String()),
        sa.column("tipo_manutencao", sa.String()),
        sa.column("data_manutencao", sa.Date()),
        sa.column("custo", sa.Numeric(10, 2, asdecimal=True)),
        sa.column("quilometragem", sa.Integer()),
        sa.column("categoria", sa.String()),
        sa.column("data_conclusao", sa.Date()),
        sa.column("chave", sa.String()),
    )


def _set_keys(m: sa.TableClause, keys: list[dict[str, Any]]) -> None:
    if keys:
        op.get_bind().execute(
            m.update().where(m.c.id == sa.bindparam("m_id")).values(chave=sa.bindparam("key")),
            keys,
        )


def _backfill_prints() -> None:
    """Every row without a key gets its fingerprint (ranked by _rank_identical_rows)."""
    conn, m = op.get_bind(), _maintenances()
    after = 0
    while True:
        page = conn.execute(
            sa.select(m.c.id, *(m.c[c] for c in BUSINESS))
            .where(m.c.id > after, m.c.chave.is_(None))
            .order_by(m.c.id)
            .limit(PAGE)
        ).all()
        if not page:
            return
        after = page[-1][0]
        _set_keys(m, [{"m_id": r[0], "key": _fingerprint([_cell(v) for v in r[1:]])} for r in page])


def _rank_identical_rows() -> None:
    """Key = fingerprint + ':k', k = rank among identical rows by id. Rows that share a
    fingerprint are found by one aggregate query; the rest are all k = 1."""
    conn, m = op.get_bind(), _maintenances()
    printed = sa.func.substr(m.c.chave, 1, PRINT_LENGTH)
    shared: set[str] = set(
        conn.execute(sa.select(printed).group_by(printed).having(sa.func.count() > 1)).scalars()
    )
    after = 0
    while True:  # the others: k = 1 (a rerun finds those done already and skips them)
        page = conn.execute(
            sa.select(m.c.id, m.c.chave)
            .where(m.c.id > after, sa.func.length(m.c.chave) == PRINT_LENGTH)
            .order_by(m.c.id)
            .limit(PAGE)
        ).all()
        if not page:
            break
        after = page[-1][0]
        _set_keys(m, [{"m_id": i, "key": f"{key}:1"} for i, key in page if key not in shared])
    prints = sorted(shared)
    for start in range(0, len(prints), PAGE):
        group = conn.execute(
            sa.select(m.c.id, printed, m.c.chave)
            .where(printed.in_(prints[start : start + PAGE]))
            .order_by(printed, m.c.id)
        ).all()
        keys, rank, last = [], 0, None
        for row_id, print_, key in group:
            rank = rank + 1 if print_ == last else 1
            last = print_
            if key != f"{print_}:{rank}":
                keys.append({"m_id": row_id, "key": f"{print_}:{rank}"})
        for i in range(0, len(keys), PAGE):
            _set_keys(m, keys[i : i + PAGE])
