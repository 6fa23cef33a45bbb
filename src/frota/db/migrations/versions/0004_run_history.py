"""Run history of every step (DESIGN §8b): frota_runs records generate, publish, load,
warehouse, run (the parent of its steps), report and the operator commands.

- `command` becomes `step`, `message` becomes `error`;
- new: `parent_run_id` (the `frota run` a step belongs to), `role`, `host`, and `counts`
  (JSON text: what the step did, e.g. {"batches_loaded": 2, "rows_loaded": 1000});
- `started_at` and `finished_at` keep microseconds on MySQL/MariaDB too (runs of one second
  keep their order);
- the load-only columns `batches_loaded`, `rows_loaded`, `quarantined` move into `counts`
  (earlier runs were all loads on the server: role 'server').

Every step checks first (frota.db.ddl) and the backfill only fills what is still empty, so a
rerun after a kill on MariaDB finishes the job.

Revision ID: 0004_run_history
Revises: 0003_operator_state
Create Date: 2026-12-01
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from frota.db import ddl

revision = "0004_run_history"
down_revision = "0003_operator_state"
branch_labels = None
depends_on = None

TABLE = "frota_runs"
OLD_COUNTS = ("batches_loaded", "rows_loaded", "quarantined")
PAGE = 1000


def upgrade() -> None:
    ddl.rename_column(TABLE, "command", "step", sa.String(32), nullable=False)
    ddl.rename_column(TABLE, "message", "error", sa.Text(), nullable=True)
    for new in (
        sa.Column("parent_run_id", sa.String(32)),
        sa.Column("role", sa.String(16)),
        sa.Column("host", sa.String(255)),
        sa.Column("counts", sa.Text()),
    ):
        ddl.add_column(TABLE, new)
    if all(ddl.has_column(TABLE, c) for c in OLD_COUNTS):
        _backfill_counts()
    for column in OLD_COUNTS:
        ddl.drop_column(TABLE, column)
    if op.get_bind().dialect.name == "mysql":  # DATETIME(6): re-running it changes nothing
        for column, nullable in (("started_at", False), ("finished_at", True)):
            op.alter_column(
                TABLE,
                column,
                type_=mysql.DATETIME(fsp=6),
                existing_type=sa.DateTime(),
                existing_nullable=nullable,
            )
    for column in ("started_at", "step", "parent_run_id"):
        ddl.create_index(f"ix_{TABLE}_{column}", TABLE, [column])


def _backfill_counts() -> None:
    """The load counts of earlier runs into `counts`, a page at a time."""
    bind = op.get_bind()
    runs = sa.table(
        TABLE,
        sa.column("run_id", sa.String),
        sa.column("role", sa.String),
        sa.column("counts", sa.Text),
        *(sa.column(c, sa.Integer) for c in OLD_COUNTS),
    )
    while True:
        page = bind.execute(
            sa.select(runs.c.run_id, *(runs.c[c] for c in OLD_COUNTS))
            .where(runs.c.counts.is_(None))
            .order_by(runs.c.run_id)
            .limit(PAGE)
        ).all()
        if not page:
            return
        for row in page:
            counts = {c: int(row._mapping[c] or 0) for c in OLD_COUNTS}
            bind.execute(
                runs.update()
                .where(runs.c.run_id == row.run_id)
                .values(counts=json.dumps(counts, sort_keys=True), role="server")
            )
