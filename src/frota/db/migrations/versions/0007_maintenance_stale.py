"""The ledger counts a batch's stale maintenances apart (issue 14 leftover).

- frota_batches: `manutencoes_stale`, the batch's maintenance rows whose record a newer batch
  wrote (kept out: in frota_manutencoes_historico as 'stale'). Until this revision they were
  counted in `manutencoes_present`; those rows keep that count and 0 here, so every ledger row
  still reconciles (rows read = … + present + stale + …).

Only a column with a default is added, so every row stays as it was. The step checks first
(frota.db.ddl): a rerun after a kill on MariaDB finishes the job.

Revision ID: 0007_maintenance_stale
Revises: 0006_batch_undo
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa

from frota.db import ddl

revision = "0007_maintenance_stale"
down_revision = "0006_batch_undo"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ddl.add_column(
        "frota_batches",
        sa.Column("manutencoes_stale", sa.Integer(), nullable=False, server_default="0"),
    )
