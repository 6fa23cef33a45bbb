"""The warehouse's raw layer (schema `raw`): what replication writes and dbt's sources read.

The raw layer is derived data: everything in it can be copied again from the operational
database. So its layout has a version (`raw.frota_warehouse`); a warehouse whose raw layer
has another layout (an earlier frota's) gets it dropped and replicated again from scratch on
its next run (`WarehouseConnection.ensure_raw`), and dbt then rebuilds every model (no build
is recorded any more). That is the raw layer's migration: an upgrade copies the whole history
again, so a warehouse of any earlier layout ends up as one built today.

The layout is a digest of the raw layer's DDL (`LAYOUT`, below): any change to its tables — a
column the data contract gains, say — upgrades an existing warehouse on its next run, with
nobody to remember a version number. Layouts 1 and 2 were numbered by hand (2 kept `veiculos`
snapshots, the rows each batch left current; the vehicle history replaced them).
"""

from __future__ import annotations

import hashlib

from frota.contract import MANUTENCOES, VEICULOS, Column, Table
from frota.db.schema import ORDER_KEY_LENGTH, VEHICLE_HISTORY_TABLE

RAW_SCHEMA = "raw"
ANALYTICS_SCHEMA = "analytics"
META = "frota_warehouse"
LEDGER = "frota_replicated_batches"
# One row per successful dbt build: the replication run it covered and the fingerprint of the
# project it ran (frota.warehouse.dbt.project_fingerprint). dbt's tests on the large tables
# check only rows replicated after the last one (macro ultimo_build).
BUILDS = "frota_dbt_builds"
# Every word of the raw layer and its category (frota.warehouse.categories): what dbt joins.
CATEGORIES = "frota_categorias"

# Every vehicle state the loader applied (frota.db.history), copied by the ledger entry that
# wrote it: what the SCD2 vehicle dimension is built from.
HISTORY = VEHICLE_HISTORY_TABLE
# The column the raw layer adds: which replication run brought a row (drives dbt's incremental
# models).
REPLICATION_SEQ = "_replication_seq"
# raw.frota_veiculos_historico: the operational history's columns (its id, the batch, the
# version, the state, how the loader applied it), then REPLICATION_SEQ.
HISTORY_COLUMNS = (
    ("id", "BIGINT NOT NULL"),
    ("placa", "VARCHAR(10) NOT NULL"),
    ("lote_id", "VARCHAR(64)"),
    ("vigente_desde", "TIMESTAMP NOT NULL"),
    ("ordem", f"VARCHAR({ORDER_KEY_LENGTH}) NOT NULL"),
    *((c.name, "") for c in VEICULOS.columns if c.name not in ("placa", "lote_id")),
    ("aplicacao", "VARCHAR(10) NOT NULL"),
)

LEDGER_COLUMNS = (
    ("batch_id", "VARCHAR(64) PRIMARY KEY"),
    ("source", "VARCHAR(64)"),
    ("created_at", "TIMESTAMP NOT NULL"),
    ("loaded_at", "TIMESTAMP NOT NULL"),
    # When the batch's data were true: its manifest's as_of (created_at for a format-1 one).
    ("as_of", "TIMESTAMP NOT NULL"),
    ("veiculos_rows", "BIGINT NOT NULL"),
    ("manutencoes_rows", "BIGINT NOT NULL"),
    # How many of its maintenances had a data_conclusao: a source that never sends one has
    # no open visits, only maintenances without a completion date (docs/warehouse.md).
    ("manutencoes_concluidas", "BIGINT NOT NULL"),
    (REPLICATION_SEQ, "BIGINT NOT NULL"),
    ("replicated_at", "TIMESTAMP NOT NULL"),
)
# The tables a new layout drops, data first (raw.veiculos: layouts 1 and 2).
DATA_TABLES = (VEICULOS.name, HISTORY, MANUTENCOES.name, LEDGER, BUILDS, CATEGORIES, META)


def _sql_type(col: Column) -> str:
    if col.kind == "str":
        return f"VARCHAR({col.length})"
    if col.kind in ("int", "serial"):
        return "BIGINT"
    if col.kind == "date":
        return "DATE"
    precision, scale = col.precision or (10, 2)
    return f"DECIMAL({precision},{scale})"


# raw.manutencoes: the contract's columns, then each copy's state and origin — the batch that
# retired the record (NULL: in force), and for a copy that a change to a stored record made
# (frota_manutencoes_historico, DESIGN §5b) its kind ('update' | 'retire' | 'restore') and
# history id (NULL and 0 for the record as its batch wrote it). A record's latest copy is its
# state: greatest _replication_seq, then greatest _mudanca_id.
MAINTENANCE_STATE_COLUMNS = (
    ("retirada_lote", "VARCHAR(64)"),
    ("_mudanca", "VARCHAR(10)"),
    ("_mudanca_id", "BIGINT NOT NULL"),
)


def raw_columns(table: Table) -> tuple[str, ...]:
    """Column names of raw.<table>, in order: the contract's, then the raw layer's own."""
    extra = tuple(n for n, _ in MAINTENANCE_STATE_COLUMNS) if table is MANUTENCOES else ()
    return (*(c.name for c in table.columns), *extra, REPLICATION_SEQ)


def history_columns() -> tuple[str, ...]:
    """Column names of raw.frota_veiculos_historico, in order."""
    return (*(name for name, _ in HISTORY_COLUMNS), REPLICATION_SEQ)


def _history_ddl() -> str:
    contract = {c.name: _sql_type(c) for c in VEICULOS.columns}
    cols = [f"{name} {sql or contract[name]}" for name, sql in HISTORY_COLUMNS]
    cols.append(f"{REPLICATION_SEQ} BIGINT NOT NULL")
    return f"CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.{HISTORY} ({', '.join(cols)})"


def raw_ddl() -> list[str]:
    """CREATE statements for the raw layer (idempotent)."""
    statements = [f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}"]
    cols = [f"{c.name} {_sql_type(c)}" for c in MANUTENCOES.columns]
    cols += [f"{n} {t}" for n, t in MAINTENANCE_STATE_COLUMNS]
    cols.append(f"{REPLICATION_SEQ} BIGINT NOT NULL")
    statements.append(
        f"CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.{MANUTENCOES.name} ({', '.join(cols)})"
    )
    statements.append(_history_ddl())
    ledger_cols = ", ".join(f"{n} {t}" for n, t in LEDGER_COLUMNS)
    statements.append(f"CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.{LEDGER} ({ledger_cols})")
    statements.append(
        f"CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.{BUILDS} "
        "(replication_seq BIGINT NOT NULL, built_at TIMESTAMP NOT NULL, projeto VARCHAR(32))"
    )
    statements.append(
        f"CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.{CATEGORIES} (coluna VARCHAR(32) NOT NULL, "
        "palavra VARCHAR(100) NOT NULL, categoria VARCHAR(32) NOT NULL, "
        "categoria_construida VARCHAR(32), PRIMARY KEY (coluna, palavra))"
    )
    statements.append(f"CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.{META} (layout BIGINT NOT NULL)")
    return statements


# What the tables' rows mean, where their DDL does not say it: a change here re-replicates
# every batch, as a DDL change does. "as_of": the ledger's as_of is the batch's own (its
# manifest's), no longer its created_at.
MEANING = ("as_of",)
# The layout of the tables above: a digest of their DDL and MEANING (a positive BIGINT, never
# 1 or 2).
LAYOUT = int(hashlib.sha256("\n".join([*raw_ddl(), *MEANING]).encode()).hexdigest()[:15], 16) + 3
