"""Batch order and vehicle history (DESIGN §5b).

- frota_batches: published_at (to the microsecond), sequence, as_of and ordem (the sortable
  order key: published_at|source|sequence|content hash) of each batch. Earlier batches get
  their created_at (whole seconds) as published_at and as_of, and sequence 0.
- veiculos: vigente_desde and ordem, the version of the state the row holds (the as_of and the
  order key of the batch its data came from), backfilled from the ledger.
- frota_veiculos_historico: every applied vehicle state, with the batch that wrote it and its
  version. Each existing vehicle gets one row (aplicacao 'baseline'): its current state, as of
  the batch that last wrote it; earlier states were never kept, so they cannot be recovered.

Every step checks first (frota.db.ddl); the backfills only fill what is still empty, so a
rerun after a kill on MariaDB finishes the job.

Revision ID: 0002_batch_order_history
Revises: 0001_baseline
Create Date: 2026-12-01
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from frota.db import ddl

revision = "0002_batch_order_history"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None

PAGE = 1000


def _timestamp() -> sa.types.TypeEngine:
    """A timestamp to the microsecond (MySQL's DATETIME keeps whole seconds by default)."""
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
    for column in (
        sa.Column("published_at", _timestamp()),
        sa.Column("sequence", sa.Integer()),
        sa.Column("as_of", _timestamp()),
        sa.Column("ordem", sa.String(80)),
    ):
        ddl.add_column("frota_batches", column)
    ddl.add_column("veiculos", sa.Column("vigente_desde", _timestamp()))
    ddl.add_column("veiculos", sa.Column("ordem", sa.String(80)))
    ddl.create_table(
        "frota_veiculos_historico",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("placa", sa.String(10), nullable=False),
        sa.Column("lote_id", sa.String(64)),
        sa.Column("vigente_desde", _timestamp(), nullable=False),
        sa.Column("ordem", sa.String(80), nullable=False),
        sa.Column("tipo_veiculo", sa.String(50)),
        sa.Column("status", sa.String(50)),
        sa.Column("quilometragem_total", sa.Integer()),
        sa.Column("data_aquisicao", sa.Date()),
        sa.Column("aplicacao", sa.String(10), nullable=False),
        sa.Column("registrado_em", sa.DateTime(), nullable=False),
        **_mysql_options(),
    )
    ddl.create_index(
        "ix_frota_veiculos_historico_placa",
        "frota_veiculos_historico",
        ["placa", "vigente_desde", "ordem"],
    )
    ddl.create_index("ix_frota_veiculos_historico_lote", "frota_veiculos_historico", ["lote_id"])
    _backfill_ledger()
    _backfill_vehicles()


def _order_key(published_at: datetime, source: str, sequence: int, content: str) -> str:
    """Batch.order_key's recipe as of this revision (frozen here: history must not move)."""
    stamp = published_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return f"{stamp}|{source}|{sequence:010d}|{content[:8]}"


def _backfill_ledger() -> None:
    conn = op.get_bind()
    b = sa.table(
        "frota_batches",
        sa.column("batch_id"),
        sa.column("source"),
        sa.column("created_at"),
        sa.column("content_sha256"),
        sa.column("published_at"),
        sa.column("sequence"),
        sa.column("as_of"),
        sa.column("ordem"),
    )
    while True:
        page = conn.execute(
            sa.select(b.c.batch_id, b.c.source, b.c.created_at, b.c.content_sha256)
            .where(b.c.ordem.is_(None))
            .order_by(b.c.batch_id)
            .limit(PAGE)
        ).all()
        if not page:
            return
        updates = []
        for row in page:
            batch_id, source, created_at, content = cast(tuple[str, str, str, str], row)
            published = datetime.strptime(created_at, "%Y-%m-%dT%H:%M:%SZ")
            updates.append(
                {
                    "b_id": batch_id,
                    "published_at": published,
                    "sequence": 0,
                    "as_of": published,
                    "ordem": _order_key(published, source, 0, content),
                }
            )
        conn.execute(
            b.update()
            .where(b.c.batch_id == sa.bindparam("b_id"))
            .values(
                published_at=sa.bindparam("published_at"),
                sequence=sa.bindparam("sequence"),
                as_of=sa.bindparam("as_of"),
                ordem=sa.bindparam("ordem"),
            ),
            updates,
        )


def _backfill_vehicles() -> None:
    """Each vehicle without a version gets its last batch's, and one history row."""
    conn = op.get_bind()
    v = sa.table(
        "veiculos",
        sa.column("placa"),
        sa.column("tipo_veiculo"),
        sa.column("status"),
        sa.column("quilometragem_total"),
        sa.column("data_aquisicao"),
        sa.column("lote_id"),
        sa.column("vigente_desde"),
        sa.column("ordem"),
    )
    b = sa.table("frota_batches", sa.column("batch_id"), sa.column("as_of"), sa.column("ordem"))
    h = sa.table(
        "frota_veiculos_historico",
        *(
            sa.column(c)
            for c in (
                "placa",
                "lote_id",
                "vigente_desde",
                "ordem",
                "tipo_veiculo",
                "status",
                "quilometragem_total",
                "data_aquisicao",
                "aplicacao",
                "registrado_em",
            )
        ),
    )
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    while True:
        page = conn.execute(
            sa.select(v, b.c.as_of, b.c.ordem.label("lote_ordem"))
            .select_from(v.outerjoin(b, b.c.batch_id == v.c.lote_id))
            .where(v.c.ordem.is_(None))
            .order_by(v.c.placa)
            .limit(PAGE)
        ).all()
        if not page:
            return
        rows = []
        for r in page:
            # A vehicle no frota batch wrote (an adopted table): in force since its purchase.
            since = r.as_of or (
                datetime.combine(r.data_aquisicao, datetime.min.time()) if r.data_aquisicao else now
            )
            rows.append(
                {
                    "placa": r.placa,
                    "lote_id": r.lote_id,
                    "vigente_desde": since,
                    "ordem": r.lote_ordem or "",
                    "tipo_veiculo": r.tipo_veiculo,
                    "status": r.status,
                    "quilometragem_total": r.quilometragem_total,
                    "data_aquisicao": r.data_aquisicao,
                    "aplicacao": "baseline",
                    "registrado_em": now,
                }
            )
        # The history row first: a rerun finds the vehicle still without a version and must
        # not add a second one, so it clears this page's rows before writing them again.
        conn.execute(
            sa.delete(h).where(
                h.c.aplicacao == "baseline", h.c.placa.in_([r["placa"] for r in rows])
            )
        )
        conn.execute(h.insert(), rows)
        conn.execute(
            v.update()
            .where(v.c.placa == sa.bindparam("b_placa"))
            .values(vigente_desde=sa.bindparam("since"), ordem=sa.bindparam("o")),
            [{"b_placa": r["placa"], "since": r["vigente_desde"], "o": r["ordem"]} for r in rows],
        )
