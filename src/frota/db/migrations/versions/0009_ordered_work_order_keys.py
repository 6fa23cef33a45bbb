"""Work-order keys in the order of the work orders (DESIGN §5b, frota.contract.identity).

- manutencoes.chave of a record with a work order: `work_order_key(source, id_origem)` ("o" +
  a digest of the source + ":" + the work order's bytes in hex), no longer `origin_key`'s
  digest of both ("o" + 40 hex digits), which put each insert on a random leaf of the UNIQUE
  index. Fingerprint keys ("f…", rows without a work order) stay as they are.
- frota_manutencoes_historico.chave: the same, so every change still names its record.

Data only: chave stays VARCHAR(64). A record's source is not stored beside it: it is the one
source s among the ledger's and the rejected batches' (and "") with origin_key(s, id_origem)
equal to the stored key, tried first with the source of its batch (lote_origem, else
lote_id). A key no source makes stops the upgrade with its count and first ids: left as it
was, the next export with that work order would be stored a second time.

Pages by id, new keys computed here, written to a temporary table (multi-row INSERTs) and
set by one joined UPDATE per table; on MySQL, where the admin user `frota db grants` makes
may not create temporary tables, each page's keys are set at once by an UPDATE of CASE
branches (undone with the migration's transaction if it stops later). Only old-format keys
are read, and the new ones never look like them: on MariaDB (each migration one InnoDB
transaction, no DDL here) a rerun after a kill finishes the job. Run while no loader runs,
as every upgrade (it holds the load lock).

Revision ID: 0009_ordered_work_order_keys
Revises: 0008_maintenance_origin_batch
Create Date: 2026-12-01
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from frota.contract.identity import origin_key, work_order_key
from frota.db import ddl
from frota.errors import ConfigError
from frota.i18n import _

revision = "0009_ordered_work_order_keys"
down_revision = "0008_maintenance_origin_batch"
branch_labels = None
depends_on = None

PAGE = 10_000
CASE_ROWS = 500  # MySQL: keys set by one UPDATE … CASE (its branches are tried in turn)
PROGRESS = 200_000  # log a line each time this many keys more are computed
TEMP = "frota_0009_keys_"  # + the table
SHOWN = 10  # ids named when keys match no source
logger = logging.getLogger("frota")

_m = sa.table(
    "manutencoes",
    sa.column("id", sa.Integer()),
    sa.column("chave", sa.String()),
    sa.column("id_origem", sa.String()),
    sa.column("lote_id", sa.String()),
    sa.column("lote_origem", sa.String()),
)
_h = sa.table(
    "frota_manutencoes_historico",
    sa.column("id", sa.Integer()),
    sa.column("chave", sa.String()),
    sa.column("id_origem", sa.String()),
    sa.column("lote_id", sa.String()),
)


def _old(key: Any) -> Any:
    """Keys of the old format: "o" + a digest (no ':' or '#', which only the new ones hold)."""
    return sa.and_(key.like("o%"), ~key.like("%:%"), ~key.like("%#%"))


def upgrade() -> None:
    conn = op.get_bind()
    sources = _batch_sources(conn)
    candidates = sorted({"", *sources.values()})
    # The history first: its rows find their record (and its batch) by the old key.
    m = _m.alias("m")
    record = sa.select(
        _h.c.id,
        _h.c.chave,
        sa.func.coalesce(m.c.id_origem, _h.c.id_origem),
        sa.func.coalesce(m.c.lote_origem, m.c.lote_id, _h.c.lote_id),
    ).select_from(_h.outerjoin(m, m.c.chave == _h.c.chave))
    history = _new_keys(conn, _h, record, sources, candidates)
    records = sa.select(
        _m.c.id, _m.c.chave, _m.c.id_origem, sa.func.coalesce(_m.c.lote_origem, _m.c.lote_id)
    )
    current = _new_keys(conn, _m, records, sources, candidates)
    unmatched = current.unmatched + history.unmatched
    if unmatched:
        raise ConfigError(
            _(
                "{n} maintenance key(s) were made from a source no batch names (manutencoes "
                "ids {records}; frota_manutencoes_historico ids {history}): the upgrade to "
                "ordered work-order keys (0009) stopped and changed nothing"
            ).format(n=unmatched, records=_first(current.first), history=_first(history.first)),
            hint=_(
                "frota's loader did not write those keys; give each row the key of its source "
                "(origin_key in frota.contract.identity), then run `frota db upgrade` again"
            ),
        )
    for keys in (history, current):
        _apply(conn, keys)


def _first(ids: Sequence[Any]) -> str:
    return ", ".join(map(str, ids)) if ids else "-"


def _batch_sources(conn: sa.Connection) -> dict[str, str]:
    """Every batch id the ledger or the rejected batches name, with its source."""
    found: dict[str, str] = {}
    for table in ("frota_rejected_batches", "frota_batches"):  # the ledger wins
        if ddl.has_table(table):
            rows = conn.execute(sa.text(f"SELECT batch_id, source FROM {table}"))  # noqa: S608
            found.update((str(b), str(s or "")) for b, s in rows)
    return found


class _Keys:
    """One table's new keys, written to its temporary table as they are computed, and the rows
    no source matched."""

    def __init__(self, conn: sa.Connection, table: str) -> None:
        self.table, self.temp = table, TEMP + table
        self.written = self.unmatched = 0
        self.first: list[Any] = []  # ids
        dialect = conn.dialect.name
        self.in_place = dialect == "mysql"  # no temporary table: see write
        if self.in_place:
            return
        columns = "(id INTEGER PRIMARY KEY, chave VARCHAR(64))"
        create = {
            "postgresql": f"CREATE TEMPORARY TABLE {self.temp} {columns}",
            "mysql": f"CREATE TEMPORARY TABLE {self.temp} {columns} CHARACTER SET ascii",
        }.get(dialect, f"CREATE TEMP TABLE {self.temp} {columns}")
        conn.execute(sa.text(create))

    def write(self, conn: sa.Connection, pairs: list[dict[str, Any]]) -> None:
        """One INSERT executemany a page: SQLAlchemy sends it as multi-row statements. On
        MySQL the keys are set in place: `frota db grants` gives frota_admin no CREATE
        TEMPORARY TABLES (an admin made by an earlier frota could not upgrade)."""
        if not pairs:
            return
        if self.in_place:
            for at in range(0, len(pairs), CASE_ROWS):
                part = pairs[at : at + CASE_ROWS]
                params = {f"i{n}": p["id"] for n, p in enumerate(part)}
                params.update({f"k{n}": p["chave"] for n, p in enumerate(part)})
                whens = " ".join(f"WHEN :i{n} THEN :k{n}" for n in range(len(part)))
                ids = ", ".join(f":i{n}" for n in range(len(part)))
                conn.execute(
                    sa.text(
                        f"UPDATE {self.table} SET chave = CASE id {whens} END "  # noqa: S608
                        f"WHERE id IN ({ids})"
                    ),
                    params,
                )
        else:
            temp = sa.table(self.temp, sa.column("id", sa.Integer()), sa.column("chave"))
            conn.execute(temp.insert(), pairs)
        self.written += len(pairs)


def _new_keys(
    conn: sa.Connection,
    table: sa.TableClause,
    query: sa.Select[Any],
    sources: dict[str, str],
    candidates: Sequence[str],
) -> _Keys:
    """Read `table`'s old-format keys a range of ids at a time (`query`: id, key, work order,
    batch), compute each one's new key and write it to the table's temporary table."""
    keys = _Keys(conn, table.name)
    total = conn.execute(
        sa.select(sa.func.count()).select_from(table).where(_old(table.c.chave))
    ).scalar_one()
    if not total:
        return keys
    if total >= PROGRESS:
        logger.info("0009: rewriting %s keys of %s", f"{total:,}", table.name)
    ids = sa.select(sa.func.min(table.c.id), sa.func.max(table.c.id))
    low, high = (int(i) for i in conn.execute(ids).one())
    # Pages are id ranges, not "the next PAGE old keys after id x ORDER BY id LIMIT": with a
    # filter on the keys PostgreSQL may plan that as a scan of the whole table per page.
    for start in range(low, high + 1, PAGE):
        in_range = sa.and_(table.c.id >= start, table.c.id < start + PAGE)
        page = conn.execute(query.where(in_range, _old(table.c.chave))).all()
        pairs = []
        for row_id, old, work_order, batch in page:
            new = _match(str(old), work_order, sources.get(str(batch)), candidates)
            if new is not None:
                pairs.append({"id": row_id, "chave": new})
                continue
            keys.unmatched += 1
            if len(keys.first) < SHOWN:
                keys.first.append(row_id)
        keys.write(conn, pairs)
        done = keys.written + keys.unmatched
        if total >= PROGRESS and done // PROGRESS > (done - len(page)) // PROGRESS:
            logger.info("0009: %s of %s keys of %s computed", f"{done:,}", f"{total:,}", table.name)
    return keys


def _match(old: str, work_order: Any, first: str | None, candidates: Sequence[str]) -> str | None:
    """The new key of `old`: work_order_key of the source that made it (None: none did)."""
    if not work_order:
        return None
    number = str(work_order)
    for source in ([first] if first is not None else []) + list(candidates):
        if origin_key(source, number) == old:
            return work_order_key(source, number)
    return None


def _apply(conn: sa.Connection, keys: _Keys) -> None:
    """Set a table's new keys: one UPDATE joined to its temporary table, then drop it."""
    dialect = conn.dialect.name
    if keys.in_place:  # MySQL: set page by page already
        if keys.written:
            ddl.data_step_done()
        return
    if keys.written:
        if dialect == "postgresql":
            conn.execute(sa.text(f"ANALYZE {keys.temp}"))
        conn.execute(sa.text(_update(dialect, keys.table, keys.temp)))
        if keys.written >= PROGRESS:
            logger.info("0009: %s keys of %s rewritten", f"{keys.written:,}", keys.table)
        ddl.data_step_done()
    drop = "DROP TEMPORARY TABLE" if dialect == "mysql" else "DROP TABLE"  # no implicit commit
    conn.execute(sa.text(f"{drop} {keys.temp}"))


def _update(dialect: str, table: str, temp: str, *, joined: bool | None = None) -> str:
    """One UPDATE of `table` from `temp`, in the dialect's way of joining."""
    if dialect == "mysql":
        return f"UPDATE {table} AS t JOIN {temp} AS k ON k.id = t.id SET t.chave = k.chave"
    if dialect == "postgresql":
        return f"UPDATE {table} AS t SET chave = k.chave FROM {temp} AS k WHERE k.id = t.id"
    if joined is None:
        joined = sqlite3.sqlite_version_info >= (3, 33)  # UPDATE … FROM
    if joined:
        return f"UPDATE {table} SET chave = k.chave FROM {temp} AS k WHERE k.id = {table}.id"
    return (  # SQLite before 3.33: one correlated subquery a row (by primary key)
        f"UPDATE {table} SET chave = (SELECT k.chave FROM {temp} AS k WHERE k.id = {table}.id)"
        f" WHERE id IN (SELECT id FROM {temp})"
    )
