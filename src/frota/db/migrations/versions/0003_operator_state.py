"""What operators decide about batches and held rows (issue 14).

- frota_rejected_batches: a batch the loader (or an operator) refused, with the reason, the
  file/line/column it names and the hint; its state (`rejected`: set aside, the loader skips
  it; `acknowledged`: an operator has seen it, it may be pruned; `loaded`: `frota batch
  retry` loaded it after a fix) and the operator's note. The batch ledger (frota_batches)
  keeps only batches whose rows were written, so what the warehouse replicates is unchanged.
- frota_quarantine: note, noted_at, noted_by, for `frota quarantine dismiss` (status
  `dismissed`, a note required and kept) and for notes on rows released by a corrected sheet.

Every step checks first (frota.db.ddl), so a rerun after a kill on MariaDB finishes the job.

Revision ID: 0003_operator_state
Revises: 0002_batch_order_history
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from frota.db import ddl

revision = "0003_operator_state"
down_revision = "0002_batch_order_history"
branch_labels = None
depends_on = None


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


def upgrade() -> None:
    ddl.create_table(
        "frota_rejected_batches",
        sa.Column("batch_id", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("rejected_at", _timestamp(), nullable=False),
        sa.Column("run_id", sa.String(32)),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("file", sa.String(255)),
        sa.Column("line", sa.Integer()),
        sa.Column("column_name", sa.String(64)),
        sa.Column("hint", sa.Text()),
        sa.Column("note", sa.Text()),
        sa.Column("noted_at", _timestamp()),
        sa.Column("noted_by", sa.String(64)),
        sa.Column("retried_at", _timestamp()),
        **_mysql_options(),
    )
    ddl.add_column("frota_quarantine", sa.Column("note", sa.Text()))
    ddl.add_column("frota_quarantine", sa.Column("noted_at", _timestamp()))
    ddl.add_column("frota_quarantine", sa.Column("noted_by", sa.String(64)))
