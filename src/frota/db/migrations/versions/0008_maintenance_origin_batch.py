"""A released record keeps the batch its row came in (a held row stored by a later batch).

- manutencoes: `lote_origem`, the batch whose export held the record when it is not `lote_id`:
  a maintenance held in the quarantine (its vehicle unknown yet) and stored later by the batch
  whose vehicle released it, or by a `quarantine retry`; NULL for every other record. A
  record's source is its `lote_origem`'s, else its `lote_id`'s: a snapshot retires a
  released record of its own source, never one another source sent.

The column is nullable, so every row stays as it was. Records released before this revision
are filled in where the held row names its work order (its key is then its original source's
and its work-order number, as the loader made it); a record without one keeps NULL (the key of
such a row counted its occurrence inside one release and cannot be made again), so it still
counts as its releasing batch's source. Every step checks first (frota.db.ddl) and the fill
only writes NULLs: a rerun after a kill on MariaDB finishes the job.

Revision ID: 0008_maintenance_origin_batch
Revises: 0007_maintenance_stale
Create Date: 2026-12-01
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from frota.contract.identity import origin_key
from frota.db import ddl

revision = "0008_maintenance_origin_batch"
down_revision = "0007_maintenance_stale"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ddl.add_column("manutencoes", sa.Column("lote_origem", sa.String(64), nullable=True))
    _fill_released()


def _fill_released() -> None:
    """lote_origem of the records released before this revision that carry a work order."""
    conn = op.get_bind()
    released = conn.execute(
        sa.text(
            "SELECT q.batch_id, q.released_batch_id, q.values_json, b.source"
            " FROM frota_quarantine q JOIN frota_batches b ON b.batch_id = q.batch_id"
            " WHERE q.table_name = 'manutencoes' AND q.status = 'released'"
            " AND q.released_batch_id IS NOT NULL AND q.values_json IS NOT NULL"
        )
    ).all()
    fill = sa.text(
        "UPDATE manutencoes SET lote_origem = :origem"
        " WHERE chave = :chave AND lote_id = :lote AND lote_origem IS NULL"
    )
    for original, releaser, values_json, source in released:
        work_order = str(json.loads(str(values_json)).get("id_origem") or "").strip()
        if work_order and original != releaser:
            key = origin_key(str(source or ""), work_order)
            conn.execute(fill, {"origem": original, "chave": key, "lote": releaser})
