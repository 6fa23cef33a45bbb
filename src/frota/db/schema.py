"""SQLAlchemy tables derived from the contract, plus the pipeline's bookkeeping tables.

These describe the schema at the head revision, for the code's queries. The schema itself is
made and changed only by the migrations (frota.db.migrate; tests/test_db_migrations.py checks
that the two agree on every backend). The loader never runs DDL.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Connection

from frota.contract import (
    BATCHES_TABLE,
    MANUTENCOES,
    QUARANTINE_TABLE,
    RUNS_TABLE,
    VEICULOS,
    Column,
    Table,
)
from frota.contract.identity import KEY_LENGTH

VEHICLE_HISTORY_TABLE = "frota_veiculos_historico"
MAINTENANCE_HISTORY_TABLE = "frota_manutencoes_historico"
REJECTED_BATCHES_TABLE = "frota_rejected_batches"
ORDER_KEY_LENGTH = 80  # frota.batch.Manifest.order_key


def timestamp() -> sa.types.TypeEngine:
    """A timestamp to the microsecond (MySQL's DATETIME keeps whole seconds by default)."""
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")


def _sa_type(col: Column) -> sa.types.TypeEngine:
    if col.kind == "str":
        return sa.String(col.length)
    if col.kind in ("int", "serial"):
        return sa.Integer()
    if col.kind == "date":
        return sa.Date()
    if col.kind == "decimal":
        precision, scale = col.precision or (10, 2)
        return sa.Numeric(precision, scale, asdecimal=True)
    raise ValueError(f"unknown kind {col.kind!r}")


def _sa_column(col: Column) -> sa.Column:
    args: list = [col.name, _sa_type(col)]
    if col.references:
        args.append(sa.ForeignKey(col.references, name=f"fk_{col.name}"))
    return sa.Column(
        *args,
        primary_key=col.primary_key,
        autoincrement=col.kind == "serial",
        nullable=not col.primary_key,
    )


# MySQL: InnoDB + utf8mb4 (the migrations choose the collation).
_MYSQL: dict[str, Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}

metadata = sa.MetaData()


def _table(table: Table, *bookkeeping: sa.Column) -> sa.Table:
    """The contract's columns, then frota's own (kept out of the contract: the CSV files and
    the warehouse's raw layer do not carry them)."""
    columns = [_sa_column(c) for c in table.columns]
    return sa.Table(table.name, metadata, *columns, *bookkeeping, **_MYSQL)


# A vehicle row's version: the as_of and the order key of the batch its data came from; a
# vehicle an undo withdrew every state of: the operation, and when (frota.ops.undo). It stays
# (its retired maintenances name it) but is no longer known to the loader.
veiculos = _table(
    VEICULOS,
    sa.Column("vigente_desde", timestamp()),
    sa.Column("ordem", sa.String(ORDER_KEY_LENGTH)),
    sa.Column("retirado_lote", sa.String(64)),
    sa.Column("retirado_em", timestamp()),
)
# A maintenance's identity (frota.contract.identity), kept UNIQUE by the database, and its
# retirement (soft delete: the batch that retired it, and when; retired rows leave every count).
# lote_origem: the batch whose export held the record, where a later batch stored it (a held
# row released); the record's source is that batch's (NULL: lote_id's).
manutencoes = _table(
    MANUTENCOES,
    sa.Column("chave", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("retirada_lote", sa.String(64)),
    sa.Column("retirada_em", timestamp()),
    sa.Column("lote_origem", sa.String(64)),
)
sa.Index("uq_manutencoes_chave", manutencoes.c.chave, unique=True)
sa.Index("ix_manutencoes_placa_data", manutencoes.c.placa_veiculo, manutencoes.c.data_manutencao)
# No index on manutencoes.lote_id: it cost a fifth of every load (docs/benchmarks.md), and
# the warehouse finds new maintenances by primary key (warehouse/replicate.py).
sa.Index("ix_veiculos_lote", veiculos.c.lote_id)

batches = sa.Table(
    BATCHES_TABLE,
    metadata,
    sa.Column("batch_id", sa.String(64), primary_key=True),  # the ledger's unique key
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("content_sha256", sa.String(64), nullable=False),
    sa.Column("loaded_at", sa.DateTime(), nullable=False, index=True),  # warehouse scans by it
    sa.Column("run_id", sa.String(32), nullable=False),
    sa.Column("rows_read", sa.Integer(), nullable=False),
    sa.Column("veiculos_inserted", sa.Integer(), nullable=False),
    sa.Column("veiculos_updated", sa.Integer(), nullable=False),
    sa.Column("veiculos_stale", sa.Integer(), nullable=False),
    sa.Column("manutencoes_inserted", sa.Integer(), nullable=False),
    sa.Column("quarantined", sa.Integer(), nullable=False),
    sa.Column("released", sa.Integer(), nullable=False),
    sa.Column("duplicates", sa.Integer(), nullable=False),
    # What the batch did to records already stored (frota.load.records): changed, retired,
    # or re-sent unchanged (counted, not written).
    sa.Column("manutencoes_updated", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("manutencoes_retired", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("manutencoes_present", sa.Integer(), nullable=False, server_default="0"),
    # Rows whose record a newer batch wrote: kept out, as 'stale' history (0007; before it,
    # counted in manutencoes_present).
    sa.Column("manutencoes_stale", sa.Integer(), nullable=False, server_default="0"),
    # The batch's place in the order batches apply in (frota.batch.Manifest.order_key) and
    # when its data was true; a batch from before these existed: created_at, sequence 0.
    sa.Column("published_at", timestamp()),
    sa.Column("sequence", sa.Integer()),
    sa.Column("as_of", timestamp()),
    sa.Column("ordem", sa.String(ORDER_KEY_LENGTH)),
    # An undone batch: the undo operation that took it back (NULL: in effect). An undo's or a
    # replay's own entry (source UNDO_SOURCE / REPLAY_SOURCE): the batch it acted on.
    sa.Column("desfeito_lote", sa.String(64)),
    sa.Column("operacao_de", sa.String(64)),
    **_MYSQL,
)

quarantine = sa.Table(
    QUARANTINE_TABLE,
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("batch_id", sa.String(64), nullable=False, index=True),
    sa.Column("table_name", sa.String(32), nullable=False),
    sa.Column("file", sa.String(255), nullable=False),
    sa.Column("line", sa.Integer(), nullable=True),
    sa.Column("column_name", sa.String(64), nullable=True),
    sa.Column("reason", sa.String(40), nullable=False, index=True),
    sa.Column("detail", sa.Text(), nullable=True),
    sa.Column("raw", sa.Text(), nullable=True),  # the record as it was in the file
    sa.Column("values_json", sa.Text(), nullable=True),  # column -> text, for retries
    sa.Column("placa", sa.String(10), nullable=True, index=True),  # for late-arriving vehicles
    sa.Column("status", sa.String(10), nullable=False, index=True),  # held | released
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("released_at", sa.DateTime(), nullable=True),
    sa.Column("released_batch_id", sa.String(64), nullable=True),
    # A person's word on the row: why it was dismissed (required), or how it was corrected.
    sa.Column("note", sa.Text(), nullable=True),
    sa.Column("noted_at", timestamp(), nullable=True),
    sa.Column("noted_by", sa.String(64), nullable=True),
    **_MYSQL,
)

# A timestamp to the microsecond (MySQL's DATETIME keeps whole seconds unless told).
_MICROSECONDS = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")

runs = sa.Table(
    RUNS_TABLE,
    metadata,
    sa.Column("run_id", sa.String(32), primary_key=True),
    sa.Column("step", sa.String(32), nullable=False, index=True),
    sa.Column("started_at", _MICROSECONDS, nullable=False, index=True),
    sa.Column("finished_at", _MICROSECONDS, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("parent_run_id", sa.String(32), nullable=True, index=True),  # a `frota run`
    sa.Column("role", sa.String(16), nullable=True),
    sa.Column("host", sa.String(255), nullable=True),
    sa.Column("counts", sa.Text(), nullable=True),  # JSON: what the step did
    **_MYSQL,
)

# Every vehicle state the loader applied (inserted, updated, or older than the current one:
# "stale"), with the batch that wrote it and its version; "baseline": the state a vehicle had
# when this table was created. The state as of a time: frota.db.history.
vehicle_history = sa.Table(
    VEHICLE_HISTORY_TABLE,
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("placa", sa.String(10), nullable=False),
    sa.Column("lote_id", sa.String(64)),  # the batch (or quarantine retry) that wrote it
    sa.Column("vigente_desde", timestamp(), nullable=False),
    sa.Column("ordem", sa.String(ORDER_KEY_LENGTH), nullable=False),
    *(_sa_column(c) for c in VEICULOS.csv_columns if c.name != "placa"),
    sa.Column("aplicacao", sa.String(10), nullable=False),  # insert|update|stale|baseline
    sa.Column("registrado_em", sa.DateTime(), nullable=False),
    # A state an undo withdrew: the operation, and when (NULL: in force).
    sa.Column("desfeito_lote", sa.String(64)),
    sa.Column("desfeito_em", timestamp()),
    sa.Index("ix_frota_veiculos_historico_placa", "placa", "vigente_desde", "ordem"),
    sa.Index("ix_frota_veiculos_historico_lote", "lote_id"),
    **_MYSQL,
)

# Every change to a stored maintenance record, in the transaction that made it: the record
# as it is AFTER the change ('update', 'restore'), or as it was retired ('retire'); and the
# version a late, older batch brought of a record a newer batch wrote ('stale': it changed
# nothing, and the warehouse and snapshots skip it). Since 0006 a change also keeps the record
# as it was BEFORE it (antes_*, with its retirement; com_antes = 1), which an undo puts back.
# New records are not here: they are the manutencoes rows whose lote_id is the batch.
maintenance_history = sa.Table(
    MAINTENANCE_HISTORY_TABLE,
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("chave", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("lote_id", sa.String(64), nullable=False),  # the batch or operation
    sa.Column("mudanca", sa.String(10), nullable=False),  # update|retire|restore|stale
    sa.Column("registrado_em", timestamp(), nullable=False),
    *(sa.Column(c.name, _sa_type(c)) for c in MANUTENCOES.csv_columns),
    *(sa.Column(f"antes_{c.name}", _sa_type(c)) for c in MANUTENCOES.csv_columns),
    sa.Column("antes_retirada_lote", sa.String(64)),
    sa.Column("antes_retirada_em", timestamp()),
    sa.Column("com_antes", sa.Integer(), nullable=False, server_default="0"),
    # A change an undo took back: the operation, and when (NULL: in force).
    sa.Column("desfeito_lote", sa.String(64)),
    sa.Column("desfeito_em", timestamp()),
    sa.Index("ix_frota_manutencoes_historico_lote", "lote_id"),
    **_MYSQL,
)

# Batches the loader (or an operator) refused: set aside so that later batches keep flowing,
# with the reason and the operator's note (frota.load.rejections, frota.ops.batches). Kept apart
# from the ledger, which holds only batches whose rows were written (what the warehouse follows).
rejected_batches = sa.Table(
    REJECTED_BATCHES_TABLE,
    metadata,
    sa.Column("batch_id", sa.String(64), primary_key=True),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # rejected | acknowledged | loaded
    sa.Column("rejected_at", timestamp(), nullable=False),
    sa.Column("run_id", sa.String(32)),
    sa.Column("message", sa.Text(), nullable=False),
    sa.Column("file", sa.String(255)),
    sa.Column("line", sa.Integer()),
    sa.Column("column_name", sa.String(64)),
    sa.Column("hint", sa.Text()),
    sa.Column("note", sa.Text()),
    sa.Column("noted_at", timestamp()),
    sa.Column("noted_by", sa.String(64)),
    sa.Column("retried_at", timestamp()),
    **_MYSQL,
)

CONTRACT_TABLES = (veiculos, manutencoes)
BOOKKEEPING_TABLES = (
    batches,
    quarantine,
    runs,
    vehicle_history,
    maintenance_history,
    rejected_batches,
)


def missing_tables(conn: Connection) -> list[str]:
    """Names of frota's tables that do not exist yet."""
    existing = set(sa.inspect(conn).get_table_names())
    return [t.name for t in metadata.sorted_tables if t.name not in existing]
