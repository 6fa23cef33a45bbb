"""Baseline: the schema of release ff3cdaf, written out (never derived from today's tables).

A database created before migrations existed (`frota db init` up to ff3cdaf) already has these
tables: every step checks first, so such a database is adopted at this revision unchanged.
Earlier development schemas are brought here too: a missing table, nullable contract column or
index is created, and the index on manutencoes.lote_id that 8b6baca dropped is dropped.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from frota.db import ddl

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None


def _mysql_options() -> dict[str, str]:
    """InnoDB, utf8mb4; utf8mb4_0900_ai_ci where the server has it (MySQL 8)."""
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


def upgrade() -> None:
    mysql = _mysql_options()
    ddl.create_table(
        "frota_batches",
        sa.Column("batch_id", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("loaded_at", sa.DateTime(), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("veiculos_inserted", sa.Integer(), nullable=False),
        sa.Column("veiculos_updated", sa.Integer(), nullable=False),
        sa.Column("veiculos_stale", sa.Integer(), nullable=False),
        sa.Column("manutencoes_inserted", sa.Integer(), nullable=False),
        sa.Column("quarantined", sa.Integer(), nullable=False),
        sa.Column("released", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        **mysql,
    )
    ddl.create_index("ix_frota_batches_loaded_at", "frota_batches", ["loaded_at"])

    ddl.create_table(
        "frota_quarantine",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("table_name", sa.String(32), nullable=False),
        sa.Column("file", sa.String(255), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("column_name", sa.String(64), nullable=True),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("raw", sa.Text(), nullable=True),
        sa.Column("values_json", sa.Text(), nullable=True),
        sa.Column("placa", sa.String(10), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("released_at", sa.DateTime(), nullable=True),
        sa.Column("released_batch_id", sa.String(64), nullable=True),
        **mysql,
    )
    for column in ("batch_id", "reason", "status", "placa"):
        ddl.create_index(f"ix_frota_quarantine_{column}", "frota_quarantine", [column])

    ddl.create_table(
        "frota_runs",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("command", sa.String(32), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("batches_loaded", sa.Integer(), nullable=False),
        sa.Column("rows_loaded", sa.Integer(), nullable=False),
        sa.Column("quarantined", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        **mysql,
    )

    # The original tables exactly, plus frota's nullable columns (DESIGN §3).
    ddl.create_table(
        "veiculos",
        sa.Column("placa", sa.String(10), primary_key=True),
        sa.Column("tipo_veiculo", sa.String(50)),
        sa.Column("status", sa.String(50)),
        sa.Column("quilometragem_total", sa.Integer()),
        sa.Column("data_aquisicao", sa.Date()),
        sa.Column("lote_id", sa.String(64)),
        **mysql,
    )
    ddl.add_column("veiculos", sa.Column("lote_id", sa.String(64)))
    ddl.create_index("ix_veiculos_lote", "veiculos", ["lote_id"])

    ddl.create_table(
        "manutencoes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "placa_veiculo",
            sa.String(10),
            sa.ForeignKey("veiculos.placa", name="fk_placa_veiculo"),
        ),
        sa.Column("tipo_manutencao", sa.String(100)),
        sa.Column("data_manutencao", sa.Date()),
        sa.Column("custo", sa.Numeric(10, 2)),
        sa.Column("quilometragem", sa.Integer()),
        sa.Column("categoria", sa.String(20)),
        sa.Column("data_conclusao", sa.Date()),
        sa.Column("lote_id", sa.String(64)),
        **mysql,
    )
    ddl.add_column("manutencoes", sa.Column("quilometragem", sa.Integer()))
    ddl.add_column("manutencoes", sa.Column("categoria", sa.String(20)))
    ddl.add_column("manutencoes", sa.Column("data_conclusao", sa.Date()))
    ddl.add_column("manutencoes", sa.Column("lote_id", sa.String(64)))
    ddl.create_index(
        "ix_manutencoes_placa_data", "manutencoes", ["placa_veiculo", "data_manutencao"]
    )
    ddl.drop_index("ix_manutencoes_lote", "manutencoes")
