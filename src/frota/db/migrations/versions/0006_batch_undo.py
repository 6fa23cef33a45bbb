"""Batch undo and replay (issue 14): what a change replaced, and what an operation took back.

- frota_manutencoes_historico: the record as it was BEFORE each change (`antes_*`: the
  contract's columns and the retirement it had), and `com_antes` (1 when the row keeps it;
  the rows written before this revision do not: an undo refuses them rather than guess);
  `desfeito_lote`/`desfeito_em`: the undo operation that took the change back, and when.
- frota_veiculos_historico: `desfeito_lote`/`desfeito_em` (a vehicle state an undo withdrew:
  each vehicle's current state is derived from the others).
- veiculos: `retirado_lote`/`retirado_em` (a vehicle whose every state was withdrawn: it
  stays, since its retired maintenances name it, but no longer counts as known).
- frota_batches: `desfeito_lote` (the undo operation that took the batch back) and
  `operacao_de` (on an undo's or replay's own ledger entry: the batch it acted on).

Only columns are added (every one nullable or with a default), so every row stays as it was.
Every step checks first (frota.db.ddl): a rerun after a kill on MariaDB finishes the job.

Revision ID: 0006_batch_undo
Revises: 0005_maintenance_identity
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from frota.db import ddl

revision = "0006_batch_undo"
down_revision = "0005_maintenance_identity"
branch_labels = None
depends_on = None

MAINTENANCE_HISTORY = "frota_manutencoes_historico"
VEHICLE_HISTORY = "frota_veiculos_historico"
# The contract's maintenance columns as of this revision (frozen here, as in 0005).
BEFORE = (
    ("placa_veiculo", sa.String(10)),
    ("tipo_manutencao", sa.String(100)),
    ("data_manutencao", sa.Date()),
    ("custo", sa.Numeric(10, 2)),
    ("quilometragem", sa.Integer()),
    ("categoria", sa.String(20)),
    ("data_conclusao", sa.Date()),
    ("id_origem", sa.String(64)),
)


def _timestamp() -> sa.types.TypeEngine:
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")


def _undone(table: str) -> None:
    ddl.add_column(table, sa.Column("desfeito_lote", sa.String(64)))
    ddl.add_column(table, sa.Column("desfeito_em", _timestamp()))


def upgrade() -> None:
    for name, type_ in BEFORE:
        ddl.add_column(MAINTENANCE_HISTORY, sa.Column(f"antes_{name}", type_))
    ddl.add_column(MAINTENANCE_HISTORY, sa.Column("antes_retirada_lote", sa.String(64)))
    ddl.add_column(MAINTENANCE_HISTORY, sa.Column("antes_retirada_em", _timestamp()))
    ddl.add_column(
        MAINTENANCE_HISTORY,
        sa.Column("com_antes", sa.Integer(), nullable=False, server_default="0"),
    )
    _undone(MAINTENANCE_HISTORY)
    _undone(VEHICLE_HISTORY)
    ddl.add_column("veiculos", sa.Column("retirado_lote", sa.String(64)))
    ddl.add_column("veiculos", sa.Column("retirado_em", _timestamp()))
    ddl.add_column("frota_batches", sa.Column("desfeito_lote", sa.String(64)))
    ddl.add_column("frota_batches", sa.Column("operacao_de", sa.String(64)))
